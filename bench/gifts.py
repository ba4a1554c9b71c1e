"""Gifts per second through the gateway, beside the @http→RPC echo baseline, in one run.

    make bench                      # runs this after the other benchmarks
    python -m bench.gifts --duration 5 --rounds 3 --json /tmp/gifts.json
    python -m bench.gifts --postgres postgresql://postgres@127.0.0.1:5432/test

What it does (results and how to read them: docs/PERFORMANCE.md, "Gifts"):

1. A temporary var dir; the donations database (a fresh SQLite file, or a fresh database
   on the PostgreSQL server of `--postgres`) migrated and given one open fund; its own
   RabbitMQ vhost when the management API answers.
2. Five processes, each `nameko run` with the project's configuration: the donations
   service, the gateway, the baseline's two (bench/echo_service.py) and a stand-in for
   the registry's session check (the same file). The bench signs an office access token
   itself (the gateway's JWT secret is the bench's), so no registry is needed: a gift
   from an anonymous donor names no alumnus.
3. In interleaved rounds (3 × 5 s each by default, after a 1 s warm-up), 16 clients:
     (a) `GET /echo` of the @http baseline, which only calls the RPC echo;
     (b) `POST /api/v1/gifts` through the gateway, each with a new `Idempotency-Key`:
         validation at the edge and in the service, the key and request hash, the gift
         and its allocation, two ledger lines, the year's receipt counter and the
         receipt, two outbox rows — one transaction — then the relay publishing both
         events (`gift_received`, `receipt_issued`) with publisher confirms.
4. Checks the books afterwards: every gift has a receipt, their numbers are 1..n with no
   gap, and the trial balance is zero.
5. Prints gifts/s with p50/p99, the ratio to (a), the CPU each process spent per request,
   and PASS when (b) ≥ 100 gifts/s and ≥ 40 % of (a). Exits 0 either way (non-zero only
   when the system could not be set up).

Imports no test support code. Everything listens on 127.0.0.1; every process it starts is
stopped on exit.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.common import (  # noqa: E402
    BenchRun,
    Client,
    CpuMeter,
    HttpClient,
    Measurement,
    add_load_arguments,
    combine_quiet_rounds,
    cpu_ms_per_success,
    cpu_table,
    measure_rounds,
    noisy_neighbour_warnings,
    rabbitmq_pids,
    run_bench,
    start_nameko_service,
    stop_processes,
    throughput_table,
    var_dir_logs,
)
from drills.money import check_books as drills_books  # noqa: E402
from gateway.auth import issue_tokens  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.migrate import upgrade  # noqa: E402
from services.donations import funds  # noqa: E402
from services.localsystem import free_port  # noqa: E402

TARGET_RATE = 100.0
TARGET_SHARE = 0.40
DEFAULT_ROUNDS = 3
DEFAULT_WARMUP_SECONDS = 1.0
MIN_QUIET_ROUNDS = 2
GIFT_FEN = 10_000
LABEL_WIDTH = 58
JWT_SECRET = "bench-secret-" + uuid.uuid4().hex
# What a login answers (gateway/auth.py issue_tokens): the bench signs its office token
# itself, for a session that the registry's stand-in calls alive (bench/echo_service.py).
OFFICE_LOGIN = {
    "account": {"id": "bench-office", "username": "bench", "role": "office"},
    "session": {"id": "bench-session", "refresh_jti": "bench-refresh", "token_version": 0},
}


@dataclass
class Scenario:
    key: str
    label: str
    port: int
    path: str
    front: str
    back: str
    body: bytes | None = None


class Bench:
    """The donations service, the gateway and the echo baseline as processes."""

    def __init__(self, amqp_uri: str, var_dir: Path, database_url: str) -> None:
        self.var_dir = var_dir
        self.database_url = database_url
        self.gateway_port, self.echo_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "ALUMNI_VAR_DIR": str(var_dir),
            "JWT_SECRET": JWT_SECRET,
            "DONATIONS_DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "GATEWAY_RATE_PER_ADDRESS": "0",
            "GATEWAY_RATE_PER_ACCOUNT": "0",
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def prepare(self) -> str:
        """The migrated database with one open fund; returns the fund's id."""
        upgrade("donations", self.database_url)
        engine = make_engine(self.database_url, pool_size=1)
        try:
            with sessionmaker(engine)() as session:
                fund = funds.create_fund(
                    session,
                    {"name": "压测基金", "kind": "general", "currency": "CNY", "purpose": ""},
                )
                session.commit()
            return fund["id"]
        finally:
            engine.dispose()

    def start(self) -> None:
        for name, target, port in (
            ("donations", "services.donations.service:DonationsService", None),
            ("gateway", "gateway.service:GatewayService", self.gateway_port),
            ("echo-rpc", "bench.echo_service:EchoService", None),
            ("echo-http", "bench.echo_service:EchoHttpService", self.echo_port),
            ("sessions", "bench.echo_service:SessionStandIn", None),
        ):
            env = {**self.env, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port or self.gateway_port}"}
            self.processes[name] = start_nameko_service(target, env, self.var_dir / f"{name}.log")

    def wait_ready(self, token: str, timeout: float = 60) -> None:
        """Until the gateway reaches the donations service and the echo answers."""
        probes = {
            "donations": (f"http://127.0.0.1:{self.gateway_port}/api/v1/ledger/trial-balance"),
            "echo": f"http://127.0.0.1:{self.echo_port}/echo?v=ready",
        }
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + timeout
        while probes and time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{var_dir_logs(self.var_dir)}")
            for name, url in list(probes.items()):
                try:
                    if requests.get(url, headers=headers, timeout=5).status_code == 200:
                        del probes[name]
                except requests.RequestException:
                    pass
            time.sleep(0.3)
        if probes:
            raise RuntimeError(
                f"{', '.join(probes)} not ready in {timeout} s:\n{var_dir_logs(self.var_dir)}"
            )

    def stop(self) -> None:
        stop_processes(self.processes.values())
        self.processes.clear()


def new_client(scenario: Scenario, token: str) -> Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client = HttpClient(scenario.port, headers)
    expected = 201 if scenario.body else 200

    def call() -> bool:
        extra = {"Idempotency-Key": str(uuid.uuid4())} if scenario.body else None
        status, _ = client.request(
            "POST" if scenario.body else "GET", scenario.path, scenario.body, extra
        )
        return status == expected

    return Client(call, client.close)


def check_books(database_url: str) -> str:
    """Every gift has its receipt, numbered 1..n without a gap; the ledger sums to zero
    (the drills' check, drills/money.py)."""
    books = drills_books(database_url)
    gifts = books["gifts"]
    if not books["receipts_gapless"] or books["ledger_total_fen"] != 0:
        raise RuntimeError(f"the books are wrong: {books}")
    return f"books checked: {gifts} gifts, receipts 1..{gifts} without a gap, ledger sums to 0"


def format_results(scenarios: list[Scenario], results: dict[str, Measurement], args) -> str:
    lines = [
        f"concurrency {args.concurrency}; throughput = successful requests / wall time",
        "",
        *throughput_table([(s.label, results[s.key]) for s in scenarios], LABEL_WIDTH),
    ]
    names = ["client", "front", "back", "rabbitmq", "others", "machine"]
    lines += ["", "CPU time per successful request (ms), by process:"]
    lines += cpu_table(
        [(s.label, cpu_per_request(s, results[s.key])) for s in scenarios], names, LABEL_WIDTH
    )
    lines.append(
        "front = HTTP process (echo-http / gateway), back = RPC process (echo-rpc / donations), "
        "others = processes the bench did not start, machine = all cores"
    )
    lines += noisy_neighbour_warnings((s.label, results[s.key]) for s in scenarios)
    return "\n".join(lines)


def cpu_per_request(scenario: Scenario, m: Measurement) -> dict[str, float]:
    groups = {"client": "client", "front": scenario.front, "back": scenario.back}
    return cpu_ms_per_success(m, {**groups, "rabbitmq": "rabbitmq"})


def verdict(results: dict[str, Measurement]) -> tuple[bool, str]:
    gifts, base = results["b"], results["a"].throughput
    share = gifts.throughput / base if base else 0.0
    passed = gifts.throughput >= TARGET_RATE and share >= TARGET_SHARE and gifts.errors == 0
    return passed, (
        f"{'PASS' if passed else 'FAIL'}: {gifts.throughput:.0f} gifts/s "
        f"(target ≥ {TARGET_RATE:.0f}), {share:.0%} of the @http-echo baseline "
        f"(target ≥ {TARGET_SHARE:.0%})"
    )


def run(args: argparse.Namespace) -> int:
    with BenchRun("gifts", "donations", args.postgres) as bench_run:
        database_url = bench_run.database.url
        database = "PostgreSQL" if args.postgres else "SQLite"
        bench = Bench(bench_run.amqp_uri, bench_run.var_dir, database_url)
        fund_id = bench.prepare()
        bench_run.on_exit(bench.stop)
        bench.start()
        token = issue_tokens(OFFICE_LOGIN, JWT_SECRET)["access_token"]
        bench.wait_ready(token)
        body = json.dumps(
            {
                "donor": {"type": "anonymous"},
                "amount_fen": GIFT_FEN,
                "allocations": [{"fund_id": fund_id, "amount_fen": GIFT_FEN}],
                "channel": "bank_transfer",
            }
        ).encode()
        scenarios = [
            Scenario(
                "a",
                "(a) @http GET /echo → RPC echo",
                bench.echo_port,
                "/echo?v=ping",
                "echo-http",
                "echo-rpc",
            ),
            Scenario(
                "b",
                f"(b) gateway POST /api/v1/gifts + Idempotency-Key ({database})",
                bench.gateway_port,
                "/api/v1/gifts",
                "gateway",
                "donations",
                body,
            ),
        ]
        print("  pids: " + ", ".join(f"{n} {p.pid}" for n, p in bench.processes.items()))
        groups = {name: (lambda pid=p.pid: [pid]) for name, p in bench.processes.items()}
        groups["client"] = lambda: [os.getpid()]
        groups["rabbitmq"] = rabbitmq_pids
        meter = CpuMeter(groups)
        rounds = measure_rounds(
            scenarios,
            lambda s: [new_client(s, token) for _ in range(args.concurrency)],
            args,
            meter,
            LABEL_WIDTH,
        )
        used, results = combine_quiet_rounds(rounds, MIN_QUIET_ROUNDS)
        print(f"\nfigures from rounds {', '.join(str(n + 1) for n in used)} of {len(rounds)}")
        print(format_results(scenarios, results, args))
        for scenario in scenarios:
            for sample in results[scenario.key].error_samples:
                print(f"  error sample {scenario.key}: {sample}")
        print(check_books(database_url))
        passed, verdict_text = verdict(results)
        print()
        print(verdict_text)
        if args.json:
            payload = {
                "machine": bench_run.info,
                "database": database,
                "settings": vars(args),
                "results": {
                    s.key: {
                        "label": s.label,
                        **results[s.key].summary(),
                        "others_share": round(results[s.key].others_share, 3),
                        "cpu_ms_per_request": {
                            k: round(v, 3) for k, v in cpu_per_request(s, results[s.key]).items()
                        },
                    }
                    for s in scenarios
                },
                "rounds_used": [n + 1 for n in used],
                "passed": passed,
            }
            Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_arguments(
        parser,
        warmup_seconds=DEFAULT_WARMUP_SECONDS,
        rounds=DEFAULT_ROUNDS,
        rounds_help="the scenarios run interleaved this many times",
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="measure on a fresh database of this PostgreSQL server instead of SQLite",
    )
    parser.add_argument("--json", help="also write the results to this file")
    return run_bench(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
