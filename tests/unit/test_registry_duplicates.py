"""Duplicate candidates, merge survivorship and undo (services/registry/duplicates.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from services.registry import duplicates, sample_import
from services.registry.duplicates import (
    MAX_SHARED,
    DuplicateIndex,
    MergeSide,
    Person,
    Provenance,
    find_candidates,
    merge,
    undo_merge,
)
from services.registry.importing import ImportOptions, open_import

CS = "4f1c2a9e-0000-4000-8000-000000000001"
BORN = date(1994, 3, 5)
TODAY = date(2025, 6, 30)


def person(id, name, **fields):
    return Person(id=id, name=name, **fields)


def klass(name, year=2016):
    return duplicates.class_key({"department_id": CS, "class_year": year, "class_name": name})


def cohort(year=2016, degree="bachelor"):
    return duplicates.class_key({"department_id": CS, "class_year": year, "degree": degree})


def only_pair(*people):
    found = find_candidates(people)
    assert len(found) == 1, [m.explain() for m in found]
    return found[0]


# ---- candidates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "found_by", "rules"),
    [
        (
            {"name": "张伟", "phone": "13800138000"},
            {"name": "张玮", "phone": "13800138000"},
            ("same_phone",),
            ["same_phone", "similar_name"],
        ),
        (
            {"name": "李娜", "email": "lina@example.cn"},
            {"name": "李娜", "email": "lina@example.cn"},
            ("same_email",),
            ["same_email", "same_name"],
        ),
        (
            {"name": "王芳", "student_numbers": frozenset({"k1"})},
            {"name": "王方", "student_numbers": frozenset({"k1"})},
            ("same_student_number",),
            ["same_student_number", "similar_name"],
        ),
        (
            {"name": "刘晓明", "birth_date": BORN},
            {"name": "刘小明", "birth_date": BORN},
            ("similar_name+same_birth_date",),
            ["similar_name", "same_birth_date"],
        ),
        (
            {"name": "張偉", "classes": frozenset({klass("软件1201")})},
            {"name": "张伟", "classes": frozenset({klass("软件1201")})},
            ("similar_name+same_class",),
            ["similar_name", "same_class"],
        ),
        (
            {"name": "李明明", "classes": frozenset({cohort()})},
            {"name": "李明", "classes": frozenset({cohort()})},
            ("similar_name+same_cohort",),
            ["similar_name", "same_cohort"],
        ),
        (
            {"name": "阿卜杜拉·艾力", "birth_date": BORN},
            {"name": "阿卜杜拉艾力", "birth_date": BORN},
            ("similar_name+same_birth_date",),
            ["same_name", "same_birth_date"],
        ),
    ],
    ids=["phone", "email", "student", "birth", "class", "cohort", "minority"],
)
def test_each_rule_finds_its_pair_and_says_so(a, b, found_by, rules):
    match = only_pair(person("a", **a), person("b", **b))
    assert (match.first, match.second) == ("a", "b")
    assert match.found_by == found_by
    assert [e.rule for e in match.evidence] == rules
    assert match.explain()  # Chinese, rule by rule


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"name": "张伟"}, {"name": "张伟"}),  # the same name alone is not a reason
        ({"name": "张伟", "birth_date": BORN}, {"name": "李强", "birth_date": BORN}),
        ({"name": "张伟", "birth_date": BORN}, {"name": "张文", "birth_date": BORN}),
        (
            {"name": "张伟", "classes": frozenset({klass("软件1201")})},
            {"name": "张伟", "classes": frozenset({klass("软件1202")})},
        ),
    ],
    ids=["name only", "unlike names", "zhangwei-zhangwen", "other class"],
)
def test_no_rule_no_candidate(a, b):
    assert find_candidates([person("a", **a), person("b", **b)]) == []


def test_scores_rank_the_evidence_and_count_what_speaks_against():
    same = only_pair(
        person("a", "单雄信", phone="13800138000", birth_date=BORN),
        person("b", "单雄信", phone="13800138000", birth_date=BORN),
    )
    homophone = only_pair(
        person("a", "刘晓明", classes=frozenset({klass("软件1201/02")})),
        person("b", "刘小明", classes=frozenset({klass("软件1201/02")})),
    )
    family = only_pair(
        person("a", "张伟", phone="13800138000", birth_date=BORN),
        person("b", "李秀英", phone="13800138000", birth_date=date(1966, 1, 1)),
    )
    assert same.score > homophone.score > family.score
    assert same.score > 0.9
    assert [e.rule for e in family.evidence] == [
        "same_phone",
        "different_name",
        "different_birth_date",
    ]
    assert "拼音相同：liuxiaoming" in homophone.explain()
    assert "同班（软件1201/02）" in homophone.explain()


def test_a_phone_shared_by_many_is_no_ones_and_is_listed():
    people = [person(f"p{i}", f"校友{i}", phone="05318888888") for i in range(MAX_SHARED + 1)]
    people.append(person("x", "王明", phone="13900139000"))
    people.append(person("y", "王铭", phone="13900139000"))
    index = DuplicateIndex()
    for p in people:
        index.add(p)

    assert [(m.first, m.second) for m in index.pairs()] == [("x", "y")]
    assert index.shared_values() == [("same_phone", "05318888888", MAX_SHARED + 1)]


def test_an_index_answers_for_a_new_row_without_taking_it():
    index = DuplicateIndex()
    index.add(person("alumnus-1", "曾国藩", phone="13800138000"))
    index.add(person("alumnus-2", "曾國藩", birth_date=BORN))

    row = person("row:2", "曾国藩", phone="13800138000", birth_date=BORN)
    found = index.matches(row)

    assert [m.second for m in found] == ["row:2", "row:2"]
    assert [m.first for m in found] == ["alumnus-1", "alumnus-2"], "best first"
    assert len(index) == 2
    with pytest.raises(ValueError):
        index.add(person("alumnus-1", "重复"))


def test_blocking_compares_only_what_shares_a_block(monkeypatch):
    compared = []
    real = duplicates.compare
    monkeypatch.setattr(
        duplicates, "compare", lambda a, b, found_by=(): compared.append(1) or real(a, b, found_by)
    )
    people = [
        person(f"p{i}", f"学生{i:04d}", birth_date=date(1960, 1, 1) + timedelta(days=i))
        for i in range(3000)
    ]
    people += [
        person("twin-a", "孙学鑫", birth_date=BORN),
        person("twin-b", "孙雪鑫", birth_date=BORN),
    ]

    found = find_candidates(people)

    assert [(m.first, m.second) for m in found] == [("twin-a", "twin-b")]
    assert len(compared) == 1, "an all-pairs pass would compare 4.5 million pairs"


def test_every_duplicate_of_a_sample_export_is_found_and_ranked_above_chance():
    export = sample_import.generate(1500, bad=0, duplicates=80, seed=3, encoding="utf-8")
    lookup = sample_import.department_lookup()
    registrar_file = open_import(export.encode("csv", "utf-8"), ImportOptions(lookup, today=TODAY))
    people = [Person.from_imported(f"row:{r.row_number}", r.record) for r in registrar_file]
    assert registrar_file.progress.rejected == 0

    found = {(m.first, m.second): m for m in find_candidates(people)}

    injected = {
        tuple(sorted((f"row:{d['original']}", f"row:{d['duplicate']}"))): d["kind"]
        for d in export.duplicates
    }
    assert set(injected) <= set(found), set(injected) - set(found)
    assert min(found[pair].score for pair in injected) >= 0.5
    others = [m for pair, m in found.items() if pair not in injected]
    assert len(others) < len(injected)


def test_a_registry_record_is_read_as_the_registry_keeps_it():
    alumnus = {
        "id": "a1",
        "name": "查良镛",
        "birth_date": "1924-03-10",
        "phone": "+8613800138000",
        "email": "Zha@Example.CN",
        "graduations": [
            {"department_id": CS, "class_year": 1948, "degree": "bachelor", "class_name": None}
        ],
    }
    found = Person.from_alumnus(alumnus, student_keys=["k"])
    assert (found.phone, found.email, found.pinyin) == (
        "13800138000",
        "zha@example.cn",
        "zhaliangyong",
    )
    assert found.birth_date == date(1924, 3, 10)
    assert found.classes == {cohort(1948)}


# ---- merging -------------------------------------------------------------------------

T0, T1, T2, T3 = (f"202{i}-01-01T00:00:00+00:00" for i in range(4))


def side(id, values, provenance=None, graduations=(), tags=()):
    provenance = {f: Provenance(s, t) for f, (s, t) in (provenance or {}).items()}
    return MergeSide(id, dict(values), provenance, list(tags), [dict(g) for g in graduations])


def graduation(id, year=2016, degree="bachelor", **details):
    return {"id": id, "department_id": CS, "degree": degree, "class_year": year, **details}


@pytest.mark.parametrize(
    ("mine", "theirs", "kept", "why", "value", "source"),
    [
        (("13800138000", "import", T1), ("13900139000", "self_service", T2), "absorbed", "newer",
         "13900139000", "self_service"),
        (("13800138000", "liaison", T2), ("13900139000", "import", T1), "survivor", "newer",
         "13800138000", "liaison"),
        (("13800138000", "import", T1), ("13900139000", "import", T1), "survivor", "tie",
         "13800138000", "import"),
        (("13800138000", "import", None), ("13900139000", "import", T0), "absorbed", "newer",
         "13900139000", "import"),
        ((None, None, None), ("13900139000", "import", T0), "absorbed", "only_value",
         "13900139000", "import"),
        (("13800138000", "import", T0), ("", "office", T3), "survivor", "only_value",
         "13800138000", "import"),
        (("13800138000", "import", T0), ("13800138000", "office", T2), "both", "same_value",
         "13800138000", "office"),
    ],
    ids=["newer wins", "older loses", "tie keeps survivor", "never confirmed is oldest",
         "blank survivor", "blank never wins", "same value, newer provenance"],
)  # fmt: skip
def test_survivorship_keeps_the_newest_confirmed_value(mine, theirs, kept, why, value, source):
    survivor = side(
        "s", {"name": "单雄信", "phone": mine[0]}, {"phone": mine[1:]} if mine[1] else {}
    )
    absorbed = side("a", {"name": "单雄信", "phone": theirs[0]}, {"phone": theirs[1:]})

    result = merge(survivor, absorbed, merged_at=T3)

    decision = next(d for d in result.decisions if d.field == "phone")
    assert (decision.kept, decision.why, decision.value) == (kept, why, value)
    assert result.survivor.values["phone"] == value
    assert result.survivor.provenance["phone"].source == source


def test_the_office_may_choose_a_side_and_that_confirms_it():
    survivor = side("s", {"name": "曾国藩", "city": "长沙"}, {"city": ("import", T2)})
    absorbed = side("a", {"name": "曾国藩", "city": "湘乡"}, {"city": ("liaison", T1)})

    result = merge(survivor, absorbed, merged_at=T3, choices={"city": "absorbed"})

    assert result.survivor.values["city"] == "湘乡"
    assert result.survivor.provenance["city"] == Provenance("office", T3)
    decision = next(d for d in result.decisions if d.field == "city")
    assert (decision.why, decision.discarded) == ("office_choice", "长沙")
    with pytest.raises(ValueError):
        merge(survivor, absorbed, merged_at=T3, choices={"salary": "survivor"})
    with pytest.raises(ValueError):
        merge(survivor, absorbed, merged_at=T3, choices={"city": "both"})


def test_graduations_are_united_and_the_same_graduation_folded():
    survivor = side(
        "s",
        {"name": "解缙"},
        graduations=[graduation("g1", major="软件工程", class_name=None, student_number="2012")],
        tags=["校友导师"],
    )
    absorbed = side(
        "a",
        {"name": "解缙"},
        graduations=[
            graduation("g2", major="计算机", class_name="软件1201", student_number="2012"),
            graduation("g3", year=2019, degree="master", major="软件工程"),
        ],
        tags=["捐赠人", "校友导师"],
    )

    result = merge(survivor, absorbed, merged_at=T3)

    assert result.folded_graduations == {"g2": "g1"}
    assert result.moved_graduations == ["g3"]
    assert [g["id"] for g in result.survivor.graduations] == ["g1", "g3"]
    assert result.survivor.graduations[0]["class_name"] == "软件1201", "a blank is filled"
    assert result.survivor.graduations[0]["major"] == "软件工程", "the survivor's detail kept"
    assert result.conflicts == ["2016 届的专业不一致：保留“软件工程”，舍去“计算机”。"]
    assert result.survivor.tags == ["捐赠人", "校友导师"]


def test_the_changes_of_a_merge_are_what_the_history_records():
    survivor = side("s", {"name": "仇英", "city": None, "phone": "13800138000"})
    absorbed = side("a", {"name": "仇英", "city": "苏州", "phone": "13800138000"})
    assert merge(survivor, absorbed, merged_at=T3).changes() == {
        "city": {"old": None, "new": "苏州"}
    }


# ---- undo ----------------------------------------------------------------------------


def merged_pair():
    survivor = side(
        "s",
        {"name": "覃振", "phone": "13800138000", "city": "长沙", "employer": None},
        {"phone": ("import", T0), "city": ("import", T0)},
        graduations=[graduation("g1", major="法学", class_name=None)],
        tags=["党员"],
    )
    absorbed = side(
        "a",
        {"name": "覃振", "phone": "13900139000", "city": "桃源", "employer": "同盟会"},
        {"phone": ("self_service", T2), "city": ("liaison", T1), "employer": ("import", T1)},
        graduations=[
            graduation("g2", major="法学", class_name="法律1201"),
            graduation("g3", year=2019, degree="master", major="政治学"),
        ],
        tags=["杰出校友候选"],
    )
    result = merge(survivor, absorbed, merged_at=T3)
    # The merge log is JSON: what undo gets back has been through it.
    return survivor, absorbed, result, json.loads(json.dumps(result.undo))


def test_undo_right_after_a_merge_restores_both_records_exactly():
    survivor, absorbed, result, log = merged_pair()

    undone = undo_merge(log, result.survivor)

    assert undone.survivor.to_json() == survivor.to_json()
    assert undone.absorbed.to_json() == absorbed.to_json()
    assert undone.kept_since_merge == []


def test_undo_keeps_what_changed_since_the_merge():
    survivor, absorbed, result, log = merged_pair()
    current = MergeSide.from_json(result.survivor.to_json())
    current.values["city"] = "常德"
    current.provenance["city"] = Provenance("office", T3)
    current.tags.append("校友信使")
    current.graduations.append(graduation("g4", year=2022, degree="doctor", major="法学"))
    moved = next(g for g in current.graduations if g["id"] == "g3")
    moved["class_name"] = "政治学硕士2019届"

    undone = undo_merge(log, current)

    assert undone.kept_since_merge == ["city"]
    assert undone.survivor.values == {**survivor.values, "city": "常德"}
    assert undone.survivor.provenance["phone"] == survivor.provenance["phone"]
    assert undone.survivor.provenance["city"] == Provenance("office", T3)
    assert undone.survivor.tags == ["党员", "校友信使"]
    assert [g["id"] for g in undone.survivor.graduations] == ["g1", "g4"]
    assert undone.survivor.graduations[0] == survivor.graduations[0], "folded details back"
    assert [g["id"] for g in undone.absorbed.graduations] == ["g2", "g3"]
    assert undone.absorbed.graduations[1]["class_name"] == "政治学硕士2019届"
    assert undone.absorbed.values == absorbed.values
