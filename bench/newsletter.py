"""Newsletter fan-out: 100,000 recipients into a local SMTP sink, beside a bare smtplib loop
sending the same message to the same sink, in one run.

    python -m bench.newsletter
    python -m bench.newsletter --recipients 20000 --bare 10000 --connections 8

What it does (results and how to read them: docs/PERFORMANCE.md, "Newsletter fan-out"):

1. A temporary var dir with a fresh SQLite database for notify, migrated, its templates
   written, and `--recipients` contacts who all consented to newsletters by e-mail,
   written straight into the tables (as the registry's events and the consent routes
   would have made them) before the service starts.
2. The development mail sink (`services.notify.standins.mailsink --discard`: aiosmtpd,
   counting, keeping nothing) on a free port.
3. (a) the baseline: one smtplib connection sending one newsletter message, composed by
   notify's own MIME code, `--bare` times to the sink, `sendmail` after `sendmail`.
4. (b) notify as a real process (`nameko run`, the project's config, its own RabbitMQ
   vhost when the management API answers): a newsletter to everyone is created and sent
   over RPC, and the clock runs until the sink has counted every recipient's message:
   fan-out (writing 100,000 queued messages), rendering and MIME per recipient, SMTP over
   `--connections` reused connections, the commits that record each round as sent, and
   the `notification_sent` events through the outbox, all included.
5. Prints messages per second of both, the ratio, the CPU seconds of each process, and
   PASS when (b) reaches 1,000 messages/s and 50 % of (a).
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import smtplib  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.common import (  # noqa: E402
    BENCH_CALLER_KEY,
    REPO_ROOT,
    BenchRun,
    machine_cpu_seconds,
    process_cpu_seconds,
    rabbitmq_pids,
    run_bench,
    signed_rpc_proxy,
    start_nameko_service,
    stop_processes,
)
from services.common import config, crypto  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.migrate import upgrade  # noqa: E402
from services.localsystem import free_port  # noqa: E402
from services.notify.mime import compose, html_document  # noqa: E402
from services.notify.models import Consent, Contact  # noqa: E402
from services.notify.templates import ensure_defaults  # noqa: E402

TARGET_RATE = 1000.0
TARGET_SHARE = 0.5
SUBJECT = "学校发展近况（2026 年冬）"
BODY = (
    "<p>{{ recipient.name }}校友，您好：</p>"
    "<p>新图书馆落成启用，学校获批两个国家级一流专业建设点，今年又有三百余名校友返校讲课。"
    "详情请见校友平台。</p>"
)


def seed(url: str, recipients: int) -> None:
    upgrade("notify", url)
    engine = make_engine(url, pool_size=1)
    now = datetime.now(UTC)
    with sessionmaker(engine)() as session:
        ensure_defaults(session, now)
        for start in range(0, recipients, 10_000):
            ids = [str(uuid.uuid4()) for _ in range(min(10_000, recipients - start))]
            session.execute(
                insert(Contact),
                [
                    {
                        "alumnus_id": alumnus_id,
                        "name": f"校友{start + n}",
                        "email": f"bench{start + n:06d}@example.com",
                        "locale": "zh-CN",
                        "updated_at": now,
                    }
                    for n, alumnus_id in enumerate(ids)
                ],
            )
            session.execute(
                insert(Consent),
                [
                    {
                        "alumnus_id": alumnus_id,
                        "channel": "email",
                        "purpose": "marketing",
                        "granted": True,
                        "source": "import",
                        "changed_at": now,
                    }
                    for alumnus_id in ids
                ],
            )
        session.commit()
    engine.dispose()


def sink_count(web: str) -> int:
    return requests.get(f"http://{web}/count", timeout=10).json()["count"]


def wait_listening(address: str, timeout: float = 20.0) -> None:
    host, port = address.split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {address}")


def bare_loop(smtp_address: str, count: int) -> tuple[float, float]:
    """(messages per second, CPU seconds of this process) of one connection, `sendmail`
    after `sendmail`, of one newsletter message as notify composes it."""
    data = compose(
        sender="校友会 <alumni@example.edu.cn>",
        to=("校友0", "bench000000@example.com"),
        subject=SUBJECT,
        html=html_document(BODY.replace("{{ recipient.name }}", "校友0")),
        text="校友0校友，您好：\n新图书馆落成启用。\n",
        message_id=f"<{uuid.uuid4()}@example.edu.cn>",
        date=datetime.now(UTC),
        unsubscribe_url="http://127.0.0.1:8000/api/v1/unsubscribe?token=x",
    )
    host, port = smtp_address.split(":")
    cpu = process_cpu_seconds(os.getpid())
    started = time.monotonic()
    with smtplib.SMTP(host, int(port)) as smtp:
        for _ in range(count):
            smtp.sendmail("alumni@example.edu.cn", ["bench000000@example.com"], data)
    elapsed = time.monotonic() - started
    return count / elapsed, process_cpu_seconds(os.getpid()) - cpu


def run(args: argparse.Namespace) -> int:
    with BenchRun("newsletter", "notify") as bench_run:
        uri, var, url = bench_run.amqp_uri, bench_run.var_dir, bench_run.database.url
        processes: list[subprocess.Popen] = []
        bench_run.on_exit(lambda: stop_processes(processes))
        print(f"seeding {args.recipients:,} recipients …", flush=True)
        seed(url, args.recipients)
        smtp, web = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "ALUMNI_VAR_DIR": str(var),
            "AMQP_URI": uri,
            "NOTIFY_DATABASE_URL": url,
            "NOTIFY_SMTP_ADDRESS": smtp,
            "NOTIFY_MAILBOX_WEB_ADDRESS": web,
            "NOTIFY_SMTP_CONNECTIONS": str(args.connections),
            "NOTIFY_SMS_PROVIDER": "log",
            "CALLER_KEY": BENCH_CALLER_KEY,
            # The contacts were written under this checkout's key (var/): notify reads them
            # with the same one (services/common/crypto.py).
            crypto.SETTING: config.secret(crypto.SETTING),
            "PYTHONPATH": str(REPO_ROOT),
        }
        sink = subprocess.Popen(
            [sys.executable, "-m", "services.notify.standins.mailsink", "--discard"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        sink.log_file = open(os.devnull, "wb")  # noqa: SIM115  (closed by stop_processes)
        processes.append(sink)
        wait_listening(smtp)
        wait_listening(web)

        print(f"(a) bare smtplib loop, {args.bare:,} messages …", flush=True)
        sink_before = process_cpu_seconds(sink.pid)
        bare_rate, bare_client_cpu = bare_loop(smtp, args.bare)
        bare_sink_cpu = process_cpu_seconds(sink.pid) - sink_before

        notify = start_nameko_service(
            "services.notify.service:NotifyService", env, var / "notify.log"
        )
        processes.append(notify)
        with signed_rpc_proxy(uri, timeout=60) as cluster:
            deadline = time.monotonic() + 60
            while True:
                try:
                    cluster.notify.health()
                    break
                except Exception:
                    if time.monotonic() > deadline or notify.poll() is not None:
                        raise RuntimeError("notify did not start; see its log") from None
                    time.sleep(0.5)
            print(f"(b) notify, newsletter to {args.recipients:,} …", flush=True)
            baseline = sink_count(web)
            newsletter = cluster.notify.create_newsletter(
                {"subject": SUBJECT, "body": BODY, "segment": {}}
            )
            groups = {"notify": [notify.pid], "sink": [sink.pid], "broker": rabbitmq_pids()}
            cpu_before = {k: sum(map(process_cpu_seconds, v)) for k, v in groups.items()}
            machine_before = machine_cpu_seconds()
            started = time.monotonic()
            cluster.notify.send_newsletter(newsletter["id"])
            fan_out_done = None
            while (delivered := sink_count(web) - baseline) < args.recipients:
                if time.monotonic() - started > args.timeout:
                    raise RuntimeError(f"only {delivered:,} delivered after {args.timeout} s")
                if (
                    fan_out_done is None
                    and cluster.notify.get_newsletter(newsletter["id"])["progress"][
                        "fan_out_complete"
                    ]
                ):
                    fan_out_done = time.monotonic() - started
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            cpu = {k: sum(map(process_cpu_seconds, v)) - cpu_before[k] for k, v in groups.items()}
            machine = machine_cpu_seconds() - machine_before
            rate = args.recipients / elapsed
            time.sleep(2)
            final = cluster.notify.get_newsletter(newsletter["id"])
        share = rate / bare_rate
        verdict = rate >= TARGET_RATE and share >= TARGET_SHARE
        result = {
            "machine": bench_run.info,
            "recipients": args.recipients,
            "connections": args.connections,
            "bare": {
                "messages": args.bare,
                "per_second": round(bare_rate, 1),
                "cpu_ms_per_message": {
                    "client": round(1000 * bare_client_cpu / args.bare, 3),
                    "sink": round(1000 * bare_sink_cpu / args.bare, 3),
                },
            },
            "notify": {
                "per_second": round(rate, 1),
                "seconds": round(elapsed, 1),
                "fan_out_seconds": round(fan_out_done, 1) if fan_out_done else None,
                "cpu_ms_per_message": {
                    k: round(1000 * v / args.recipients, 3) for k, v in cpu.items()
                },
                "machine_cpu_ms_per_message": round(1000 * machine / args.recipients, 3),
                "progress": final["progress"],
                "status": final["status"],
            },
            "share_of_bare": round(share, 3),
            "verdict": "PASS" if verdict else "FAIL",
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
        print(
            f"\n(a) bare smtplib loop: {bare_rate:,.0f} msg/s   (b) notify: {rate:,.0f} msg/s "
            f"= {share:.0%} of (a)   target ≥ {TARGET_RATE:,.0f} msg/s and ≥ {TARGET_SHARE:.0%}: "
            f"{result['verdict']}"
        )
        if args.json:
            Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2))
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--bare", type=int, default=20_000, help="messages of the bare loop")
    parser.add_argument("--connections", type=int, default=16, help="NOTIFY_SMTP_CONNECTIONS")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to give notify")
    parser.add_argument("--json", help="also write the result here")
    return run_bench(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
