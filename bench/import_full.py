"""A 100,000-row registrar import end to end, beside its pure part, in one run.

    python -m bench.import_full                          # SQLite
    python -m bench.import_full --postgres postgresql://postgres@127.0.0.1:5432/test
    python -m bench.import_full --rows 20000             # a quicker look

1. The pure part first (`bench.import_parse` on the same file: parse, search keys, duplicate
   candidates, report), as the baseline.
2. Then the registry and the gateway as real processes (a throwaway vhost, a fresh
   database), the sample's departments made through the API with their lineage, and the
   file uploaded as a user would (`POST /api/v1/alumni/imports`); the clock runs from the
   upload until the job is `done`, its progress read over the API every half second.
3. The write floor, the second baseline: as many rows as the import wrote into each table
   (alumni, graduations, history, name keys, events, the import's rows), written again
   into a fresh database of the same kind with no logic (bench/import_floor.py).
4. The check: every row is accounted for (imported + refused = rows), the refused rows
   are the sample's bad rows.

Issue 10 asks for under 60 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench import import_floor, import_parse
from bench.common import (
    BENCH_SETTINGS,
    BenchVhost,
    CpuMeter,
    admin_token,
    children_cpu_seconds,
    drop_postgres_database,
    fresh_postgres_database,
    pids_named,
    process_cpu_seconds,
    rabbitmq_pids,
    run_bench,
)
from services.common import config
from services.localsystem import LocalSystem
from services.registry import sample_import

BUDGET_SECONDS = 60.0
POLL_SECONDS = 0.5
JOB_TIMEOUT_SECONDS = 2400
"""Generous: on this shared machine a 100,000-row import has taken 15 min of wall time."""


def run(args: argparse.Namespace) -> int:
    path, manifest = import_parse.sample_file(args)
    with tempfile.TemporaryDirectory() as scratch:
        baseline_json = Path(scratch) / "pure.json"
        import_parse.main(
            [
                f"--rows={args.rows}",
                f"--bad={args.bad}",
                f"--duplicates={args.duplicates}",
                f"--seed={args.seed}",
                f"--json={baseline_json}",
            ]
        )
        pure = json.loads(baseline_json.read_text())["pure_wall_seconds"]
    vhost = BenchVhost(config.amqp_uri())
    amqp_uri = vhost.create()
    postgres_name = None
    var_dir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    if args.postgres:
        database_url, postgres_name = fresh_postgres_database(args.postgres)
    else:
        database_url = f"sqlite:///{var_dir / 'registry.db'}"
    system = LocalSystem(amqp_uri, {"registry": database_url}, var_dir, BENCH_SETTINGS)
    try:
        system.start("registry")
        system.start("gateway")
        system.wait_rpc_ready("registry", timeout=180)
        wait_for_gateway(system.base_url)
        headers = {"Authorization": f"Bearer {admin_token(system.base_url)}"}
        http = requests.Session()
        http.headers.update(headers)

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(f"{system.base_url}{path}", json=body, timeout=60)
            response.raise_for_status()
            return response.json()

        sample_import.create_departments(post)
        data = path.read_bytes()
        registry_pid = system.processes["registry"].pid
        load_before = os.getloadavg()
        cpu_before = process_cpu_seconds(registry_pid)
        children_before = children_cpu_seconds(registry_pid)
        # Everything the import makes the machine do: the database server's and the
        # broker's work too, which compete with the registry for the same cores.
        meter = CpuMeter({"PostgreSQL": lambda: pids_named("postgres"), "RabbitMQ": rabbitmq_pids})
        machine_before = meter.read()
        started = time.perf_counter()
        response = http.post(
            f"{system.base_url}/api/v1/alumni/imports",
            files={"file": (path.name, data)},
            timeout=300,
        )
        response.raise_for_status()
        job, parsed_at = follow(http, system.base_url, response.json()["id"], started)
        total = time.perf_counter() - started
        # The registry's own CPU: what the import costs, whatever else the machine runs.
        registry_cpu = process_cpu_seconds(registry_pid) - cpu_before
        # Its parse and duplicate-matching processes, ended with the job: the second core.
        children_cpu = children_cpu_seconds(registry_pid) - children_before
        machine_cpu = CpuMeter.used(machine_before, meter.read())
        load_after = os.getloadavg()
        counts = import_floor.counts_of(database_url)
    finally:
        system.stop_all()
        vhost.delete()
        if postgres_name:
            drop_postgres_database(args.postgres, postgres_name)
    # The baseline measured in the same run: the same rows written with no logic.
    floor_name = None
    if args.postgres:
        floor_url, floor_name = fresh_postgres_database(args.postgres)
    else:
        floor_url = f"sqlite:///{var_dir / 'floor.db'}"
    try:
        floor_wall, floor_cpu = import_floor.write_floor(floor_url, counts)
    finally:
        if floor_name:
            drop_postgres_database(args.postgres, floor_name)
        # Two SQLite files of ~600 MB each on SQLite: not left behind.
        shutil.rmtree(var_dir, ignore_errors=True)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\n端到端导入（{database}，网关上传 → 后台任务完成）：")
    print(f"  行数 {job['rows_read']}，导入 {job['imported']}，拒绝 {job['rejected']}，")
    print(f"  已存在 {job['existing']}，疑似重复 {job['duplicates_flagged']}，状态 {job['status']}")
    print(f"  负载（1/5/15 分钟）：开始 {_load(load_before)}，结束 {_load(load_after)}")
    print(f"  {'pure part (baseline, same file)':<34}{pure:>8.1f} s")
    print(
        f"  {'write floor (same rows, no logic)':<34}{floor_wall:>8.1f} s"
        f"  (CPU {floor_cpu:.1f} s; {sum(counts.values()):,} rows)"
    )
    print(f"  {'upload + parse + stage':<34}{parsed_at:>8.1f} s")
    print(f"  {'apply (write, duplicates, events)':<34}{total - parsed_at:>8.1f} s")
    print(f"  {'end to end':<34}{total:>8.1f} s  ({job['rows_read'] / total:,.0f} rows/s)")
    print(f"  {'registry CPU during it':<34}{registry_cpu:>8.1f} s")
    print(f"  {'its import processes CPU':<34}{children_cpu:>8.1f} s")
    cores = os.cpu_count() or 1
    print(
        f"  {'whole machine CPU during it':<34}{machine_cpu['machine']:>8.1f} s"
        f"  (PostgreSQL {machine_cpu['PostgreSQL']:.1f} s,"
        f" RabbitMQ {machine_cpu['RabbitMQ']:.1f} s)"
    )
    print(
        f"  {f'CPU floor on {cores} cores':<34}{machine_cpu['machine'] / cores:>8.1f} s"
        "  (the same work with every core busy throughout)"
    )
    print(f"  目标 {BUDGET_SECONDS:.0f} s：{'达到' if total <= BUDGET_SECONDS else '未达到'}")
    problems = []
    if job["status"] != "done":
        problems.append(f"job ended {job['status']}: {job.get('error')}")
    if job["imported"] + job["existing"] + job["rejected"] != job["rows_read"]:
        problems.append("rows not accounted for")
    if manifest and job["rejected"] != len(manifest["bad"]):
        problems.append(f"refused {job['rejected']}, the sample has {len(manifest['bad'])} bad")
    for problem in problems:
        print(f"不符：{problem}", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "database": database,
                    "rows": job["rows_read"],
                    "pure_wall_seconds": pure,
                    "floor_wall_seconds": floor_wall,
                    "floor_cpu_seconds": floor_cpu,
                    "rows_written": counts,
                    "load_before": load_before,
                    "load_after": load_after,
                    "parsed_seconds": parsed_at,
                    "end_to_end_seconds": total,
                    "registry_cpu_seconds": registry_cpu,
                    "registry_children_cpu_seconds": children_cpu,
                    "machine_cpu_seconds": machine_cpu,
                    "cores": cores,
                    "job": job,
                    "problems": problems,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    return 1 if problems else 0


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in load)


def wait_for_gateway(base_url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("the gateway did not start")


def follow(
    http: requests.Session, base_url: str, job_id: str, started: float
) -> tuple[dict[str, Any], float]:
    """The finished job, and the time (from `started`) at which it began applying."""
    parsed_at = None
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        response = http.get(f"{base_url}/api/v1/alumni/imports/{job_id}", timeout=60)
        if response.status_code == 401:
            # The access token expired: a slow machine's import outlives it.
            http.headers["Authorization"] = f"Bearer {admin_token(base_url)}"
            continue
        if response.status_code == 200:
            job = response.json()
            if parsed_at is None and job["status"] in ("applying", "done"):
                parsed_at = time.perf_counter() - started
            if job["status"] in ("done", "rejected", "failed"):
                return job, parsed_at or 0.0
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the import did not finish within {JOB_TIMEOUT_SECONDS} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=100)
    parser.add_argument("--duplicates", type=int, default=300)
    parser.add_argument("--seed", type=int, default=sample_import.DEFAULT_SEED)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.file = args.manifest = None
    return run_bench(run, args)


if __name__ == "__main__":
    sys.exit(main())
