"""services/common/offload.py: CPU work in real threads, a bounded number at a time; a
generator function in a process of its own (`ChildProcess`)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import eventlet
import pytest

from services.common.errors import TooManyRequests
from services.common.offload import BoundedOffload, ChildProcess
from services.registry.departments import DepartmentNames
from services.registry.duplicates import DuplicateIndex, Person, matches_by_batch
from services.registry.importing import (
    ImportedGraduation,
    ImportedRecord,
    ImportOptions,
    ImportRejected,
)
from services.registry.importing.staging import staged_batches
from services.registry.pinyin import name_keys


def test_work_runs_in_another_thread_and_the_loop_keeps_turning():
    offload = BoundedOffload(at_once=1, waiting=0)
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(time.monotonic())
            eventlet.sleep(0.01)

    green = eventlet.spawn(ticker)
    # time.sleep would block the hub if it ran on the loop's own thread.
    thread_id = offload.run(lambda: (time.sleep(0.2), threading.get_ident())[1])
    green.wait()
    assert thread_id != threading.get_ident()
    assert len(ticks) == 5 and ticks[-1] - ticks[0] < 0.2


def test_past_the_bound_callers_are_refused_at_once():
    offload = BoundedOffload(at_once=1, waiting=1)
    running = [eventlet.spawn(offload.run, time.sleep, 0.2) for _ in range(2)]
    eventlet.sleep(0.01)
    with pytest.raises(TooManyRequests) as refused:
        offload.run(time.sleep, 0)
    assert refused.value.reason == "login_busy"
    for green in running:
        green.wait()
    offload.run(time.sleep, 0)  # free again


def arrivals(prefix: str, count: int) -> list[tuple[str, ImportedRecord, str]]:
    """(id, record, pinyin) of new alumni, as an import sends them to its matcher."""
    batch = []
    for n in range(count):
        name = ["张伟", "张玮", "李娜"][n % 3]
        record = ImportedRecord(
            name=name,
            graduation=ImportedGraduation("d1", "计算机学院", "软件工程", "bachelor", 2010),
            birth_date=date(1990, 1, 1 + n % 2),
            phone=f"1380000{n % 4:04d}",
        )
        batch.append((f"{prefix}{n}", record, name_keys(name).pinyin))
    return batch


def test_a_child_process_keeps_its_state_across_batches_while_the_loop_turns():
    known = [Person.from_imported(*arrival) for arrival in arrivals("k", 5)]
    first, second = arrivals("a", 6), arrivals("b", 6)
    index = DuplicateIndex()
    expected = []
    for person in known:
        index.add(person)
    for batch in (first, second):
        found = []
        for arrival in batch:
            person = Person.from_imported(*arrival)
            found.extend(index.matches(person))
            index.add(person)
        expected.append(found)
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(time.monotonic())
            eventlet.sleep(0.01)

    with ChildProcess(matches_by_batch, known) as child:
        green = eventlet.spawn(ticker)
        child.put(first)
        assert child.get() == expected[0]
        child.put(second)
        assert child.get() == expected[1]
        green.wait()
    assert expected[1] and len(ticks) == 5
    # The second batch met the first: the child kept its index between the two.
    assert any(m.first.startswith("a") or m.second.startswith("a") for m in expected[1])


def test_an_error_raised_in_the_child_is_raised_in_the_caller():
    options = ImportOptions(resolve_department=DepartmentNames({}))
    with (
        ChildProcess(staged_batches, "job", b"", options) as child,
        pytest.raises(ImportRejected) as refused,
    ):
        list(child)
    assert refused.value.reason == "empty_file"


def test_the_child_ends_when_its_caller_goes_away():
    child = ChildProcess(matches_by_batch, [])
    child.put(arrivals("a", 2))
    child.get()
    # What a killed service leaves behind: its ends of the pipes closed, no word said.
    os.close(child._to_child)
    os.close(child._from_child)
    assert child._process.wait(10) == 0


def test_a_child_that_dies_is_an_error_not_an_end():
    with ChildProcess(matches_by_batch, []) as child:
        child.put(arrivals("a", 2))
        child.get()
        child._process.kill()  # what the kernel does to a process out of memory
        with pytest.raises(ChildProcessError):
            list(child)


def slow_echo(inbox: Iterator[Any], delay: float) -> Iterator[Any]:
    """*In a child*: a slow start, then each message back."""
    time.sleep(delay)
    yield from inbox


def test_waiting_for_a_child_lets_the_loop_turn():
    """A child starting (a new interpreter, seconds on a loaded machine) or working is
    waited for on the hub: the service's other green threads run meanwhile."""
    ticks = []

    def ticker():
        while True:
            ticks.append(time.monotonic())
            eventlet.sleep(0.01)

    green = eventlet.spawn(ticker)
    started = time.monotonic()
    try:
        with ChildProcess(slow_echo, 1.0) as child:
            child.put(b"x" * 2**20)  # more than a pipe holds: the write waits too
            assert child.get() == b"x" * 2**20
    finally:
        green.kill()
    waited = time.monotonic() - started
    assert waited >= 1.0
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 20 and max(gaps) < 0.5, (waited, max(gaps))
