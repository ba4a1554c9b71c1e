# ruff: noqa: F811  (the fixtures of test_registry_domain, imported, are parameters here)
"""Alumni verification, the alumni card and the directory in the registry's domain
(services/registry/claims.py, cards.py, card_workflow.py, directory.py) over a migrated
database, and the offline card check (cardgate)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from services.common import crypto
from services.common.caller import Caller
from services.common.columns import utcnow
from services.common.contracts import check_event
from services.common.contracts import community_identity as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from services.common.visibility import directory_entry
from services.registry import card_workflow, cardgate, claims, directory, domain, passwords
from services.registry.cards import (
    CardKey,
    CardTokenInvalid,
    card_token,
    verify_card_token,
    verify_revocation_list,
)
from services.registry.models import AccessLogEntry, OutboxMessage
from services.registry.sessions import LoginRules
from tests.unit.test_registry_domain import (  # noqa: F401  (fixtures)
    backend,
    both_backends,
    departments,
    register,
    session,
)

RULES = claims.ClaimRules(
    free_per_person=2,
    free_per_address=4,
    lockouts=LoginRules(first_lockout_seconds=30),
)
KEY = CardKey.from_secret("a-card-signing-secret-for-the-tests-" + "c" * 20)
OFFICE = {"account_id": "acc-office", "username": "zhao.office", "role": "office"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(
        passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def claim_input(**fields):
    return load_or_raise(contract.ClaimInput, {"name": "李雷", "class_year": 2010, **fields})


def roster(session, department_id, name="李雷", number="2006001", **fields):
    graduation = {
        "department_id": department_id,
        "major": "计算机科学与技术",
        "degree": "bachelor",
        "class_year": 2010,
        "student_number": number,
    }
    return domain.register_alumnus(
        session,
        {"name": name, "graduations": [graduation], "tags": [], **fields},
        {**OFFICE, "department_id": None},
    )


def verified(session, department_id, name, number=None, **fields):
    """A classmate with a login: verified."""
    record = roster(session, department_id, name=name, number=number, **fields)
    account = domain.create_alumnus_account(
        session, record["id"], {"username": f"u{record['id'][:8]}", "password": "a-long-password"}
    )
    session.commit()
    return {**record, "account_id": account["id"]}


def sent_codes(session):
    """The codes of the claim_code_issued events in the outbox, unsealed as notify would."""
    codes = []
    for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
        event = json.loads(row.payload)
        if event["event_type"] == "claim_code_issued":
            check_event(event, "registry")
            codes.append(
                (event["data"], crypto.decrypt(event["data"]["code_sealed"], "sealed.code"))
            )
    return codes


def submit(session, data, address="10.0.0.1", now=None):
    try:
        result = claims.submit_claim(session, data, address, now or utcnow(), RULES)
    except claims.ClaimRefused as refused:
        session.commit()  # as the service does: the failure counts
        raise refused.error from None
    session.commit()
    return result


# ---- verification by student number ------------------------------------------------------


@both_backends
def test_a_claim_by_student_number_sends_a_sealed_code_that_makes_the_account(session, departments):
    record = roster(session, departments["CS"], email="li.lei@example.com", phone="13812345678")
    session.commit()

    claim = submit(session, claim_input(student_number="2006001"))
    assert claim["status"] == "verified" and claim["channel"] == "email"
    assert claim["sent_to"] == "l***@example.com"
    [(data, code)] = sent_codes(session)
    assert data["alumnus_id"] == record["id"] and data["channel"] == "email"
    assert code not in json.dumps(data) and len(code) == 6 and code.isdigit()
    from services.registry.identity_models import AlumnusClaim

    stored = session.scalars(select(AlumnusClaim)).one()
    assert stored.code_hash and code not in stored.code_hash  # hashed at rest

    with pytest.raises(ValidationFailed) as wrong:
        wrong_code = "000000" if code != "000000" else "111111"
        claims.check_code(session, claim["claim_id"], wrong_code, utcnow(), RULES)
    assert wrong.value.reason == "wrong_code"
    session.commit()
    assert claims.check_code(session, claim["claim_id"], code, utcnow(), RULES) == record["id"]
    account = domain.create_alumnus_account(
        session, record["id"], {"username": "lilei", "password": "a-long-password"}
    )
    claims.finish_activation(session, claim["claim_id"], code, account["id"], utcnow())
    session.commit()
    assert claims.get_claim(session, claim["claim_id"], utcnow())["status"] == "activated"
    # The record now has a login: a second claim is told so.
    with pytest.raises(Conflict) as again:
        submit(session, claim_input(student_number="2006001"))
    assert again.value.reason == "already_verified"


def test_the_channel_asked_for_is_used_when_on_file(session, departments):
    roster(session, departments["CS"], email="li.lei@example.com", phone="13812345678")
    session.commit()
    claim = submit(session, claim_input(student_number="2006001", channel="sms"))
    assert (claim["channel"], claim["sent_to"]) == ("sms", "138****5678")


def test_a_wrong_student_number_is_not_matched_and_repeated_failures_lock(session, departments):
    roster(session, departments["CS"], email="li.lei@example.com")
    session.commit()
    for wrong in ("2006002", "2006003"):
        with pytest.raises(ValidationFailed) as refused:
            submit(session, claim_input(student_number=wrong))
        assert refused.value.reason == "claim_not_matched"
    # The third failure for this person locks it: even the right number waits.
    with pytest.raises(ValidationFailed):
        submit(session, claim_input(student_number="2006009"))
    with pytest.raises(TooManyRequests) as locked:
        submit(session, claim_input(student_number="2006001"), address="10.0.0.2")
    assert locked.value.reason == "claim_locked"
    assert locked.value.details["retry_after_seconds"] >= 1
    # Another person from another address is not held up; after the lock, the right one works.
    later = utcnow() + timedelta(seconds=61)
    assert submit(session, claim_input(student_number="2006001"), now=later)["status"] == (
        "verified"
    )


def test_a_wrong_name_or_year_answers_exactly_like_an_unknown_number(session, departments):
    roster(session, departments["CS"], email="li.lei@example.com")
    session.commit()
    answers = []
    for data in (
        claim_input(name="韩梅梅", student_number="2006001"),
        claim_input(class_year=2011, student_number="2006001"),
        claim_input(student_number="9999999"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            submit(session, data, address=None)
        answers.append((refused.value.message, refused.value.details, refused.value.reason))
    assert len(set(map(repr, answers))) == 1


def test_the_department_is_matched_across_its_lineage(session, departments):
    from services.registry import departments as lineage

    roster(session, departments["PHY"], email="li.lei@example.com")
    session.commit()
    # Physics merged into Economics: a claimant naming either department is matched.
    lineage.merge_departments(
        session,
        {"department_ids": [departments["PHY"]], "successor_id": departments["ECON"]},
        {**OFFICE, "department_id": None},
    )
    session.commit()
    with pytest.raises(ValidationFailed):
        submit(session, claim_input(student_number="2006001", department_id=departments["CS"]))
    assert submit(session, claim_input(student_number="2006001", department_id=departments["ECON"]))


def test_no_contact_on_file_is_told_after_a_match(session, departments):
    roster(session, departments["CS"])
    session.commit()
    with pytest.raises(Conflict) as refused:
        submit(session, claim_input(student_number="2006001"))
    assert refused.value.reason == "no_contact_on_file"


def test_codes_expire_and_die_after_the_allowed_attempts(session, departments):
    roster(session, departments["CS"], email="li.lei@example.com")
    session.commit()
    claim = submit(session, claim_input(student_number="2006001"))
    [(_, code)] = sent_codes(session)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(RULES.code_max_attempts):
        with pytest.raises(ValidationFailed):
            claims.check_code(session, claim["claim_id"], wrong, utcnow(), RULES)
        session.commit()
    with pytest.raises(ValidationFailed) as dead:
        claims.check_code(session, claim["claim_id"], code, utcnow(), RULES)
    assert dead.value.reason == "code_exhausted"
    # A new code works, and only until it expires.
    claims.send_new_code(session, claim["claim_id"], None, utcnow(), RULES)
    session.commit()
    new_code = sent_codes(session)[-1][1]
    late = utcnow() + timedelta(seconds=RULES.code_ttl_seconds + 1)
    with pytest.raises(ValidationFailed) as expired:
        claims.check_code(session, claim["claim_id"], new_code, late, RULES)
    assert expired.value.reason == "code_expired"
    assert claims.check_code(session, claim["claim_id"], new_code, utcnow(), RULES)


# ---- verification by vouching ------------------------------------------------------------


def test_two_verified_classmates_vouch_and_an_unverified_one_cannot(session, departments):
    cs = departments["CS"]
    claimant = roster(session, cs, name="韩梅梅", number=None, email="hmm@example.com")
    first = verified(session, cs, "同学甲")
    second = verified(session, cs, "同学乙")
    unverified = roster(session, cs, name="同学丙", number=None)
    other_class = verified(session, departments["PHY"], "外系校友")
    session.commit()

    claim = submit(session, claim_input(name="韩梅梅", department_id=cs))
    assert claim["status"] == "awaiting_vouches" and claim["sent_to"] is None
    page = {"limit": 50, "cursor": None}
    asked = {
        who["id"]: claims.list_vouch_requests(session, who["id"], page)["items"]
        for who in (first, second, unverified, other_class)
    }
    assert len(asked[first["id"]]) == len(asked[second["id"]]) == 1
    assert asked[unverified["id"]] == [] and asked[other_class["id"]] == []
    vouch = asked[first["id"]][0]
    assert vouch["claimant_name"] == "韩梅梅" and vouch["class_year"] == 2010

    # Someone not asked (the unverified classmate, or one of another class) cannot answer.
    for stranger in (unverified, other_class):
        with pytest.raises(NotFound):
            claims.decide_vouch(session, vouch["id"], "approve", stranger["id"], utcnow(), RULES)
    # A classmate asked whose login was disabled since is no longer verified.
    from services.registry import sessions as logins

    logins.set_active(session, second["account_id"], False, utcnow())
    with pytest.raises(PermissionDenied):
        claims.decide_vouch(
            session, asked[second["id"]][0]["id"], "approve", second["id"], utcnow(), RULES
        )
    session.rollback()

    claims.decide_vouch(session, vouch["id"], "approve", first["id"], utcnow(), RULES)
    session.commit()
    assert claims.get_claim(session, claim["claim_id"], utcnow())["status"] == "awaiting_vouches"
    assert sent_codes(session) == []
    claims.decide_vouch(
        session, asked[second["id"]][0]["id"], "approve", second["id"], utcnow(), RULES
    )
    session.commit()
    assert claims.get_claim(session, claim["claim_id"], utcnow())["status"] == "verified"
    [(data, _)] = sent_codes(session)
    assert data["alumnus_id"] == claimant["id"]
    # Answered once: the state machine refuses a second answer.
    with pytest.raises(Conflict):
        claims.decide_vouch(session, vouch["id"], "decline", first["id"], utcnow(), RULES)


def test_a_vouching_claim_that_matches_nobody_answers_the_same_and_asks_nobody(
    session, departments
):
    cs = departments["CS"]
    verified(session, cs, "同学甲")
    verified(session, cs, "同学乙")
    claim = submit(session, claim_input(name="不存在", department_id=cs))
    assert claim["status"] == "awaiting_vouches" and claim["method"] == "vouch"
    from services.registry.identity_models import ClaimVouch

    assert session.scalars(select(ClaimVouch)).all() == []


# ---- the card ------------------------------------------------------------------------------


def test_card_tokens_verify_offline_and_fail_tampered_revoked_or_expired():
    now = utcnow()
    card = {
        "id": "card-1",
        "alumnus_id": "alumnus-1",
        "name": "李雷",
        "privileges": [{"code": "library", "name": "图书馆"}],
        "expires_at": (now + timedelta(days=30)).isoformat(),
    }
    token = card_token(KEY, card, now)
    public = KEY.public_jwk()
    for key in (public, public["pem"], json.dumps(public), KEY.public):
        claims_ = verify_card_token(token, key)
        assert claims_["card_id"] == "card-1" and claims_["privileges"] == ["library"]
        assert claims_["name"] == "李雷"

    header, payload, signature = token.split(".")
    import base64

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["priv"] = ["library", "gym"]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    middle = len(signature) // 2
    flipped = (
        signature[:middle] + ("B" if signature[middle] != "B" else "C") + signature[middle + 1 :]
    )
    for bad in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}", "not-a-token"):
        with pytest.raises(CardTokenInvalid) as refused:
            verify_card_token(bad, public)
        assert refused.value.reason == "invalid"
    other_key = CardKey.from_secret("another-key-" + "x" * 30)
    with pytest.raises(CardTokenInvalid):
        verify_card_token(token, other_key.public_jwk())
    with pytest.raises(CardTokenInvalid) as revoked:
        verify_card_token(token, public, revoked={"card-1"})
    assert revoked.value.reason == "revoked"
    with pytest.raises(CardTokenInvalid) as expired:
        verify_card_token(token, public, now=now + timedelta(days=31))
    assert expired.value.reason == "expired"


def test_the_card_key_may_be_a_pem_private_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key = CardKey.from_secret(pem)
    assert key.public_raw == private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


@both_backends
def test_card_workflow_privileges_revocation_list_and_the_gate(session, departments, tmp_path):
    person = verified(session, departments["CS"], "李雷", number="2006001")
    now = utcnow()
    card = card_workflow.apply(session, person["id"], now)
    assert card["status"] == "applied" and card["name"] == "李雷"
    with pytest.raises(Conflict):
        card_workflow.apply(session, person["id"], now)
    with pytest.raises(ValidationFailed):
        card_workflow.decide(session, card["id"], "reject", None, OFFICE, now, timedelta(days=1))
    card_workflow.set_privileges(
        session, [{"code": "library", "name": "图书馆"}, {"code": "gym", "name": "体育馆"}]
    )
    approved = card_workflow.decide(
        session, card["id"], "approve", None, OFFICE, now, timedelta(days=365)
    )
    session.commit()
    assert [p["code"] for p in approved["privileges"]] == ["library", "gym"]
    # Privileges configured later change no card already approved.
    card_workflow.set_privileges(session, [{"code": "campus_entry", "name": "校园出入"}])
    own = card_workflow.own_card(session, person["id"], KEY, now)
    assert [p["code"] for p in own["privileges"]] == ["library", "gym"]
    token = own["token"]

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(KEY.public_jwk()))
    listed = tmp_path / "revocations.json"
    listed.write_text(json.dumps(card_workflow.revocation_list(session, KEY, now)))
    assert cardgate.main(["--public-key", str(key_file), "--revocations", str(listed), token]) == 0

    card_workflow.decide(session, card["id"], "revoke", "卡片遗失", OFFICE, now, timedelta(days=1))
    session.commit()
    document = card_workflow.revocation_list(session, KEY, utcnow())
    assert verify_revocation_list(document, KEY.public_jwk()) == {card["id"]}
    listed.write_text(json.dumps(document))
    assert cardgate.main(["--public-key", str(key_file), "--revocations", str(listed), token]) == 1
    assert card_workflow.own_card(session, person["id"], KEY, now)["token"] is None
    # A list altered on its way to the gate is refused.
    listed.write_text(json.dumps({**document, "revoked": []}))
    assert cardgate.main(["--public-key", str(key_file), "--revocations", str(listed), token]) == 2
    # The state machine: a revoked card is not approved again.
    with pytest.raises(Conflict) as refused:
        card_workflow.decide(session, card["id"], "approve", None, OFFICE, now, timedelta(days=1))
    assert refused.value.reason == "invalid_transition"


# ---- the directory -------------------------------------------------------------------------


def test_directory_entries_follow_each_level():
    record = {
        "id": "a1",
        "name": "李雷",
        "employer": "某公司",
        "city": "杭州",
        "phone": "13812345678",
        "email": "li@example.com",
        "wechat": "lilei_2010",
    }
    assert directory_entry(record, None) == {
        "alumnus_id": "a1",
        "name": "李雷",
        "level": "name_only",
        **dict.fromkeys(("employer", "city", "phone", "email", "wechat")),
    }
    work = directory_entry(record, "work")
    assert (work["employer"], work["city"], work["phone"]) == ("某公司", "杭州", None)
    contacts = directory_entry(record, "contacts")
    assert contacts["phone"] == "13812345678" and contacts["wechat"] == "lilei_2010"


@both_backends
def test_directory_search_honours_choices_and_logs_contacts_shown(session, departments):
    cs = departments["CS"]
    fields = {"employer": "某公司", "city": "杭州", "phone": "13812345678"}
    viewer = verified(session, cs, "查看者")
    quiet = verified(session, cs, "张一", **fields)
    working = verified(session, cs, "张二", **fields)
    open_ = verified(session, cs, "张三", **fields)
    roster(session, cs, name="张四", number=None, **fields)  # not verified: not listed
    now = utcnow()
    directory.set_privacy(session, working["id"], "work", now)
    directory.set_privacy(session, open_["id"], "contacts", now)
    session.commit()
    assert directory.get_privacy(session, quiet["id"])["chosen"] is False

    reader = Caller(viewer["account_id"], "viewer", "alumnus", None, viewer["id"])
    page = {"name": "张", "limit": 20, "cursor": None}
    found = {e["name"]: e for e in directory.search(session, page, reader, "GET /d")["items"]}
    session.commit()
    assert set(found) == {"张一", "张二", "张三"}
    assert found["张一"]["level"] == "name_only" and found["张一"]["city"] is None
    assert found["张二"]["city"] == "杭州" and found["张二"]["phone"] is None
    assert found["张三"]["phone"] == "13812345678"
    assert found["张三"]["classes"][0]["class_year"] == 2010
    log = session.scalars(select(AccessLogEntry)).all()
    assert [(e.alumnus_id, json.loads(e.fields), e.purpose) for e in log] == [
        (open_["id"], ["phone"], "GET /d")
    ]
    by_class = {"class_year": 2010, "department_id": cs, "limit": 2, "cursor": None}
    first = directory.search(session, by_class, reader, "GET /d")
    assert len(first["items"]) == 2 and first["next_cursor"]


# ---- the person's rights: the copy and erasure -------------------------------------------


def test_the_export_carries_cards_claims_and_the_choice_and_erasure_stops_the_card(
    session, departments
):
    from services.registry import rights

    person = verified(session, departments["CS"], "李雷", number="2006001")
    now = utcnow()
    card = card_workflow.apply(session, person["id"], now)
    card_workflow.decide(session, card["id"], "approve", None, OFFICE, now, timedelta(days=30))
    directory.set_privacy(session, person["id"], "contacts", now)
    session.commit()
    part = rights.export_person(session, person["id"])["community"]
    assert [c["id"] for c in part["cards"]] == [card["id"]]
    assert part["directory_privacy"]["level"] == "contacts"

    rights.erase_alumnus(session, person["id"], utcnow())
    session.commit()
    revoked = card_workflow.get_card(session, card["id"])
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    listed = verify_revocation_list(
        card_workflow.revocation_list(session, KEY, utcnow()), KEY.public_jwk()
    )
    assert card["id"] in listed
    assert directory.get_privacy(session, person["id"])["chosen"] is False
