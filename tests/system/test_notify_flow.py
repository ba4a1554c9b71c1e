"""The notify issue's journey over HTTP, as a new user would take it with `make run`: the
office registers an alumnus with an e-mail address and the welcome is in the development
mailbox; the alumnus signs up for an event and the confirmation is in their mail and in
their inbox; the office records their consent to newsletters, a newsletter reaches them, the
one-click link in it unsubscribes them, and the next newsletter skips them. Then the bad
input of this area: a clear 4xx, nothing stored.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.support.mailbox import mails_to, wait_for
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import (
    alumnus_body,
    assert_documented,
    assert_error,
    department_body,
    event_body,
    token_pair,
    unique,
)

PASSWORD = "alumnus-password-1"


class Client:
    def __init__(self, base_url: str, spec: dict, token: str) -> None:
        self.base_url, self.spec = base_url, spec
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, template: str, *, json: Any = None, params: dict | None = None, **values
    ):
        response = requests.request(
            method,
            self.base_url + template.format(**values),
            json=json,
            params=params,
            headers=self.headers,
            timeout=30,
        )
        if response.status_code < 500:
            assert_documented(self.spec, template, method, response)
        return response

    def ok(self, method: str, template: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, template, **kwargs)
        assert response.status_code == status, (method, template, response.text[:500])
        return response.json()


@pytest.fixture(scope="module")
def spec(system) -> dict:
    return requests.get(f"{system.base_url}/openapi.json", timeout=10).json()


@pytest.fixture(scope="module")
def office(system, spec) -> Client:
    token = token_pair(system.base_url, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"]
    return Client(system.base_url, spec, token)


@pytest.fixture(scope="module")
def department(office) -> str:
    return office.ok("POST", "/api/v1/departments", 201, json=department_body())["id"]


def new_alumnus(office: Client, department: str) -> dict[str, Any]:
    email = f"{unique('a')}@example.com"
    body = alumnus_body(department, name="韩梅梅", email=email)
    return office.ok("POST", "/api/v1/alumni", 201, json=body)


def in_directory(office: Client, alumnus_id: str) -> None:
    path = "/api/v1/alumni/{alumnus_id}/notification-preferences"
    wait_for(
        lambda: office.call("GET", path, alumnus_id=alumnus_id).status_code == 200,
        what="the alumnus in notify's directory",
    )


def newsletter(office: Client, department: str, subject: str) -> dict[str, Any]:
    body = {
        "subject": subject,
        "body": "<p>{{ recipient.name }}校友：学校新建了图书馆。</p>",
        "segment": {"department_id": department},
    }
    created = office.ok("POST", "/api/v1/newsletters", 201, json=body)
    office.ok(
        "POST", "/api/v1/newsletters/{newsletter_id}/send", json={}, newsletter_id=created["id"]
    )
    return wait_for(
        lambda: (
            (
                n := office.ok(
                    "GET", "/api/v1/newsletters/{newsletter_id}", newsletter_id=created["id"]
                )
            )["status"]
            == "sent"
            and n
        ),
        what=f"newsletter {subject} sent",
    )


def test_welcome_confirmation_newsletter_and_one_click_unsubscribe(
    system, spec, office, department
):
    alumnus = new_alumnus(office, department)
    address = alumnus["email"]

    # The welcome, in the development mailbox (var/mailbox, shown by `make run`).
    [welcome] = wait_for(lambda: mails_to(system.var_dir, address), what="the welcome mail")
    assert welcome["Subject"] == "欢迎回家，韩梅梅校友"

    # Signed up for an event: the confirmation by mail and in the inbox.
    username = unique("hmm")
    office.ok(
        "POST",
        "/api/v1/alumni/{alumnus_id}/account",
        201,
        json={"username": username, "password": PASSWORD},
        alumnus_id=alumnus["id"],
    )
    me = Client(
        system.base_url, spec, token_pair(system.base_url, username, PASSWORD)["access_token"]
    )
    event = office.ok("POST", "/api/v1/events", 201, json=event_body(title="校庆晚会"))
    office.ok("POST", "/api/v1/events/{event_id}/publish", event_id=event["id"])
    me.ok("POST", "/api/v1/events/{event_id}/registrations", 201, json={}, event_id=event["id"])
    wait_for(
        lambda: any(
            m["Subject"] == "报名成功：校庆晚会" for m in mails_to(system.var_dir, address)
        ),
        what="the confirmation mail",
    )
    inbox = me.ok("GET", "/api/v1/me/notifications")
    assert [item["title"] for item in inbox["items"]] == [
        "报名成功：校庆晚会",
        "欢迎回家，韩梅梅校友",
    ]
    assert inbox["unread_count"] == 2
    me.ok(
        "POST",
        "/api/v1/me/notifications/{notification_id}/read",
        notification_id=inbox["items"][0]["id"],
    )
    assert me.ok("GET", "/api/v1/me/notifications")["unread_count"] == 1
    assert me.ok("POST", "/api/v1/me/notifications/read-all") == {"marked": 1}

    # Consent recorded by the office; the newsletter carries a one-click link.
    office.ok(
        "PATCH",
        "/api/v1/alumni/{alumnus_id}/notification-preferences",
        json={
            "source": "paper_form",
            "changes": [{"channel": "email", "purpose": "marketing", "granted": True}],
        },
        alumnus_id=alumnus["id"],
    )
    first = newsletter(office, department, "学校近况（一）")
    assert first["progress"]["sent"] == 1
    [letter] = [m for m in mails_to(system.var_dir, address) if m["Subject"] == "学校近况（一）"]
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = letter["List-Unsubscribe"].strip("<>")
    assert link.startswith(system.base_url + "/api/v1/unsubscribe?token=")
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "确认退订" in page.text
    # What a mail client does on "unsubscribe" (RFC 8058): POST the link, no login.
    clicked = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert clicked.status_code == 200 and "已退订" in clicked.text
    preferences = me.ok("GET", "/api/v1/me/notification-preferences")["preferences"]
    assert {
        "channel": "email",
        "purpose": "marketing",
        "granted": False,
        "source": "unsubscribe_link",
    }.items() <= next(
        p for p in preferences if p["channel"] == "email" and p["purpose"] == "marketing"
    ).items()

    second = newsletter(office, department, "学校近况（二）")
    assert second["progress"]["sent"] == 0
    assert second["progress"]["skipped_by_reason"] == {"withdrawn": 1}
    time.sleep(1)
    assert not [m for m in mails_to(system.var_dir, address) if m["Subject"] == "学校近况（二）"]


def test_the_delivery_log_and_statistics(office, department):
    alumnus = new_alumnus(office, department)
    in_directory(office, alumnus["id"])
    log = wait_for(
        lambda: office.ok(
            "GET", "/api/v1/notifications", params={"alumnus_id": alumnus["id"], "kind": "welcome"}
        )["items"],
        what="the welcome in the log",
    )
    assert {line["channel"] for line in log} <= {"email", "inbox"}
    assert all(line["template_version_id"] for line in log)
    stats = office.ok("GET", "/api/v1/notifications/stats")["items"]
    welcome = [line for line in stats if line["kind"] == "welcome" and line["channel"] == "inbox"]
    assert welcome and welcome[0]["sent"] >= 1


# ---- bad input: a clear 4xx, nothing stored -------------------------------------------------


def template_id(office: Client) -> str:
    items = office.ok(
        "GET",
        "/api/v1/notification-templates",
        params={"kind": "welcome", "channel": "email", "locale": "zh-CN"},
    )["items"]
    return items[0]["id"]


def test_a_template_that_does_not_parse_or_render_is_refused_and_not_stored(office):
    tid = template_id(office)
    before = office.ok("GET", "/api/v1/notification-templates/{template_id}", template_id=tid)
    for body, reason in (
        ({"subject": "欢迎", "body": "<p>{{ recipient.name </p>"}, "template_syntax"),
        ({"subject": "欢迎", "body": "<p>{{ recipient.nmae }}</p>"}, "template_render"),
        ({"subject": "", "body": "<p>欢迎</p>"}, "template_incomplete"),
    ):
        response = office.call(
            "PUT", "/api/v1/notification-templates/{template_id}", json=body, template_id=tid
        )
        assert assert_error(response, 422, "VALIDATION_ERROR")["details"]["reason"] == reason
    after = office.ok("GET", "/api/v1/notification-templates/{template_id}", template_id=tid)
    assert after["version"] == before["version"] and after["body"] == before["body"]


def test_preview_renders_with_sample_data_and_autoescapes(office):
    tid = template_id(office)
    preview = office.ok(
        "POST",
        "/api/v1/notification-templates/{template_id}/preview",
        json={"sample": {"recipient": {"name": "<b>张三</b>"}}},
        template_id=tid,
    )
    assert "&lt;b&gt;张三&lt;/b&gt;" in preview["html"]
    assert "<b>张三</b>" in preview["text"]


def test_a_marketing_sms_template_without_the_opt_out_line_is_refused(office):
    items = office.ok(
        "GET",
        "/api/v1/notification-templates",
        params={"kind": "newsletter_notice", "channel": "sms", "locale": "zh-CN"},
    )["items"]
    body = {
        "sms_code": "SMS_460006",
        "body": "学校近况${subject}已发布。",
        "sms_params": {"subject": "{{ newsletter.subject }}"},
    }
    response = office.call(
        "PUT", "/api/v1/notification-templates/{template_id}", json=body, template_id=items[0]["id"]
    )
    assert assert_error(response, 422)["details"]["reason"] == "missing_opt_out"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "<p>近况</p>", "segment": {}}, "subject"),
        ({"subject": "近况", "body": "<p>近况</p>", "segment": {"faculty": "理学院"}}, "segment"),
        ({"subject": "近况", "body": "<p>{% if %}</p>", "segment": {}}, "body"),
        (
            {"subject": "近况", "body": "<p>近况</p>", "channels": ["fax"], "segment": {}},
            "channels",
        ),
    ],
    ids=["no subject", "unknown segment field", "body does not parse", "unknown channel"],
)
def test_a_bad_newsletter_is_refused_and_not_stored(office, body, field):
    before = office.ok("GET", "/api/v1/newsletters", params={"limit": 100})["items"]
    error = assert_error(
        office.call("POST", "/api/v1/newsletters", json=body), 422, "VALIDATION_ERROR"
    )
    assert field in error["details"]["fields"]
    assert office.ok("GET", "/api/v1/newsletters", params={"limit": 100})["items"] == before


def test_an_unsubscribe_link_with_a_broken_signature_changes_nothing(system, office, department):
    from services.notify.signing import unsubscribe_token

    alumnus = new_alumnus(office, department)
    in_directory(office, alumnus["id"])
    path = "/api/v1/alumni/{alumnus_id}/notification-preferences"
    before = office.ok("GET", path, alumnus_id=alumnus["id"])
    forged = unsubscribe_token("not-the-secret", alumnus["id"], "email", "transactional")
    for token in (forged, forged.split(".")[0], "garbage"):
        response = requests.post(
            f"{system.base_url}/api/v1/unsubscribe", params={"token": token}, timeout=10
        )
        assert (
            assert_error(response, 422, "VALIDATION_ERROR")["details"]["reason"] == "bad_signature"
        )
    assert office.ok("GET", path, alumnus_id=alumnus["id"]) == before
