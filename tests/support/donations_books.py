"""A donations database for tests of the domain: a migrated database (SQLite or PostgreSQL),
the domain's functions run in transactions of their own, the registry played from a dict."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.contracts import donations as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import NotFound
from services.donations import agreements, funds, gifts, pledges
from services.donations.identity import IdNumberCipher
from services.donations.models import OutboxMessage
from tests.support.donations_data import agreement_body, fund_body, gift_body
from tests.support.transactions import in_transaction

TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
OFFICE = {
    "account_id": "acct-office",
    "username": "office",
    "role": "office",
    "department_id": None,
}
THRESHOLD_FEN = 10_000_000


class Books:
    """The donations database of one test and the helpers to fill it."""

    def __init__(self, factory: sessionmaker) -> None:
        self.factory = factory
        self.alumni: dict[str, dict[str, Any]] = {}
        self.cipher = IdNumberCipher([secrets.token_urlsafe(32)])

    def run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """`fn(session, *args)` in a transaction of its own: commit, or roll back and raise."""
        return in_transaction(self.factory, fn, *args, **kwargs)

    def lookup(self, alumnus_id: str) -> dict[str, Any]:
        if alumnus_id not in self.alumni:
            raise NotFound("校友不存在。", {"alumnus_id": alumnus_id})
        return self.alumni[alumnus_id]

    def ctx(self, today: date = TODAY, now: datetime = NOW) -> gifts.Recording:
        return gifts.Recording(OFFICE, today, now, self.lookup, self.cipher, THRESHOLD_FEN)

    def alumnus(
        self, name: str = "张伟", department_id: str | None = None, class_year: int = 2010
    ) -> str:
        """An alumnus the registry holds (asked for on first use, then copied)."""
        alumnus_id = str(uuid.uuid4())
        self.alumni[alumnus_id] = {
            "id": alumnus_id,
            "name": name,
            "updated_at": "2026-01-01T00:00:00+00:00",
            "graduations": [
                {"department_id": department_id or str(uuid.uuid4()), "class_year": class_year}
            ],
        }
        return alumnus_id

    def fund(self, **overrides: Any) -> dict[str, Any]:
        return self.run(
            funds.create_fund, load_or_raise(contract.FundInput, fund_body(**overrides))
        )

    def gift(
        self, fund_id: str, amount_fen: int = 1_000_000, today: date = TODAY, **overrides: Any
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.GiftInput, gift_body(fund_id, amount_fen, **overrides))
        return self.run(gifts.record_gift, payload, self.ctx(today))

    def refund(self, gift_id: str, amount_fen: int, **overrides: Any) -> dict[str, Any]:
        payload = load_or_raise(
            contract.RefundInput, {"amount_fen": amount_fen, "reason": "捐赠人要求", **overrides}
        )
        return self.run(gifts.refund_gift, gift_id, payload, self.ctx())

    def agreement(self, donor: dict[str, Any], signer: str | None = None) -> dict[str, Any]:
        """A donation agreement of `donor`, signed in its name (or `signer`'s)."""
        body = agreement_body(donor, signer or donor["name"])
        return self.run(
            agreements.create,
            load_or_raise(contract.AgreementInput, body),
            OFFICE,
            self.lookup,
        )

    def pledge(
        self, fund_id: str, donor: dict[str, Any], schedule: list[tuple[str, int]]
    ) -> dict[str, Any]:
        """A pledge of `donor` to the fund, on an agreement of its own, paid by `schedule`
        [(due date, amount)]."""
        body = {
            "donor": donor,
            "fund_id": fund_id,
            "total_fen": sum(amount for _, amount in schedule),
            "agreement_id": self.agreement(donor)["id"],
            "instalments": [{"due_on": due, "amount_fen": amount} for due, amount in schedule],
        }
        return self.run(
            pledges.create_pledge, load_or_raise(contract.PledgeInput, body), OFFICE, self.lookup
        )

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The data of the events recorded in the outbox, oldest first."""
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if event_type:
            query = query.where(OutboxMessage.event_type == event_type)
        with self.factory() as session:
            return [json.loads(row.payload)["data"] for row in session.scalars(query)]

    def count(self, model: type) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(model))
