"""The drills of `make drill` (drills/) at a size CI can afford: nothing lost, nothing
duplicated."""

from __future__ import annotations

import pytest

from drills import broker, consumers, money, scaleout
from drills.harness import platform
from tests.conftest import TEST_POSTGRES_URL

# A dozen processes started, then killed and started again: minutes on a busy machine.
# Every drill's platform is on PostgreSQL (the `postgres` half of make test).
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def drill_platform(module_amqp_uri):
    with platform(module_amqp_uri, TEST_POSTGRES_URL) as system:
        yield system


def test_gifts_survive_the_donations_service_killed_under_load(drill_platform):
    result = money.run(drill_platform, 150)
    assert result.passed, (result.line(), result.notes)
    assert result.recorded == 150
    assert "donations killed 0 times" not in result.notes


def test_reads_sign_ups_and_gifts_ride_out_a_broker_restart(outage_broker):
    # The broker is stopped: the platform runs on a RabbitMQ node of the session's own.
    with platform(postgres_url=TEST_POSTGRES_URL, broker_node=outage_broker) as system:
        result = broker.run(system, alumni=20, gifts=20, outage_seconds=8)
    assert result.passed, (result.line(), result.notes, result.problems)
    assert result.recorded == result.sent == 40
    assert result.recovery_seconds is not None


def test_a_poison_message_is_dead_lettered_in_each_consumer_and_they_go_on(drill_platform):
    result = consumers.poison(drill_platform)
    assert result.passed, (result.line(), result.notes)
    assert result.sent >= 3


def test_an_event_storm_with_a_consumer_stopped_drains_with_none_lost(drill_platform):
    result = consumers.storm(drill_platform, 300, stopped_seconds=5)
    assert result.passed, (result.line(), result.notes)
    assert result.recorded == result.sent


def test_two_of_everything_give_no_seat_receipt_or_message_twice(drill_platform):
    result = scaleout.run(drill_platform, alumni=60, capacity=20)
    assert result.passed, (result.line(), result.notes)
