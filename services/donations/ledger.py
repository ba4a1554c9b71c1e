"""The double-entry ledger: every gift, refund, pledge payment and disbursement posts a
transaction whose lines sum to zero, and fund balances are sums of lines.

Accounts: `cash:<channel>` (money held, debit-normal) and `fund:<fund id>` (what a fund
owns, credit-normal). Debits are positive, credits negative. A gift of ¥100 to one fund
by bank transfer posts `cash:bank_transfer +10000` and `fund:<id> −10000`; its refund
the same lines with the signs turned. Posted rows are never changed (the database
refuses it: see the first migration).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.common.columns import utcnow
from services.donations.models import LedgerLine, LedgerTransaction

GIFT = "gift"
REFUND = "refund"
DISBURSEMENT = "disbursement"
# Built once: every posting only binds its values (Core statements, compiled once).
INSERT_TRANSACTION = insert(LedgerTransaction.__table__).returning(
    LedgerTransaction.__table__.c.seq
)
INSERT_LINE = insert(LedgerLine.__table__)


@dataclass(frozen=True)
class Line:
    account: str
    amount_fen: int
    fund_id: str | None = None


def cash_account(channel: str) -> str:
    return f"cash:{channel}"


def fund_account(fund_id: str) -> str:
    return f"fund:{fund_id}"


def cash(channel: str, amount_fen: int) -> Line:
    return Line(cash_account(channel), amount_fen)


def fund(fund_id: str, amount_fen: int) -> Line:
    return Line(fund_account(fund_id), amount_fen, fund_id)


class UnbalancedTransaction(ValueError):
    """A posting whose lines do not sum to zero: a bug, never the caller's input."""


def post(
    session: Session, kind: str, source_id: str, posted_on: date, lines: Sequence[Line]
) -> int:
    """Add one transaction of `lines` (zero lines dropped); returns its seq."""
    lines = [line for line in lines if line.amount_fen != 0]
    if not lines or sum(line.amount_fen for line in lines) != 0:
        raise UnbalancedTransaction(f"{kind} {source_id}: lines {lines} do not sum to zero")
    connection = session.connection()
    transaction_seq = connection.execute(
        INSERT_TRANSACTION,
        {"kind": kind, "source_id": source_id, "posted_on": posted_on, "created_at": utcnow()},
    ).scalar_one()
    connection.execute(
        INSERT_LINE,
        [
            {
                "transaction_seq": transaction_seq,
                "kind": kind,
                "account": line.account,
                "fund_id": line.fund_id,
                "amount_fen": line.amount_fen,
                "posted_on": posted_on,
            }
            for line in lines
        ],
    )
    return transaction_seq


def fund_totals(session: Session, fund_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per fund: `raised` (gifts less refunds), `spent` and `balance`, from the lines."""
    ids = list(fund_ids)
    totals = {fund_id: {"raised": 0, "spent": 0, "balance": 0} for fund_id in ids}
    if not ids:
        return totals
    rows = session.execute(
        select(LedgerLine.fund_id, LedgerLine.kind, func.sum(LedgerLine.amount_fen))
        .where(LedgerLine.fund_id.in_(ids))
        .group_by(LedgerLine.fund_id, LedgerLine.kind)
    ).all()
    for fund_id, kind, amount in rows:
        # Fund accounts are credit-normal: what a fund owns is minus its lines' sum.
        owned = -int(amount)
        if kind == DISBURSEMENT:
            totals[fund_id]["spent"] += -owned
        else:
            totals[fund_id]["raised"] += owned
        totals[fund_id]["balance"] += owned
    return totals


def fund_balance(session: Session, fund_id: str) -> int:
    return fund_totals(session, [fund_id])[fund_id]["balance"]


def trial_balance(session: Session) -> dict:
    """Every account's balance (debits − credits), their total (0 when the books balance),
    and how many transactions do not sum to zero (0, unless the books were tampered with)."""
    accounts = session.execute(
        select(LedgerLine.account, func.sum(LedgerLine.amount_fen))
        .group_by(LedgerLine.account)
        .order_by(LedgerLine.account)
    ).all()
    unbalanced = session.execute(
        select(func.count()).select_from(
            select(LedgerLine.transaction_seq)
            .group_by(LedgerLine.transaction_seq)
            .having(func.sum(LedgerLine.amount_fen) != 0)
            .subquery()
        )
    ).scalar_one()
    transactions = session.execute(select(func.count()).select_from(LedgerTransaction)).scalar_one()
    return {
        "accounts": [{"account": a, "balance_fen": int(b)} for a, b in accounts],
        "total_fen": sum(int(b) for _, b in accounts),
        "transactions": transactions,
        "unbalanced_transactions": unbalanced,
    }
