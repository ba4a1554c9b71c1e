"""What the benchmarks share: machine facts, a throwaway vhost and database, a run's set-up
and teardown (`BenchRun`), the echo baseline's processes, CPU accounting, the load loop and
its measurements, and the command-line frame.

Import it after `eventlet.monkey_patch()`, as the benchmarks do.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote, urlparse, urlunparse

import eventlet
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from bench.echo_service import ECHO_SERVICE
from services.common import catalogue, config
from services.common.caller import HEADER, Caller, sign

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_ADMIN = ("admin", "bench-admin-password-1")
# Every call to a service carries a signed caller (services/common/caller.py): the benches
# sign their own with a key they give the services, for longer than a run lasts.
BENCH_CALLER_KEY = "bench-caller-key-" + "k" * 32
BENCH_CALLER = Caller("bench-office", "bench.office", "office", None)
BENCH_CALLER_TTL_SECONDS = 3600
BENCH_SETTINGS = {
    "JWT_SECRET": "bench-secret-" + "b" * 32,
    "CALLER_KEY": BENCH_CALLER_KEY,
    "ALUMNI_ADMIN_USERNAME": BENCH_ADMIN[0],
    "ALUMNI_ADMIN_PASSWORD": BENCH_ADMIN[1],
    # One client sends the whole load: the gateway's per-client limits would measure
    # themselves, not the platform.
    "GATEWAY_RATE_PER_ADDRESS": "0",
    "GATEWAY_RATE_PER_ACCOUNT": "0",
    # Not last year's report: the registry would draw it seconds after its start, seconds
    # of CPU in a process of its own amid the first round of every bench.
    "REGISTRY_REPORT_PUBLISH_ON": "off",
}
"""What the benchmarks start the platform's processes with (services/localsystem.py)."""


def admin_token(base_url: str, credentials: tuple[str, str] = BENCH_ADMIN) -> str:
    """An access token of an admin account (the bench's by default), from the gateway."""
    username, password = credentials
    response = requests.post(
        f"{base_url}/api/v1/auth/token",
        json={"username": username, "password": password},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


DEFAULT_CONCURRENCY = 16
DEFAULT_DURATION_SECONDS = 5.0
CLIENT_TIMEOUT_SECONDS = 30
NOISY_NEIGHBOUR_SHARE = 0.10
ERROR_SAMPLES_KEPT = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOG_TAIL_CHARACTERS = 4000


# ---- machine -----------------------------------------------------------------


def machine_info(amqp_uri: str, **versions: str) -> dict[str, str]:
    """The machine and the software measured; `versions` (e.g. postgresql=...) go before
    RabbitMQ's."""
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        **versions,
        "rabbitmq": rabbitmq_version(amqp_uri),
    }


def load_average() -> str:
    """The machine's load (as `uptime` prints it), for the record beside the figures."""
    with contextlib.suppress(OSError):
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
        return f"load average {one}, {five}, {fifteen} (nproc {os.cpu_count()})"
    return "load average unknown"


def rabbitmq_version(amqp_uri: str) -> str:
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            connection.connect()
            version = connection.connection.server_properties.get("version", "unknown")
            return version.decode() if isinstance(version, bytes) else str(version)
    except Exception as error:
        return f"unknown ({error})"


# ---- RabbitMQ vhost ------------------------------------------------------------


class BenchVhost:
    """A throwaway vhost through the management API; the vhost of AMQP_URI when there is none."""

    def __init__(self, base_uri: str) -> None:
        self.base_uri = base_uri
        parsed = urlparse(base_uri)
        self.user = parsed.username or "guest"
        port = os.environ.get("RABBIT_MGMT_PORT", "15672")
        self.api = f"http://{parsed.hostname or '127.0.0.1'}:{port}/api"
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only: never through a proxy
        self.http.auth = (self.user, parsed.password or "guest")
        self.name: str | None = None

    def create(self) -> str:
        name = f"alumni_bench_{uuid.uuid4().hex[:8]}"
        try:
            self.http.put(f"{self.api}/vhosts/{name}", timeout=5).raise_for_status()
            self.name = name
            self.http.put(
                f"{self.api}/permissions/{name}/{quote(self.user, safe='')}",
                json={"configure": ".*", "write": ".*", "read": ".*"},
                timeout=5,
            ).raise_for_status()
        except requests.RequestException as error:
            self.delete()
            print(
                f"  (management API unavailable: {type(error).__name__}; using the "
                "vhost of AMQP_URI — do not run `make run` on it meanwhile)"
            )
            return self.base_uri
        return urlunparse(urlparse(self.base_uri)._replace(path="/" + name))

    def delete(self) -> None:
        if self.name is None:
            return
        with contextlib.suppress(requests.RequestException):
            self.http.delete(f"{self.api}/vhosts/{self.name}", timeout=10)
        self.name = None


# ---- database --------------------------------------------------------------------


def postgres_server_url() -> str:
    """The PostgreSQL server the benchmarks make their databases on by default."""
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def psycopg2_url(server_url: str) -> URL:
    """The URL with the driver the project ships (a bare postgresql:// would pick psycopg 3)."""
    return make_url(server_url).set(drivername="postgresql+psycopg2")


def fresh_postgres_database(server_url: str, prefix: str = "bench") -> tuple[str, str]:
    """A new database on the server: its URL and its name (`<prefix>_<random>`)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        psycopg2_url(server_url),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return psycopg2_url(server_url).set(database=name).render_as_string(False), name


def drop_postgres_database(server_url: str, name: str) -> None:
    admin = create_engine(psycopg2_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_version(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


@dataclass
class BenchDatabase:
    """The database a run measures on: a fresh one on a PostgreSQL server (`name`), or a
    SQLite file in the run's var dir (`why_not_postgres` when the server did not answer)."""

    url: str
    server_url: str | None = None
    name: str | None = None
    version: str = ""
    why_not_postgres: str = ""

    @classmethod
    def open(
        cls, var_dir: Path, label: str, server_url: str | None, sqlite_when_unreachable: bool
    ) -> BenchDatabase:
        sqlite_url = f"sqlite:///{var_dir / f'{label}.db'}"
        if server_url is None:
            return cls(sqlite_url)
        try:
            url, name = fresh_postgres_database(server_url, f"bench_{label}")
        except Exception as error:
            if not sqlite_when_unreachable:
                raise
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return cls(sqlite_url, why_not_postgres=f"{type(error).__name__}: {first_line}")
        database = cls(url, server_url, name)
        database.version = postgres_version(url)
        return database

    @property
    def backend(self) -> str:
        return "postgresql" if self.name else "sqlite"

    @property
    def path(self) -> Path | None:
        """The SQLite file; None on PostgreSQL."""
        return None if self.name else Path(self.url.removeprefix("sqlite:///"))

    def describe(self) -> str:
        if self.name:
            return f"PostgreSQL {self.version}, fresh database {self.name}"
        if self.why_not_postgres:
            return (
                f"SQLite {self.path} — PostgreSQL not reachable ({self.why_not_postgres}); "
                "SQLite serialises all writes, not the deployment's figures"
            )
        return f"SQLite {self.path}"

    def drop(self) -> None:
        if self.name and self.server_url:
            drop_postgres_database(self.server_url, self.name)
            self.name = None


# ---- a run's set-up and teardown ------------------------------------------------


def var_dir_logs(var_dir: Path) -> str:
    """The end of every log under `var_dir`, each under its path."""
    return "\n".join(
        f"--- {path.relative_to(var_dir)} ---\n"
        f"{path.read_text(errors='replace')[-LOG_TAIL_CHARACTERS:]}"
        for path in sorted(var_dir.rglob("*.log"))
    )


def _said_if_failing(callback: Callable[[], object]) -> None:
    """`callback()`; an error it raises is printed, not raised: a clean-up step that fails
    must neither stop the next ones nor hide why the run ended."""
    try:
        callback()
    except Exception as error:
        print(f"clean-up failed: {type(error).__name__}: {error}", file=sys.stderr)


class BenchRun:
    """What every benchmark run sets up, and takes down again whatever happens in it:

    on entry, a var dir of its own; its database (a fresh PostgreSQL database on
    `postgres`, the server's URL, or with None a SQLite file `<database>.db` in the var dir;
    with `sqlite_when_unreachable`, that file too when the server does not answer); its
    RabbitMQ vhost (that of AMQP_URI when the management API does not answer: `vhost` is
    None); lines with the machine, the database, the load average, the vhost and the var
    dir. On exit, the load average again, then, the latest first, what the run gave
    `on_exit` (stopping its processes), the vhost, the database and the var dir; on a
    failure the var dir is kept and its logs are printed."""

    def __init__(
        self,
        name: str,
        database: str,
        postgres: str | None = None,
        *,
        sqlite_when_unreachable: bool = False,
    ) -> None:
        self.name = name
        self.database_label = database
        self.postgres = postgres
        self.sqlite_when_unreachable = sqlite_when_unreachable
        self.failed = True
        self._cleanup = contextlib.ExitStack()

    def __enter__(self) -> BenchRun:
        base_uri = config.amqp_uri()
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"alumni-bench-{self.name}-"))
        # Latest first: the last registered runs first, and the var dir goes last.
        self._cleanup.callback(self._remove_var_dir)
        try:
            self.database = BenchDatabase.open(
                self.var_dir, self.database_label, self.postgres, self.sqlite_when_unreachable
            )
            self._cleanup.callback(_said_if_failing, self.database.drop)
            versions = {"postgresql": self.database.version} if self.database.name else {}
            self.info = machine_info(base_uri, **versions)
            print("machine: " + ", ".join(f"{k} {v}" for k, v in self.info.items()), flush=True)
            print(f"database: {self.database.describe()}", flush=True)
            print(f"at start: {load_average()}", flush=True)
            vhost = BenchVhost(base_uri)
            self._cleanup.callback(vhost.delete)
            self.amqp_uri = vhost.create()
            self.vhost = vhost.name
            print(
                f"vhost: {self.vhost or '(that of AMQP_URI)'}; var dir: {self.var_dir}", flush=True
            )
            self._cleanup.callback(self._print_logs_if_failed)
        except BaseException:
            self._cleanup.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        self.failed = kind is not None
        print(f"at end: {load_average()}", flush=True)
        return self._cleanup.__exit__(kind, error, traceback)

    def on_exit(self, callback: Callable[[], object]) -> None:
        """`callback()` when the run ends, before what was given before it, the vhost, the
        database and the var dir; should it fail, that is said and the rest still go."""
        self._cleanup.callback(_said_if_failing, callback)

    def _print_logs_if_failed(self) -> None:
        if self.failed:
            print(var_dir_logs(self.var_dir), file=sys.stderr)

    def _remove_var_dir(self) -> None:
        if self.failed:
            print(f"logs kept in {self.var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.var_dir, ignore_errors=True)


def rpc_consumers(amqp_uri: str, queue: str) -> int:
    """Consumers of `queue` right now (a passive declare: exact, no statistics lag)."""
    from kombu import Connection

    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            return channel.queue_declare(queue=queue, passive=True).consumer_count
        except Exception as error:  # not declared yet: no consumer
            if "NOT_FOUND" in str(error) or "404" in str(error):
                return 0
            raise
        finally:
            with contextlib.suppress(Exception):
                channel.close()


def wait_until_serving(
    control: Any,
    service: str,
    instances: int,
    processes: dict[str, subprocess.Popen],
    amqp_uri: str,
    var_dir: Path,
    timeout: float,
) -> None:
    """Until `instances` processes consume `rpc-<service>` and, through `control` (an RPC
    proxy), the echo and the service's `health` answer. A process of `processes` that exits
    meanwhile, or the timeout, is an error carrying the run's logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}:\n{var_dir_logs(var_dir)}"
                )
        if rpc_consumers(amqp_uri, f"rpc-{service}") >= instances:
            with contextlib.suppress(Exception):
                if getattr(control, ECHO_SERVICE).echo("ready") == "ready":
                    getattr(control, service).health()
                    return
        time.sleep(0.3)
    raise RuntimeError(f"not ready within {timeout} s:\n{var_dir_logs(var_dir)}")


# ---- processes -----------------------------------------------------------------


def start_nameko_service(service: str, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`nameko run` of `service` ("module:Class") with the project's nameko config; its
    output goes to `log_path`, closed by stop_processes."""
    log = open(log_path, "ab")  # noqa: SIM115  (closed in stop_processes)
    process = subprocess.Popen(
        # Not services.launch: that would import (and eventlet-patch) the serving module here.
        [sys.executable, "-m", "services.common.serve", service],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_file = log
    return process


def stop_processes(processes: Iterable[subprocess.Popen]) -> None:
    """SIGTERM to all at once, then wait for each (killed after 15 s) and close its log."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        with contextlib.suppress(Exception):
            process.log_file.close()


# ---- CPU accounting --------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def children_cpu_seconds(pid: int) -> float:
    """The CPU of the process's children that have ended and been waited for (a registry's
    import processes, services/common/offload.py)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # cutime + cstime


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores) since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS  # guest time is already in user time


def pids_named(command: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def rabbitmq_pids() -> list[int]:
    return pids_named("beam.smp")


class CpuMeter:
    """CPU seconds used by each named group of processes (and the whole machine)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups

    def read(self) -> dict[str, dict[int, float] | float]:
        reading: dict[str, Any] = {
            name: {pid: process_cpu_seconds(pid) for pid in pids()}
            for name, pids in self.groups.items()
        }
        reading["machine"] = machine_cpu_seconds()
        return reading

    @staticmethod
    def used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        """Per group, the CPU seconds between two readings (processes that came and went too)."""
        used = {"machine": after["machine"] - before["machine"]}
        for name, pids in after.items():
            if name != "machine":
                used[name] = sum(
                    max(0.0, seconds - before.get(name, {}).get(pid, 0.0))
                    for pid, seconds in pids.items()
                )
        return used


# ---- load generation -------------------------------------------------------------


@dataclass
class Client:
    """What one simulated client does: `call()` makes one call, True when it succeeded."""

    call: Callable[[], bool]
    close: Callable[[], None]


class Sampler(Protocol):
    """Something that records samples while drive() measures (e.g. database sessions)."""

    def start(self) -> None: ...

    def stop(self) -> list[Any]: ...


@dataclass
class Measurement:
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    samples: list[Any] = field(default_factory=list)  # from the Sampler given to drive()

    def add(self, other: Measurement) -> None:
        self.ok += other.ok
        self.errors += other.errors
        self.elapsed += other.elapsed
        self.latencies.extend(other.latencies)
        self.samples.extend(other.samples)
        for name, seconds in other.cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + seconds
        self.error_samples.extend(
            other.error_samples[: ERROR_SAMPLES_KEPT - len(self.error_samples)]
        )

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """The latency (ms) at `fraction` of the sorted successful calls (0.99: p99)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index] * 1000

    @property
    def others_cpu_seconds(self) -> float:
        """CPU seconds of the processes that no group of the CpuMeter names."""
        ours = sum(v for k, v in self.cpu.items() if k != "machine")
        return max(0.0, self.cpu.get("machine", 0.0) - ours)

    @property
    def others_share(self) -> float:
        """The share of the machine's CPU (all cores) those other processes used."""
        cores = os.cpu_count() or 1
        return self.others_cpu_seconds / (self.elapsed * cores) if self.elapsed else 0.0

    def summary(self) -> dict[str, float | int]:
        """The figures every benchmark's JSON reports per scenario."""
        return {
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.percentile(0.5), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "ok": self.ok,
            "errors": self.errors,
        }


def drive(
    clients: list[Client],
    duration: float,
    meter: CpuMeter | None,
    sampler: Sampler | None = None,
) -> Measurement:
    """Every client calls in a loop for `duration` seconds; one green thread each."""
    result = Measurement()
    before = meter.read() if meter else {}
    if sampler:
        sampler.start()
    started = time.perf_counter()
    stop_at = started + duration

    def loop(client: Client) -> None:
        while True:
            begin = time.perf_counter()
            if begin >= stop_at:
                return
            try:
                ok = client.call()
                reason = "unexpected answer"
            except Exception as error:
                ok, reason = False, f"{type(error).__name__}: {error}"
            if ok:
                result.latencies.append(time.perf_counter() - begin)
                result.ok += 1
            else:
                result.errors += 1
                if len(result.error_samples) < ERROR_SAMPLES_KEPT:
                    result.error_samples.append(reason)

    pool = eventlet.GreenPool(len(clients))
    for client in clients:
        pool.spawn_n(loop, client)
    pool.waitall()
    result.elapsed = time.perf_counter() - started
    if sampler:
        result.samples = sampler.stop()
    if meter:
        result.cpu = CpuMeter.used(before, meter.read())
    return result


class HttpClient:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1; http.client reconnects after a close."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS
        )
        self.headers = headers

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        try:
            self.connection.request(
                method, path, body=body, headers={**self.headers, **(headers or {})}
            )
            response = self.connection.getresponse()
            content = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        if response.will_close:
            self.connection.close()
        return response.status, content

    def close(self) -> None:
        self.connection.close()


def signed_rpc_proxy(amqp_uri: str, timeout: float = CLIENT_TIMEOUT_SECONDS):
    """A standalone proxy whose calls carry the bench's signed caller (an office account)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    audience = [entry.name for entry in catalogue.rpc_services()]
    token = sign(BENCH_CALLER, BENCH_CALLER_KEY, audience, ttl=BENCH_CALLER_TTL_SECONDS)
    return ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data={HEADER: token}, timeout=timeout)


def new_rpc_proxy(amqp_uri: str):
    from nameko.standalone.rpc import ClusterRpcProxy

    # A standalone proxy serves one green thread at a time: one per client.
    return ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=CLIENT_TIMEOUT_SECONDS)


def echo_rpc_client(amqp_uri: str) -> Client:
    """A client of the baseline: bare nameko RPC `bench_echo.echo("ping")`."""
    proxy = new_rpc_proxy(amqp_uri)
    cluster = proxy.start()

    def call() -> bool:
        return getattr(cluster, ECHO_SERVICE).echo("ping") == "ping"

    return Client(call, proxy.stop)


# ---- report ----------------------------------------------------------------------


def ratio(value: float, base: float) -> str:
    return f"{value / base:.0%}" if base else "-"


def noisy_neighbour_warnings(labelled: Iterable[tuple[str, Measurement]]) -> list[str]:
    """A warning for each measurement during which other processes took too much CPU."""
    return [
        f"WARNING: during {label.split()[0]} other processes used {m.others_share:.0%} "
        "of the machine's CPU; the figures are depressed by them, re-run on a quiet machine"
        for label, m in labelled
        if m.others_share > NOISY_NEIGHBOUR_SHARE
    ]


def combine_quiet_rounds(
    rounds: list[dict[str, Measurement]], minimum: int
) -> tuple[list[int], dict[str, Measurement]]:
    """Other processes on a shared machine take CPU from whichever scenario runs at that
    moment: the rounds (0-based) in which they took ≤ NOISY_NEIGHBOUR_SHARE when there are
    at least `minimum` of them, else every round; and each scenario's measurements of
    those rounds added up."""
    quiet = [
        n
        for n, measured in enumerate(rounds)
        if all(m.others_share <= NOISY_NEIGHBOUR_SHARE for m in measured.values())
    ]
    used = quiet if len(quiet) >= minimum else list(range(len(rounds)))
    combined: dict[str, Measurement] = {}
    for n in used:
        for key, measured in rounds[n].items():
            combined.setdefault(key, Measurement()).add(measured)
    return used, combined


def measure_rounds(
    scenarios: list[Any],
    new_clients: Callable[[Any], list[Client]],
    args: argparse.Namespace,
    meter: CpuMeter,
    width: int,
) -> list[dict[str, Measurement]]:
    """`args.rounds` rounds of every scenario (each with `.key` and `.label`) in turn: its
    clients warm up for `args.warmup` s, then are measured for `args.duration` s."""
    rounds = []
    for number in range(1, args.rounds + 1):
        this_round: dict[str, Measurement] = {}
        for scenario in scenarios:
            clients = new_clients(scenario)
            try:
                drive(clients, args.warmup, None)
                measured = drive(clients, args.duration, meter)
            finally:
                for client in clients:
                    client.close()
            this_round[scenario.key] = measured
            print(
                f"  round {number}/{args.rounds} {scenario.label:<{width}}"
                f" {measured.throughput:8.1f} req/s  errors {measured.errors:<3d}"
                f" others {measured.others_share:4.0%}",
                flush=True,
            )
        rounds.append(this_round)
    return rounds


def throughput_table(rows: list[tuple[str, Measurement]], width: int) -> list[str]:
    """Lines of a table of throughput and latency, each row's ratio to the first row's."""
    base = rows[0][1].throughput
    lines = [
        f"{'scenario':<{width}} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'÷(a)':>6}"
    ]
    for label, m in rows:
        lines.append(
            f"{label:<{width}} {m.throughput:8.1f} {m.percentile(0.5):8.1f}"
            f" {m.percentile(0.99):8.1f} {m.errors:7d} {ratio(m.throughput, base):>6}"
        )
    return lines


def cpu_ms_per_success(m: Measurement, groups: dict[str, str]) -> dict[str, float]:
    """CPU milliseconds per successful call: of each process group (`{"front":
    "gateway"}`: the column `front` shows the group `gateway`), of the processes no group
    names (`others`) and of the whole machine."""
    if not m.ok:
        return {}
    seconds = {column: m.cpu.get(group, 0.0) for column, group in groups.items()}
    seconds["others"] = m.others_cpu_seconds
    seconds["machine"] = m.cpu.get("machine", 0.0)
    return {column: value * 1000 / m.ok for column, value in seconds.items()}


def cpu_table(rows: list[tuple[str, dict[str, float]]], names: list[str], width: int) -> list[str]:
    """Lines of a table of CPU milliseconds per request: a row per (label, figure by name)."""
    lines = [f"{'scenario':<{width}} " + " ".join(f"{name:>8}" for name in names)]
    for label, figures in rows:
        lines.append(
            f"{label:<{width}} "
            + " ".join(f"{figures[n]:8.2f}" if n in figures else f"{'-':>8}" for n in names)
        )
    return lines


# ---- command line ------------------------------------------------------------------


def add_load_arguments(
    parser: argparse.ArgumentParser, *, warmup_seconds: float, rounds: int, rounds_help: str
) -> None:
    """--concurrency, --duration, --warmup and --rounds."""
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_SECONDS,
        help="measured seconds per scenario and round",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=warmup_seconds,
        help="unmeasured seconds before each measurement",
    )
    parser.add_argument("--rounds", type=int, default=rounds, help=rounds_help)


def load_settings(args: argparse.Namespace) -> dict[str, float | int]:
    """The arguments of add_load_arguments, as the benchmarks' JSON reports them."""
    return {
        "concurrency": args.concurrency,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "rounds": args.rounds,
    }


def run_bench(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """`run(args)`, stopped cleanly by SIGTERM or Ctrl-C; 1 when the system could not be set up."""

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    # amqp warns about the mandatory RPC probes returned while a service starts.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; stopped everything it started", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"bench could not run: {error}", file=sys.stderr)
        return 1
