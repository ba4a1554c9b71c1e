"""Personal data at rest (services/common/crypto.py): the cipher and its keys, blind
indexes, the registry's search through them, the masking of old contacts in the history,
and the purge of sent outbox rows."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from services.common import config, crypto
from services.common.adapters.publisher import InMemoryPublisher
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.crypto import DecryptionError, Keyring
from services.common.relay import OutboxRelay
from services.localsystem import REPO_ROOT
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


# ---- var/: the owner's only ----------------------------------------------------------------


def test_var_is_made_0700_and_what_is_written_there_0600(tmp_path):
    """A process as `make run` starts one (services/run.py): secrets, SQLite files, logs."""
    var = tmp_path / "fresh" / "var"
    script = (
        "import sqlite3\n"
        "from services.common import config\n"
        "config.private_files()\n"
        "path = config.var_dir()\n"
        "config.secret('PII_KEYS')\n"
        "sqlite3.connect(path / 'registry.db').execute('CREATE TABLE IF NOT EXISTS t (x)')\n"
        "(path / 'log').mkdir()\n"
        "config.open_private_log(path / 'log' / 'registry.log').write(b'up')\n"
        "(path / 'mailbox.eml').write_text('x')\n"
    )
    env = {**os.environ, "ALUMNI_VAR_DIR": str(var), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PII_KEYS", None)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=REPO_ROOT)

    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in var.rglob("*")}
    assert set(modes) >= {"pii-keys", "registry.db", "log", "registry.log", "mailbox.eml"}
    assert {name: mode for name, mode in modes.items() if mode not in (0o600, 0o700)} == {}
    assert modes["log"] == 0o700
    # A laptop's var/ made before this change is closed on the next start.
    var.chmod(0o755)
    subprocess.run(
        [sys.executable, "-c", script.replace("(path / 'log').mkdir()\n", "")],
        env=env,
        check=True,
        cwd=REPO_ROOT,
    )
    assert stat.S_IMODE(var.stat().st_mode) == 0o700


def test_a_log_opened_by_the_supervisor_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        with config.open_private_log(tmp_path / "gateway.log") as log:
            log.write(b"up")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "gateway.log").stat().st_mode) == 0o600
