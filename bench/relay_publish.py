"""The outbox relay's publishing: stored events through the relay's publisher, beside
kombu's own publishing of the same messages, in one run.

    python -m bench.relay_publish
    python -m bench.relay_publish --events 20000 --rounds 3

(a) the baseline: kombu's `Producer.publish` of each message on a channel in confirm mode,
    as py-amqp and kombu come (a socket write per message, and before each a read for a
    `connection.blocked` notice), the broker's confirms waited for once a batch;
(b) the relay's publisher (`BrokerPublisher.publish_many`, services/common/broker.py):
    the same batches, their frames gathered into socket writes of 64 KiB, with no read
    per message.

Both publish persistent `alumnus_registered` events of the size an import's are, in batches
of the relay's size, to a throwaway vhost where one durable queue takes them all, as the
platform's consumers' queues do. Prints events/s and this process's CPU per event of both
(the best of `--rounds` rounds each, interleaved), and checks that the queue holds every
message published.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection, Producer, Queue  # noqa: E402

from bench.common import BenchVhost, load_average, machine_info, run_bench  # noqa: E402
from services.common import config  # noqa: E402
from services.common.adapters.publisher import BrokerPublisher, StoredEvent  # noqa: E402
from services.common.relay import BATCH_SIZE  # noqa: E402

SOURCE = "registry"
QUEUE = "bench-relay-publish"
WARMUP_EVENTS = BATCH_SIZE * 2
"""Published by each publisher before the rounds: it connects, and its code is warm."""


def stored_events(count: int) -> list[StoredEvent]:
    """`count` events shaped like an import's `alumnus_registered` (~900 bytes of JSON)."""
    events = []
    for n in range(count):
        event_id = str(uuid.uuid4())
        payload = {
            "event_id": event_id,
            "event_type": "alumnus_registered",
            "occurred_at": "2026-12-06T20:00:00Z",
            "version": 1,
            "data": {
                "id": str(uuid.uuid4()),
                "name": f"校友{n}",
                "gender": "female",
                "phone": "13800138000",
                "email": f"alumnus{n}@example.edu.cn",
                "province": "浙江省",
                "city": "杭州市",
                "employer": "杭州某某信息技术有限公司",
                "industry": "信息传输、软件和信息技术服务业",
                "title": "高级工程师",
                "graduations": [{"department_id": 3, "degree": "bachelor", "class_year": 2008}],
                "tags": ["理事"],
                "notes": "某" * 200,
            },
        }
        events.append(StoredEvent(event_id, "alumnus_registered", json.dumps(payload)))
    return events


class KombuPublisher:
    """The baseline: what the relay's publisher does, with kombu's and py-amqp's defaults."""

    def __init__(self, amqp_uri: str, exchange) -> None:
        self.connection = Connection(amqp_uri)
        channel = self.connection.channel()
        channel.confirm_select()
        self.confirmed = 0
        channel.events["basic_ack"].add(self._on_ack)
        self.producer = Producer(channel)
        self.exchange = exchange
        self.published = 0

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self.confirmed = delivery_tag if multiple else self.confirmed + 1

    def publish_many(self, events: Sequence[StoredEvent]) -> None:
        for event in events:
            self.producer.publish(
                event.payload,
                exchange=self.exchange,
                routing_key=event.event_type,
                message_id=event.event_id,
                type=event.event_type,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
            )
        self.published += len(events)
        while self.confirmed < self.published:
            self.connection.drain_events(timeout=5)

    def close(self) -> None:
        self.connection.release()


def measure(publish_many: Callable[[Sequence[StoredEvent]], None], events: list) -> dict:
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(events), BATCH_SIZE):
        publish_many(events[start : start + BATCH_SIZE])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"per_second": len(events) / wall, "cpu_us_per_event": cpu / len(events) * 1e6}


def queued(amqp_uri: str) -> int:
    with Connection(amqp_uri) as connection:
        return Queue(QUEUE, channel=connection.channel()).queue_declare(passive=True).message_count


def run(args: argparse.Namespace) -> int:
    vhost = BenchVhost(config.amqp_uri())
    amqp_uri = vhost.create()
    try:
        relay = BrokerPublisher(amqp_uri, SOURCE)
        with Connection(amqp_uri) as connection:
            Queue(QUEUE, relay.exchange, routing_key="#", durable=True)(
                connection.channel()
            ).declare()
        baseline = KombuPublisher(amqp_uri, relay.exchange)
        events = stored_events(args.events)
        rounds: dict[str, list[dict]] = {"a": [], "b": []}
        for publisher in (baseline, relay):
            measure(publisher.publish_many, events[:WARMUP_EVENTS])
        for _ in range(args.rounds):
            rounds["a"].append(measure(baseline.publish_many, events))
            rounds["b"].append(measure(relay.publish_many, events))
        baseline.close()
        relay.close()
        expected = 2 * (WARMUP_EVENTS + args.events * args.rounds)  # both publishers
        held = queued(amqp_uri)
        info = machine_info(amqp_uri)
    finally:
        vhost.delete()
    best = {name: max(runs, key=lambda r: r["per_second"]) for name, runs in rounds.items()}
    a, b = best["a"], best["b"]
    print(f"\n外发事件（outbox relay）：{args.events:,} 个 × {args.rounds} 轮，每批 {BATCH_SIZE}")
    print(f"  {info['cpu']}, nproc {info['nproc']}, RabbitMQ {info['rabbitmq']}; {load_average()}")
    print(f"  {'':<40}{'events/s':>10}{'CPU µs/event':>14}")
    for label, row in (
        ("(a) kombu Producer.publish (baseline)", a),
        ("(b) the relay's publisher", b),
    ):
        print(f"  {label:<40}{row['per_second']:>10.0f}{row['cpu_us_per_event']:>14.1f}")
    print(
        f"  (b) / (a): {b['per_second'] / a['per_second']:.2f} x the rate,"
        f" {b['cpu_us_per_event'] / a['cpu_us_per_event']:.2f} x the CPU per event"
    )
    problems = [] if held == expected else [f"the queue holds {held}, {expected} were published"]
    for problem in problems:
        print(f"不符：{problem}", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "rounds": rounds, "best": best, "problems": problems})
        )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return run_bench(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
