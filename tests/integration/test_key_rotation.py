"""Rotating the personal-data key (services/common/rotate_keys.py) on SQLite and PostgreSQL:
every value ends under the new key, a run that stopped half way is finished by running it
again, and the old key can then be removed: everything still reads and is still found."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from services.common import crypto
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.db import make_engine
from services.common.migrate import upgrade
from services.common.rotate_keys import encrypted_tables, rotate_service, rotate_table
from services.donations.identity import IdNumberCipher
from services.notify import consent
from services.notify.models import AddressHold
from services.registry import domain
from services.registry.models import Alumnus
from tests.support.donations_books import Books
from tests.support.donations_data import VALID_ID_NUMBER, alumnus_donor

OLD = "old-personal-data-key-" + "o" * 32
NEW = "new-personal-data-key-" + "n" * 32
OFFICE = {"account_id": "a1", "username": "office1", "role": "office", "department_id": None}


@pytest.fixture
def keys():
    """Sets this process's `PII_KEYS`; the suite's keyring comes back afterwards."""
    saved = crypto._keyring

    def use(value: str) -> crypto.Keyring:
        return crypto.configure({crypto.SETTING: value})

    yield use
    crypto._keyring = saved


def key_ids(engine, table: str, column: str) -> set[str]:
    with engine.connect() as connection:
        values = connection.execute(text(f"SELECT {column} FROM {table}")).scalars()
        return {crypto.key_id_of(v) for v in values if v is not None}


def register_people(engine, count: int) -> None:
    with Session(engine) as session:
        department = domain.create_department(session, {"name": "计算机学院", "code": "CS"})
        for n in range(count):
            data = {
                "name": f"校友{n}",
                "phone": f"138{n:08d}",
                "email": f"person{n}@example.com",
                "wechat": f"wxid_{n:04d}",
                "graduations": [
                    {
                        "department_id": department["id"],
                        "major": "计算机",
                        "degree": "bachelor",
                        "class_year": 2010,
                    }
                ],
            }
            domain.register_alumnus(session, load_or_raise(contract.AlumnusInput(), data), OFFICE)
        session.commit()


def test_rotation_re_encrypts_every_value_and_the_old_key_can_go(databases, keys, monkeypatch):
    url = databases.new("registry")
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    old = keys(OLD)
    upgrade("registry", url)
    engine = make_engine(url, pool_size=2)
    register_people(engine, 7)
    assert key_ids(engine, "alumni", "phone") == {old.current.id}

    new = keys(f"{NEW},{OLD}")
    alumni = next(t for t in encrypted_tables("registry") if t.name == "alumni")

    class Interrupted(Exception):
        pass

    def stop_after_first_batch(line: str) -> None:
        raise Interrupted(line)

    with pytest.raises(Interrupted):
        rotate_table(engine, alumni, 3, stop_after_first_batch, "registry.alumni")
    assert key_ids(engine, "alumni", "phone") == {old.current.id, new.current.id}
    # Half way, a lookup still finds rows under either key.
    with Session(engine) as session:
        for q in ("13800000000", "person6@example.com"):
            assert len(domain.search_alumni(session, {"q": q, "limit": 5})["items"]) == 1

    progress: list[str] = []
    assert rotate_service("registry", 3, progress.append) > 0
    (done,) = [line for line in progress if line.startswith("registry.alumni:")][-1:]
    assert done.endswith(f"rows now under key {new.current.id}")
    for table, column in [
        ("alumni", "phone"),
        ("alumni", "email"),
        ("alumni", "wechat"),
        ("change_records", "new_value"),
        ("outbox", "payload"),
    ]:
        assert key_ids(engine, table, column) == {new.current.id}, (table, column)
    assert rotate_service("registry", 3, progress.append) == 0  # nothing left

    keys(NEW)  # the old key removed
    with Session(engine) as session:
        phones = sorted(session.scalars(select(Alumnus.phone)))
        assert phones == [f"138{n:08d}" for n in range(7)]
        found = domain.search_alumni(session, {"q": "PERSON3@example.com", "limit": 5})
        assert [a["name"] for a in found["items"]] == ["校友3"]
    engine.dispose()


def test_a_key_made_by_its_blind_index_is_rotated_too(databases, keys, monkeypatch):
    url = databases.new("notify")
    monkeypatch.setenv("NOTIFY_DATABASE_URL", url)
    keys(OLD)
    upgrade("notify", url)
    engine = make_engine(url, pool_size=2)
    with Session(engine) as session:
        consent.hold_address(session, "gone@example.com", "email", "550", utcnow())
        session.commit()

    keys(f"{NEW},{OLD}")
    rotate_service("notify", 10, lambda line: None)
    keys(NEW)

    with Session(engine) as session:
        assert consent.held(session, ["gone@example.com"]) == {"gone@example.com"}
        assert session.scalars(select(AddressHold.address)).all() == ["gone@example.com"]
    engine.dispose()


def test_donor_id_numbers_rotate_under_their_own_key(databases, keys, monkeypatch):
    url = databases.new("donations")
    monkeypatch.setenv("DONATIONS_DATABASE_URL", url)
    keys(OLD)
    upgrade("donations", url)
    engine = make_engine(url, pool_size=2)
    books = Books(sessionmaker(engine, expire_on_commit=False))
    books.cipher = IdNumberCipher.from_setting(OLD)
    fund = books.fund()["id"]
    for _ in range(3):
        books.gift(
            fund,
            donor=alumnus_donor(books.alumnus()),
            donor_id_number=VALID_ID_NUMBER,
            id_number_consent=True,
        )
    monkeypatch.setenv("DONOR_ID_KEY", f"{NEW},{OLD}")

    progress: list[str] = []
    rotate_service("donations", 2, progress.append)

    assert progress[-1].endswith(f"3 rows now under key {crypto.Keyring([NEW]).current.id}")
    only_new = IdNumberCipher.from_setting(NEW)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, id_number_ciphertext FROM gifts")).all()
    assert [only_new.decrypt(stored, gift_id) for gift_id, stored in rows] == [VALID_ID_NUMBER] * 3
    engine.dispose()
