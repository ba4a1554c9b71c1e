"""The shared plumbing that lets every service ride out a broker outage
(services/common/broker.py, container.py), and that every service of the catalogue uses
it without asking."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from nameko.containers import ServiceContainer
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer as NamekoQueueConsumer
from nameko.rpc import Rpc as NamekoRpc
from nameko.rpc import RpcProxy
from nameko.timer import Timer

from services.common import broker, catalogue
from services.common.container import EXIT_CODE_HUNG_KILL, ExpectedErrorWithoutTraceback
from services.common.entrypoints import BrokerLinks, ConfiguredTimer, Rpc
from services.common.reliable_events import ReliableEventHandler
from services.common.rpc import TimedRpcProxy
from tests.support.processes import REPO_ROOT


def bound_container(entry: catalogue.ServiceEntry) -> ServiceContainer:
    """The service's container as nameko builds it (nothing is started or connected)."""
    return ServiceContainer(entry.service_class(), config={"AMQP_URI": "memory://"})


def of_type(extensions, kind: type) -> list:
    return [extension for extension in extensions if isinstance(extension, kind)]


@pytest.mark.parametrize("entry", catalogue.SERVICES, ids=catalogue.names())
def test_every_service_talks_to_the_broker_only_through_the_platforms_extensions(entry):
    container = bound_container(entry)
    extensions = container.extensions

    consumers = of_type(extensions, NamekoQueueConsumer)
    assert consumers, "every service reads some queue"
    assert all(type(c) is broker.QueueConsumer for c in consumers), consumers
    assert all(isinstance(e, Rpc) for e in of_type(extensions, NamekoRpc))
    assert all(isinstance(e, TimedRpcProxy) for e in of_type(extensions, RpcProxy))
    assert all(isinstance(e, ReliableEventHandler) for e in of_type(extensions, EventHandler))
    assert all(isinstance(e, ConfiguredTimer) for e in of_type(extensions, Timer))
    if entry.readiness == catalogue.RPC_PROBE:
        assert of_type(extensions, BrokerLinks), "its health RPC reports its broker links"


def test_a_link_logs_an_outage_once_and_its_end_once(caplog):
    caplog.set_level(logging.WARNING, logger=broker.__name__)
    link = broker.BrokerLink("outbox relay")

    for _ in range(3):
        link.lost(ConnectionRefusedError(111, "ECONNREFUSED"))
    assert not link.connected
    link.restored()
    link.restored()
    link.lost(ConnectionResetError(104, "reset"))

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3
    assert messages[0].startswith("outbox relay: broker unreachable (ConnectionRefusedError")
    assert messages[1].startswith("outbox relay: broker reachable again after")
    assert "ConnectionResetError" in messages[2]
    assert not any(record.exc_info for record in caplog.records), "no tracebacks"


def test_a_publish_to_a_broker_that_accepts_but_never_answers_fails_in_time(monkeypatch):
    """A broker still booting can accept a connection and say nothing: the outbox relay's
    publish must fail, for the relay to try again, rather than wait for ever."""
    monkeypatch.setattr(broker, "CONNECT_TIMEOUT_SECONDS", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        publisher = broker.ConfirmingPublisher(f"amqp://guest:guest@127.0.0.1:{port}//")

        began = time.monotonic()
        with pytest.raises(broker.BROKER_ERRORS):
            publisher.publish({"event_id": "e1"}, routing_key="thing_happened")
        assert time.monotonic() - began < 5
        assert publisher._connection is None, "the next publish starts on a fresh connection"


def test_reconnect_delays_double_up_to_the_cap():
    delays = broker.reconnect_delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_expected_worker_errors_are_logged_without_their_traceback():
    try:
        raise ValueError("the caller's mistake")
    except ValueError:
        exc_info = sys.exc_info()

    def record(name: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), exc_info)

    expected = record("nameko.containers", "(expected) error handling worker %s")
    unexpected = record("nameko.containers", "error handling worker %s")
    assert ExpectedErrorWithoutTraceback().filter(expected)
    assert ExpectedErrorWithoutTraceback().filter(unexpected)
    assert expected.exc_info is None
    assert unexpected.exc_info is not None


def test_a_container_whose_kill_hangs_ends_its_process():
    """A dying container that waits on an extension for ever would keep a dead service's
    process alive, and nothing restarts a process that has not exited."""
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        import sys
        from nameko.extensions import DependencyProvider
        from services.common import container

        container.KILL_DEADLINE_SECONDS = 0.3

        class HangsWhenKilled(DependencyProvider):
            def kill(self):
                eventlet.sleep(60)

        class Service:
            name = "hangs"
            stuck = HangsWhenKilled()

        box = container.ServiceContainer(Service, {"AMQP_URI": "memory://"})
        box.start()
        try:
            raise RuntimeError("an extension's thread failed")
        except RuntimeError:
            box.kill(sys.exc_info())
        print("the kill returned")
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert finished.returncode == EXIT_CODE_HUNG_KILL, finished.stderr
    assert "did not finish dying" in finished.stderr
    assert "the kill returned" not in finished.stdout
