"""`make run`: the whole platform on this machine, supervised.

    python -m services.run

Starts the local stand-ins for outside systems and every service of the catalogue
(services/common/catalogue.py: `STAND_INS`, then `SERVICES`, the gateway last), each its
own process in a session of its own (so the terminal's Ctrl-C reaches this supervisor
only), logging to `<ALUMNI_VAR_DIR>/log/<name>.log`. It prints the addresses once `/ready`
answers, then watches:

- a process that exits is started again after a delay that doubles with each quick exit
  (1 s, 2 s, 4 s, … up to 60 s) and starts again from 1 s once the process has run for a
  minute; each exit (with the end of its log) and each restart is said on the output;
- readiness is polled, and each change (not ready, and why; ready again) is said too.

Before anything starts, the platform gets a vhost of its own on the broker with one account
per service (`platform_broker`); the broker's default account has no permission there.

Ctrl-C or TERM stops everything: one TERM to each process, KILL to any still running after
`STOP_GRACE_SECONDS` (a second TERM would stop a nameko process from ever finishing its
stop); a second Ctrl-C kills at once. Imports nothing of nameko: it only runs processes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from services.common import catalogue, config

ROOT = Path(__file__).resolve().parents[1]
FIRST_RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 60.0
STABLE_AFTER_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
WATCH_INTERVAL_SECONDS = 0.2
READY_POLL_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 10.0
SLOW_START_NOTICE_SECONDS = 60.0
LOG_LINES_ON_EXIT = 8


@dataclass
class Child:
    """One supervised process: what to run, and how it has fared."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    log: IO[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0
    restarts: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Runs `children`, restarts them with backoff, stops them cleanly (see the module)."""

    children: list[Child]
    env: dict[str, str]
    log_dir: Path
    say: Callable[[str], None]
    first_delay: float = FIRST_RESTART_DELAY_SECONDS
    max_delay: float = MAX_RESTART_DELAY_SECONDS
    stable_after: float = STABLE_AFTER_SECONDS
    grace: float = STOP_GRACE_SECONDS
    stopping: threading.Event = field(default_factory=threading.Event)
    killing: threading.Event = field(default_factory=threading.Event)

    def start_all(self) -> None:
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for child in self.children:
            self._start(child)

    def _start(self, child: Child) -> None:
        child.log = config.open_private_log(self.log_dir / f"{child.name}.log")
        child.process = subprocess.Popen(
            child.argv,
            cwd=ROOT,
            env=self.env,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.started_at = time.monotonic()
        child.restart_at = None

    def watch_once(self) -> None:
        """Note the children that have exited since the last look; restart those due."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                self._exited(child, now)
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)
                self.say(
                    f"{child.name} 已重启 / restarted "
                    f"(pid {child.process.pid}, restart {child.restarts})"
                )

    def _exited(self, child: Child, now: float) -> None:
        code = child.process.returncode
        child.process = None
        child.log.close()
        if now - child.started_at >= self.stable_after:
            child.quick_exits = 0
        child.quick_exits += 1
        delay = min(self.first_delay * 2 ** (child.quick_exits - 1), self.max_delay)
        child.restart_at = now + delay
        log_path = self.log_dir / f"{child.name}.log"
        self.say(
            f"{child.name} 意外退出（{describe_exit(code)}），{delay:g} 秒后重启 / "
            f"{child.name} exited ({describe_exit(code, chinese=False)}); "
            f"restarting in {delay:g} s. The end of {log_path}:\n{log_tail(log_path)}"
        )

    def running(self) -> list[Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is None]

    def stop_all(self) -> None:
        """One TERM each; KILL whatever still runs after the grace period (or at once, on a
        second Ctrl-C)."""
        for child in self.running():
            child.process.terminate()
        deadline = time.monotonic() + self.grace
        while self.running() and time.monotonic() < deadline and not self.killing.is_set():
            time.sleep(WATCH_INTERVAL_SECONDS)
        for child in self.running():
            self.say(f"{child.name} 未在时限内停止，强制结束 / did not stop in time; killing it")
            child.process.kill()
        for child in self.children:
            if child.process is not None:
                child.process.wait()
                child.process = None
                child.log.close()

    def request_stop(self, _signum: int = signal.SIGTERM, _frame: Any = None) -> None:
        if self.stopping.is_set():
            self.killing.set()
        self.stopping.set()

    def run(self, is_ready: Callable[[], tuple[bool, str]], on_ready: Callable[[], None]) -> None:
        """Start everything, announce readiness once, watch until asked to stop, stop."""
        self.start_all()
        readiness = ReadinessWatch(is_ready, on_ready, self.say, self.stopping)
        threading.Thread(target=readiness.run, name="readiness", daemon=True).start()
        while not self.stopping.is_set():
            self.watch_once()
            self.stopping.wait(WATCH_INTERVAL_SECONDS)
        self.say("正在停止 / stopping every process…")
        self.stop_all()
        self.say("已停止 / stopped")


@dataclass
class ReadinessWatch:
    """Polls readiness: announces the first ready state, then each change."""

    is_ready: Callable[[], tuple[bool, str]]
    on_first_ready: Callable[[], None]
    say: Callable[[str], None]
    stopping: threading.Event
    poll_seconds: float = READY_POLL_SECONDS
    slow_start_notice: float = SLOW_START_NOTICE_SECONDS

    def run(self) -> None:
        slow_start_at = time.monotonic() + self.slow_start_notice
        announced = was_ready = noticed_slow_start = False
        while not self.stopping.is_set():
            ready, why = self.is_ready()
            if ready and not announced:
                announced = True
                self.on_first_ready()
            elif ready and not was_ready:
                self.say("平台已恢复就绪 / the platform is ready again")
            elif not ready and was_ready:
                self.say(f"平台未就绪 / the platform is not ready: {why}")
            elif (
                not (ready or announced or noticed_slow_start) and time.monotonic() > slow_start_at
            ):
                noticed_slow_start = True
                self.say(
                    f"启动 {self.slow_start_notice:g} 秒后仍未就绪，继续等待 / not ready after "
                    f"{self.slow_start_notice:g} s, still trying: {why}"
                )
            was_ready = ready
            self.stopping.wait(self.poll_seconds if announced else 1.0)


def describe_exit(code: int, chinese: bool = True) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        return f"被信号 {name} 结束" if chinese else f"killed by {name}"
    return f"退出码 {code}" if chinese else f"exit code {code}"


def log_tail(path: Path, lines: int = LOG_LINES_ON_EXIT) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])


def catalogue_children() -> list[Child]:
    """The stand-ins, then every service of the catalogue (the gateway is the last entry)."""
    children = [
        Child(stand_in.name, [sys.executable, "-m", stand_in.module])
        for stand_in in catalogue.STAND_INS
    ]
    children += [
        Child(entry.name, [sys.executable, "-m", "services.launch", entry.name])
        for entry in catalogue.SERVICES
    ]
    return children


def readiness_url() -> str:
    host, _, port = config.web_server_address().rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return f"http://{host}:{port}"


def ready_check(base_url: str) -> Callable[[], tuple[bool, str]]:
    def is_ready() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(
                f"{base_url}/ready", timeout=READY_TIMEOUT_SECONDS
            ) as response:
                return response.status == 200, ""
        except urllib.error.HTTPError as error:
            return False, failing_checks(error.read())
        except OSError as error:
            return False, f"{base_url} does not answer ({error})"

    return is_ready


def failing_checks(body: bytes) -> str:
    """The checks of a /ready answer that are not "ok", one "name: why" each."""
    try:
        checks = json.loads(body)["checks"]
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", errors="replace")
    return "; ".join(f"{name}: {state}" for name, state in checks.items() if state != "ok")


def admin_password(env: dict[str, str], var_dir: Path) -> tuple[str, str]:
    """The first office account's password, and where it comes from: the environment, else
    generated once into var/admin-password."""
    if env.get("ALUMNI_ADMIN_PASSWORD"):
        return env["ALUMNI_ADMIN_PASSWORD"], "(from ALUMNI_ADMIN_PASSWORD)"
    password_file = var_dir / "admin-password"
    if not password_file.exists() or not password_file.read_text().strip():
        password_file.write_text(secrets.token_urlsafe(12) + "\n")
        password_file.chmod(0o600)
    return password_file.read_text().strip(), f"(generated, kept in {password_file})"


def banner(
    base_url: str, username: str, password: str, source: str, log_dir: Path, broker: str
) -> str:
    notes = "".join(f"  {note}\n" for note in catalogue.stand_in_notes())
    return f"""校友工作平台已启动 / the alumni platform is running
  校友网站:   {base_url}/  (alumni site)
  工作台:     {base_url}/console/  (staff console)
  API:        {base_url}/api/v1
  API docs:   {base_url}/docs
  admin:      {username} / {password} {source}
  broker:     {broker} (one account per service; passwords in var/broker-password-*)
  logs:       {log_dir}/
{notes}A process that stops is restarted (said here); Ctrl-C stops everything.
"""


def printer(stream: IO[str] = sys.stdout) -> Callable[[str], None]:
    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            stream.write(f"{time.strftime('%H:%M:%S')} {message}\n")
            stream.flush()

    return say


def platform_broker(say: Callable[[str], None]) -> str | None:
    """The platform's own vhost on the broker (`BROKER_VHOST`, unless `AMQP_URI` names
    one: `config.platform_amqp_uri`), with one account per
    service (services/broker_accounts.py), made through the management API as the account
    of `AMQP_URI`, which keeps no permission there. Returns the AMQP URI of that vhost
    (the services put their own accounts into it), or None after saying why it cannot.

    With `BROKER_PROVISION=0` the vhost and accounts are taken as made by someone else
    (an operator who loaded deploy/rabbitmq-definitions.json, a test harness)."""
    from urllib.parse import unquote, urlsplit

    from services import broker_accounts

    admin_uri = config.amqp_uri()
    platform_uri = config.platform_amqp_uri()
    vhost = unquote(urlsplit(platform_uri).path[1:])
    if not config.get_flag("BROKER_PROVISION"):
        return platform_uri
    management = broker_accounts.Management.from_settings(admin_uri)
    try:
        broker_accounts.provision(
            management,
            vhost,
            config.get("BROKER_USER_PREFIX") or "",
            broker_accounts.service_passwords(),
        )
    except broker_accounts.BrokerAdminError as error:
        say(
            f"无法在消息代理上建立平台的虚拟主机和账号 / cannot set up the platform's vhost "
            f"{vhost!r} and accounts on the broker: {error}. Enable the management plugin "
            f"(sudo rabbitmq-plugins enable rabbitmq_management) and give AMQP_URI an "
            f"administrator, or load deploy/rabbitmq-definitions.json yourself and set "
            f"BROKER_PROVISION=0 (docs/security/broker.md)."
        )
        return None
    return platform_uri


def main() -> int:
    config.private_files()
    var_dir = config.var_dir()
    say = printer()
    amqp_uri = platform_broker(say)
    if amqp_uri is None:
        return 1
    # Where, without the administering account's password.
    scheme, _, rest = amqp_uri.partition("://")
    broker = f"{scheme}://{rest.rpartition('@')[2]}"
    env = {
        **os.environ,
        "ALUMNI_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
        # The vhost; each service connects to it with its own account (services/launch.py).
        "AMQP_URI": amqp_uri,
    }
    env.setdefault("ALUMNI_ADMIN_USERNAME", config.admin_username())
    password, source = admin_password(env, var_dir)
    env["ALUMNI_ADMIN_PASSWORD"] = password
    log_dir = var_dir / "log"
    supervisor = Supervisor(catalogue_children(), env, log_dir, say)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    base_url = readiness_url()
    supervisor.run(
        ready_check(base_url),
        lambda: say(
            banner(base_url, env["ALUMNI_ADMIN_USERNAME"], password, source, log_dir, broker)
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
