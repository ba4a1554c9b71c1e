"""Personal data at rest (services/common/crypto.py): the cipher and its keys, blind
indexes, the registry's search through them, the masking of old contacts in the history,
and the purge of sent outbox rows."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from services.common import crypto
from services.common.adapters.publisher import InMemoryPublisher
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.crypto import DecryptionError, Keyring
from services.common.relay import OutboxRelay
from services.registry import domain, retention
from services.registry.models import ChangeRecord, OutboxMessage

OLD = "old-personal-data-key-" + "o" * 32
NEW = "new-personal-data-key-" + "n" * 32
OFFICE = {"account_id": "a1", "username": "office1", "role": "office", "department_id": None}


# ---- the cipher ------------------------------------------------------------------------


def test_a_value_is_stored_under_its_key_id_and_reads_back():
    keyring = Keyring([OLD])
    stored = keyring.encrypt("13812345678", "alumni.phone")

    assert stored.startswith(f"e1:{keyring.current.id}:")
    assert "13812345678" not in stored
    assert stored != keyring.encrypt("13812345678", "alumni.phone")  # a fresh nonce each time
    assert keyring.decrypt(stored, "alumni.phone") == "13812345678"


def test_a_tampered_value_does_not_decrypt():
    keyring = Keyring([OLD])
    form, key_id, payload = keyring.encrypt("wang@example.com", "alumni.email").split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1

    with pytest.raises(DecryptionError):
        keyring.decrypt(f"{form}:{key_id}:{base64.b64encode(raw).decode()}", "alumni.email")
    with pytest.raises(DecryptionError):
        keyring.decrypt("wang@example.com", "alumni.email")  # plaintext is no ciphertext


def test_a_value_moved_to_another_column_does_not_decrypt():
    keyring = Keyring([OLD])
    stored = keyring.encrypt("13812345678", "alumni.phone")

    with pytest.raises(DecryptionError):
        keyring.decrypt(stored, "roster_entries.phone")


def test_a_value_under_a_key_no_longer_configured_is_refused_by_its_key_id():
    stored = Keyring([OLD]).encrypt("13812345678", "alumni.phone")

    with pytest.raises(DecryptionError, match=Keyring([OLD]).current.id):
        Keyring([NEW]).decrypt(stored, "alumni.phone")


def test_rotation_the_new_key_encrypts_and_the_old_one_still_decrypts():
    before = Keyring([OLD]).encrypt("13812345678", "alumni.phone")
    rotated = Keyring.from_setting(f"{NEW}, {OLD}")

    assert rotated.decrypt(before, "alumni.phone") == "13812345678"
    assert crypto.key_id_of(rotated.encrypt("x", "c")) == Keyring([NEW]).current.id
    assert crypto.key_id_of(before) == Keyring([OLD]).current.id
    # A lookup matches rows indexed under either key until the rotation is done.
    assert rotated.blind_indexes("13812345678") == [
        Keyring([NEW]).blind_index("13812345678"),
        Keyring([OLD]).blind_index("13812345678"),
    ]


def test_short_or_missing_keys_are_refused():
    with pytest.raises(ValueError):
        Keyring(["too-short"])
    with pytest.raises(ValueError):
        Keyring.from_setting(" , ")


def test_blind_indexes_match_normalised_values_only():
    keyring = Keyring([OLD])

    assert keyring.blind_index("Wang.XM@Example.COM ") == keyring.blind_index("wang.xm@example.com")
    assert keyring.blind_index("+86 138-1234-5678") == keyring.blind_index("13812345678")
    assert keyring.blind_index("13812345678") != keyring.blind_index("13812345679")
    assert keyring.blind_index("13812345678") != Keyring([NEW]).blind_index("13812345678")
    assert "13812345678" not in keyring.blind_index("13812345678")


def test_an_encrypted_column_refuses_a_comparison_that_could_never_match():
    from services.registry.models import Alumnus

    assert str(Alumnus.phone.is_(None)) == "alumni.phone IS NULL"
    with pytest.raises(TypeError, match="blind index"):
        Alumnus.phone == "13812345678"  # noqa: B015
    with pytest.raises(TypeError, match="blind index"):
        Alumnus.email.in_(["wang@example.com"])


# ---- the registry: columns, search, history ---------------------------------------------


@pytest.fixture
def registry(registry_session_factory):
    with registry_session_factory() as session:
        department = domain.create_department(session, {"name": "计算机学院", "code": "CS"})
        session.commit()
        yield session, department["id"]


def register(session, department_id, **fields):
    data = {
        "name": "王小明",
        "graduations": [
            {"department_id": department_id, "major": "计算机", "degree": "bachelor"}
            | {"class_year": 2010}
        ],
        **fields,
    }
    record = domain.register_alumnus(session, load_or_raise(contract.AlumnusInput(), data), OFFICE)
    session.commit()
    return record


def raw_rows(session, table: str) -> str:
    return json.dumps(
        [list(map(str, row)) for row in session.execute(text(f"SELECT * FROM {table}"))],
        ensure_ascii=False,
    )


def test_contacts_history_and_outbox_hold_no_plaintext(registry):
    session, department_id = registry
    register(
        session, department_id, phone="13812345678", email="wang@example.com", wechat="wxm_1990"
    )

    for table in ("alumni", "change_records", "outbox"):
        stored = raw_rows(session, table)
        for secret in ("13812345678", "wang@example.com", "wxm_1990"):
            assert secret not in stored, (table, secret)
    assert "王小明" not in raw_rows(session, "change_records")


def test_search_finds_a_phone_or_email_whole_through_the_blind_index(registry):
    session, department_id = registry
    wang = register(session, department_id, phone="+8613812345678", email="Wang@Example.com")
    register(session, department_id, phone="13900000000", email="li@example.com")

    def found(q):
        return [a["id"] for a in domain.search_alumni(session, {"q": q, "limit": 10})["items"]]

    assert found("13812345678") == [wang["id"]]
    assert found("wang@example.com") == [wang["id"]]
    assert found("WANG@example.com") == [wang["id"]]
    assert found("1381234") == []  # no substring search on encrypted fields
    assert len(found("王小明")) == 2  # names are searched as before


def test_old_contacts_in_the_history_are_masked_after_their_retention(registry):
    session, department_id = registry
    wang = register(session, department_id, phone="13812345678", city="北京")
    domain.update_alumnus(session, wang["id"], {"phone": "13900001111", "city": "上海"}, OFFICE)
    session.commit()
    changed = session.scalars(select(ChangeRecord).order_by(ChangeRecord.id)).all()[-1].changed_at

    assert retention.mask_old_contacts(session, changed, timedelta(days=30)) == 0
    assert (
        retention.mask_old_contacts(session, changed + timedelta(days=31), timedelta(days=30)) == 1
    )
    session.commit()

    history = domain.alumnus_history(session, wang["id"], {"limit": 50})["items"]
    phone = [(h["old_value"], h["new_value"]) for h in history if h["field"] == "phone"]
    assert phone == [(None, "138****5678"), ("138****5678", "13900001111")]
    city = [(h["old_value"], h["new_value"]) for h in history if h["field"] == "city"]
    assert city == [(None, "北京"), ("北京", "上海")]  # only contacts are masked
    later = changed + timedelta(days=400)
    assert retention.mask_old_contacts(session, later, timedelta(days=30)) == 0  # once each


def test_sent_outbox_rows_are_purged_after_their_retention(registry_session_factory):
    relay = OutboxRelay(
        registry_session_factory, OutboxMessage, InMemoryPublisher(), retention=timedelta(0)
    )
    with registry_session_factory() as session:
        session.add(OutboxMessage(event_id="e1", event_type="t", payload="{}"))
        session.add(OutboxMessage(event_id="e2", event_type="t", payload="{}", sent_at=utcnow()))
        session.commit()

    with registry_session_factory() as session:
        kept = OutboxMessage.purge_sent(session, timedelta(hours=1), utcnow())
        assert kept == 0
    assert relay.purge() == 1

    with registry_session_factory() as session:
        assert session.scalars(select(OutboxMessage.event_id)).all() == ["e1"]  # unsent stays
