"""The notify service's domain without a broker: templates, MIME, signed links, China time,
consent, and the dispatcher with in-memory mail and SMS on a migrated SQLite file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.contracts import build_event
from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.notify import clock, consent, newsletters, triggers
from services.notify.adapters.mail import InMemoryMail, MailRefused, MailUnavailable
from services.notify.adapters.sms import InMemorySms
from services.notify.dispatch import Dispatcher, DispatchSettings
from services.notify.kinds import KINDS, LOCALES, default_content
from services.notify.messages import Links
from services.notify.mime import Attachment, compose
from services.notify.models import AddressHold, Contact, Message
from services.notify.signing import read_unsubscribe_token, unsubscribe_token
from services.notify.templates import ensure_defaults
from services.notify.templating import Content, check, render_email
from tests.support.registry_data import alumnus_snapshot

LINKS = Links("https://alumni.example.edu.cn", "secret")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 China time


# ---- templates ------------------------------------------------------------------------------


def email(subject: str, body: str) -> Content:
    return Content(subject=subject, body=body)


def test_every_default_template_renders_its_sample():
    for kind in KINDS.values():
        for channel in kind.channels:
            for locale in LOCALES:
                fields = {"text_body": None, "sms_code": None, "sms_params": None}
                content = Content(**{**fields, **default_content(kind.name, channel, locale)})
                assert check(channel, kind.purpose, content, kind.sample_context())


def test_html_is_autoescaped_and_the_text_part_is_not():
    mail = render_email(email("{{ x }}", "<p>{{ x }}</p>"), {"x": "<b>A&B</b>"})
    assert mail.html == "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p>"
    assert mail.text.strip() == "<b>A&B</b>"
    assert mail.subject == "<b>A&B</b>"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (email("hi", "<p>{{ name </p>"), "template_syntax"),
        (email("hi", "<p>{{ nmae }}</p>"), "template_render"),
        (email("hi", "{{ ''.__class__.__mro__[1].__subclasses__() }}"), "template_render"),
        (email("", "<p>hi</p>"), "template_incomplete"),
    ],
    ids=["syntax", "unknown name", "sandbox", "no subject"],
)
def test_a_template_that_fails_is_refused_with_its_reason(content, reason):
    with pytest.raises(ValidationFailed) as refused:
        check("email", "transactional", content, {"name": "张三"})
    assert refused.value.reason == reason


def test_sms_templates_name_every_parameter_and_marketing_ones_end_with_the_opt_out():
    def sms(body: str, params: dict) -> Content:
        return Content(subject=None, body=body, sms_code="SMS_1234", sms_params=params)

    with pytest.raises(ValidationFailed) as mismatch:
        check("sms", "transactional", sms("您好${name}${when}", {"name": "x"}), {})
    assert mismatch.value.reason == "sms_params_mismatch"
    assert mismatch.value.details["missing"] == ["when"]
    with pytest.raises(ValidationFailed) as no_opt_out:
        check("sms", "marketing", sms("近况${s}", {"s": "{{ s }}"}), {"s": "x"})
    assert no_opt_out.value.reason == "missing_opt_out"
    rendered = check(
        "sms", "marketing", sms("近况${s}。回T退订", {"s": "{{ s }}"}), {"s": "x" * 50}
    )
    assert rendered["text"] == "近况" + "x" * 34 + "…。回T退订"


# ---- MIME -------------------------------------------------------------------------------------


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def test_mail_is_utf8_mime_with_a_text_part_an_html_part_and_attachments():
    data = compose(
        sender="校友会 <alumni@example.edu.cn>",
        to=("张伟", "zhang@example.com"),
        subject="感谢您的捐赠，" + "很长的标题" * 20,
        html="<p>谢谢</p>",
        text="谢谢\n",
        message_id="<1@example.edu.cn>",
        date=NOW,
        attachments=(Attachment("捐赠收据-2026-000001.pdf", "application/pdf", b"%PDF-1.4"),),
    )
    mail = parse(data)
    assert mail["Subject"] == "感谢您的捐赠，" + "很长的标题" * 20
    assert mail["From"].addresses[0].display_name == "校友会"
    assert mail.get_content_type() == "multipart/mixed"
    assert mail.get_body(("plain",)).get_content() == "谢谢\n"
    assert mail.get_body(("html",)).get_content() == "<p>谢谢</p>"
    [pdf] = mail.iter_attachments()
    assert (pdf.get_filename(), pdf.get_content()) == ("捐赠收据-2026-000001.pdf", b"%PDF-1.4")
    assert mail["List-Unsubscribe"] is None
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_bulk_mail_has_one_click_unsubscribe_headers():
    mail = parse(
        compose(
            sender="a@example.edu.cn",
            to=("", "b@example.com"),
            subject="近况",
            html="<p>x</p>",
            text="x",
            message_id="<2@example.edu.cn>",
            date=NOW,
            unsubscribe_url="https://alumni.example.edu.cn/api/v1/unsubscribe?token=t",
        )
    )
    assert mail["List-Unsubscribe"] == "<https://alumni.example.edu.cn/api/v1/unsubscribe?token=t>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# ---- links, time, consent ----------------------------------------------------------------------


def test_unsubscribe_tokens_cannot_be_forged_or_altered():
    token = unsubscribe_token("secret", "a1", "email", "marketing")
    assert read_unsubscribe_token("secret", token) == ("a1", "email", "marketing")
    other = unsubscribe_token("secret", "a2", "email", "marketing")
    for bad in (
        unsubscribe_token("guess", "a1", "email", "marketing"),
        other.split(".")[0] + "." + token.split(".")[1],
        token + "x",
        "",
    ):
        with pytest.raises(ValidationFailed) as refused:
            read_unsubscribe_token("secret", bad)
        assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("china_time", "quiet"),
    [("20:59", False), ("21:00", True), ("23:30", True), ("07:59", True), ("08:00", False)],
)
def test_quiet_hours_are_from_21_to_8_china_time(china_time, quiet):
    hour, minute = map(int, china_time.split(":"))
    moment = datetime(2026, 3, 2, hour, minute, tzinfo=clock.CHINA)
    assert clock.in_quiet_hours(moment) is quiet


def test_quiet_hours_end_at_the_next_eight_oclock_china_time():
    assert clock.end_of_quiet_hours(datetime(2026, 3, 2, 22, 0, tzinfo=clock.CHINA)) == datetime(
        2026, 3, 3, 0, 0, tzinfo=UTC
    )
    assert clock.end_of_quiet_hours(datetime(2026, 3, 3, 6, 0, tzinfo=clock.CHINA)) == datetime(
        2026, 3, 3, 0, 0, tzinfo=UTC
    )


def test_money_is_shown_from_fen_without_floats():
    assert clock.yuan(123456) == "¥1,234.56"
    assert clock.yuan(5) == "¥0.05"


@pytest.mark.parametrize(
    ("answer", "purpose", "address", "on_hold", "reason"),
    [
        (None, "transactional", "a@x.cn", False, None),
        (False, "transactional", "a@x.cn", False, "withdrawn"),
        (None, "marketing", "a@x.cn", False, "no_consent"),
        (True, "marketing", "a@x.cn", False, None),
        (True, "marketing", None, False, "no_address"),
        (True, "marketing", "a@x.cn", True, "address_on_hold"),
    ],
)
def test_who_may_be_sent_what(answer, purpose, address, on_hold, reason):
    assert consent.refusal(answer, purpose, address, on_hold) == reason


# ---- the dispatcher --------------------------------------------------------------------------


@pytest.fixture
def session_factory(tmp_path, migrated_templates):
    url = migrated_templates.sqlite_copy("notify", tmp_path / "notify.db")
    engine = make_engine(url, pool_size=2)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        ensure_defaults(session, NOW)
        session.commit()
    yield factory
    engine.dispose()


def dispatcher(factory, mail=None, sms=None, now=NOW, cap=5) -> Dispatcher:
    settings = DispatchSettings(
        "校友会 <alumni@example.edu.cn>", LINKS, "校友会", cap, connections=3
    )
    return Dispatcher(factory, mail or InMemoryMail(), sms or InMemorySms(), settings, lambda: now)


def register(factory, **fields) -> dict:
    alumnus = alumnus_snapshot(email=f"{fields.pop('user', 'a')}@example.com", **fields)
    with factory() as session:
        triggers.alumnus_registered(
            session, LINKS, {"event_id": str(alumnus["id"]), "data": alumnus}, NOW
        )
        session.commit()
    return alumnus


def drain(runner: Dispatcher) -> None:
    for _ in range(50):
        if not runner.run_once():
            return


def test_a_bounced_address_fails_and_is_put_on_hold(session_factory):
    alumnus = register(session_factory, user="gone")
    mail = InMemoryMail(bounce={"gone@example.com"})
    drain(dispatcher(session_factory, mail))
    with session_factory() as session:
        message = session.scalar(select(Message).where(Message.channel == "email"))
        assert (message.status, message.attempts) == ("failed", 1)
        assert session.scalars(select(AddressHold.address)).all() == ["gone@example.com"]
        # Found by its blind index, whatever the case and spacing it is given in.
        assert consent.held(session, ["GONE@example.com "]) == {"GONE@example.com "}
    register(session_factory, id=alumnus["id"], user="gone", updated_at="2025-01-01T00:00:00+00:00")
    assert mail.delivered == []


def test_mail_is_retried_with_backoff_while_the_server_is_down(session_factory):
    register(session_factory)
    mail = InMemoryMail(down=True)
    drain(dispatcher(session_factory, mail))
    with session_factory() as session:
        message = session.scalar(select(Message).where(Message.channel == "email"))
        assert (message.status, message.attempts) == ("queued", 1)
        assert clock.as_utc(message.next_attempt_at) == NOW + timedelta(seconds=2)
    mail.down = False
    drain(dispatcher(session_factory, mail, now=NOW + timedelta(seconds=3)))
    assert len(mail.delivered) == 1


@pytest.mark.parametrize(
    ("error", "status", "delivered_later"),
    [
        (MailUnavailable("451 try later", answered=True), "queued", True),
        (MailRefused("554 rejected"), "failed", False),
        (MailUnavailable("connection reset", answered=False), "sent", False),
    ],
    ids=["4xx at the end: again later", "5xx at the end: failed", "no answer: not resent"],
)
def test_what_the_server_says_to_the_end_of_a_message(
    session_factory, error, status, delivered_later
):
    register(session_factory)
    mail = InMemoryMail(end_error=error)
    drain(dispatcher(session_factory, mail))
    with session_factory() as session:
        message = session.scalar(select(Message).where(Message.channel == "email"))
        assert (message.status, message.attempts) == (status, 1)
        assert message.last_error
    drain(dispatcher(session_factory, mail, now=NOW + timedelta(minutes=1)))
    assert len(mail.delivered) == int(delivered_later)


def test_a_newsletter_fans_out_in_batches_each_recipient_once(session_factory, monkeypatch):
    monkeypatch.setattr(newsletters, "EXPANSION_BATCH", 4)
    people = [register(session_factory, user=f"p{n}") for n in range(10)]
    with session_factory() as session:
        for person in people[::2]:
            consent.set_consent(session, person["id"], "email", "marketing", True, "import", NOW)
        draft = newsletters.create_newsletter(
            session,
            {
                "subject": "近况",
                "body": "<p>{{ recipient.name }}</p>",
                "channels": ["email"],
                "segment": {},
            },
            "admin",
            NOW,
        )
        newsletters.send_newsletter(session, draft["id"], None, NOW)
        session.commit()
    mail = InMemoryMail()
    runner = dispatcher(session_factory, mail)
    with session_factory() as session:  # a step at a time, as after a restart
        for _ in range(5):
            newsletters.expand_step(session, LINKS, NOW, batch=4)
            session.commit()
    drain(runner)
    newsletter_mail = [m for m in mail.delivered if b"Precedence: bulk" in m[2]]
    assert sorted(to for _, to, _ in newsletter_mail) == sorted(p["email"] for p in people[::2])
    with session_factory() as session:
        done = newsletters.get_newsletter(session, draft["id"])
    assert done["status"] == "sent"
    assert (done["progress"]["sent"], done["progress"]["skipped_by_reason"]) == (
        5,
        {"no_consent": 5},
    )


def test_a_newsletter_sent_at_a_time_waits_for_it(session_factory):
    person = register(session_factory)
    with session_factory() as session:
        consent.set_consent(session, person["id"], "email", "marketing", True, "import", NOW)
        draft = newsletters.create_newsletter(
            session,
            {"subject": "近况", "body": "<p>x</p>", "channels": ["email"], "segment": {}},
            "admin",
            NOW,
        )
        at = (NOW + timedelta(hours=1)).astimezone(clock.CHINA)
        assert newsletters.send_newsletter(session, draft["id"], at, NOW)["status"] == "scheduled"
        session.commit()
    mail = InMemoryMail()
    drain(dispatcher(session_factory, mail, now=NOW + timedelta(minutes=59)))
    assert [to for _, to, data in mail.delivered if b"Precedence: bulk" in data] == []
    drain(dispatcher(session_factory, mail, now=NOW + timedelta(hours=1, seconds=1)))
    assert [to for _, to, data in mail.delivered if b"Precedence: bulk" in data] == [
        person["email"]
    ]


def test_marketing_sms_wait_for_the_morning_and_the_daily_cap_holds(session_factory):
    alumnus = register(session_factory, phone="13812345678")
    with session_factory() as session:
        consent.set_consent(session, alumnus["id"], "sms", "marketing", True, "import", NOW)
        draft = newsletters.create_newsletter(
            session,
            {"subject": "近况", "body": "<p>x</p>", "channels": ["sms"], "segment": {}},
            "admin",
            NOW,
        )
        newsletters.send_newsletter(session, draft["id"], None, NOW)
        session.commit()
    night = datetime(2026, 3, 2, 22, 0, tzinfo=clock.CHINA)
    sms = InMemorySms()
    drain(dispatcher(session_factory, sms=sms, now=night))
    assert sms.sent == []
    drain(dispatcher(session_factory, sms=sms, now=night + timedelta(hours=10), cap=1))
    assert [s["code"] for s in sms.sent] == ["SMS_460006"]


def test_contexts_of_real_events_have_the_names_of_the_samples(session_factory):
    alumnus = register(session_factory)
    starts = "2026-10-01T06:00:00+00:00"
    event = {
        "event_id": "e1",
        "occurred_at": NOW.isoformat(),
        "data": {
            "event": {"id": "ev", "title": "返校日", "venue": "会堂", "starts_at": starts},
            "registration": {
                "id": "r",
                "event_id": "ev",
                "alumnus_id": alumnus["id"],
                "guests": 0,
                "status": "confirmed",
                "position": None,
            },
        },
    }
    with session_factory() as session:
        triggers.registration_changed(session, LINKS, "registration_confirmed", event, NOW)
        session.commit()
        message = session.scalar(select(Message).where(Message.kind == "registration_confirmed"))
        sample = KINDS["registration_confirmed"].sample_context()
        assert set(LINKS.context(message)) == set(sample)
        assert set(message.context["event"]) == set(sample["event"])
        assert session.get(Contact, alumnus["id"]).email == "a@example.com"


def test_a_service_requests_progress_reaches_the_alumnus_in_chinese(session_factory):
    alumnus = register(session_factory, user="boss", name="陈总")
    event = build_event(
        "service_request_progressed",
        {
            "request_id": "9f1c2b1e-0000-4000-8000-000000000001",
            "alumnus_id": alumnus["id"],
            "company": "星辰科技有限公司",
            "kind": "talent_training",
            "status": "resolved",
            "note": "已推荐三名实习生。",
            "updated_at": NOW.isoformat(),
        },
    )
    with session_factory() as session:
        triggers.service_request_progressed(session, LINKS, event, NOW)
        session.commit()
    mail = InMemoryMail()
    drain(dispatcher(session_factory, mail))

    letters = [parse(data) for _, to, data in mail.delivered if to == "boss@example.com"]
    letter = next(m for m in letters if "服务请求" in m["Subject"])
    assert letter["Subject"] == "您的服务请求已办结"
    text = letter.get_body(preferencelist=("plain",)).get_content()
    assert "星辰科技有限公司" in text and "已推荐三名实习生。" in text
    with session_factory() as session:
        inbox = session.scalars(
            select(Message).where(
                Message.kind == "service_request_progressed", Message.channel == "inbox"
            )
        ).all()
        assert len(inbox) == 1


def test_the_reminder_goes_the_day_before_from_nine_once_and_not_for_cancellations(
    session_factory,
):
    alumnus = register(session_factory)
    starts = datetime(2026, 3, 3, 10, 0, tzinfo=clock.CHINA)

    def registration(number: int, status: str) -> dict:
        event_id = f"ev{number}"
        return {
            "event_id": f"e{number}{status}",
            "occurred_at": NOW.isoformat(),
            "data": {
                "event": {
                    "id": event_id,
                    "title": f"活动{number}",
                    "venue": "会堂",
                    "starts_at": starts.isoformat(),
                },
                "registration": {
                    "id": f"r{number}",
                    "event_id": event_id,
                    "alumnus_id": alumnus["id"],
                    "guests": 0,
                    "status": status,
                    "position": None,
                },
            },
        }

    with session_factory() as session:
        for number in (1, 2):
            triggers.registration_changed(
                session, LINKS, "registration_confirmed", registration(number, "confirmed"), NOW
            )
        triggers.registration_changed(session, LINKS, None, registration(2, "cancelled"), NOW)
        session.commit()
        early = datetime(2026, 3, 2, 8, 59, tzinfo=clock.CHINA)
        assert triggers.send_reminders(session, LINKS, early) == 0
        at_nine = datetime(2026, 3, 2, 9, 0, tzinfo=clock.CHINA)
        assert triggers.send_reminders(session, LINKS, at_nine) == 1
        assert triggers.send_reminders(session, LINKS, at_nine + timedelta(hours=1)) == 0
        session.commit()
        reminders = session.scalars(select(Message).where(Message.kind == "event_reminder")).all()
    assert {m.channel for m in reminders} == {"email", "sms", "inbox"}
    assert {m.context["event"]["title"] for m in reminders} == {"活动1"}
    assert reminders[0].context["event"]["starts_at_text"] == "2026年3月3日 10:00"


def test_domain_modules_load_no_framework():
    modules = [
        "services.notify." + name
        for name in (
            "models",
            "templating",
            "templates",
            "mime",
            "messages",
            "dispatch",
            "newsletters",
            "consent",
            "directory",
            "inbox",
            "triggers",
            "signing",
            "clock",
            "kinds",
            "donations_feed",
            "settings",
            "adapters.mail",
            "adapters.sms",
        )
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(n for n in ('nameko', 'eventlet', 'kombu') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
