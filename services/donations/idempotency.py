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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Conflict
from services.donations.models import IdempotencyKey


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
    stored = session.get(IdempotencyKey, (scope, owner, key))
    if stored is not None:
        return _replay(stored, digest)
    record = IdempotencyKey(scope=scope, owner=owner, key=key, request_hash=digest)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise KeyTaken(key) from None
    answer = operation(session)
    record.response = json.dumps(answer, ensure_ascii=False)
    session.flush()
    return answer


def _replay(stored: IdempotencyKey, digest: str) -> dict[str, Any]:
    if stored.request_hash != digest:
        raise Conflict(
            "该 Idempotency-Key 已用于另一请求。",
            {"idempotency_key": stored.key},
            reason="idempotency_key_reused",
        )
    return json.loads(stored.response)
