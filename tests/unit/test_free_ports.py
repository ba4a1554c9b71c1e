"""`services.localsystem.free_port`: ports for the listeners a system, a bench or a test
starts, below the range the kernel gives outgoing connections (a client could take one of
those before the listener binds it), never the same twice in a row, never one in use."""

from __future__ import annotations

import socket

from services import localsystem


def test_free_ports_are_distinct_listenable_and_below_the_outgoing_connections_range():
    ports = [localsystem.free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    assert min(ports) >= 10_000 and max(ports) < max(localsystem._outgoing_ports_start(), 20_000)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports[-1]))
        listener.listen()


def test_a_port_someone_listens_on_is_passed_over(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(localsystem, "LISTENING_PORTS", range(port, port + 50))
        monkeypatch.setattr(localsystem, "_next_port", port)
        assert port < localsystem.free_port() < port + 50
