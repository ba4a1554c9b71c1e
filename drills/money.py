"""Drill 1, kill under money: gifts sent through the gateway with Idempotency-Keys while the
donations service is SIGKILLed at random moments and started again; clients retry as real
clients do (the same key until they get an answer).

Afterwards: exactly one gift per key, receipts numbered 1..n without a gap, the ledger
balanced, and one `gift_received` per gift heard by an outside subscriber (a redelivered
copy carries the same event id, which a subscriber deduplicates on).
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import requests
from sqlalchemy import func, select, text

from drills.harness import (
    DrillResult,
    Platform,
    Subscriber,
    in_parallel,
    progress,
    send_until_answered,
    token,
)
from services.common.db import make_engine
from services.donations.models import Gift, Receipt

CLIENTS = 8
KILL_EVERY_SECONDS = (2.0, 5.0)
GIVE_UP_AFTER_SECONDS = 180.0
HEARD_WITHIN_SECONDS = 120.0
RECOVERY_LIMIT_SECONDS = 300.0


def run(system: Platform, gifts: int) -> DrillResult:
    headers = {"Authorization": f"Bearer {token(system.base_url)}"}
    fund = requests.post(
        f"{system.base_url}/api/v1/funds",
        json={"name": "演练基金", "kind": "scholarship", "goal_fen": 10**12},
        headers=headers,
        timeout=30,
    )
    fund.raise_for_status()
    fund_id = fund.json()["id"]
    subscriber = Subscriber(system.amqp_uri, "donations", "gift_received")
    keys = [str(uuid.uuid4()) for _ in range(gifts)]
    answered: dict[str, str] = {}
    unanswered: list[str] = []
    lock = threading.Lock()
    loading = threading.Event()
    loading.set()
    kills: list[float] = []
    recoveries: list[float] = []

    def killer() -> None:
        """Kill the service at a random moment while it serves, start it again, and wait
        until it answers before the next kill (the time that takes is its recovery)."""
        while loading.is_set():
            time.sleep(random.uniform(*KILL_EVERY_SECONDS))
            if not loading.is_set():
                return
            killed = time.monotonic()
            system.restart("donations")
            kills.append(killed)
            system.wait_rpc_ready("donations", timeout=RECOVERY_LIMIT_SECONDS)
            recoveries.append(time.monotonic() - killed)

    def give(index: int) -> None:
        session = requests.Session()
        amount = 100 + index % 900
        body = {
            "donor": {"type": "anonymous"},
            "amount_fen": amount,
            "allocations": [{"fund_id": fund_id, "amount_fen": amount}],
            "channel": "bank_transfer",
        }
        response = send_until_answered(
            session,
            "POST",
            f"{system.base_url}/api/v1/gifts",
            GIVE_UP_AFTER_SECONDS,
            json=body,
            headers={**headers, "Idempotency-Key": keys[index]},
        )
        with lock:
            if response is not None and response.status_code in (200, 201):
                answered[keys[index]] = response.json()["id"]
                progress("gifts answered", len(answered), gifts)
            else:
                unanswered.append(keys[index])

    kill_thread = threading.Thread(target=killer, daemon=True)
    kill_thread.start()
    try:
        in_parallel(give, gifts, CLIENTS)
    finally:
        loading.clear()
        kill_thread.join(timeout=60)
    system.wait_rpc_ready("donations")

    gift_ids = set(answered.values())
    heard = subscriber.wait_for(gift_ids, lambda data: data["gift"]["id"], HEARD_WITHIN_SECONDS)
    books = check_books(system.database_urls["donations"])
    recorded = books["gifts"]
    never_heard = len(gift_ids - heard.keys())
    announced_twice = sum(1 for ids in heard.values() if len(ids) > 1)
    notes = [
        f"donations killed {len(kills)} times; back (answering RPC) within "
        f"{min(recoveries, default=0):.1f}–{max(recoveries, default=0):.1f} s",
        f"{books['receipts_gapless']=}",
        f"{books['ledger_total_fen']=} {books['unbalanced_transactions']=}",
        f"gift_received heard for {len(heard.keys() & gift_ids)} gifts, {never_heard} never",
    ]
    if unanswered:
        notes.append(f"{len(unanswered)} clients gave up unanswered")
    failed_books = not books["receipts_gapless"] or books["ledger_total_fen"] != 0
    return DrillResult(
        "1 kill under money",
        sent=gifts,
        recorded=recorded,
        lost=max(gifts - recorded, 0) + never_heard + int(failed_books) + len(unanswered),
        duplicated=max(recorded - gifts, 0) + announced_twice + books["keys_twice"],
        recovery_seconds=max(recoveries, default=None),
        notes=notes,
    )


def check_books(database_url: str) -> dict:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            gifts = connection.scalar(select(func.count()).select_from(Gift))
            serials = sorted(connection.scalars(select(Receipt.serial)))
            total = connection.scalar(text("SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_lines"))
            unbalanced = connection.scalar(
                text(
                    "SELECT COUNT(*) FROM (SELECT transaction_seq FROM ledger_lines "
                    "GROUP BY transaction_seq HAVING SUM(amount_fen) <> 0) AS t"
                )
            )
            keys_twice = connection.scalar(
                text(
                    "SELECT COUNT(*) FROM (SELECT key FROM idempotency_keys "
                    "GROUP BY key HAVING COUNT(*) > 1) AS t"
                )
            )
    finally:
        engine.dispose()
    return {
        "gifts": gifts,
        "receipts_gapless": serials == list(range(1, gifts + 1)),
        "ledger_total_fen": int(total),
        "unbalanced_transactions": int(unbalanced),
        "keys_twice": int(keys_twice),
    }
