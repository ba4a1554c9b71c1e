"""Registering alumni over the registry's RPC, beside nameko's bare RPC echo, in one run.

    python -m bench.registrations
    python -m bench.registrations --sqlite
    python -m bench.registrations --rounds 1 --duration 3 --py-spy /tmp/registry.txt

What it does (results and how to read them: docs/performance/registrations.md):

1. Picks the database: a fresh PostgreSQL database on the server of `--postgres` (default
   TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/test), dropped at the end;
   a SQLite file in a temporary var dir with `--sqlite` (SQLite serialises every write of
   the whole file: not the deployment's figures).
2. Starts, on a RabbitMQ vhost of its own (the management API), the baseline `bench_echo`
   service of bench/echo_service.py and one registry (`python -m services.launch
   registry`, which migrates its database), and makes the demo's departments.
3. Measures, in interleaved rounds with a warm-up before each measurement, at one
   concurrency (16 clients by default; each a green thread with a standalone
   ClusterRpcProxy of its own, signed as an office account):
     (a) bare nameko RPC: `bench_echo.echo("ping")`
     (b) `registry.create_alumnus(record)`: what the gateway's POST /api/v1/alumni calls,
         each call a new alumnus from the demo generator (services/registry/demo.py: name,
         contacts, employer, one or two graduations, tags), generated before the clock
         starts, never the same record twice.
   With `--py-spy FILE` it records the registry with py-spy during the measured (b) rounds
   and writes the top frames (self and inclusive) to FILE (py-spy must be installed).
4. Prints throughput, p50/p99 latency, errors, the ratio to (a), the CPU time each process
   spent per call (from the rounds in which other processes used at most 10 % of the CPU,
   when those are at least half of them; else from all rounds, with a warning), then
   checks that every registration answered is stored once, and PASS or FAIL against
   issue 12's target: >= 300 registrations/s.

Exits 0 when the run completed and every registration answered is stored (whatever the
rate); 1 when one is missing or the system could not be set up. Everything listens on
127.0.0.1 and every process it starts is stopped on exit.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import (  # noqa: E402
    BENCH_SETTINGS,
    BenchRun,
    Client,
    CpuMeter,
    Measurement,
    add_load_arguments,
    cpu_ms_per_success,
    cpu_table,
    drive,
    load_settings,
    noisy_neighbour_warnings,
    pids_named,
    postgres_server_url,
    rabbitmq_pids,
    ratio,
    run_bench,
    signed_rpc_proxy,
    start_nameko_service,
    stop_processes,
    wait_until_serving,
)
from bench.signups import combine, echo_clients  # noqa: E402
from services.localsystem import LocalSystem  # noqa: E402
from services.registry.demo import ensure_departments, generate_alumni  # noqa: E402

DEFAULT_WARMUP_SECONDS = 1.5
DEFAULT_ROUNDS = 3
START_TIMEOUT_SECONDS = 90
TARGET_PER_SECOND = 300.0
RECORDS_PER_SECOND_PLANNED = 600
"""Records generated before the clock starts, per measured or warm-up second: more than
the registry takes; past them the clients generate more as they go (counted in their CPU)."""
TOP_FRAMES = 25


# ---- processes -----------------------------------------------------------------


class Bench:
    """The echo baseline and one registry, on one database and vhost."""

    def __init__(self, amqp_uri: str, var_dir: Path, database_url: str) -> None:
        self.amqp_uri = amqp_uri
        self.var_dir = var_dir
        self.sut = LocalSystem(amqp_uri, {"registry": database_url}, var_dir, BENCH_SETTINGS)
        self.echo: subprocess.Popen | None = None

    def start(self) -> None:
        self.echo = start_nameko_service(
            "bench.echo_service:EchoService", self.sut.env(), self.var_dir / "echo-rpc.log"
        )
        self.sut.start("registry")

    @property
    def registry(self) -> subprocess.Popen:
        return self.sut.processes["registry"]

    def wait_ready(self, control, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until the echo and the registry answer."""
        processes = {"echo-rpc": self.echo, "registry": self.registry}
        wait_until_serving(control, "registry", 1, processes, self.amqp_uri, self.var_dir, timeout)

    def stop(self) -> None:
        stop_processes([self.echo] if self.echo else [])
        self.sut.stop_all()
        self.sut.remove_broker_accounts()


# ---- load ------------------------------------------------------------------------


class Records:
    """Unique demo records, handed out one per call."""

    def __init__(self, departments: list[dict[str, Any]], planned: int) -> None:
        self.source: Iterator[dict[str, Any]] = generate_alumni(10**9, departments)
        self.ready = collections.deque(next(self.source) for _ in range(planned))
        self.answered: list[str] = []

    def next(self) -> dict[str, Any]:
        return self.ready.popleft() if self.ready else next(self.source)


def registering_clients(amqp_uri: str, count: int, records: Records) -> list[Client]:
    def new_client() -> Client:
        proxy = signed_rpc_proxy(amqp_uri)
        cluster = proxy.start()

        def call() -> bool:
            record = records.next()
            answer = cluster.registry.create_alumnus(record)
            if answer.get("name") != record["name"]:
                return False
            records.answered.append(answer["id"])
            return True

        return Client(call, proxy.stop)

    return list(eventlet.GreenPool(count).imap(lambda _: new_client(), range(count)))


# ---- profile -----------------------------------------------------------------------


class Profiler:
    """py-spy recording one process (raw, collapsed stacks) while measurements run."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self.raw = out.with_suffix(".collapsed")
        self.process: subprocess.Popen | None = None
        self.executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(self.executable).exists():
            raise RuntimeError("--py-spy needs py-spy (pip install py-spy)")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(self.raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def pause(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.out.write_text(top_frames(self.raw.read_text()))


def top_frames(collapsed: str, top: int = TOP_FRAMES) -> str:
    """The frames of py-spy's collapsed stacks that the most samples were in: by self time
    (the frame on top of the stack) and by inclusive time (anywhere in it, once per
    sample), as a share of all samples."""
    own: collections.Counter = collections.Counter()
    within: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            within[frame] += samples
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "self:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in within.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    """`function (path/to/file.py:line)` with the path from site-packages or the repo."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/", f"{Path.cwd()}/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    where = where.rsplit(":", 1)[0]  # the function, not the sampled line
    return f"{name} ({where})"


# ---- report ----------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    server: str  # the CPU group that answers the calls


SCENARIOS = [
    Scenario("a", "(a) nameko RPC echo", "echo"),
    Scenario("b", "(b) registry.create_alumnus", "registry"),
]


def cpu_per_call(scenario: Scenario, m: Measurement) -> dict[str, float]:
    groups = {"client": "client", "server": scenario.server, "rabbitmq": "rabbitmq"}
    if "postgres" in m.cpu:  # measured on PostgreSQL only (SQLite is in the registry)
        groups["postgres"] = "postgres"
    return cpu_ms_per_success(m, groups)


def format_results(results: dict[str, Measurement], concurrency: int) -> list[str]:
    baseline = results["a"].throughput
    lines = [
        f"concurrency {concurrency}; throughput = successful calls / wall time",
        "",
        f"{'scenario':<32} {'calls/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'÷(a)':>6}",
    ]
    for s in SCENARIOS:
        m = results[s.key]
        lines.append(
            f"{s.label:<32} {m.throughput:8.1f} {m.percentile(0.50):8.1f}"
            f" {m.percentile(0.99):8.1f} {m.errors:7d} {ratio(m.throughput, baseline):>6}"
        )
    names = ["client", "server", "rabbitmq", "postgres", "others", "machine"]
    lines += ["", "CPU time per successful call (ms), by process:"]
    lines += cpu_table([(s.label, cpu_per_call(s, results[s.key])) for s in SCENARIOS], names, 32)
    lines.append(
        "server = echo-rpc for (a), the registry for (b); postgres = every PostgreSQL "
        "process; others = processes not started by the bench; machine = all cores"
    )
    lines += noisy_neighbour_warnings((s.label, results[s.key]) for s in SCENARIOS)
    return lines


def verdict(results: dict[str, Measurement]) -> list[str]:
    """Issue 12's target, and what bounds it: each process's CPU per call beside echo's,
    and the rate the machine's cores allow at that cost."""
    echo, registering = results["a"], results["b"]
    met = registering.throughput >= TARGET_PER_SECOND and registering.errors == 0
    lines = [
        f"{'PASS' if met else 'FAIL'}  (b) >= {TARGET_PER_SECOND:.0f} registrations/s: "
        f"{registering.throughput:.1f}/s, {ratio(registering.throughput, echo.throughput)} "
        f"of (a) {echo.throughput:.1f}/s"
    ]
    a, b = cpu_per_call(SCENARIOS[0], echo), cpu_per_call(SCENARIOS[1], registering)
    if a and b:
        cores = os.cpu_count() or 1
        ours = b["machine"] - b["others"]
        lines.append(
            f"CPU per call: registry {b['server']:.2f} ms (echo {a['server']:.2f} ms, "
            f"{b['server'] / a['server']:.1f} x), rabbitmq {b['rabbitmq']:.2f} ms "
            f"(echo's {a['rabbitmq']:.2f}), "
            + (f"postgres {b['postgres']:.2f} ms, " if "postgres" in b else "")
            + f"client {b['client']:.2f} ms (echo's {a['client']:.2f})"
        )
        lines.append(
            f"ceiling on {cores} cores at this cost: {cores * 1000 / ours:.0f} registrations/s "
            f"({ours:.2f} ms of the bench's processes and the servers per call); the registry "
            f"alone, one process on one core: {1000 / b['server']:.0f}/s"
        )
    return lines


def write_json(path: str, args, info, backend: str, results) -> None:
    payload = {
        "machine": info,
        "database": backend,
        "settings": load_settings(args),
        "results": {
            s.key: {
                "label": s.label,
                **results[s.key].summary(),
                "cpu_ms_per_call": {
                    k: round(v, 3) for k, v in cpu_per_call(s, results[s.key]).items()
                },
            }
            for s in SCENARIOS
        },
    }
    Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=2))


# ---- main ------------------------------------------------------------------------


def check_stored(database_url: str, answered: list[str]) -> list[str]:
    """Problems found in the registry's database: an answered registration not stored, or
    an alumnus without its one `alumnus_registered` outbox row."""
    from sqlalchemy import create_engine, func, select

    from services.registry.models import Alumnus, OutboxMessage

    alumni, outbox = Alumnus.__table__, OutboxMessage.__table__
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = sum(
                connection.execute(
                    select(func.count()).where(alumni.c.id.in_(answered[i : i + 1000]))
                ).scalar_one()
                for i in range(0, len(answered), 1000)
            )
            total = connection.execute(select(func.count()).select_from(alumni)).scalar_one()
            events = connection.execute(
                select(func.count()).where(outbox.c.event_type == "alumnus_registered")
            ).scalar_one()
    finally:
        engine.dispose()
    problems = []
    if found != len(answered):
        problems.append(f"{len(answered)} registrations answered, {found} of them stored")
    if events != total:
        problems.append(f"{total} alumni stored, {events} alumnus_registered outbox rows")
    return problems


def run(args: argparse.Namespace) -> int:
    with BenchRun("registrations", "registry", None if args.sqlite else args.postgres) as bench_run:
        if bench_run.vhost is None:
            raise RuntimeError("the bench needs RabbitMQ's management API for a vhost of its own")
        amqp_uri, database = bench_run.amqp_uri, bench_run.database
        bench = Bench(amqp_uri, bench_run.var_dir, database.url)
        bench_run.on_exit(bench.stop)
        started = time.monotonic()
        bench.start()
        control_proxy = signed_rpc_proxy(amqp_uri)
        control = control_proxy.start()
        bench_run.on_exit(control_proxy.stop)
        bench.wait_ready(control)
        departments = ensure_departments(control.registry)
        print(f"  echo and registry ready {time.monotonic() - started:.1f} s after start")
        planned = int(RECORDS_PER_SECOND_PLANNED * args.rounds * (args.duration + args.warmup))
        generating = time.monotonic()
        records = Records(departments, planned)
        print(f"  {planned} records generated in {time.monotonic() - generating:.1f} s")

        groups: dict[str, Callable[[], list[int]]] = {
            "client": lambda: [os.getpid()],
            "echo": lambda: [bench.echo.pid],
            "registry": lambda: [bench.registry.pid],
            "rabbitmq": rabbitmq_pids,
        }
        if database.backend == "postgresql":
            groups["postgres"] = lambda: pids_named("postgres")
        meter = CpuMeter(groups)
        profiler = Profiler(bench.registry.pid, Path(args.py_spy)) if args.py_spy else None

        measured: dict[str, list[Measurement]] = {s.key: [] for s in SCENARIOS}
        echo = echo_clients(amqp_uri, args.concurrency)
        registering = registering_clients(amqp_uri, args.concurrency, records)
        clients = {"a": echo, "b": registering}
        try:
            for number in range(1, args.rounds + 1):
                for scenario in SCENARIOS:
                    drive(clients[scenario.key], args.warmup, None)
                    profiling = profiler is not None and scenario.key == "b"
                    if profiling:
                        if profiler.process is None:
                            profiler.start()
                        profiler.resume()
                    result = drive(clients[scenario.key], args.duration, meter)
                    if profiling:
                        profiler.pause()
                    measured[scenario.key].append(result)
                    print(
                        f"  round {number}/{args.rounds} {scenario.label:<30}"
                        f" {result.throughput:8.1f} calls/s  errors {result.errors}"
                        f"  others' CPU {result.others_share:.0%}",
                        flush=True,
                    )
        finally:
            for client in echo + registering:
                client.close()
            if profiler is not None:
                profiler.stop()

        results, selection = combine(measured)
        print()
        print("\n".join(format_results(results, args.concurrency)))
        print(selection)
        for scenario in SCENARIOS:
            for sample in results[scenario.key].error_samples:
                print(f"  error sample {scenario.key}: {sample}")
        print()
        print("\n".join(verdict(results)))
        if profiler is not None:
            print(f"py-spy top frames of the registry: {args.py_spy}")

        problems = check_stored(database.url, records.answered)
        print()
        if problems:
            print("FAIL: " + "; ".join(problems))
        else:
            print(
                f"{len(records.answered)} registrations answered, each stored once with its "
                "alumnus_registered outbox row"
            )
        if args.json:
            write_json(args.json, args, bench_run.info, database.backend, results)
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_arguments(
        parser,
        warmup_seconds=DEFAULT_WARMUP_SECONDS,
        rounds=DEFAULT_ROUNDS,
        rounds_help="(a) and (b) run interleaved this many times",
    )
    parser.add_argument(
        "--postgres",
        default=postgres_server_url(),
        help="the PostgreSQL server a fresh database is made on",
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--py-spy", help="profile the registry during (b); top frames to this file")
    parser.add_argument("--json", help="also write the results to this file")
    return run_bench(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
