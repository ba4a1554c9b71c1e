"""The donations issue's journey over HTTP, as a new user takes it, on every service as a
real process and the payment provider's stand-in:

a ¥10,000.00 scholarship gift from an alumnus gets receipt <year>-000001, a PDF with
Chinese text; a ¥2,000.00 refund leaves the fund at ¥8,000.00 with the ledger balanced;
a ¥50.00 online gift through the stand-in, whose notification arrives three times, is
one gift; a tree is reserved for adoption; the honour roll shows each donor as they
chose; a plain pika client bound to `donations.events` gets `gift_received` with its
envelope. Then: one Idempotency-Key sent 100 times at once, the provider's notification
cases, and bad input answered 4xx with nothing written.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import eventlet
import pypdf
import pytest
import requests
from sqlalchemy import create_engine, select

from services.common.chinatime import china_date
from services.common.contracts import check_event
from services.donations.models import PaymentNotificationLog
from tests.support.donations_data import (
    BAD_CHECKSUM_ID_NUMBER,
    alumnus_donor,
    fund_body,
    gift_body,
    order_body,
)
from tests.support.processes import ApiClient
from tests.support.taps import pika_connection
from tests.system.helpers import (
    alumnus_body,
    assert_documented,
    assert_error,
    department_body,
    unique,
)

PASSWORD = "donor-password-1"
DELIVERY_SECONDS = 20
GIFTS = "/api/v1/gifts"
GIFT = "/api/v1/gifts/{gift_id}"
RECEIPT = "/api/v1/receipts/{number}"
FUND = "/api/v1/funds/{fund_id}"
ORDER = "/api/v1/payment-orders/{order_id}"
NAMING = "/api/v1/namings/{naming_id}"


class Caller:
    """One account's calls (or an anonymous caller's), each answer checked against
    /openapi.json: its status must be listed and its body must have the promised shape."""

    def __init__(self, client: ApiClient, spec: dict) -> None:
        self.client = client
        self.spec = spec

    def call(self, method: str, template: str, **kwargs: Any) -> requests.Response:
        values = {k: kwargs.pop(k) for k in list(kwargs) if "{" + k + "}" in template}
        response = self.client.request(method, template.format(**values), **kwargs)
        if response.status_code < 500:
            assert_documented(self.spec, template, method, response)
        return response

    def ok(self, method: str, template: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, template, **kwargs)
        assert response.status_code == status, (method, template, response.text[:500])
        if response.headers["Content-Type"].startswith("application/json"):
            return response.json()
        return response


class EventSubscriber:
    """A plain pika client, the way another campus system would subscribe."""

    def __init__(self, amqp_uri: str, exchange: str, routing_key: str) -> None:
        self.connection = pika_connection(amqp_uri)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key=routing_key)

    def next_message(self, timeout: float = DELIVERY_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is not None:
                return method, properties, body
            self.connection.sleep(0.1)
        raise AssertionError("no event within the deadline")

    def close(self) -> None:
        self.connection.close()


def wait_until(condition, what: str, timeout: float = DELIVERY_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@pytest.fixture(scope="module")
def system(fresh_system):
    """The year's first receipt is checked to be <year>-000001: books of the module's own."""
    return fresh_system


@pytest.fixture(scope="module")
def world(system) -> dict[str, Any]:
    spec = requests.get(f"{system.base_url}/openapi.json", timeout=10).json()
    office = Caller(system.admin(), spec)
    department = office.ok("POST", "/api/v1/departments", 201, json=department_body())["id"]
    graduation = {"department_id": department, "major": "软件工程", "degree": "bachelor"}
    alumnus = office.ok(
        "POST",
        "/api/v1/alumni",
        201,
        json=alumnus_body(
            department, name="张伟", graduations=[{**graduation, "class_year": 2010}]
        ),
    )
    username = unique("donor")
    office.ok(
        "POST",
        "/api/v1/alumni/{alumnus_id}/account",
        201,
        json={"username": username, "password": PASSWORD},
        alumnus_id=alumnus["id"],
    )
    return {
        "system": system,
        "spec": spec,
        "office": office,
        "alumnus": alumnus,
        "donor": Caller(system.client().login(username, PASSWORD), spec),
        "anonymous": Caller(system.client(), spec),
        "department": department,
        "provider": "http://" + system.stand_in_addresses["PAYMENT_PROVIDER_ADDRESS"],
    }


def pay(world: dict, out_trade_no: str, **how: Any) -> requests.Response:
    """The donor pays at the provider's stand-in (`how`: repeat, concurrent, amount_fen, …)."""
    return requests.post(f"{world['provider']}/standin/pay/{out_trade_no}", json=how, timeout=10)


def attempts(world: dict, out_trade_no: str) -> list[dict]:
    url = f"{world['provider']}/standin/notifications"
    return requests.get(url, params={"out_trade_no": out_trade_no}, timeout=10).json()["attempts"]


def notification_log(world: dict, out_trade_no: str) -> list[str]:
    engine = create_engine(world["system"].database_urls["donations"])
    try:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    select(PaymentNotificationLog.outcome)
                    .where(PaymentNotificationLog.out_trade_no == out_trade_no)
                    .order_by(PaymentNotificationLog.seq)
                )
            )
    finally:
        engine.dispose()


# ---- the journey ------------------------------------------------------------------------------


def test_the_journey_of_the_issue(world):
    office, donor, anonymous = world["office"], world["donor"], world["anonymous"]
    alumnus = world["alumnus"]
    subscriber = EventSubscriber(world["system"].amqp_uri, "donations.events", "gift_received")
    try:
        fund = office.ok(
            "POST",
            "/api/v1/funds",
            201,
            json=fund_body(name="张伟奖学金", department_id=world["department"]),
        )

        # ¥10,000.00 from the alumnus, named in full on the roll: receipt <year>-000001.
        body = gift_body(fund["id"], 1_000_000, donor=alumnus_donor(alumnus["id"]))
        gift = office.ok("POST", GIFTS, 201, json=body)
        year = china_date(datetime.now(UTC)).year
        assert gift["receipt_number"] == f"{year}-000001"
        pdf = office.ok("GET", RECEIPT + ".pdf", number=gift["receipt_number"])
        assert pdf.headers["Content-Type"] == "application/pdf"
        text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert "捐 赠 收 据" in text and "张伟" in text and "人民币壹万元整" in text

        # A plain AMQP client bound to donations.events got gift_received with its envelope.
        method, properties, raw = subscriber.next_message()
        event = json.loads(raw)
        assert method.routing_key == "gift_received"
        assert properties.message_id == event["event_id"] == str(uuid.UUID(event["event_id"]))
        assert (event["event_type"], event["version"]) == ("gift_received", 1)
        assert datetime.fromisoformat(event["occurred_at"]).utcoffset().total_seconds() == 0
        assert event["data"]["gift"]["id"] == gift["id"]
        assert event["data"]["gift"]["amount_fen"] == 1_000_000
        assert check_event(event) == event
    finally:
        subscriber.close()

    # ¥2,000.00 back: the fund holds ¥8,000.00 and the books balance.
    refund = office.ok(
        "POST",
        GIFT + "/refund",
        201,
        json={"amount_fen": 200_000, "reason": "捐赠人要求"},
        gift_id=gift["id"],
    )
    assert refund["gift"]["refunded_fen"] == 200_000
    assert office.ok("GET", FUND, fund_id=fund["id"])["balance_fen"] == 800_000
    books = office.ok("GET", "/api/v1/ledger/trial-balance")
    assert (books["total_fen"], books["unbalanced_transactions"]) == (0, 0)
    assert office.ok("GET", RECEIPT, number=gift["receipt_number"])["status"] == "void"

    # ¥50.00 online, shown as “2010级校友”: the notification arrives three times, one gift.
    order = donor.ok(
        "POST",
        "/api/v1/payment-orders",
        201,
        json={**order_body(fund["id"], alumnus_donor(alumnus["id"])), "disclosure": "class_year"},
    )
    assert order["code_url"].startswith("weixin://")
    assert pay(world, order["out_trade_no"], repeat=3).status_code == 202
    wait_until(lambda: len(attempts(world, order["out_trade_no"])) == 3, "three deliveries")
    assert {a["code"] for a in attempts(world, order["out_trade_no"])} == {"SUCCESS"}
    paid = donor.ok("GET", ORDER, order_id=order["id"])
    assert paid["status"] == "paid"
    online = donor.ok("GET", GIFTS, params={"channel": "online"})["items"]
    assert [g["id"] for g in online] == [paid["gift_id"]]
    assert notification_log(world, order["out_trade_no"]) == ["accepted", "duplicate", "duplicate"]

    # A tree reserved for adoption, for ten years once it is paid.
    trees = office.ok("POST", "/api/v1/funds", 201, json=fund_body(name="认养花木", kind="tree"))
    tree = office.ok(
        "POST",
        "/api/v1/namings",
        201,
        json={
            "kind": "tree",
            "name": "百年银杏",
            "fund_id": trees["id"],
            "minimum_gift_fen": 100_000,
        },
    )
    reserved = office.ok(
        "POST",
        NAMING + "/reserve",
        json={"donor": alumnus_donor(alumnus["id"]), "plaque_text": "张伟敬植"},
        naming_id=tree["id"],
    )
    assert (reserved["status"], reserved["term_years"]) == ("reserved", 10)

    # The public honour roll shows each gift as its donor chose.
    roll = anonymous.ok("GET", "/api/v1/honour-roll", params={"fund_id": fund["id"]})["items"]
    assert [(e["display_name"], e["amount_fen"]) for e in roll] == [
        ("2010级校友", 5_000),
        ("张伟", 800_000),
    ]
    # What an alumnus sees is their own; the open fund is public, its gifts are not.
    assert {g["donor"]["alumnus_id"] for g in donor.ok("GET", GIFTS)["items"]} == {alumnus["id"]}
    assert anonymous.ok("GET", FUND, fund_id=fund["id"])["raised_fen"] == 805_000
    assert_error(anonymous.call("GET", GIFTS), 401)


# ---- Idempotency-Key ----------------------------------------------------------------------------


def test_one_idempotency_key_sent_100_times_at_once_makes_one_gift(world):
    office = world["office"]
    fund = office.ok("POST", "/api/v1/funds", 201, json=fund_body(name="并发测试基金"))
    body = gift_body(fund["id"], 12_345, note="百次同键")
    key = f"key-{uuid.uuid4()}"
    token = office.client.token

    def send(_):
        return requests.post(
            f"{world['system'].base_url}{GIFTS}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=60,
        )

    answers = list(eventlet.GreenPool(100).imap(send, range(100)))
    assert {a.status_code for a in answers} == {201}, {a.text[:200] for a in answers}
    assert len({a.text for a in answers}) == 1
    made = office.ok("GET", GIFTS, params={"fund_id": fund["id"]})["items"]
    assert [g["id"] for g in made] == [answers[0].json()["id"]]

    again = office.call(
        "POST",
        GIFTS,
        json={**body, "amount_fen": 1, "allocations": [{"fund_id": fund["id"], "amount_fen": 1}]},
        headers={"Idempotency-Key": key},
    )
    assert assert_error(again, 409)["details"]["reason"] == "idempotency_key_reused"


# ---- the provider's notifications ------------------------------------------------------------


@pytest.fixture(scope="module")
def open_fund(world) -> dict:
    return world["office"].ok("POST", "/api/v1/funds", 201, json=fund_body(name="网上捐赠基金"))


def new_order(world: dict, fund: dict) -> dict:
    body = order_body(fund["id"], alumnus_donor(world["alumnus"]["id"]), 8_800)
    return world["donor"].ok("POST", "/api/v1/payment-orders", 201, json=body)


def test_a_notification_delivered_ten_times_at_once_records_one_gift(world, open_fund):
    order = new_order(world, open_fund)
    assert pay(world, order["out_trade_no"], repeat=10, concurrent=True).status_code == 202
    wait_until(lambda: len(attempts(world, order["out_trade_no"])) == 10, "ten deliveries")
    assert {(a["status"], a["code"]) for a in attempts(world, order["out_trade_no"])} == {
        (200, "SUCCESS")
    }
    outcomes = notification_log(world, order["out_trade_no"])
    assert sorted(outcomes) == ["accepted"] + ["duplicate"] * 9
    gift_id = world["donor"].ok("GET", ORDER, order_id=order["id"])["gift_id"]
    made = world["office"].ok("GET", GIFTS, params={"fund_id": open_fund["id"], "limit": 100})
    assert [g["id"] for g in made["items"] if g["payment_order_id"] == order["id"]] == [gift_id]


@pytest.mark.parametrize(
    ("how", "status", "outcome"),
    [
        ({"signature": "bad"}, 400, "bad_signature"),
        ({"amount_fen": 8_799}, 409, "amount_mismatch"),
    ],
)
def test_a_forged_or_wrong_notification_is_refused_logged_and_retried(
    world, open_fund, how, status, outcome
):
    order = new_order(world, open_fund)
    assert pay(world, order["out_trade_no"], **how).status_code == 202
    tried = wait_until(
        lambda: (a := attempts(world, order["out_trade_no"])) and len(a) >= 2 and a,
        "a retried delivery",
    )
    assert {(a["status"], a["code"]) for a in tried} == {(status, None)}
    assert world["donor"].ok("GET", ORDER, order_id=order["id"])["status"] == "created"
    if outcome == "bad_signature":  # a forged notification names no order the log may trust
        return
    assert set(notification_log(world, order["out_trade_no"])) == {outcome}


def test_a_notification_for_an_order_never_made_is_refused_and_logged(world):
    number = "DN" + uuid.uuid4().hex[:30]
    notify_url = f"{world['system'].base_url}/api/v1/payments/notify"
    assert pay(world, number, notify_url=notify_url, amount_fen=100).status_code == 202
    wait_until(lambda: attempts(world, number), "a delivery")
    assert attempts(world, number)[0]["status"] == 404
    wait_until(lambda: notification_log(world, number), "the log")
    assert set(notification_log(world, number)) == {"unknown_order"}


# ---- bad input --------------------------------------------------------------------------------


def test_bad_input_is_a_clear_4xx_and_writes_nothing(world):
    office = world["office"]
    fund = office.ok("POST", "/api/v1/funds", 201, json=fund_body(name="坏输入基金"))
    closed = office.ok("POST", "/api/v1/funds", 201, json=fund_body(name="已关闭基金"))
    office.ok("POST", FUND + "/close", fund_id=closed["id"])
    alumnus = alumnus_donor(world["alumnus"]["id"])
    gift = office.ok("POST", GIFTS, 201, json=gift_body(fund["id"], 10_000))
    books_before = office.ok("GET", "/api/v1/ledger/trial-balance")

    def refused(body: Any, status: int = 422, **kwargs: Any) -> dict:
        return assert_error(office.call("POST", GIFTS, json=body, **kwargs), status)

    good = gift_body(fund["id"], 10_000)
    for amount in (0, -100, 1.5, 100.0, "100", None):
        error = refused({**good, "amount_fen": amount})
        assert "amount_fen" in error["details"]["fields"], amount
    split = {**good, "allocations": [{"fund_id": fund["id"], "amount_fen": 9_999}]}
    assert "allocations" in refused(split)["details"]["fields"]
    unknown = gift_body("00000000-0000-4000-8000-000000000000", 10_000)
    assert refused(unknown)["details"]["reason"] == "unknown_fund"
    assert refused(gift_body(closed["id"], 10_000))["details"]["reason"] == "fund_closed"
    id_number = {"donor_id_number": BAD_CHECKSUM_ID_NUMBER, "id_number_consent": True}
    error = refused({**good, "donor": alumnus, **id_number})
    assert "donor_id_number" in error["details"]["fields"]
    assert refused({**good, "channel": "online"})["details"]["fields"]["channel"]
    raw = office.client.http.post(
        f"{world['system'].base_url}{GIFTS}",
        data=b'{"amount_fen": 1',
        headers={
            "Authorization": f"Bearer {office.client.token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert_error(raw, 400)
    refused(good, headers={"Idempotency-Key": "has a space"})

    beyond = office.call(
        "POST", GIFT + "/refund", json={"amount_fen": 10_001, "reason": "超额"}, gift_id=gift["id"]
    )
    assert assert_error(beyond, 422)["details"]["reason"] == "refund_exceeds_gift"

    tree = office.ok(
        "POST",
        "/api/v1/namings",
        201,
        json={"kind": "tree", "name": "香樟", "fund_id": fund["id"], "minimum_gift_fen": 100},
    )
    latin = office.call(
        "POST",
        NAMING + "/reserve",
        json={"donor": {"type": "anonymous"}, "plaque_text": "Class of 2010"},
        naming_id=tree["id"],
    )
    assert "plaque_text" in assert_error(latin, 422)["details"]["fields"]

    assert office.ok("GET", "/api/v1/ledger/trial-balance") == books_before
    assert office.ok("GET", GIFT, gift_id=gift["id"])["refunded_fen"] == 0
    assert office.ok("GET", NAMING, naming_id=tree["id"])["status"] == "available"
    assert office.ok("GET", GIFTS, params={"fund_id": fund["id"]})["items"][0]["id"] == gift["id"]
    # Nothing numbered a receipt on the way: the next gift takes the next number.
    serial = int(gift["receipt_number"].split("-")[1])
    after = office.ok("POST", GIFTS, 201, json=good)
    assert int(after["receipt_number"].split("-")[1]) == serial + 1
