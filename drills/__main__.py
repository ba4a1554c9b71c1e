"""`make drill`: every drill against real processes on this machine, with its figures.

    python -m drills                      # every drill at full size
    python -m drills money storm          # some of them
    python -m drills --scale 0.1          # a tenth of the work (a quick look)

Each drill prints the work sent, the work recorded, what was lost and duplicated, and the
seconds to recover; the command exits 1 when any drill lost or duplicated anything.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import machine_info  # noqa: E402
from drills import broker, consumers, money, scaleout  # noqa: E402
from drills.harness import (  # noqa: E402
    DEFAULT_AMQP_URI,
    DEFAULT_POSTGRES_URL,
    DrillResult,
    Platform,
    platform,
)

FULL_SIZE: dict[str, tuple[str, Callable[[Platform, float], DrillResult]]] = {
    "money": ("10,000 gifts", lambda system, scale: money.run(system, round(10_000 * scale))),
    "broker": (
        "RabbitMQ (a node of the drill's own) stopped 20 s under reads, 600 sign-ups, 600 gifts",
        # The outage stays 20 s at any scale: its length is the fault, not the work.
        lambda system, scale: broker.run(system, round(600 * scale), round(600 * scale), 20),
    ),
    "two": (
        "2 of every service, 1,000 alumni registered, signed up (300 seats) and giving",
        lambda system, scale: scaleout.run(system, round(1_000 * scale), round(300 * scale)),
    ),
    "storm": (
        "10,000 events, notify stopped 60 s",
        lambda system, scale: consumers.storm(system, round(10_000 * scale), 60 * scale),
    ),
    "poison": ("a malformed event per consumer", lambda system, _scale: consumers.poison(system)),
}
OWN_BROKER = {"broker"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drills", nargs="*", choices=[[], *FULL_SIZE], default=[])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    chosen = args.drills or list(FULL_SIZE)
    amqp_uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    postgres_url = os.environ.get("DRILL_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    for key, value in machine_info(amqp_uri).items():
        print(f"{key:>10}: {value}")
    with open("/proc/loadavg") as loadavg:
        print(f"{'load':>10}: {loadavg.read().split()[:3]}")
    logs = Path("var/drill-logs") / time.strftime("%Y%m%d-%H%M%S")
    print(f"{'logs':>10}: {logs}/<drill>/")
    results = []
    for name in chosen:
        what, drill = FULL_SIZE[name]
        print(f"\n== {name}: {what} × {args.scale:g}", flush=True)
        # A drill that stops its broker gets a node of its own, never the shared one.
        own_node = broker.own_broker_node() if name in OWN_BROKER else nullcontext()
        with (
            own_node as node,
            platform(amqp_uri, postgres_url, broker_node=node, keep_logs=logs / name) as system,
        ):
            result = drill(system, args.scale)
        results.append(result)
        print(result.line())
        for note in result.notes:
            print(f"    {note}")
        for problem in result.problems:
            print(f"    PROBLEM: {problem}")
    print("\n" + "\n".join(result.line() for result in results))
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
