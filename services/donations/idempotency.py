"""`Idempotency-Key`: the same key and body give the first answer again; the same key with
another body is a 409.

The key (per caller and operation) is inserted *first* in the transaction that creates
the record, with a hash of the request, and the answer is stored on it before commit.
Requests that race on one key collide on its primary key: on PostgreSQL the later
INSERTs wait for the first transaction and then fail, on SQLite the write lock orders
them the same way. The loser's transaction rolls back (`KeyTaken`), and the caller runs
it again, which now finds the stored answer. So a hundred identical requests at once
create one record and all get the same answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.columns import utcnow
from services.common.errors import Conflict
from services.donations.models import IdempotencyKey

_keys = IdempotencyKey.__table__
_this_key = (
    (_keys.c.scope == bindparam("k_scope"))
    & (_keys.c.owner == bindparam("k_owner"))
    & (_keys.c.key == bindparam("k_key"))
)
READ_KEY = select(_keys.c.request_hash, _keys.c.response).where(_this_key)
INSERT_KEY = insert(_keys)
STORE_ANSWER = update(_keys).where(_this_key).values(response=bindparam("answer"))


class KeyTaken(Exception):
    """Another request with the same key committed first: roll back and run again."""


def request_hash(request: Any) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run(
    session: Session,
    scope: str,
    owner: str,
    key: str | None,
    request: Any,
    operation: Callable[[Session], dict[str, Any]],
) -> dict[str, Any]:
    """`operation(session)` once per (scope, owner, key); its answer again for a repeat."""
    if key is None:
        return operation(session)
    digest = request_hash(request)
    connection = session.connection()
    this_key = {"k_scope": scope, "k_owner": owner, "k_key": key}
    stored = connection.execute(READ_KEY, this_key).first()
    if stored is not None:
        return _replay(key, *stored, digest)
    try:
        connection.execute(
            INSERT_KEY,
            {
                "scope": scope,
                "owner": owner,
                "key": key,
                "request_hash": digest,
                "created_at": utcnow(),
            },
        )
    except IntegrityError:
        raise KeyTaken(key) from None
    answer = operation(session)
    connection.execute(STORE_ANSWER, {**this_key, "answer": json.dumps(answer, ensure_ascii=False)})
    return answer


def _replay(key: str, stored_hash: str, response: str, digest: str) -> dict[str, Any]:
    if stored_hash != digest:
        raise Conflict(
            "该 Idempotency-Key 已用于另一请求。",
            {"idempotency_key": key},
            reason="idempotency_key_reused",
        )
    return json.loads(response)
