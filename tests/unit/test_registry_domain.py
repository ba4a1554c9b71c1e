"""The registry's domain functions over a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import pytest
from argon2 import PasswordHasher
from cachetools import TTLCache
from sqlalchemy import func, select, text

from services.common.columns import utcnow
from services.common.contracts import check_event
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ValidationFailed,
)
from services.common.paging import encode_cursor
from services.registry import domain, merges, namekeys, passwords, sessions
from services.registry.models import (
    Account,
    Alumnus,
    ChangeRecord,
    Graduation,
    OutboxMessage,
)
from services.registry.sessions import LoginRules
from tests.conftest import BACKENDS
from tests.support.transactions import statements_sent

PAGE = {"limit": 50, "cursor": None}
OFFICE = {
    "account_id": "acc-office",
    "username": "zhao.office",
    "role": "office",
    "department_id": None,
}


def actor(role, department_id=None, username=None):
    return {
        "account_id": f"acc-{role}",
        "username": username or f"{role}.user",
        "role": role,
        "department_id": department_id,
    }


@pytest.fixture(params=["sqlite"])
def backend(request):
    """Pinned to SQLite here; tests whose SQL differs by dialect run on both (`both_backends`).

    Each PostgreSQL database costs ~0.6 s to create and migrate, so only the tests where the
    dialect matters (LIKE and case, keyset paging, outbox rows in a transaction) pay for it.
    """
    return request.param


both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def session(registry_session_factory):
    with registry_session_factory() as session:
        yield session


@pytest.fixture
def departments(session):
    made = {
        code: domain.create_department(session, {"name": name, "code": code})
        for code, name in [("CS", "计算机学院"), ("PHY", "物理学院"), ("ECON", "经济学院")]
    }
    session.commit()
    return {code: d["id"] for code, d in made.items()}


def alumnus_input(department_id, class_year=2010, **fields):
    raw = {
        "name": "王小明",
        "graduations": [
            {
                "department_id": department_id,
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": class_year,
            }
        ],
        **fields,
    }
    return load_or_raise(contract.AlumnusInput(), raw)


def register(session, department_id, actor_=OFFICE, **fields):
    record = domain.register_alumnus(session, alumnus_input(department_id, **fields), actor_)
    session.commit()
    return record


def history_rows(session, alumnus_id):
    seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == alumnus_id))
    return session.scalars(
        select(ChangeRecord).where(ChangeRecord.alumnus_seq == seq).order_by(ChangeRecord.id)
    ).all()


def outbox_events(session, event_type=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if event_type:
        query = query.where(OutboxMessage.event_type == event_type)
    return [json.loads(row.payload) for row in session.scalars(query)]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


# ---- registering -------------------------------------------------------------


@both_backends
def test_register_writes_alumnus_graduations_history_and_one_event(session, departments):
    record = register(
        session,
        departments["CS"],
        phone="+8613812345678",
        email="Wang.XM@Example.COM",
        city="北京",
        employer="华为技术有限公司",
        tags=["校友会", "理事", "校友会"],
        gender=None,
    )

    stored = session.scalars(select(Alumnus).where(Alumnus.id == record["id"])).one()
    assert stored.name == "王小明"
    assert stored.phone == "13812345678"
    assert stored.email == "wang.xm@example.com"
    assert stored.tags == sorted({"校友会", "理事"})
    graduations = session.scalars(
        select(Graduation).where(Graduation.alumnus_seq == stored.seq)
    ).all()
    assert [(g.department_id, g.class_year, g.degree) for g in graduations] == [
        (departments["CS"], 2010, "bachelor")
    ]
    assert uuid.UUID(record["id"])

    rows = history_rows(session, record["id"])
    assert {r.field for r in rows} == {
        "name",
        "phone",
        "email",
        "city",
        "employer",
        "tags",
        "graduations",
    }
    by_field = {r.field: r for r in rows}
    assert all(r.old_value is None for r in rows)
    assert all(r.actor == "zhao.office" and r.source == "office" for r in rows)
    assert json.loads(by_field["phone"].new_value) == "13812345678"
    assert json.loads(by_field["name"].new_value) == "王小明"
    # The history keeps the graduations as written; reads add where each belongs now.
    assert json.loads(by_field["graduations"].new_value) == [
        {k: v for k, v in g.items() if k != "current_department_id"} for g in record["graduations"]
    ]

    events = outbox_events(session)
    assert len(events) == 1
    event = events[0]
    assert check_event(event) is event
    assert event["event_type"] == "alumnus_registered"
    assert event["data"] == record
    row = session.scalars(select(OutboxMessage)).one()
    assert row.event_id == event["event_id"]
    assert row.sent_at is None


@both_backends
def test_a_registration_stores_every_row_and_on_postgresql_in_one_statement(session, departments):
    """new_alumnus.store: the record's graduations, name keys, bigrams and history rows each
    numbered with its `seq`; on PostgreSQL the departments' read and one INSERT, nothing
    more, both statements the connection prepared (docs/performance/registrations.md)."""
    raw = alumnus_input(departments["CS"], name="欧阳小明", employer="华为", city="深圳")
    raw["graduations"].append(
        {
            "department_id": departments["PHY"],
            "major": "物理",
            "degree": "master",
            "class_year": 2014,
            "class_name": "物理一班",
            "enrolment_year": 2011,
        }
    )
    with statements_sent(session.get_bind()) as sent:
        record = domain.register_alumnus(session, raw, OFFICE)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        assert len(sent) == 2 and sent[1].startswith("WITH new_alumnus AS")
        prepared = session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
        assert sorted(s.split(" AS ", 1)[1][:16] for s in prepared) == [
            "SELECT departmen",
            "WITH new_alumnus",
        ]

    seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == record["id"]))
    graduations = session.execute(
        select(
            Graduation.department_id,
            Graduation.major,
            Graduation.class_year,
            Graduation.class_name,
            Graduation.enrolment_year,
        )
        .where(Graduation.alumnus_seq == seq)
        .order_by(Graduation.class_year)
    ).all()
    assert [tuple(g) for g in graduations] == [
        (departments["CS"], "计算机科学与技术", 2010, None, None),
        (departments["PHY"], "物理", 2014, "物理一班", 2011),
    ]
    keys = session.execute(
        select(namekeys.KEYS.c.kind, namekeys.KEYS.c.key).where(namekeys.KEYS.c.alumnus_seq == seq)
    ).all()
    assert sorted(map(tuple, keys)) == sorted(namekeys.name_key_pairs("欧阳小明"))
    assert ("pinyin", "ouyangxiaoming") in keys
    grams = session.execute(
        select(namekeys.GRAMS.c.field, namekeys.GRAMS.c.gram).where(
            namekeys.GRAMS.c.alumnus_seq == seq
        )
    ).all()
    assert sorted(map(tuple, grams)) == sorted(
        namekeys.field_grams({"name": "欧阳小明", "employer": "华为", "city": "深圳"})
    )
    rows = history_rows(session, record["id"])
    assert {r.field for r in rows} == {"name", "employer", "city", "graduations"}
    assert [g["class_year"] for g in json.loads(rows[-1].new_value)] == [2010, 2014]
    assert [r["id"] for r in (e["data"] for e in outbox_events(session))] == [record["id"]]
    assert [r["id"] for r in domain.search_alumni(session, {**PAGE, "q": "华为"})["items"]] == [
        record["id"]
    ]


@both_backends
def test_a_student_number_taken_meanwhile_is_a_conflict_and_writes_nothing(
    session, departments, monkeypatch
):
    """The unique index decides when two registrations with one student number pass the
    check together: the second answers 409, and none of its rows or its event is stored."""
    first = alumnus_input(departments["CS"])
    first["graduations"][0]["student_number"] = "2010001"
    domain.register_alumnus(session, first, OFFICE)
    session.commit()
    monkeypatch.setattr(domain, "_check_student_numbers", lambda *_args: None)
    raw = alumnus_input(departments["CS"], name="李四")
    raw["graduations"][0]["student_number"] = "2010001"
    with pytest.raises(Conflict) as refused:
        domain.register_alumnus(session, raw, OFFICE)
    session.rollback()
    assert refused.value.details["reason"] == "student_number_taken"
    assert count(session, Alumnus) == 1 and count(session, ChangeRecord) == 2
    assert [e["event_type"] for e in outbox_events(session)] == ["alumnus_registered"]
    assert session.scalar(select(func.count()).select_from(namekeys.KEYS)) == len(
        namekeys.name_key_pairs("王小明")
    )


@pytest.mark.parametrize(
    ("role", "source"),
    [("office", "office"), ("liaison", "liaison"), ("alumnus", "self_service")],
)
def test_history_source_follows_the_actors_role(session, departments, role, source):
    record = register(session, departments["PHY"], actor(role, username=f"{role}.who"))
    rows = history_rows(session, record["id"])
    assert rows
    assert {(r.actor, r.source) for r in rows} == {(f"{role}.who", source)}


def test_explicit_source_wins_over_role(session, departments):
    importer = {**actor("office", username="csv"), "source": "import"}
    record = register(session, departments["PHY"], importer)
    assert {r.source for r in history_rows(session, record["id"])} == {"import"}


def test_unknown_department_is_a_validation_error_and_writes_nothing(session, departments):
    missing = str(uuid.uuid4())
    with pytest.raises(ValidationFailed) as caught:
        domain.register_alumnus(session, alumnus_input(missing), OFFICE)
    session.rollback()
    assert missing in json.dumps(caught.value.details, ensure_ascii=False)
    assert count(session, Alumnus) == 0
    assert count(session, ChangeRecord) == 0
    assert count(session, OutboxMessage) == 0


# ---- updating ----------------------------------------------------------------


@both_backends
def test_changed_employer_makes_one_history_row_and_one_event(session, departments):
    record = register(session, departments["CS"], employer="Huawei", city="深圳")
    liaison = actor("liaison", departments["CS"], username="li.liaison")
    rows_before = len(history_rows(session, record["id"]))

    updated = domain.update_alumnus(session, record["id"], {"employer": "Tencent"}, liaison)
    session.commit()

    assert updated["employer"] == "Tencent"
    assert domain.get_alumnus(session, record["id"])["employer"] == "Tencent"
    new_rows = history_rows(session, record["id"])[rows_before:]
    assert len(new_rows) == 1
    change = new_rows[0]
    assert (change.field, json.loads(change.old_value), json.loads(change.new_value)) == (
        "employer",
        "Huawei",
        "Tencent",
    )
    assert (change.actor, change.source) == ("li.liaison", "liaison")

    events = outbox_events(session, "alumnus_updated")
    assert len(events) == 1
    event = check_event(events[0])
    assert event["data"]["id"] == record["id"]
    assert event["data"]["changes"] == {"employer": {"old": "Huawei", "new": "Tencent"}}
    assert event["data"]["source"] == "liaison"
    assert event["data"]["alumnus"] == updated
    assert event["event_id"] != outbox_events(session, "alumnus_registered")[0]["event_id"]


def test_history_lists_changes_in_order(session, departments):
    record = register(session, departments["CS"], city="北京")
    domain.update_alumnus(session, record["id"], {"city": "上海"}, OFFICE)
    session.commit()
    domain.update_alumnus(session, record["id"], {"city": "广州", "industry": "教育"}, OFFICE)
    session.commit()

    history = domain.alumnus_history(session, record["id"], PAGE)
    city = [(h["old_value"], h["new_value"]) for h in history["items"] if h["field"] == "city"]
    assert city == [(None, "北京"), ("北京", "上海"), ("上海", "广州")]
    assert history["next_cursor"] is None

    first = domain.alumnus_history(session, record["id"], {"limit": 2})
    assert len(first["items"]) == 2
    rest = domain.alumnus_history(
        session, record["id"], {"limit": 50, "cursor": first["next_cursor"]}
    )
    assert first["items"] + rest["items"] == history["items"]


@both_backends
def test_noop_patch_writes_no_history_and_no_event(session, departments):
    record = register(
        session,
        departments["CS"],
        phone="13812345678",
        email="wang@example.com",
        city="北京",
        tags=["理事", "校友会"],
    )
    rows_before = len(history_rows(session, record["id"]))

    same = {
        "phone": "+8613812345678",
        "email": "WANG@example.com",
        "city": "北京",
        "tags": ["校友会", "理事"],
        "graduations": [
            {
                "department_id": uuid.UUID(departments["CS"]),
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": 2010,
                "class_name": None,
            }
        ],
    }
    result = domain.update_alumnus(session, record["id"], same, OFFICE)
    session.commit()

    assert result["phone"] == "13812345678"
    assert len(history_rows(session, record["id"])) == rows_before
    assert outbox_events(session, "alumnus_updated") == []
    assert domain.get_alumnus(session, record["id"])["updated_at"] == record["updated_at"]


@both_backends
def test_changing_graduations_is_history_and_event(session, departments):
    record = register(session, departments["CS"])
    new_graduations = [
        {
            "department_id": uuid.UUID(departments["CS"]),
            "major": "计算机科学与技术",
            "degree": "bachelor",
            "class_year": 2010,
            "class_name": None,
        },
        {
            "department_id": uuid.UUID(departments["ECON"]),
            "major": "金融学",
            "degree": "master",
            "class_year": 2014,
            "class_name": "金融1班",
        },
    ]
    updated = domain.update_alumnus(session, record["id"], {"graduations": new_graduations}, OFFICE)
    session.commit()
    stored = domain.get_alumnus(session, record["id"])["graduations"]
    assert sorted(g["department_id"] for g in stored) == sorted(
        [departments["CS"], departments["ECON"]]
    )
    events = outbox_events(session, "alumnus_updated")
    assert len(events) == 1
    assert list(events[0]["data"]["changes"]) == ["graduations"]
    assert len(updated["graduations"]) == 2
    assert updated["updated_at"] > record["updated_at"]


def test_update_to_unknown_department_is_rejected(session, departments):
    record = register(session, departments["CS"])
    bad = alumnus_input(str(uuid.uuid4()))["graduations"]
    with pytest.raises(ValidationFailed):
        domain.update_alumnus(session, record["id"], {"graduations": bad}, OFFICE)
    session.rollback()
    stored = domain.get_alumnus(session, record["id"])["graduations"]
    assert [g["department_id"] for g in stored] == [departments["CS"]]


# ---- reading -------------------------------------------------------------------


@pytest.mark.parametrize("alumnus_id", [str(uuid.uuid4()), "not-a-uuid", "", "1", "' OR 1=1 --"])
def test_unknown_or_malformed_id_is_not_found(session, departments, alumnus_id):
    register(session, departments["CS"])
    with pytest.raises(NotFound):
        domain.get_alumnus(session, alumnus_id)
    with pytest.raises(NotFound):
        domain.update_alumnus(session, alumnus_id, {"city": "上海"}, OFFICE)
    with pytest.raises(NotFound):
        domain.alumnus_history(session, alumnus_id, PAGE)


def test_get_department_unknown_is_not_found(session, departments):
    assert domain.get_department(session, departments["CS"])["code"] == "CS"
    with pytest.raises(NotFound):
        domain.get_department(session, str(uuid.uuid4()))


def test_duplicate_department_is_a_conflict(session, departments):
    with pytest.raises(Conflict):
        domain.create_department(session, {"name": "计算机学院", "code": "NEW"})
    with pytest.raises(Conflict):
        domain.create_department(session, {"name": "新学院", "code": "CS"})


# ---- searching -------------------------------------------------------------------


@pytest.fixture
def people(session, departments):
    spec = [
        ("王小明", "CS", 2010, "北京", "Huawei Technologies", "通信"),
        ("李明华", "PHY", 2012, "上海", "Tencent", "互联网"),
        ("欧阳明", "CS", 2012, "北京", "HUAWEI Cloud", "云计算"),
        ("张伟", "ECON", 2010, "深圳", "招商银行", "金融"),
        ("陈静", "CS", 2015, "上海", None, None),
    ]
    made = {}
    for name, dept, year, city, employer, industry in spec:
        record = register(
            session,
            departments[dept],
            class_year=year,
            name=name,
            city=city,
            employer=employer,
            industry=industry,
        )
        made[name] = record["id"]
    return made


def names(session, **params):
    page = domain.search_alumni(session, load_or_raise(contract.AlumnusSearch(), params))
    assert page["next_cursor"] is None
    return sorted(item["name"] for item in page["items"])


@both_backends
def test_search_q_matches_any_part_of_a_chinese_name(session, people):
    assert names(session, q="明") == ["李明华", "欧阳明", "王小明"]
    assert names(session, q="王") == ["王小明"]
    assert names(session, q="明华") == ["李明华"]
    assert names(session, q="欧阳明") == ["欧阳明"]
    assert names(session, q="赵") == []


@both_backends
def test_search_q_wildcards_are_literal(session, people):
    assert names(session, q="%") == []
    assert names(session, q="_") == []


@both_backends
def test_search_filters(session, people, departments):
    assert names(session, department_id=departments["CS"]) == ["欧阳明", "王小明", "陈静"]
    assert names(session, class_year=2012) == ["李明华", "欧阳明"]
    assert names(session, department_id=departments["CS"], class_year=2012) == ["欧阳明"]
    assert names(session, city="北京") == ["欧阳明", "王小明"]
    assert names(session, city="广州") == []
    assert names(session, industry="金融") == ["张伟"]
    assert names(session, city="北京", industry="通信") == ["王小明"]
    assert names(session, q="明", city="上海") == ["李明华"]


@both_backends
def test_search_employer_is_case_insensitive_substring(session, people):
    assert names(session, employer="huawei") == ["欧阳明", "王小明"]
    assert names(session, employer="HUAWEI TECH") == ["王小明"]
    assert names(session, employer="cent") == ["李明华"]
    assert names(session, employer="银行") == ["张伟"]
    assert names(session, employer="%") == []


def ranked(session, q, limit=50):
    """The names a search lists, in its order, read page by page (`limit` a page)."""
    listed, cursor = [], None
    while True:
        params = {"q": q, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = domain.search_alumni(session, load_or_raise(contract.AlumnusSearch(), params))
        listed.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return listed


@both_backends
def test_search_ranks_the_exact_name_first_and_pages_in_that_order(session, departments):
    # Registered worst match first, so that the order of registration cannot pass for rank.
    for name, employer in [
        ("李张伟", None),  # the query inside the name: Rank.OTHER
        ("赵六", "张伟科技有限公司"),  # the query inside the employer: Rank.OTHER
        ("张伟明", None),  # a name prefix
        ("张伟", None),  # the exact name
        ("章伟", None),  # the same pinyin, other characters
    ]:
        register(session, departments["CS"], name=name, employer=employer)
    assert ranked(session, "张伟") == ["张伟", "张伟明", "李张伟", "赵六"]
    # Exact pinyin (张伟, 章伟 in the order of registration), then the pinyin prefix.
    assert ranked(session, "zhangwei") == ["张伟", "章伟", "张伟明"]
    assert ranked(session, "zw") == ["张伟", "章伟", "张伟明"]
    # Paging one at a time keeps the ranked order and lists each once.
    for q in ("张伟", "zhangwei", "zw", "zhang"):
        assert ranked(session, q, limit=1) == ranked(session, q), q


@both_backends
@pytest.mark.parametrize("common_keys", [1, 3])
def test_a_common_prefix_read_rank_by_rank_lists_what_the_grouped_search_does(
    session, departments, monkeypatch, common_keys
):
    """A query whose keys reach namekeys.COMMON_KEYS rows is read a rank at a time (each
    rank along the alumni's order, or through the key index when rarer): the same names, in
    the same (rank, seq) order, on every page size, as the grouped search."""
    for name, employer in [
        ("李张伟", None),
        ("赵六", "张伟科技有限公司"),
        ("张伟明", None),
        ("张伟", None),
        ("章伟", None),
        ("单雄信", None),  # 单: shan, dan, chan
        ("张", None),
        ("周文", "中文张伟"),
        ("詹王", None),
        ("张小伟", None),
    ]:
        register(session, departments["CS"], name=name, employer=employer)
    queries = ("张伟", "张", "zhangwei", "zw", "zhang", "z", "zh", "s", "d", "zhangx", "张w")
    grouped = {q: [ranked(session, q, limit) for limit in (1, 2, 50)] for q in queries}
    monkeypatch.setattr(namekeys, "COMMON_KEYS", common_keys)
    monkeypatch.setattr(namekeys, "PLANS", TTLCache(maxsize=64, ttl=namekeys.PLAN_SECONDS))
    for q in queries:
        assert [ranked(session, q, limit) for limit in (1, 2, 50)] == grouped[q], q
    # 张 by its exact initials, then the pinyin prefix in the order of registration.
    assert grouped["z"][2][:3] == ["张", "赵六", "张伟明"]


@both_backends
def test_a_one_character_query_reads_its_best_keys_along_the_lead_index(session, departments):
    """namekeys.first_key_rows: for a query of one character, the best key rows by (rank,
    seq), exact keys first, at every limit, as sorting all of `key_hits`' rows gives them;
    none for a longer query."""
    for name in ("张伟明", "詹王", "张", "单雄信", "章伟", "王", "张小伟", "周文", "沈阳"):
        register(session, departments["CS"], name=name)

    def rows(statement) -> list[tuple[int, int]]:
        return [(row.seq, row.rank) for row in session.execute(statement)]

    for q in ("张", "王", "z", "s", "w", "d", "c"):
        hits = namekeys.key_hits(q)
        for limit in (1, 2, 3, 50):
            every = hits.order_by("rank", "seq").limit(limit)
            assert rows(namekeys.first_key_rows(q, limit)) == rows(every), (q, limit)
    names = {seq: name for seq, name in session.execute(select(Alumnus.seq, Alumnus.name)).all()}
    assert [names[seq] for seq, _ in rows(namekeys.first_key_rows("张", 50))] == [
        "张",
        "张伟明",
        "张小伟",
    ]
    assert namekeys.first_key_rows("张伟", 50) is None
    assert namekeys.first_key_rows("zh", 50) is None
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # Only the expression as the index spells it, its numbers not bound, reaches it.
        compiled = namekeys.first_key_rows("张", 50).compile(bind)
        plan = session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple(compiled.params[k] for k in compiled.positiontup),
        )
        assert any("ix_alumnus_name_keys_lead" in row[-1] for row in plan)


@both_backends
@pytest.mark.parametrize("spare", [0, 1, domain.KEY_ROWS_SPARE])
def test_a_first_page_cut_from_the_best_key_rows_lists_what_grouping_them_all_does(
    session, departments, monkeypatch, spare
):
    """A first page is cut from its best `limit + 1 + KEY_ROWS_SPARE` key rows, each
    alumnus at its first (its best rank); when alumni reached by several keys leave it
    short, from every key row grouped. Either way the pages of reading every key row."""
    # 张 (seq first) is reached by `z` twice at the top: its initials exactly, its pinyin.
    for name in ("张", "赵六", "张伟明", "詹王", "单雄信", "章伟", "张小伟", "周文"):
        register(session, departments["CS"], name=name)
    queries = ("z", "zh", "zhang", "张", "s", "d", "zw", "zx")
    monkeypatch.setattr(domain, "KEY_ROWS_SPARE", 10**6)  # every key row, deduplicated
    every = {q: [ranked(session, q, limit) for limit in (1, 2, 3, 50)] for q in queries}
    monkeypatch.setattr(domain, "KEY_ROWS_SPARE", spare)
    pages = []
    key_page = domain._key_page
    monkeypatch.setattr(
        domain, "_key_page", lambda *args: pages.append(args[-1]) or key_page(*args)
    )
    for q in queries:
        assert [ranked(session, q, limit) for limit in (1, 2, 3, 50)] == every[q], q
    assert every["z"][3][:2] == ["张", "赵六"]
    assert (domain.KeyPage.GROUPED in pages) == (spare == 0)


@both_backends
def test_a_querys_plan_is_counted_once_a_plan_period_and_either_plan_lists_the_same(
    session, departments, monkeypatch
):
    """Whether a query is common (namekeys.is_common) is counted once in PLAN_SECONDS for
    each query typed; a plan kept while the query crossed COMMON_KEYS lists the same page."""
    for name in ("张伟", "张三", "章伟", "李张"):
        register(session, departments["CS"], name=name)
    clock = [0.0]
    plans = TTLCache(maxsize=8, ttl=namekeys.PLAN_SECONDS, timer=lambda: clock[0])
    monkeypatch.setattr(namekeys, "PLANS", plans)
    bind = session.get_bind()
    counting = str(namekeys._key_count("张").compile(dialect=bind.dialect))
    with statements_sent(bind) as sent:
        first = ranked(session, "张")
        assert sent.count(counting) == 1 and plans["张"] is False
        monkeypatch.setattr(namekeys, "COMMON_KEYS", 1)
        assert ranked(session, "张") == first and sent.count(counting) == 1
        clock[0] += namekeys.PLAN_SECONDS + 1
        assert ranked(session, "张") == first and sent.count(counting) == 2
        assert plans["张"] is True
    assert first == ["张伟", "张三", "李张"]


@both_backends
def test_a_page_cut_from_the_keys_lists_each_graduation_as_the_record_has_it(session, departments):
    """A page of a search by `q` alone reads its alumni's graduations in its own statement,
    an alumnus's row once for each (domain._key_page): every summary has them all, as its
    record does, none when it has none, and a page still holds `limit` alumni."""
    two = register(session, departments["CS"], name="钱一")
    second = {"department_id": departments["PHY"], "major": "物理", "degree": "master"}
    domain.update_alumnus(
        session,
        two["id"],
        {"graduations": [*two["graduations"], {**second, "class_year": 2014}]},
        OFFICE,
    )
    register(session, departments["ECON"], name="钱二")
    none = register(session, departments["ECON"], name="钱三")
    seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == none["id"]))
    session.execute(Graduation.__table__.delete().where(Graduation.alumnus_seq == seq))
    session.commit()
    for limit in (1, 2, 3):
        items, cursor = [], None
        while True:
            params = {"q": "钱", "limit": limit, **({"cursor": cursor} if cursor else {})}
            found = domain.search_alumni(session, load_or_raise(contract.AlumnusSearch(), params))
            assert len(found["items"]) == limit or found["next_cursor"] is None
            items += found["items"]
            if (cursor := found["next_cursor"]) is None:
                break
        assert [item["name"] for item in items] == ["钱一", "钱二", "钱三"], limit
        for item in items:
            graduations = domain.get_alumnus(session, item["id"])["graduations"]
            assert item["graduations"] == graduations, limit
        assert [len(item["graduations"]) for item in items] == [2, 1, 0]


@both_backends
def test_a_record_merged_away_keeps_its_keys_and_is_still_not_listed(session, departments):
    """A search with nothing but `q` cuts its page from the name keys before it reads the
    records. A merged record keeps its keys: it is still left out, and every page full."""
    first, *others = [register(session, departments["CS"], name=f"王{n}") for n in "一二三四五"]
    merges.merge(session, {"survivor_id": others[-1]["id"], "absorbed_id": first["id"]}, OFFICE)
    session.commit()
    merged_seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == first["id"]))
    assert session.scalar(
        select(func.count())
        .select_from(namekeys.KEYS)
        .where(namekeys.KEYS.c.alumnus_seq == merged_seq)
    )
    listed = ranked(session, "王")
    assert len(listed) == 4 and "王一" not in listed
    for limit in (1, 2, 3):
        assert ranked(session, "王", limit) == listed, limit
    front = domain.search_alumni(
        session, load_or_raise(contract.AlumnusSearch(), {"q": "王", "limit": 2})
    )
    assert len(front["items"]) == 2 and front["next_cursor"]
    # Filtered (a department), the records are read before the page is cut, as before.
    assert names(session, q="王", department_id=departments["CS"]) == sorted(listed)


@both_backends
def test_search_finds_employer_and_city_by_any_part(session, departments):
    register(session, departments["CS"], name="甲", employer="华为技术有限公司", city="深圳市")
    register(session, departments["CS"], name="乙", employer="中国工商银行", city="济南市")
    register(session, departments["CS"], name="丙", employer="为华传媒", city="济宁市")
    assert ranked(session, "华为") == ["甲"]
    assert ranked(session, "技术有限") == ["甲"]
    assert ranked(session, "工商银") == ["乙"]
    assert ranked(session, "济南") == ["乙"]
    assert ranked(session, "圳市") == ["甲"]
    assert ranked(session, "华技") == []  # every bigram's characters, but not in this order
    assert names(session, employer="银行") == ["乙"]
    assert names(session, city="济") == ["丙", "乙"]  # one character: a scan, still any part
    assert names(session, city="南市") == ["乙"]


def test_search_lists_summaries(session, departments, people):
    item = domain.search_alumni(session, {"q": "王小明", "limit": 5})["items"][0]
    assert item["name"] == "王小明"
    assert set(item) == {
        "id",
        "name",
        "gender",
        "graduations",
        "province",
        "city",
        "employer",
        "industry",
        "title",
    }
    whole = domain.search_alumni(session, {"q": "王小明", "limit": 5}, full=True)["items"][0]
    assert whole == domain.get_alumnus(session, item["id"])


@both_backends
def test_search_cursor_pages_return_every_record_exactly_once(session, departments):
    ids = {register(session, departments["CS"], name=f"校友{i:02d}")["id"] for i in range(11)}
    register(session, departments["PHY"], name="别院校友")

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, "department_id": departments["CS"]}
        if cursor:
            params["cursor"] = cursor
        page = domain.search_alumni(session, load_or_raise(contract.AlumnusSearch(), params))
        pages += 1
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 4
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == ids


def test_search_exact_page_has_no_dangling_cursor(session, departments):
    for i in range(4):
        register(session, departments["CS"], name=f"校友{i}")
    first = domain.search_alumni(session, {"limit": 2})
    second = domain.search_alumni(session, {"limit": 2, "cursor": first["next_cursor"]})
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


BAD_CURSORS = [
    "!!!",
    "abc",
    "bm90LWEtbnVtYmVy",  # "not-a-number"
    encode_cursor([10**30]),  # beyond 64 bits: SQLite's driver would overflow
    encode_cursor([-1]),
]


@both_backends
def test_bad_cursor_is_a_validation_error(session, departments):
    record_id = register(session, departments["CS"])["id"]
    for cursor in BAD_CURSORS:
        with pytest.raises(ValidationFailed) as caught:
            domain.search_alumni(session, {"limit": 10, "cursor": cursor})
        assert "cursor" in caught.value.details["fields"], cursor
        with pytest.raises(ValidationFailed):
            domain.alumnus_history(session, record_id, {"limit": 10, "cursor": cursor})


# ---- accounts ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at production cost takes ~0.3 s a hash; the logic under test is the same."""
    monkeypatch.setattr(
        passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def authenticate(session, username: str, password: str) -> dict:
    """A login as the registry's service runs it (the hash verified between two steps)."""
    ok = passwords.verify_password(sessions.password_hash_for_login(session, username), password)
    result = sessions.finish_login(session, username, "10.0.0.1", ok, utcnow(), LoginRules())
    if result is None:
        raise AuthenticationFailed("用户名或密码错误。", reason="bad_credentials")
    return result["account"]


def account_input(**fields):
    raw = {"username": "li.liaison", "password": "long-enough-password", "role": "office"}
    raw.update(fields)
    return load_or_raise(contract.AccountInput(), raw)


def test_create_account_and_authenticate(session, departments):
    account = domain.create_account(
        session, account_input(role="liaison", department_id=departments["CS"])
    )
    session.commit()
    assert account["department_id"] == departments["CS"]
    stored = session.get(Account, account["id"])
    assert "long-enough-password" not in stored.password_hash
    assert authenticate(session, "li.liaison", "long-enough-password") == account


def test_wrong_password_and_unknown_user_fail_alike(session, departments):
    domain.create_account(session, account_input())
    session.commit()
    with pytest.raises(AuthenticationFailed) as wrong_password:
        authenticate(session, "li.liaison", "not-the-password")
    with pytest.raises(AuthenticationFailed) as unknown_user:
        authenticate(session, "nobody.here", "long-enough-password")
    assert wrong_password.value.message == unknown_user.value.message
    assert wrong_password.value.reason == "bad_credentials"
    assert wrong_password.value.details == unknown_user.value.details


def test_inactive_account_cannot_authenticate(session, departments):
    account = domain.create_account(session, account_input())
    session.get(Account, account["id"]).active = False
    session.commit()
    with pytest.raises(AuthenticationFailed):
        authenticate(session, "li.liaison", "long-enough-password")
    with pytest.raises(NotFound):
        domain.get_account(session, account["id"])


def test_liaison_needs_a_department_and_others_must_not_have_one(session, departments):
    with pytest.raises(ValidationFailed) as caught:
        domain.create_account(session, account_input(role="liaison"))
    assert "department_id" in caught.value.details["fields"]
    with pytest.raises(ValidationFailed):
        domain.create_account(
            session, account_input(role="committee", department_id=departments["CS"])
        )
    with pytest.raises((NotFound, ValidationFailed)):
        domain.create_account(session, account_input(role="liaison", department_id=uuid.uuid4()))
    session.rollback()
    assert count(session, Account) == 0


def test_duplicate_username_is_a_conflict(session, departments):
    domain.create_account(session, account_input())
    session.commit()
    with pytest.raises(Conflict):
        domain.create_account(session, account_input(role="committee"))


def test_an_alumnus_record_gets_one_login(session, departments):
    alumnus = register(session, departments["CS"])
    other = register(session, departments["CS"], name="李四")
    login = load_or_raise(
        contract.AlumnusAccountInput(),
        {"username": "wang.xiaoming", "password": "long-enough-password"},
    )
    account = domain.create_alumnus_account(session, alumnus["id"], login)
    session.commit()
    assert account == {
        "id": account["id"],
        "username": "wang.xiaoming",
        "role": "alumnus",
        "department_id": None,
        "alumnus_id": alumnus["id"],
        "chapter_id": None,
        "messenger_id": None,
        "active": True,
    }
    assert authenticate(session, "wang.xiaoming", "long-enough-password") == account
    assert domain.get_account(session, account["id"]) == account
    assert account not in domain.list_accounts(session), "staff accounts only"

    with pytest.raises(Conflict):  # one login per record
        domain.create_alumnus_account(session, alumnus["id"], {**login, "username": "other.name"})
    with pytest.raises(Conflict):  # usernames are shared with staff accounts
        domain.create_alumnus_account(session, other["id"], login)
    with pytest.raises(NotFound):
        domain.create_alumnus_account(session, str(uuid.uuid4()), {**login, "username": "x.y.z"})
    session.rollback()
    assert count(session, Account) == 1


def test_ensure_admin_creates_only_when_no_office_account_exists(session, departments):
    domain.create_account(session, account_input(username="committee1", role="committee"))
    session.commit()

    assert domain.ensure_admin(session, "admin", "first-admin-password") is True
    session.commit()
    assert authenticate(session, "admin", "first-admin-password")["role"] == "office"

    assert domain.ensure_admin(session, "admin", "another-password!") is False
    assert domain.ensure_admin(session, "admin2", "another-password!") is False
    session.commit()
    assert [a["username"] for a in domain.list_accounts(session)] == ["admin", "committee1"]
    assert authenticate(session, "admin", "first-admin-password")["username"] == "admin"


def test_ensure_admin_respects_an_existing_office_account_of_any_name(session, departments):
    domain.create_account(session, account_input(username="chief", role="office"))
    session.commit()
    assert domain.ensure_admin(session, "admin", "first-admin-password") is False
    assert [a["username"] for a in domain.list_accounts(session)] == ["chief"]


@both_backends
def test_a_read_by_id_gives_every_graduation_with_its_current_department_and_none_when_gone(
    session, departments
):
    """The record and its graduations are read in one statement, an alumnus's row once for
    each graduation (domain.ALUMNUS_BY_ID): one row per graduation, none when it has none."""
    two = register(session, departments["CS"])
    second = {
        "department_id": departments["PHY"],
        "major": "物理学",
        "degree": "master",
        "class_year": 2014,
    }
    domain.update_alumnus(
        session, two["id"], {"graduations": [*two["graduations"], second]}, OFFICE
    )
    session.commit()
    read = domain.get_alumnus(session, two["id"])
    assert [(g["department_id"], g["current_department_id"]) for g in read["graduations"]] == [
        (departments["CS"], departments["CS"]),
        (departments["PHY"], departments["PHY"]),
    ]
    none = register(session, departments["ECON"])
    seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == none["id"]))
    session.execute(Graduation.__table__.delete().where(Graduation.alumnus_seq == seq))
    session.commit()
    alone = domain.get_alumnus(session, none["id"])
    assert alone["graduations"] == [] and alone["name"] == none["name"]
