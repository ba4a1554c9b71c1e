"""Pinyin search keys of names and the meaning of typed queries (services/registry/pinyin.py)."""

from __future__ import annotations

import sqlite3

import pytest

from services.registry.pinyin import (
    SURNAMES,
    QueryKind,
    Rank,
    is_pinyin_prefix,
    name_keys,
    parse_query,
    prefix_bounds,
    rank,
)

POLYPHONIC_SURNAMES = [
    # name, full pinyin read as a surname, initials, pypinyin's everyday reading (kept too)
    ("单雄信", "shanxiongxin", "sxx", "danxiongxin"),
    ("曾国藩", "zengguofan", "zgf", "cengguofan"),
    ("解缙", "xiejin", "xj", "jiejin"),
    ("仇英", "qiuying", "qy", "chouying"),
    ("区志伟", "ouzhiwei", "ozw", "quzhiwei"),
    ("朴槿惠", "piaojinhui", "pjh", "pujinhui"),
    ("查良镛", "zhaliangyong", "zly", "chaliangyong"),
    ("覃振", "qinzhen", "qz", "tanzhen"),
    ("尉迟恭", "yuchigong", "ycg", None),
    ("万俟卨", "moqixie", "mqx", None),
    ("翟志刚", "zhaizhigang", "zzg", "dizhigang"),
    ("缪可馨", "miaokexin", "mkx", "moukexin"),
    ("乐嘉", "yuejia", "yj", "lejia"),
    ("盖聂", "ge'nie", "gn", "gainie"),
    ("种师道", "chongshidao", "csd", "zhongshidao"),
    ("阚泽", "kanze", "kz", "hanze"),
    ("单于飞", "chanyufei", "cyf", None),
]


@pytest.mark.parametrize(("name", "full", "initials", "everyday"), POLYPHONIC_SURNAMES)
def test_a_polyphonic_surname_is_read_as_a_surname(name, full, initials, everyday):
    full = full.replace("'", "")
    keys = name_keys(name)

    assert keys.pinyin == full
    assert keys.full[0] == full
    assert keys.initials[0] == initials
    if everyday is not None:
        assert everyday in keys.full, "the everyday misreading is a further key"


def test_every_surname_of_the_table_reads_as_listed():
    for surname, readings in SURNAMES.items():
        keys = name_keys(surname + "明")
        for reading in readings:
            assert reading.replace(" ", "") + "ming" in keys.full, surname


def test_a_compound_surname_is_also_read_as_a_single_one_when_that_is_a_surname():
    # 单于 is a compound surname, but 单 + 于飞 is the likelier name today: both are keys.
    assert name_keys("单于飞").full[:2] == ("chanyufei", "shanyufei")
    assert name_keys("尉迟恭").initials == ("ycg", "wcg")


def test_a_common_name_has_one_reading():
    keys = name_keys("张伟")
    assert (keys.full, keys.initials, keys.parts) == (("zhangwei",), ("zw",), ())
    assert keys.rows() == [("name", "张伟"), ("pinyin", "zhangwei"), ("initials", "zw")]


def test_minority_names_with_any_dot_get_keys_for_the_whole_and_each_later_part():
    for dot in ("·", "・", "•", "．", " · "):
        spelt = f"阿卜杜拉{dot}艾力"
        keys = name_keys(spelt)
        assert keys.name == "阿卜杜拉·艾力", spelt
        assert keys.full == ("abudulaaili",)
        assert keys.initials == ("abdlal",)
        assert [p.full for p in keys.parts] == [("aili",)]
    rows = name_keys("买买提·吐尔逊").rows()
    assert ("name", "吐尔逊") in rows
    assert ("pinyin", "tuerxun") in rows
    assert ("initials", "mmttex") in rows


def test_a_minority_name_gets_no_surname_reading():
    # 查干 (Mongolian "white") is chagan; 查 is read zha only as a Han surname.
    assert name_keys("查干·巴特尔").full == ("chaganbateer",)


def test_rare_characters_are_read_where_pypinyin_knows_them_and_kept_where_not():
    assert name_keys("\U00030edd\U00030edd").full == ("biangbiang",)  # 𰻝, extension G
    assert name_keys("王䶮").full == ("wangyan",)  # extension A
    unknown = "\U0002ebf0"  # extension I: no reading in pypinyin
    keys = name_keys(f"李{unknown}")
    assert keys.full == (f"li{unknown}",)
    assert keys.initials == (f"l{unknown}",)
    assert name_keys(unknown * 2).rows()[0] == ("name", unknown * 2)


def test_latin_letters_and_full_width_forms_are_kept_lower_cased():
    assert name_keys("王Anna").full == ("wanganna",)
    assert name_keys("王Anna").initials == ("wa",)
    assert name_keys("ＬＩＮ Ｄａｎ").full == ("lindan",)
    assert name_keys("John Smith").full == ("johnsmith",)
    assert name_keys("John Smith").initials == ("js",)
    assert name_keys("John Smith").name == "johnsmith"
    assert name_keys("张  伟").rows() == name_keys("张伟").rows()


def test_umlaut_syllables_are_keyed_with_v_and_with_u():
    keys = name_keys("吕女")
    assert keys.full == ("lvnv", "lunu")
    assert name_keys("David").full == ("david",), "a Latin v is not an umlaut"


@pytest.mark.parametrize(
    ("text", "kind", "name_prefix", "pinyin", "initials"),
    [
        ("张伟", QueryKind.CHINESE, "张伟", (), ()),
        ("阿卜杜拉・", QueryKind.CHINESE, "阿卜杜拉·", (), ()),
        ("shan", QueryKind.PINYIN, "", ("shan",), ("shan",)),
        ("sxx", QueryKind.PINYIN, "", (), ("sxx",)),
        ("zw", QueryKind.PINYIN, "", (), ("zw",)),
        ("Zhang Wei", QueryKind.PINYIN, "", ("zhangwei",), ("zhangwei",)),
        ("xi'an", QueryKind.PINYIN, "", ("xian",), ("xian",)),
        ("ＺＨＡＮＧＷ", QueryKind.PINYIN, "", ("zhangw",), ("zhangw",)),
        ("lü", QueryKind.PINYIN, "", ("lv",), ("lv",)),
        ("abudulaaili", QueryKind.PINYIN, "", ("abudulaaili",), ()),
        ("张w", QueryKind.MIXED, "", ("zhangw",), ("zw",)),
        ("单xx", QueryKind.MIXED, "", (), ("sxx", "dxx")),
        ("2016010203", QueryKind.DIGITS, "", (), ()),
        ("  ", QueryKind.EMPTY, "", (), ()),
    ],
)
def test_what_a_query_means(text, kind, name_prefix, pinyin, initials):
    query = parse_query(text)
    assert (query.kind, query.name_prefix) == (kind, name_prefix)
    assert query.pinyin_prefixes == pinyin
    assert query.initials_prefixes == initials


def test_pinyin_prefixes_are_whole_syllables_and_a_cut_last_one():
    for text in ("zhangw", "shan", "xiongx", "a", "zhuangzu", "biang"):
        assert is_pinyin_prefix(text), text
    for text in ("zw", "sxx", "xx", "zhangwx", "qv", ""):
        assert not is_pinyin_prefix(text), text


def test_shan_and_sxx_find_shan_xiongxin_through_an_index_range(tmp_path):
    """The keys and prefixes work as phase 2 will use them: ranges over an indexed column."""
    names = ["单雄信", "孙学鑫", "单田芳", "邵晓霞", "张伟", "阿卜杜拉·艾力", "艾力"]
    db = sqlite3.connect(tmp_path / "keys.db")
    db.execute("CREATE TABLE name_keys (person INTEGER, kind TEXT, key TEXT)")
    db.execute("CREATE INDEX name_keys_key ON name_keys (kind, key)")
    db.executemany(
        "INSERT INTO name_keys VALUES (?, ?, ?)",
        [(i, kind, key) for i, n in enumerate(names) for kind, key in name_keys(n).rows()],
    )

    def search(text):
        query = parse_query(text)
        found = set()
        for kind, prefix in query.prefixes():
            low, high = prefix_bounds(prefix)
            rows = db.execute(
                "SELECT person FROM name_keys WHERE kind = ? AND key >= ? AND key < ?",
                (kind, low, high),
            )
            found |= {names[person] for (person,) in rows}
        return sorted(found, key=lambda n: (rank(query, n), n))

    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT person FROM name_keys WHERE kind = ? AND key >= ? AND key < ?",
        ("pinyin", "a", "b"),
    ).fetchall()
    assert "USING INDEX name_keys_key" in str(plan)
    assert set(search("shan")) == {"单雄信", "单田芳"}
    assert search("sxx") == ["单雄信", "孙学鑫", "邵晓霞"]
    assert search("sxx")[0] == "单雄信"
    assert search("单雄信") == ["单雄信"]
    assert search("单") == ["单田芳", "单雄信"]
    assert search("艾力") == ["艾力", "阿卜杜拉·艾力"], "the exact name first"
    assert search("aili") == ["艾力", "阿卜杜拉·艾力"]


def test_ranking_puts_the_exact_name_first():
    query = parse_query("zhangwei")
    assert rank(query, "张伟") == Rank.EXACT_PINYIN
    assert rank(query, "张伟明") == Rank.PINYIN_PREFIX
    assert rank(parse_query("张伟"), "张伟") == Rank.EXACT_NAME
    assert rank(parse_query("张伟"), "张伟明") == Rank.NAME_PREFIX
    assert rank(parse_query("zw"), "张伟") == Rank.EXACT_INITIALS
    assert rank(parse_query("zw"), "张伟明") == Rank.INITIALS_PREFIX
    assert rank(parse_query("zw"), "李明") == Rank.OTHER


def test_prefix_bounds_are_exact_in_code_point_order():
    assert prefix_bounds("zh") == ("zh", "zi")
    low, high = prefix_bounds("李\U0002ebf0")
    keys = ["李", "李\U0002ebf0", "李\U0002ebf0a", "李\U0002ebf1", "李𰀀"]
    assert [k for k in keys if low <= k < high] == ["李\U0002ebf0", "李\U0002ebf0a"]
    with pytest.raises(ValueError):
        prefix_bounds("")
