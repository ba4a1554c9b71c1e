"""The platform as processes on this machine: the catalogue's services and stand-ins started
the way operators start them, for the system tests, the benchmarks and the drills.

Not the supervisor of `make run` (services/run.py): nothing here restarts a process; a
caller starts, stops and kills them on purpose.
"""

from __future__ import annotations

import hmac
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from services.common import config

READY_TIMEOUT_SECONDS = 60
REPO_ROOT = Path(__file__).resolve().parents[1]
PASSWORD_KEY = secrets.token_bytes(32)
"""The broker passwords of the systems this process starts derive from it and the vhost:
two systems on one vhost agree on them, and nothing outside this process knows them."""


def catalogue_names() -> list[str]:
    from services.common import catalogue

    return catalogue.names()


def _outgoing_ports_start() -> int:
    """The first port Linux gives outgoing connections as their own (32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


LISTENING_PORTS = range(10_000, max(_outgoing_ports_start(), 20_000))
"""Where `free_port` looks: below the ports the kernel hands outgoing connections, one of
which (a client of RabbitMQ or PostgreSQL, of which the suite opens thousands) could take
a port between its choice and the listener's bind (a CI run lost a system test to a
stand-in's `Address already in use`)."""
_next_port = LISTENING_PORTS.start + random.randrange(len(LISTENING_PORTS))


def free_port() -> int:
    """A port nobody listens on, for a listener started soon after: each call the next free
    one after the last this process gave, from a random start, so that neither two calls
    nor, most likely, two processes choosing at once get the same one."""
    global _next_port
    for _ in range(len(LISTENING_PORTS)):
        port, _next_port = _next_port, _next_port + 1
        if _next_port == LISTENING_PORTS.stop:
            _next_port = LISTENING_PORTS.start
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port to listen on")


class LocalSystem:
    """Starts, stops and kills the catalogue's processes (`python -m services.launch
    <name>`, the stand-ins) on this machine, each logging to `<var_dir>/<name>.log`.

    `settings` are given to every process (the admin account, the JWT secret, …), over
    the defaults of services/common/config.py; every stand-in gets a free port.

    `amqp_uri` names a vhost of the caller's and an account that administers the broker
    (through its management API, at `management_url`). Before the first service starts,
    that vhost gets the platform's definitions (services/broker_accounts.py) with accounts
    `<vhost>-<service>`, and every service runs on its own account, with the permissions
    it has in a deployment; the caller's account keeps its own, to look inside.
    `remove_broker_accounts()` deletes those accounts again.
    """

    def __init__(
        self,
        amqp_uri: str,
        database_urls: dict[str, str],
        var_dir: Path,
        settings: dict[str, str] | None = None,
        management_url: str | None = None,
    ) -> None:
        self.amqp_uri = amqp_uri
        self.management_url = management_url
        self.broker_vhost = unquote(urlsplit(amqp_uri).path.lstrip("/")) or "/"
        self.broker_prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", self.broker_vhost) + "-"
        self.broker_passwords = {
            name: hmac.new(PASSWORD_KEY, f"{amqp_uri}|{name}".encode(), "sha256").hexdigest()
            for name in catalogue_names()
        }
        self.broker_provisioned = False
        self.settings = dict(settings or {})
        self.database_urls = database_urls
        self.var_dir = Path(var_dir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        # Every stand-in on a free port of its own, for the stand-in and its service alike.
        from services.common import catalogue

        self.stand_in_addresses = {
            setting: f"127.0.0.1:{free_port()}"
            for stand_in in catalogue.STAND_INS
            for setting in stand_in.address_settings
        }
        self.backend = "sqlite"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            **os.environ,
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "ALUMNI_VAR_DIR": str(self.var_dir),
            "PYTHONPATH": str(REPO_ROOT),
            # This system makes its vhost's accounts itself (`provision_broker`), and its
            # caller's account keeps its permissions there to look inside.
            "BROKER_VHOST": self.broker_vhost,
            "BROKER_PROVISION": "0",
            "BROKER_USER_PREFIX": self.broker_prefix,
            **{f"BROKER_PASSWORD_{n.upper()}": p for n, p in self.broker_passwords.items()},
            **self.settings,
        }
        if self.management_url:
            env["BROKER_MANAGEMENT_URL"] = self.management_url
        for service, url in self.database_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        env.update(self.stand_in_addresses)
        env.update(overrides)
        return env

    def start(self, service: str, **env_overrides: str) -> subprocess.Popen:
        self.provision_broker()
        return self.start_module(service, "services.launch", service, **env_overrides)

    def management(self):
        from services.broker_accounts import Management

        return Management.from_settings(self.amqp_uri, self.management_url)

    def provision_broker(self) -> None:
        """The platform's accounts, permissions and queues on this system's vhost (once)."""
        if self.broker_provisioned:
            return
        from services.broker_accounts import provision

        provision(
            self.management(),
            self.broker_vhost,
            self.broker_prefix,
            self.broker_passwords,
            keep_admin=True,
        )
        self.broker_provisioned = True

    def remove_broker_accounts(self) -> None:
        if not self.broker_provisioned:
            return
        management = self.management()
        for name in self.broker_passwords:
            management.delete_user(f"{self.broker_prefix}{name}")
        self.broker_provisioned = False

    def start_module(
        self, name: str, module: str, *args: str, **env_overrides: str
    ) -> subprocess.Popen:
        """`python -m module args…` as the process called `name`, logging to var/<name>.log."""
        log = config.open_private_log(self.var_dir / f"{name}.log")
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            env=self.env(**env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_file = log
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        """The catalogue's stand-ins and every service, then wait until the gateway says all
        are ready."""
        from services.common import catalogue

        self.provision_broker()
        for stand_in in catalogue.STAND_INS:
            self.start_module(stand_in.name, stand_in.module)
        for name in catalogue.names():
            self.start(name)
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.logs()}")
            try:
                if requests.get(f"{self.base_url}/ready", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"system not ready within {timeout} s:\n{self.logs()}")

    def wait_rpc_ready(self, service: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Until `service` answers its health RPC (used after restarting one service)."""
        from nameko.standalone.rpc import ClusterRpcProxy

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=2) as cluster:
                    getattr(cluster, service).health()
                    return
            except Exception:
                time.sleep(0.3)
        raise RuntimeError(f"{service} did not answer within {timeout} s:\n{self.logs()}")

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown hooks run, as when a machine loses power."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.log_file.close()

    def stop(self, service: str) -> None:
        process = self.processes.pop(service)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        process.log_file.close()

    def stop_all(self) -> None:
        """SIGTERM to every process at once, then wait: each takes seconds to wind down."""
        processes = list(self.processes.items())
        self.processes.clear()
        for _, process in processes:
            process.terminate()
        deadline = time.monotonic() + 15
        for _, process in processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            process.log_file.close()

    def logs(self) -> str:
        parts = []
        for path in sorted(self.var_dir.glob("*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


class StandInProcess:
    """One stand-in for an outside system (services/common/catalogue.py `STAND_INS`) as its
    own process on a free port, for tests that run a service in a container rather than
    the whole system; `env` gives it its settings (its keys, say)."""

    def __init__(self, module: str, address_setting: str, log_path: Path, **env: str) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.url = f"http://{self.address}"
        self._log = config.open_private_log(log_path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), address_setting: self.address, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{module} did not answer on {self.address}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()
