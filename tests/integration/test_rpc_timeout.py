"""TimedRpcProxy: a missing service and a slow one surface as the platform's errors, in time."""

from __future__ import annotations

import re
import time

import eventlet
import pytest
from nameko.rpc import rpc

from services.common.errors import ServiceTimeout, ServiceUnavailable
from services.common.rpc import TimedRpcProxy

CJK = re.compile(r"[\u4e00-\u9fff]")
TIMEOUT = 1
MARGIN = 1.5  # broker round trips and worker scheduling on a busy CI machine
SLOW_SECONDS = 5


class SlowService:
    name = "slow"

    @rpc
    def answer(self, delay):
        eventlet.sleep(delay)
        return delay


class CallerService:
    name = "caller"

    nobody = TimedRpcProxy("nobody", timeout=TIMEOUT)
    slow = TimedRpcProxy("slow", timeout=TIMEOUT)

    @rpc
    def call_nobody(self):
        return self.nobody.anything()

    @rpc
    def call_slow(self, delay):
        return self.slow.answer(delay)


@pytest.fixture
def caller(container_factory, rabbit_config, rpc_cluster):
    container_factory(CallerService, rabbit_config).start()
    container_factory(SlowService, rabbit_config).start()
    return rpc_cluster.caller


def timed(call):
    started = time.monotonic()
    try:
        call()
    except Exception as error:
        return error, time.monotonic() - started
    raise AssertionError("the call was expected to fail")


def test_service_never_started_is_unavailable_at_once(caller):
    error, elapsed = timed(caller.call_nobody)
    assert isinstance(error, ServiceUnavailable)
    assert elapsed < TIMEOUT, "an unknown service should fail before the deadline"
    assert CJK.search(error.message)
    assert "nobody" in error.message
    assert error.details == {"service": "nobody"}


def test_slow_service_times_out_within_the_deadline(caller):
    error, elapsed = timed(lambda: caller.call_slow(SLOW_SECONDS))
    assert isinstance(error, ServiceTimeout)
    assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + MARGIN
    assert CJK.search(error.message)
    assert "slow" in error.message
    assert error.details == {"service": "slow"}


def test_late_reply_is_not_taken_for_the_next_calls(caller):
    assert caller.call_slow(0) == 0
    with pytest.raises(ServiceTimeout):
        caller.call_slow(TIMEOUT + 0.4)  # its reply comes 0.4 s after the caller gave up
    # In flight while that late reply arrives; it must get its own answer.
    assert caller.call_slow(0.8) == 0.8


def test_call_given_up_on_is_not_executed_by_a_service_that_returns_later(
    container_factory, rabbit_config, rpc_cluster
):
    executed = []

    class Sleepy:
        name = "sleepy"

        @rpc
        def work(self, label):
            executed.append(label)
            return label

    class Client:
        name = "client"
        sleepy = TimedRpcProxy("sleepy", timeout=TIMEOUT)

        @rpc
        def ask(self, label):
            return self.sleepy.work(label)

    container_factory(Client, rabbit_config).start()
    first = container_factory(Sleepy, rabbit_config)
    first.start()
    assert rpc_cluster.client.ask("warm-up") == "warm-up"
    first.stop()  # its queue stays bound, so requests are accepted and wait there

    with pytest.raises(ServiceTimeout):
        rpc_cluster.client.ask("abandoned")
    eventlet.sleep(0.3)  # past the request's TTL (= the caller's timeout), which has elapsed

    container_factory(Sleepy, rabbit_config).start()
    assert rpc_cluster.client.ask("fresh") == "fresh"
    assert executed == ["warm-up", "fresh"]
