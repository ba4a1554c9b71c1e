"""A property of the books: for any sequence of gifts, refunds and pledge payments, every
ledger transaction's lines sum to zero, and each fund's balance is the sum of its lines —
and is what the sequence, replayed on plain integers, says it should be."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.contracts import donations as contract
from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.donations import funds
from services.donations.models import LedgerLine
from tests.support.donations_books import Books
from tests.support.donations_data import organisation_donor

FUNDS = 3
PLEDGE_TOTAL = 500_000
COMPANY = organisation_donor("某基金会")

amounts = st.integers(min_value=1, max_value=2_000_000)
gift = st.tuples(
    st.just("gift"),
    st.lists(st.tuples(st.integers(0, FUNDS - 1), amounts), min_size=1, max_size=FUNDS),
    st.sampled_from(contract.OFFLINE_CHANNELS),
)
refund = st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 2_500_000))
pledge_payment = st.tuples(st.just("pledge_payment"), st.integers(1, 300_000))
operations = st.lists(st.one_of(gift, refund, pledge_payment), min_size=1, max_size=25)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sequence=operations)
def test_every_transaction_balances_and_each_fund_is_the_sum_of_its_lines(
    sequence, migrated_templates, tmp_path
):
    # A database of its own for each example (tmp_path is the test's, not the example's).
    url = migrated_templates.sqlite_copy("donations", tmp_path / f"{uuid.uuid4().hex}.db")
    engine = make_engine(url, pool_size=2)
    try:
        books = Books(sessionmaker(engine, expire_on_commit=False))
        replay(books, sequence)
    finally:
        engine.dispose()


def replay(books: Books, sequence: list) -> None:
    fund_ids = [books.fund(name=f"基金{i}")["id"] for i in range(FUNDS)]
    half = PLEDGE_TOTAL // 2
    pledge = books.pledge(
        fund_ids[0], COMPANY, [("2026-06-30", half), ("2026-12-31", PLEDGE_TOTAL - half)]
    )
    expected = dict.fromkeys(fund_ids, 0)
    gifts: list[dict] = []
    for operation in sequence:
        try:
            if operation[0] == "gift":
                _, parts, channel = operation
                allocation = {}
                for index, amount in parts:
                    allocation[fund_ids[index]] = allocation.get(fund_ids[index], 0) + amount
                answer = books.gift(
                    fund_ids[0],
                    sum(allocation.values()),
                    channel=channel,
                    allocations=[{"fund_id": f, "amount_fen": a} for f, a in allocation.items()],
                )
                gifts.append(answer)
                for fund_id, amount in allocation.items():
                    expected[fund_id] += amount
            elif operation[0] == "refund" and gifts:
                _, which, amount = operation
                answer = books.refund(gifts[which % len(gifts)]["id"], amount)
                for part in answer["allocations"]:
                    expected[part["fund_id"]] -= part["amount_fen"]
            elif operation[0] == "pledge_payment":
                answer = books.gift(
                    fund_ids[0], operation[1], donor=COMPANY, pledge_id=pledge["id"]
                )
                gifts.append(answer)
                expected[fund_ids[0]] += operation[1]
        except ValidationFailed as refused:
            # Only what the rules refuse: a refund beyond the gift, a payment beyond the pledge.
            assert refused.reason in ("refund_exceeds_gift", "exceeds_pledge"), refused.details
        check_books(books, expected)


def check_books(books: Books, expected: dict[str, int]) -> None:
    with books.factory() as session:
        unbalanced = session.execute(
            select(LedgerLine.transaction_seq)
            .group_by(LedgerLine.transaction_seq)
            .having(func.sum(LedgerLine.amount_fen) != 0)
        ).all()
        assert unbalanced == []
        for fund_id, balance in expected.items():
            lines = session.scalar(
                select(func.coalesce(func.sum(LedgerLine.amount_fen), 0)).where(
                    LedgerLine.fund_id == fund_id
                )
            )
            assert funds.get_fund(session, fund_id)["balance_fen"] == -lines == balance
