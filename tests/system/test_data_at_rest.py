"""Personal data at rest, through the real processes (SQLite and PostgreSQL): after records
were written over HTTP, no service's database holds a phone number, e-mail address or
WeChat ID in plaintext anywhere (tables, SQLite's files and journal, outbox payloads once
purged, history rows once masked); search still finds a whole phone or e-mail; var/ is the
owner's only; rotating the key leaves every value under the new key alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from services.common import crypto
from tests.conftest import BACKENDS, running_system
from tests.support.mailbox import wait_for
from tests.support.processes import REPO_ROOT
from tests.system.helpers import alumnus_body, department_body, visit_body

PHONE, NEW_PHONE = "13812349876", "13912340000"
EMAIL, WECHAT = "Private.Person@Example.com", "wxid_private77"
VISIT_PHONE, VISIT_EMAIL = "13812345678", "zhang.wei@example.com"
PLAINTEXT = [PHONE, NEW_PHONE, EMAIL.lower(), EMAIL, WECHAT, VISIT_PHONE, VISIT_EMAIL]
SHORT_PERIODS = {
    "OUTBOX_RETENTION_SECONDS": "1",
    "OUTBOX_PURGE_SCAN_SECONDS": "1",
    "HISTORY_CONTACT_RETENTION_SECONDS": "2",
    "HISTORY_MASK_SCAN_SECONDS": "1",
}


@pytest.fixture(scope="module", params=BACKENDS)
def system(request, module_amqp_uri, tmp_path_factory):
    """A system of the module's own, with short purge and masking periods, and no key
    given: the processes generate one under var/, as `make run` does. Its databases start
    empty: the services create the SQLite files, whose modes are checked below."""
    with running_system(
        request.param,
        module_amqp_uri,
        tmp_path_factory,
        None,
        settings=SHORT_PERIODS,
        without=(crypto.SETTING,),
    ) as sut:
        yield sut


@pytest.fixture(scope="module")
def written(system):
    """An alumnus (phone changed once), a visit with its contact; then until every copy
    has it, every sent outbox row is purged and the old phone is masked."""
    office = system.admin()
    department = office.post("/api/v1/departments", json=department_body()).json()["id"]
    body = alumnus_body(department, phone=PHONE, email=EMAIL, wechat=WECHAT)
    created = office.post("/api/v1/alumni", json=body)
    assert created.status_code == 201, created.text
    alumnus = created.json()
    changed = office.patch(f"/api/v1/alumni/{alumnus['id']}", json={"phone": NEW_PHONE})
    assert changed.status_code == 200, changed.text
    visit = office.post("/api/v1/visits", json=visit_body(department, alumnus["id"]))
    assert visit.status_code == 201, visit.text

    wait_for(lambda: count(system, "events", "roster_entries") == 1, what="the roster copy")
    wait_for(lambda: count(system, "notify", "contacts") == 1, what="the directory copy")
    wait_for(lambda: all_outboxes_purged(system), what="every sent outbox row purged")

    def masked() -> bool:
        history = office.get(f"/api/v1/alumni/{alumnus['id']}/history").json()["items"]
        return ("138****9876", NEW_PHONE) in [
            (h["old_value"], h["new_value"]) for h in history if h["field"] == "phone"
        ]

    wait_for(masked, what="the old phone masked in the history")
    return {"office": office, "alumnus": alumnus}


# ---- reading the databases as an intruder with the files would ---------------------------


def engine_of(system, service: str):
    return create_engine(system.database_urls[service])


def count(system, service: str, table: str) -> int:
    engine = engine_of(system, service)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(f"SELECT count(*) FROM {table}"))
    finally:
        engine.dispose()


def all_outboxes_purged(system) -> bool:
    for service in system.database_urls:
        engine = engine_of(system, service)
        with engine.connect() as connection:
            left = connection.scalar(text("SELECT count(*) FROM outbox"))
        engine.dispose()
        if left:
            return False
    return True


def everything_stored(system, service: str) -> str:
    """Every row of every table as text; on SQLite, the bytes of its files too."""
    url = system.database_urls[service]
    engine = engine_of(system, service)
    parts = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(" ".join(str(value) for value in row))
    engine.dispose()
    if make_url(url).get_backend_name() == "sqlite":
        database = Path(make_url(url).database)
        for path in database.parent.glob(database.name + "*"):  # the file, -wal, -shm
            parts.append(path.read_bytes().decode("latin-1"))
            parts.append(path.read_bytes().decode("utf-8", errors="ignore"))
    return "\n".join(parts)


def test_no_database_holds_a_contact_in_plaintext(system, written):
    for service in system.database_urls:
        stored = everything_stored(system, service)
        found = [value for value in PLAINTEXT if value in stored]
        assert found == [], f"{service} holds {found} in plaintext"


def test_a_whole_phone_or_email_is_found_through_the_blind_index(written):
    office, alumnus = written["office"], written["alumnus"]

    def found(q: str) -> list[str]:
        response = office.get("/api/v1/alumni", params={"q": q})
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert found(NEW_PHONE) == [alumnus["id"]]
    assert found(EMAIL.upper()) == [alumnus["id"]]
    assert found(PHONE) == []  # the replaced number is no longer the alumnus's
    assert found(NEW_PHONE[:7]) == []  # substrings of encrypted fields are not searched
    shown = office.get(f"/api/v1/alumni/{alumnus['id']}").json()
    assert (shown["phone"], shown["email"], shown["wechat"]) == (NEW_PHONE, EMAIL.lower(), WECHAT)


def test_var_and_the_databases_are_the_owners_only(system, written):
    paths = [p for p in Path(system.var_dir).rglob("*")]
    for url in system.database_urls.values():
        if make_url(url).get_backend_name() == "sqlite":
            database = Path(make_url(url).database)
            paths += list(database.parent.glob(database.name + "*"))
    assert any(p.name == "pii-keys" for p in paths)
    loose = {
        str(p): oct(stat.S_IMODE(p.stat().st_mode))
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}


def test_rotation_leaves_every_value_under_the_new_key_alone(system, written):
    """Last in the module: the running services know only the old key afterwards."""
    old = (Path(system.var_dir) / "pii-keys").read_text().strip()
    new = "rotated-personal-data-key-" + "r" * 32
    result = subprocess.run(
        [sys.executable, "-m", "services.common.rotate_keys", "--all", "--batch", "2"],
        env={**system.env(), crypto.SETTING: f"{new},{old}"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "registry.alumni:" in result.stdout and result.stdout.rstrip().endswith("PII_KEYS")

    only_new = crypto.Keyring([new])
    engine = engine_of(system, "registry")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT phone, email, wechat FROM alumni")).all()
    engine.dispose()
    assert [
        tuple(
            only_new.decrypt(v, f"alumni.{c}")
            for v, c in zip(row, ("phone", "email", "wechat"), strict=True)
        )
        for row in rows
    ] == [(NEW_PHONE, EMAIL.lower(), WECHAT)]
    for service in system.database_urls:
        assert [v for v in PLAINTEXT if v in everything_stored(system, service)] == []
    assert os.environ.get(crypto.SETTING) is None  # the suite's processes keep their own
