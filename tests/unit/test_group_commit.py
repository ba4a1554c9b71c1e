"""Group commit (services/common/group_commit.py): rows handed over at once are committed by
one transaction, nobody goes on before their rows are committed, and a failed commit is
raised in every waiter of its batch without stopping the writer."""

from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, select

from services.common.db import make_engine
from services.common.group_commit import GroupCommit

METADATA = MetaData()
READS = Table(
    "reads",
    METADATA,
    Column("seq", Integer, primary_key=True),
    Column("reader", String(20), nullable=False),
)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}", pool_size=2)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def running(group: GroupCommit):
    """`group`'s writer started; the function that stops it."""
    thread = eventlet.spawn(group.run)
    return lambda: (group.stop(), thread.wait())


@pytest.fixture
def writer(engine):
    group = GroupCommit(engine, READS)
    stop = running(group)
    group.url = engine.url.render_as_string()
    yield group
    stop()


def committed_readers(url: str) -> list[str]:
    """What another connection sees: only committed rows."""
    engine = create_engine(url)
    with engine.connect() as connection:
        readers = list(connection.scalars(select(READS.c.reader).order_by(READS.c.seq)))
    engine.dispose()
    return readers


def test_rows_handed_over_at_once_are_committed_together_before_anyone_goes_on(writer):
    seen_after_return: dict[str, list[str]] = {}

    def read(name: str) -> None:
        writer.insert([{"reader": name}, {"reader": f"{name}-again"}])
        seen_after_return[name] = committed_readers(writer.url)

    readers = [eventlet.spawn(read, f"r{n}") for n in range(8)]
    for reader in readers:
        reader.wait()

    assert sorted(committed_readers(writer.url)) == sorted(
        [f"r{n}" for n in range(8)] + [f"r{n}-again" for n in range(8)]
    )
    for name, seen in seen_after_return.items():
        assert name in seen and f"{name}-again" in seen
    # All eight arrived while the writer waited for the first: one transaction, or two
    # when the writer woke between arrivals.
    assert writer.batches <= 2


def test_a_failed_commit_is_raised_in_every_waiter_of_its_batch_and_the_writer_goes_on(writer):
    def read(row: dict) -> str:
        try:
            writer.insert([row])
        except Exception as error:  # noqa: BLE001 (what the waiter was told)
            return type(error).__name__
        return "committed"

    # One bad row (no reader) in the batch: the batch's transaction fails as a whole.
    outcomes = [
        eventlet.spawn(read, row) for row in ({"reader": "a"}, {"reader": None}, {"reader": "b"})
    ]
    results = [outcome.wait() for outcome in outcomes]

    assert results == ["IntegrityError"] * 3
    assert committed_readers(writer.url) == []
    writer.insert([{"reader": "later"}])
    assert committed_readers(writer.url) == ["later"]


def test_nothing_to_insert_returns_without_a_transaction(writer):
    writer.insert([])
    assert writer.batches == 0


def test_stopping_commits_what_was_handed_over_first(engine):
    group = GroupCommit(engine, READS)
    waiter = eventlet.spawn(group.insert, [{"reader": "last"}])
    eventlet.sleep(0)  # the reader hands its row over before the writer is told to stop
    group.stop()
    group.run()  # returns: it was told to stop
    waiter.wait()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(READS)) == 1


def test_the_writer_waits_for_the_calls_in_flight_to_hand_their_rows_over(engine):
    """Two calls in flight, the second slower: one transaction for both, and the first
    goes on only once the second's rows are committed with its own."""
    group = GroupCommit(engine, READS, gather_seconds=3600, in_flight=lambda: 2)
    stop = running(group)
    order: list[str] = []

    def read(name: str, after: float) -> None:
        eventlet.sleep(after)
        group.insert([{"reader": name}])
        order.append(name)

    with eventlet.Timeout(30):
        first = eventlet.spawn(read, "first", 0)
        second = eventlet.spawn(read, "second", 0.05)
        first.wait()
        second.wait()
    stop()
    assert group.batches == 1
    assert sorted(order) == ["first", "second"]


def test_a_read_alone_is_committed_at_once(engine):
    group = GroupCommit(engine, READS, gather_seconds=3600, in_flight=lambda: 1)
    stop = running(group)
    with eventlet.Timeout(30):  # a writer that waited out its gathering would be stopped here
        group.insert([{"reader": "alone"}])
    stop()
    assert group.batches == 1


def test_the_writer_waits_no_longer_than_its_gathering_for_calls_that_log_nothing(engine):
    """Four other calls in flight that hand nothing over (masked reads, other RPCs)."""
    group = GroupCommit(engine, READS, gather_seconds=0.05, in_flight=lambda: 5)
    stop = running(group)
    with eventlet.Timeout(30):
        group.insert([{"reader": "logged"}])
        group.insert([{"reader": "again"}])
    stop()
    assert group.batches == 2
