"""services/common/offload.py: CPU work in real threads, a bounded number at a time."""

from __future__ import annotations

import threading
import time

import eventlet
import pytest

from services.common.errors import TooManyRequests
from services.common.offload import BoundedOffload


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
