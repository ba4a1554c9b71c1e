"""A RabbitMQ node of the test's own, for broker outages.

The shared broker on 5672 serves every other test (and other people's): outages are
staged on a second node, started here on free ports with its data, logs and Erlang
cookie under a temporary directory, with the management plugin only. `outage()` stops its RabbitMQ
application (`rabbitmqctl stop_app`: the listener closes, clients get ECONNREFUSED) and
starts it again; durable queues and persistent messages survive, as in a broker restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port
from tests.support.tls import ServerCertificate

# Debian's /usr/sbin wrappers switch to the rabbitmq user (and its home, and so its Erlang
# cookie); the scripts behind them run as whoever calls them, which a node of our own needs.
SCRIPT_DIRS = ("/usr/lib/rabbitmq/bin", "/usr/local/sbin", "/opt/homebrew/sbin", "/usr/sbin")
START_TIMEOUT_SECONDS = 60


def rabbitmq_script(name: str) -> str | None:
    for directory in SCRIPT_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def unavailable_reason() -> str | None:
    """Why no node of our own can be started here, or None when it can."""
    for name in ("rabbitmq-server", "rabbitmqctl"):
        if rabbitmq_script(name) is None:
            return f"{name} is not installed (.ci/run installs RabbitMQ)"
    return None


class RabbitNode:
    """One RabbitMQ node on free ports under `base_dir` (see the module)."""

    def __init__(
        self,
        base_dir: Path,
        tls: ServerCertificate | None = None,
        start_timeout: int = START_TIMEOUT_SECONDS,
    ) -> None:
        """With `tls`, the node listens for AMQP over TLS only (on `port`). `start_timeout`
        bounds each wait for the node to start (a drill on a busy machine needs longer)."""
        self.tls = tls
        self.start_timeout = start_timeout
        self.base_dir = Path(base_dir)
        self.port = free_port()
        self.dist_port = free_port()
        self.management_port = free_port()
        self.name = f"alumni-outage-{uuid.uuid4().hex[:8]}@localhost"
        self.started = False

    @property
    def scheme(self) -> str:
        return "amqps" if self.tls else "amqp"

    @property
    def amqp_uri(self) -> str:
        return f"{self.scheme}://guest:guest@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def vhost_uri(self, vhost: str) -> str:
        return f"{self.scheme}://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def env(self) -> dict[str, str]:
        base = self.base_dir
        return {
            **os.environ,
            "HOME": str(base),  # the Erlang cookie of the node and of rabbitmqctl alike
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
            # Not the system's rabbitmq-env.conf: it names the shared node.
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        listeners = f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
        if self.tls:
            listeners = (
                "listeners.tcp = none\n"
                f"listeners.ssl.local = 127.0.0.1:{self.port}\n"
                f"ssl_options.cacertfile = {self.tls.ca_file}\n"
                f"ssl_options.certfile = {self.tls.cert_file}\n"
                f"ssl_options.keyfile = {self.tls.key_file}\n"
                "ssl_options.verify = verify_none\n"
                "ssl_options.fail_if_no_peer_cert = false\n"
            )
        (self.base_dir / "rabbitmq.conf").write_text(
            f"{listeners}loopback_users = none\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
        )
        # The management API: the platform's broker accounts are made through it.
        (self.base_dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.base_dir / "rabbitmq-env.conf").write_text("")
        subprocess.run(
            [rabbitmq_script("rabbitmq-server"), "-detached"],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=30,
        )
        self.started = True
        self.ctl("wait", "--timeout", str(self.start_timeout), str(self.base_dir / "node.pid"))
        self.ctl("await_startup", "--timeout", str(self.start_timeout))

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [rabbitmq_script("rabbitmqctl"), "-n", self.name, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=self.start_timeout + 30,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.log_tail()}"
            )
        return result.stdout

    def new_vhost(self) -> str:
        """A fresh vhost, so that queues left by one test do not meet the next."""
        vhost = f"t{uuid.uuid4().hex[:10]}"
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return self.vhost_uri(vhost)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The broker is down inside the block, up again (and serving) after it."""
        self.stop_app()
        try:
            yield
        finally:
            self.start_app()

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self.ctl("stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pid_file = self.base_dir / "node.pid"
            if pid_file.exists():
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
                time.sleep(0.5)

    def log_tail(self, lines: int = 30) -> str:
        logs = sorted((self.base_dir / "log").glob("*.log"))
        if not logs:
            return "(no node log)"
        return "\n".join(logs[0].read_text(errors="replace").splitlines()[-lines:])
