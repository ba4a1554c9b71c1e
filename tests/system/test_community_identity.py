"""Alumni verification, the electronic alumni card and the directory (issue 11, items 5–7)
over HTTP against every real process, on SQLite and PostgreSQL: a person claims their
roster record by student number, gets the one-time code by e-mail from notify (the
development mail sink, a real SMTP server), sets a password and logs in; a record without
a student number is verified by two classmates; a card's QR token verifies offline with the
published key and fails when tampered with or revoked; the directory shows each alumnus as
they chose. And the bad input of the area: clear 4xx in zh-CN.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
import requests

from services.registry import cardgate
from services.registry.cards import CardTokenInvalid, verify_card_token, verify_revocation_list
from tests.support.mailbox import mails_to, sms_received, wait_for
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME, TEST_SETTINGS
from tests.system.helpers import (
    assert_documented,
    assert_error,
    department_body,
    graduation,
    token_pair,
    unique,
)

PASSWORD = "alumnus-password-1"
NEW_PASSWORD = "my-own-passphrase-9"


class Client:
    def __init__(self, base_url: str, spec: dict, token: str | None = None) -> None:
        self.base_url, self.spec = base_url, spec
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self,
        method: str,
        template: str,
        *,
        json: Any = None,
        params: dict | None = None,
        address: str | None = None,
        **values: str,
    ) -> requests.Response:
        headers = dict(self.headers)
        if address:  # another client behind the gateway's trusted proxy (the test itself)
            headers["X-Forwarded-For"] = address
        response = requests.request(
            method,
            self.base_url + template.format(**values),
            json=json,
            params=params,
            headers=headers,
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
def anonymous(system, spec) -> Client:
    return Client(system.base_url, spec)


@pytest.fixture(scope="module")
def department(office) -> str:
    return office.ok("POST", "/api/v1/departments", 201, json=department_body())["id"]


def on_roster(office: Client, department: str, name: str, number: str | None, **fields) -> dict:
    body = {
        "name": name,
        "graduations": [graduation(department, class_year=2012, student_number=number)],
        **fields,
    }
    if number is None:
        del body["graduations"][0]["student_number"]
    return office.ok("POST", "/api/v1/alumni", 201, json=body)


def with_login(system, office: Client, alumnus: dict) -> Client:
    """The office makes the record a login (a verified alumnus) and signs in with it."""
    username = unique("al")
    office.ok(
        "POST",
        "/api/v1/alumni/{alumnus_id}/account",
        201,
        json={"username": username, "password": PASSWORD},
        alumnus_id=alumnus["id"],
    )
    token = token_pair(system.base_url, username, PASSWORD)["access_token"]
    return Client(system.base_url, office.spec, token)


def the_code(system, address: str, already: int = 0) -> str:
    """The one-time code in the newest verification mail to `address`."""
    found = wait_for(
        lambda: [m for m in mails_to(system.var_dir, address) if m["Subject"] == "校友认证验证码"][
            already:
        ],
        what=f"the verification code mailed to {address}",
    )
    text = found[-1].get_body(("plain",)).get_content()
    return re.search(r"验证码为 (\d{6})", text)[1]


def an_address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


# ---- verification by student number ------------------------------------------------------


def test_claim_by_student_number_code_by_mail_password_and_login(
    system, office, anonymous, department
):
    number = unique("S")[:10]
    email = f"{unique('li')}@example.com"
    name = "李" + unique("")[:4]
    record = on_roster(office, department, name, number, email=email, phone="13812345678")
    claimant = an_address()

    # The departments a claimant chooses from, without a login.
    listed = anonymous.ok("GET", "/api/v1/claims/departments")["items"]
    assert department in {d["id"] for d in listed}

    # A wrong student number: 422, the same answer as any other mismatch.
    claim = {"name": name, "class_year": 2012, "student_number": number + "9"}
    wrong = anonymous.call("POST", "/api/v1/claims", json=claim, address=claimant)
    body = assert_error(wrong, 422)
    assert body["details"]["reason"] == "claim_not_matched"
    other_year = {**claim, "student_number": number, "class_year": 2013}
    again = anonymous.call("POST", "/api/v1/claims", json=other_year, address=claimant)
    assert assert_error(again, 422)["message"] == body["message"]

    # The right details: verified, the code mailed to the address on file (masked here).
    right = {"name": name, "class_year": 2012, "student_number": number}
    made = anonymous.ok("POST", "/api/v1/claims", 201, json=right, address=claimant)
    assert made["status"] == "verified" and made["channel"] == "email"
    assert made["sent_to"] == email[0] + "***@" + email.split("@")[1]
    code = the_code(system, email)
    assert anonymous.ok("GET", "/api/v1/claims/{claim_id}", claim_id=made["claim_id"])[
        "status"
    ] == ("verified")

    activate = "/api/v1/claims/{claim_id}/activate"
    username = unique("lilei")
    wrong_code = "000000" if code != "000000" else "111111"
    attempt = {"code": wrong_code, "username": username, "password": NEW_PASSWORD}
    refused = anonymous.call("POST", activate, json=attempt, claim_id=made["claim_id"])
    assert assert_error(refused, 422)["details"]["reason"] == "wrong_code"
    weak = {"code": code, "username": username, "password": f"{username}123"}
    assert_error(anonymous.call("POST", activate, json=weak, claim_id=made["claim_id"]), 422)
    good = {"code": code, "username": username, "password": NEW_PASSWORD}
    account = anonymous.ok("POST", activate, 201, json=good, claim_id=made["claim_id"])
    assert (account["role"], account["alumnus_id"]) == ("alumnus", record["id"])
    # The code is used up.
    assert_error(anonymous.call("POST", activate, json=good, claim_id=made["claim_id"]), 409)

    # Logged in as that alumnus: /me is their record.
    token = token_pair(system.base_url, username, NEW_PASSWORD)["access_token"]
    me = Client(system.base_url, office.spec, token).ok("GET", "/api/v1/me")
    assert (me["role"], me["alumnus"]["id"]) == ("alumnus", record["id"])

    # Claimed again: told the record has a login (the claimant proved the details).
    twice = anonymous.call("POST", "/api/v1/claims", json=right, address=an_address())
    assert assert_error(twice, 409)["details"]["reason"] == "already_verified"

    # The code was never written to a log of any process.
    for log in system.var_dir.glob("*.log"):
        assert code not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_repeated_failed_claims_get_429_with_retry_after(system, office, anonymous, department):
    number = unique("S")[:10]
    email = f"{unique('hm')}@example.com"
    name = "韩" + unique("")[:4]
    on_roster(office, department, name, number, email=email)
    wrong = {"name": name, "class_year": 2012, "student_number": "000"}
    # Per claimed person: three failures are free (from any address), the fourth locks.
    for _ in range(4):
        response = anonymous.call("POST", "/api/v1/claims", json=wrong, address=an_address())
        assert_error(response, 422)
    right = {**wrong, "student_number": number}
    locked = anonymous.call("POST", "/api/v1/claims", json=right, address=an_address())
    body = assert_error(locked, 429)
    assert body["details"]["reason"] == "claim_locked"
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= int(TEST_SETTINGS["LOGIN_FIRST_LOCKOUT_SECONDS"])
    assert f"{wait} 秒后再试" in body["message"]
    time.sleep(wait + 0.2)
    assert anonymous.ok("POST", "/api/v1/claims", 201, json=right, address=an_address())[
        "status"
    ] == ("verified")


# ---- verification by vouching ---------------------------------------------------------------


def test_two_verified_classmates_vouch_for_a_record_without_a_student_number(
    system, office, anonymous, department
):
    email = f"{unique('wm')}@example.com"
    name = "王" + unique("")[:4]
    on_roster(office, department, name, None, email=email)
    first = with_login(system, office, on_roster(office, department, "同学甲", None))
    second = with_login(system, office, on_roster(office, department, "同学乙", None))
    other_department = office.ok("POST", "/api/v1/departments", 201, json=department_body())["id"]
    outsider = with_login(system, office, on_roster(office, other_department, "外系", None))

    claim = {"name": name, "class_year": 2012, "department_id": department}
    made = anonymous.ok("POST", "/api/v1/claims", 201, json=claim, address=an_address())
    assert made["status"] == "awaiting_vouches" and made["sent_to"] is None
    # A claim that matches nobody answers the same.
    nobody = {**claim, "name": "查无此人"}
    unmatched = anonymous.ok("POST", "/api/v1/claims", 201, json=nobody, address=an_address())
    assert {k: v for k, v in unmatched.items() if k not in ("claim_id", "expires_at")} == {
        k: v for k, v in made.items() if k not in ("claim_id", "expires_at")
    }

    def asked(client: Client) -> list[dict]:
        items = client.ok("GET", "/api/v1/me/vouch-requests")["items"]
        return [v for v in items if v["claim_id"] == made["claim_id"]]

    [vouch_first] = asked(first)
    [vouch_second] = asked(second)
    assert vouch_first["claimant_name"] == name and asked(outsider) == []

    # Someone not asked (not a verified classmate) cannot vouch: 404, as for no request.
    approve = "/api/v1/me/vouch-requests/{vouch_id}/approve"
    assert_error(outsider.call("POST", approve, vouch_id=vouch_first["id"]), 404)
    first.ok("POST", approve, vouch_id=vouch_first["id"])
    status = anonymous.ok("GET", "/api/v1/claims/{claim_id}", claim_id=made["claim_id"])
    assert status["status"] == "awaiting_vouches"  # one voucher is not enough
    second.ok("POST", approve, vouch_id=vouch_second["id"])
    status = anonymous.ok("GET", "/api/v1/claims/{claim_id}", claim_id=made["claim_id"])
    assert status["status"] == "verified" and status["channel"] == "email"
    assert the_code(system, email)
    # Answered once only.
    assert_error(first.call("POST", approve, vouch_id=vouch_first["id"]), 409)


# ---- the electronic alumni card -------------------------------------------------------------


def test_card_apply_review_token_verifies_offline_and_fails_after_revocation(
    system, office, anonymous, department, tmp_path
):
    holder = with_login(
        system, office, on_roster(office, department, "卡主" + unique("")[:3], None)
    )
    office.ok(
        "PUT",
        "/api/v1/cards/privileges",
        json={
            "privileges": [
                {"code": "library", "name": "图书馆"},
                {"code": "gym", "name": "体育馆"},
                {"code": "campus_entry", "name": "校园出入"},
            ]
        },
    )
    assert [p["code"] for p in anonymous.ok("GET", "/api/v1/cards/privileges")["items"]] == [
        "library",
        "gym",
        "campus_entry",
    ]

    # A rejected application, with its reason; then a new one, approved.
    first = holder.ok("POST", "/api/v1/me/card", 201)
    assert_error(holder.call("POST", "/api/v1/me/card"), 409)
    no_reason = office.call("POST", "/api/v1/cards/{card_id}/reject", json={}, card_id=first["id"])
    assert_error(no_reason, 422)
    office.ok(
        "POST", "/api/v1/cards/{card_id}/reject", json={"reason": "照片不清晰"}, card_id=first["id"]
    )
    assert holder.ok("GET", "/api/v1/me/card")["reason"] == "照片不清晰"
    card = holder.ok("POST", "/api/v1/me/card", 201)
    queue = office.ok("GET", "/api/v1/cards", params={"status": "applied"})["items"]
    assert card["id"] in {c["id"] for c in queue}
    office.ok("POST", "/api/v1/cards/{card_id}/approve", card_id=card["id"])
    own = holder.ok("GET", "/api/v1/me/card")
    assert own["status"] == "active" and own["token"]

    # The gate: the published key, fetched once, and the token verified offline.
    key = anonymous.ok("GET", "/api/v1/cards/public-key")
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")
    seen = verify_card_token(own["token"], key)
    assert seen["card_id"] == card["id"] and seen["alumnus_id"] == own["alumnus_id"]
    assert seen["privileges"] == ["library", "gym", "campus_entry"]
    header, payload, signature = own["token"].split(".")
    with pytest.raises(CardTokenInvalid):
        verify_card_token(f"{header}.{payload}.{signature[::-1]}", key)

    key_file, list_file = tmp_path / "key.json", tmp_path / "revocations.json"
    key_file.write_text(json.dumps(key))
    list_file.write_text(json.dumps(anonymous.ok("GET", "/api/v1/cards/revocations")))
    gate = ["--public-key", str(key_file), "--revocations", str(list_file), own["token"]]
    assert cardgate.main(gate) == 0

    office.ok(
        "POST", "/api/v1/cards/{card_id}/revoke", json={"reason": "卡片遗失"}, card_id=card["id"]
    )
    revocations = anonymous.ok("GET", "/api/v1/cards/revocations")
    assert card["id"] in verify_revocation_list(revocations, key)
    list_file.write_text(json.dumps(revocations))
    assert cardgate.main(gate) == 1
    assert holder.ok("GET", "/api/v1/me/card")["token"] is None
    again = office.call("POST", "/api/v1/cards/{card_id}/approve", card_id=card["id"])
    assert assert_error(again, 409)["details"]["reason"] == "invalid_transition"


# ---- the directory --------------------------------------------------------------------------


def test_the_directory_under_each_privacy_choice(system, office, anonymous, department):
    family = "欧阳" + unique("")[:3]
    contacts = {"phone": "13912345678", "email": f"{unique('d')}@example.com"}
    work = {"employer": "某科技有限公司", "city": "杭州"}
    people = {
        level: on_roster(office, department, family + level[:1], None, **contacts, **work)
        for level in ("name_only", "work", "contacts", "unchosen")
    }
    logins = {level: with_login(system, office, record) for level, record in people.items()}
    on_roster(office, department, family + "未", None, **contacts)  # no login: not listed
    for level in ("name_only", "work", "contacts"):
        chosen = logins[level].ok("PUT", "/api/v1/me/directory-privacy", json={"level": level})
        assert (chosen["level"], chosen["chosen"]) == (level, True)
    assert logins["unchosen"].ok("GET", "/api/v1/me/directory-privacy") == {
        "level": "name_only",
        "chosen": False,
        "chosen_at": None,
    }

    viewer = logins["unchosen"]
    found = viewer.ok("GET", "/api/v1/directory", params={"name": family})["items"]
    by_id = {entry["alumnus_id"]: entry for entry in found}
    assert set(by_id) == {record["id"] for record in people.values()}
    for level, record in people.items():
        entry = by_id[record["id"]]
        expected = "name_only" if level == "unchosen" else level
        assert entry["level"] == expected
        assert entry["classes"][0]["class_year"] == 2012
        assert (entry["employer"] is not None) == (expected in ("work", "contacts"))
        assert (entry["phone"] is not None) == (expected == "contacts")
    assert by_id[people["contacts"]["id"]]["phone"] == contacts["phone"]
    by_class = viewer.ok(
        "GET", "/api/v1/directory", params={"class_year": 2012, "department_id": department}
    )
    assert len(by_class["items"]) >= 4

    # Contacts shown are in the access log, with the reader and the route.
    log = office.ok("GET", "/api/v1/access-log", params={"alumnus_id": people["contacts"]["id"]})
    assert any(
        e["purpose"] == "GET /api/v1/directory" and e["role"] == "alumnus" for e in log["items"]
    )
    quiet = office.ok("GET", "/api/v1/access-log", params={"alumnus_id": people["work"]["id"]})
    assert not any(e["purpose"] == "GET /api/v1/directory" for e in quiet["items"])

    # Only verified alumni look up the directory.
    assert_error(anonymous.call("GET", "/api/v1/directory", params={"name": family}), 401)
    assert_error(office.call("GET", "/api/v1/directory", params={"name": family}), 403)


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "field"),
    [
        ("POST", "/api/v1/claims", {"name": "李雷", "class_year": 2012}, None, "department_id"),
        ("POST", "/api/v1/claims", {"name": "李雷", "class_year": "x"}, None, "class_year"),
        (
            "POST",
            "/api/v1/claims",
            {"name": "李雷", "class_year": 2012, "student_number": "含空格 1"},
            None,
            "student_number",
        ),
        (
            "POST",
            "/api/v1/claims",
            {"name": "李雷", "class_year": 2012, "id_card": "1"},
            None,
            "id_card",
        ),
    ],
)
def test_bad_claims_are_422_in_chinese(anonymous, method, path, body, params, field):
    response = anonymous.call(method, path, json=body, params=params, address=an_address())
    error = assert_error(response, 422)
    assert field in error["details"]["fields"]
    assert re.search(r"[\u4e00-\u9fff]", error["message"])


def test_bad_input_of_cards_and_the_directory(system, office, department):
    alumnus = with_login(
        system, office, on_roster(office, department, "输入" + unique("")[:3], None)
    )
    bad_level = alumnus.call("PUT", "/api/v1/me/directory-privacy", json={"level": "all"})
    assert "level" in assert_error(bad_level, 422)["details"]["fields"]
    unnarrowed = alumnus.call("GET", "/api/v1/directory")
    assert "name" in assert_error(unnarrowed, 422)["details"]["fields"]
    twice = {"privileges": [{"code": "gym", "name": "体育馆"}, {"code": "gym", "name": "健身"}]}
    assert_error(office.call("PUT", "/api/v1/cards/privileges", json=twice), 422)
    bad_code = {"code": "12345", "username": "someone", "password": NEW_PASSWORD}
    missing = office.call(
        "POST", "/api/v1/claims/{claim_id}/activate", json=bad_code, claim_id=str(uuid.uuid4())
    )
    assert "code" in assert_error(missing, 422)["details"]["fields"]
    unknown = {**bad_code, "code": "123456"}
    gone = office.call(
        "POST", "/api/v1/claims/{claim_id}/activate", json=unknown, claim_id=str(uuid.uuid4())
    )
    assert_error(gone, 404)


def test_the_code_by_sms_through_the_sms_provider(system, office, anonymous, department):
    """The claimant asks for SMS: notify sends the code through its SMS provider (the local
    stand-in of the provider's API here), with the registered template and parameters."""
    number = unique("S")[:10]
    phone = "139" + str(uuid.uuid4().int % 10**8).zfill(8)
    name = "赵" + unique("")[:4]
    on_roster(office, department, name, number, phone=phone, email=f"{unique('z')}@example.com")
    claim = {"name": name, "class_year": 2012, "student_number": number, "channel": "sms"}
    made = anonymous.ok("POST", "/api/v1/claims", 201, json=claim, address=an_address())
    assert (made["channel"], made["sent_to"]) == ("sms", phone[:3] + "****" + phone[-4:])
    sms_address = system.stand_in_addresses["NOTIFY_SMS_ADDRESS"]
    [sms] = wait_for(lambda: sms_received(sms_address, phone), what="the code by SMS")
    assert sms["template_code"] == "SMS_460007"
    code = sms["params"]["code"]
    body = {"code": code, "username": unique("zhao"), "password": NEW_PASSWORD}
    account = anonymous.ok(
        "POST", "/api/v1/claims/{claim_id}/activate", 201, json=body, claim_id=made["claim_id"]
    )
    assert account["role"] == "alumnus"
