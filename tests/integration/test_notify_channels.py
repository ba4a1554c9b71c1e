"""The notify service in a nameko container against real RabbitMQ, SQLite and PostgreSQL,
a real SMTP server (the aiosmtpd mail sink) and the SMS provider stand-in, each a process
of its own: events in, mail and SMS out, each once, and nothing lost while a channel is down.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.contracts import build_event
from services.common.db import make_engine
from services.notify import consent
from services.notify.bootstrap import ensure_default_templates
from services.notify.models import Message
from services.notify.service import NotifyService
from services.notify.signing import unsubscribe_token
from tests.support.callers import OFFICE, signed_context
from tests.support.mailbox import mails, mails_to, sms_received, wait_for
from tests.support.processes import REPO_ROOT, free_port
from tests.support.registry_data import alumnus_snapshot
from tests.support.taps import as_publisher

SMS_SECRET = "sms-secret-for-tests"
UNSUBSCRIBE_SECRET = "unsubscribe-secret-for-tests"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class StandIns:
    """The mail sink and the SMS stand-in as processes, on free ports, in a var dir."""

    def __init__(self, var_dir) -> None:
        self.var_dir = var_dir
        self.addresses = {
            name: f"127.0.0.1:{free_port()}"
            for name in ("NOTIFY_SMTP_ADDRESS", "NOTIFY_MAILBOX_WEB_ADDRESS", "NOTIFY_SMS_ADDRESS")
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        module, setting = {
            "mailsink": ("services.notify.standins.mailsink", "NOTIFY_SMTP_ADDRESS"),
            "sms": ("services.notify.standins.smsgateway", "NOTIFY_SMS_ADDRESS"),
        }[name]
        env = {
            **os.environ,
            **self.addresses,
            "ALUMNI_VAR_DIR": str(self.var_dir),
            "NOTIFY_SMS_ACCESS_KEY_SECRET": SMS_SECRET,
            "PYTHONPATH": str(REPO_ROOT),
        }
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL
        )
        host, port = self.addresses[setting].split(":")

        def listening() -> bool:
            try:
                socket.create_connection((host, int(port)), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_for(listening, 15, f"{name} listening")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


@pytest.fixture
def standins(tmp_path):
    running = StandIns(tmp_path)
    running.start("mailsink")
    running.start("sms")
    yield running
    running.stop_all()


@pytest.fixture
def notify_db_url(databases) -> str:
    url = databases.migrated("notify")
    ensure_default_templates(url)
    return url


@pytest.fixture
def notify_session(notify_db_url):
    engine = make_engine(notify_db_url, pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def start_notify(rabbit_config, notify_db_url, standins, container_factory):
    """Starts a notify container; settings may be overridden (a clock, the SMS cap)."""

    def start(**overrides: str):
        config = {
            **rabbit_config,
            **standins.addresses,
            "NOTIFY_DATABASE_URL": notify_db_url,
            "NOTIFY_SMS_ACCESS_KEY_SECRET": SMS_SECRET,
            "NOTIFY_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
            "NOTIFY_RECEIPT_FETCH_SECONDS": "0.3",
            "NOTIFY_REMINDER_SCAN_SECONDS": "3600",
            **overrides,
        }
        container = container_factory(NotifyService, config)
        container.start()
        return container

    return start


@pytest.fixture
def publish(rabbit_config):
    dispatch = event_dispatcher(rabbit_config, **as_publisher(rabbit_config))

    def publish(source: str, event: dict) -> dict:
        dispatch(source, event["event_type"], event)
        return event

    return publish


def registered(publish, **fields) -> dict:
    defaults = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "phone": "13812345678"}
    alumnus = alumnus_snapshot(**{**defaults, **fields})
    publish("registry", build_event("alumnus_registered", alumnus))
    return alumnus


def confirmed(alumnus_id: str, starts_at: datetime | None = None) -> dict:
    starts = (starts_at or datetime.now(UTC) + timedelta(days=10)).isoformat()
    event_id = str(uuid.uuid4())
    return build_event(
        "registration_confirmed",
        {
            "registration": {
                "id": str(uuid.uuid4()),
                "event_id": event_id,
                "alumnus_id": alumnus_id,
                "guests": 0,
                "status": "confirmed",
                "position": None,
                "checked_in_at": None,
                "created_at": datetime.now(UTC).isoformat(),
            },
            "event": {
                "id": event_id,
                "kind": "reunion",
                "title": "返校聚会",
                "organiser_type": "office",
                "organiser_id": None,
                "venue": "校友会堂",
                "starts_at": starts,
                "ends_at": starts,
            },
        },
    )


def statuses(notify_session, **where) -> list[tuple[str, str, str | None]]:
    with notify_session() as session:
        query = select(Message.kind, Message.channel, Message.status, Message.skip_reason)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return [tuple(row) for row in session.execute(query)]


# ---- e-mail -----------------------------------------------------------------------------


def test_a_new_alumnus_gets_one_zh_cn_welcome_mail_even_when_the_event_comes_twice(
    start_notify, publish, standins
):
    start_notify()
    alumnus = alumnus_snapshot(name="李雷", email="li.lei@example.com")
    event = build_event("alumnus_registered", alumnus)
    publish("registry", event)
    publish("registry", event)  # redelivered: the inbox makes it nothing

    [mail] = wait_for(lambda: mails_to(standins.var_dir, "li.lei@example.com"), what="the mail")
    assert mail["Subject"] == "欢迎回家，李雷校友"
    assert mail["To"].addresses[0].display_name == "李雷"
    assert "李雷校友，您好" in mail.get_body(("plain",)).get_content()
    assert "<p>李雷校友，您好：</p>" in mail.get_body(("html",)).get_content()
    assert mail["List-Unsubscribe"] is None  # not bulk mail
    time.sleep(1.5)
    assert len(mails_to(standins.var_dir, "li.lei@example.com")) == 1


def test_mail_waits_while_the_smtp_server_is_down_and_arrives_once_it_is_back(
    start_notify, publish, standins, notify_session
):
    start_notify()
    standins.stop("mailsink")
    alumnus = registered(publish)
    wait_for(
        lambda: any(a > 0 for a in _attempts(notify_session, alumnus["id"])),
        what="a failed attempt",
    )
    standins.start("mailsink")
    wait_for(lambda: mails_to(standins.var_dir, alumnus["email"]), 40, "the mail after the outage")
    time.sleep(1)
    assert len(mails_to(standins.var_dir, alumnus["email"])) == 1
    assert ("welcome", "email", "sent", None) in statuses(notify_session, alumnus_id=alumnus["id"])


def _attempts(notify_session, alumnus_id: str, channel: str = "email") -> list[int]:
    with notify_session() as session:
        return list(
            session.scalars(
                select(Message.attempts).where(
                    Message.alumnus_id == alumnus_id, Message.channel == channel
                )
            )
        )


def test_an_unsubscribed_address_gets_no_newsletter(
    start_notify, publish, standins, notify_session
):
    container = start_notify()
    keeps, leaves = registered(publish), registered(publish)
    wait_for(lambda: len(mails(standins.var_dir)) == 2, what="two welcome mails")
    with notify_session() as session:
        now = datetime.now(UTC)
        for alumnus in (keeps, leaves):
            consent.set_consent(session, alumnus["id"], "email", "marketing", True, "office", now)
        session.commit()
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("notify", container.config, context_data=signed_context(OFFICE)) as notify:
        token = unsubscribe_token(UNSUBSCRIBE_SECRET, leaves["id"], "email", "marketing")
        assert notify.unsubscribe(token, True)["granted"] is False
        body = {"subject": "学校近况", "body": "<p>{{ recipient.name }}，您好</p>", "segment": {}}
        newsletter = notify.create_newsletter(body)
        notify.send_newsletter(newsletter["id"])
        done = wait_for(
            lambda: (n := notify.get_newsletter(newsletter["id"]))["status"] == "sent" and n,
            what="the newsletter sent",
        )
    assert done["progress"]["sent"] == 1
    assert done["progress"]["skipped_by_reason"] == {"withdrawn": 1}
    [letter] = [m for m in mails_to(standins.var_dir, keeps["email"]) if m["Subject"] == "学校近况"]
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert letter["List-Unsubscribe"].startswith("<http")
    assert [m["Subject"] for m in mails_to(standins.var_dir, leaves["email"])] == [
        f"欢迎回家，{leaves['name']}校友"
    ]


class FakeDonations:
    """The donations service's receipt PDF, as notify asks for it (donations_feed.py)."""

    name = "donations"

    @rpc
    def receipt_pdf(self, number: str) -> dict:
        return {"filename": f"receipt-{number}.pdf", "pdf_base64": base64.b64encode(PDF).decode()}


def gift_events(donor: dict, gift_type: str = "donation") -> tuple[dict, dict]:
    """gift_received and receipt_issued of one gift, shaped as the donations service's."""
    gift_id = str(uuid.uuid4())
    who = {
        "type": "alumnus",
        "alumnus_id": donor["id"],
        "name": donor["name"],
        "soft_credit_alumnus_id": None,
    }
    gift = build_event(
        "gift_received",
        {
            "gift": {
                "id": gift_id,
                "gift_type": gift_type,
                "donor": who,
                "amount_fen": 123456,
                "currency": "CNY",
                "allocations": [{"fund_id": str(uuid.uuid4()), "amount_fen": 123456}],
                "channel": "bank_transfer",
                "received_on": "2026-09-10",
                "disclosure": "full_name",
                "pledge_id": None,
                "payment_order_id": None,
            }
        },
    )
    receipt = build_event(
        "receipt_issued",
        {
            "receipt": {
                "number": "2026-000042",
                "year": 2026,
                "gift_id": gift_id,
                "name": donor["name"],
                "amount_fen": 123456,
                "currency": "CNY",
                "issued_on": "2026-09-10",
                "replaces": None,
            },
            "donor": who,
        },
    )
    return gift, receipt


def thanks(standins, donor: dict) -> list:
    return [m for m in mails_to(standins.var_dir, donor["email"]) if "捐赠" in m["Subject"]]


def test_a_gifts_thank_you_letter_carries_the_receipt_pdf(
    start_notify, publish, standins, rabbit_config, container_factory
):
    container_factory(FakeDonations, rabbit_config).start()
    start_notify()
    donor = registered(publish)
    gift, receipt = gift_events(donor)
    publish("donations", receipt)  # the two come on separate queues: either may be first
    publish("donations", gift)
    [letter] = wait_for(lambda: thanks(standins, donor), what="the thank-you letter")
    text = letter.get_body(("plain",)).get_content()
    assert "¥1,234.56" in text and "编号 2026-000042" in text
    [attachment] = list(letter.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "捐赠收据-2026-000042.pdf"
    assert attachment.get_content() == PDF


def test_a_membership_fee_is_thanked_without_a_receipt(start_notify, publish, standins):
    start_notify()
    donor = registered(publish)
    gift, _ = gift_events(donor, gift_type="membership_fee")
    publish("donations", gift)
    [letter] = wait_for(lambda: thanks(standins, donor), what="the thank-you letter")
    assert list(letter.iter_attachments()) == []


# ---- SMS ----------------------------------------------------------------------------------


def test_a_confirmation_goes_by_sms_through_the_provider_once(start_notify, publish, standins):
    start_notify()
    alumnus = registered(publish, phone="13900001111")
    event = confirmed(alumnus["id"])
    publish("events", event)
    publish("events", event)
    [sms] = wait_for(
        lambda: sms_received(standins.addresses["NOTIFY_SMS_ADDRESS"], "13900001111"),
        what="the SMS",
    )
    assert sms["sign_name"] == "校友会"
    assert sms["template_code"] == "SMS_460001"
    assert sms["params"]["title"] == "返校聚会"
    time.sleep(1.5)
    assert len(sms_received(standins.addresses["NOTIFY_SMS_ADDRESS"], "13900001111")) == 1


def test_sms_wait_while_the_provider_is_down_and_go_once_it_is_back(
    start_notify, publish, standins, notify_session
):
    start_notify()
    standins.stop("sms")
    alumnus = registered(publish, phone="13900004444")
    publish("events", confirmed(alumnus["id"]))
    wait_for(
        lambda: [a for a in _attempts(notify_session, alumnus["id"], "sms") if a > 0],
        what="a failed SMS attempt",
    )
    standins.start("sms")  # a fresh provider: it remembers nothing from before
    address = standins.addresses["NOTIFY_SMS_ADDRESS"]
    wait_for(lambda: sms_received(address, "13900004444"), 40, "the SMS after the outage")
    time.sleep(1)
    assert len(sms_received(address, "13900004444")) == 1


def test_a_withdrawn_channel_gets_nothing(start_notify, publish, standins, notify_session):
    start_notify()
    alumnus = registered(publish, phone="13900005555")
    wait_for(lambda: mails_to(standins.var_dir, alumnus["email"]), what="the welcome")
    with notify_session() as session:
        now = datetime.now(UTC)
        for channel in ("email", "sms"):
            consent.set_consent(
                session, alumnus["id"], channel, "transactional", False, "self_service", now
            )
        session.commit()
    publish("events", confirmed(alumnus["id"]))
    wait_for(
        lambda: (
            ("registration_confirmed", "inbox", "sent", None)
            in statuses(notify_session, alumnus_id=alumnus["id"])
        ),
        what="the confirmation decided",
    )
    decided = statuses(notify_session, alumnus_id=alumnus["id"], kind="registration_confirmed")
    assert sorted(decided) == [
        ("registration_confirmed", "email", "skipped", "withdrawn"),
        ("registration_confirmed", "inbox", "sent", None),
        ("registration_confirmed", "sms", "skipped", "withdrawn"),
    ]
    time.sleep(1)
    assert len(mails_to(standins.var_dir, alumnus["email"])) == 1  # the welcome only
    assert sms_received(standins.addresses["NOTIFY_SMS_ADDRESS"], "13900005555") == []


def test_at_most_the_daily_cap_of_sms_reaches_one_person(
    start_notify, publish, standins, notify_session
):
    start_notify(NOTIFY_SMS_DAILY_CAP="2")
    alumnus = registered(publish, phone="13900002222")
    for _ in range(3):
        publish("events", confirmed(alumnus["id"]))
    wait_for(
        lambda: (
            len([s for s in statuses(notify_session, alumnus_id=alumnus["id"]) if s[1] == "sms"])
            == 3
            and all(s[2] != "queued" for s in statuses(notify_session, alumnus_id=alumnus["id"]))
        ),
        what="three SMS decided",
    )
    sms = [s for s in statuses(notify_session, alumnus_id=alumnus["id"]) if s[1] == "sms"]
    assert sorted(s[2] for s in sms) == ["sent", "sent", "skipped"]
    assert ("registration_confirmed", "sms", "skipped", "daily_cap") in sms
    assert len(sms_received(standins.addresses["NOTIFY_SMS_ADDRESS"], "13900002222")) == 2


def test_marketing_sms_wait_for_the_morning_transactional_ones_do_not(
    start_notify, publish, standins, notify_session
):
    night = "2026-03-02T22:30:00+08:00"
    container = start_notify(NOTIFY_CLOCK_START=night)
    alumnus = registered(publish, phone="13900003333")
    wait_for(lambda: statuses(notify_session, alumnus_id=alumnus["id"]), what="the welcome")
    with notify_session() as session:
        consent.set_consent(
            session, alumnus["id"], "sms", "marketing", True, "office", datetime.now(UTC)
        )
        session.commit()
    publish("events", confirmed(alumnus["id"]))  # transactional: goes out at night too
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("notify", container.config, context_data=signed_context(OFFICE)) as notify:
        body = {"subject": "春季近况", "body": "<p>近况</p>", "channels": ["sms"], "segment": {}}
        newsletter = notify.create_newsletter(body)
        notify.send_newsletter(newsletter["id"])
    phone = standins.addresses["NOTIFY_SMS_ADDRESS"]
    [transactional] = wait_for(lambda: sms_received(phone, "13900003333"), what="the confirmation")
    assert transactional["template_code"] == "SMS_460001"
    time.sleep(2)
    assert len(sms_received(phone, "13900003333")) == 1
    with notify_session() as session:
        waiting = session.scalar(
            select(Message).where(
                Message.alumnus_id == alumnus["id"], Message.kind == "newsletter_notice"
            )
        )
        assert waiting.status == "queued"
        assert waiting.next_attempt_at.replace(tzinfo=UTC) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    container.stop()

    start_notify(NOTIFY_CLOCK_START="2026-03-03T08:01:00+08:00")
    received = wait_for(
        lambda: len(items := sms_received(phone, "13900003333")) == 2 and items,
        what="the newsletter SMS in the morning",
    )
    assert received[1]["template_code"] == "SMS_460006"
    assert received[1]["params"] == {"subject": "春季近况"}
