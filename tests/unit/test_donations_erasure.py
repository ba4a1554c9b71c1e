"""An alumnus erased in the donations service (services/donations/person.py): names gone
from every money record, the money and the ledger untouched, and a second run changes
nothing; a late, older snapshot does not bring the name back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text, update

from services.donations import donors, ledger, person
from services.donations.models import AlumnusCopy, OutboxMessage
from tests.support.donations_data import alumnus_donor

NAME = "欧阳娜娜"
ERASED_AT = datetime(2026, 6, 1, tzinfo=UTC)


def dump(books) -> str:
    with books.factory() as session:
        tables = session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all()
        return "\n".join(
            str(tuple(row))
            for table in tables
            for row in session.execute(text(f'SELECT * FROM "{table}"'))
        )


def test_names_go_the_money_stays_and_a_second_run_changes_nothing(books):
    alumnus_id = books.alumnus(NAME)
    fund = books.fund()
    gift = books.gift(fund["id"], 500_000, donor=alumnus_donor(alumnus_id), note=f"{NAME}的心意")
    books.refund(gift["id"], 100_000)
    books.pledge(fund["id"], {**alumnus_donor(alumnus_id), "name": NAME}, [("2027-01-01", 1000)])
    assert NAME in dump(books)
    before = books.run(ledger.trial_balance)
    # The relay has sent what the outbox held (those payloads name the donor too).
    books.run(lambda session: session.execute(update(OutboxMessage).values(sent_at=ERASED_AT)))

    books.run(person.erase_alumnus, alumnus_id, ERASED_AT)
    after_once = dump(books)
    books.run(person.erase_alumnus, alumnus_id, ERASED_AT)

    assert NAME not in after_once and dump(books) == after_once
    assert books.run(ledger.trial_balance) == before
    assert (before["total_fen"], before["unbalanced_transactions"]) == (0, 0)
    exported = books.run(person.export_person, alumnus_id)
    assert [(g["amount_fen"], g["refunded_fen"]) for g in exported["gifts"]] == [(500_000, 100_000)]
    assert exported["gifts"][0]["donor"] == {**exported["gifts"][0]["donor"], "name": "已注销"}

    # An `alumnus_updated` older than the erasure, delivered late, is ignored.
    late = {**books.alumni[alumnus_id], "updated_at": "2026-05-01T00:00:00+00:00"}
    assert books.run(donors.upsert_alumnus, late) is False
    with books.factory() as session:
        assert session.get(AlumnusCopy, alumnus_id).name == "已注销"
