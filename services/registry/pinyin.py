"""Pinyin search keys of Chinese names, and what a typed search query means.

Chinese users look a person up the way their input method spells: the full pinyin without
tones (`zhangwei`, or just its start, `zhangw`), or the initials (`zw`). This module turns a
name into those keys and a query into the prefixes to look for. It is pure (pypinyin and the
standard library) and deterministic, so phase 2 can compute the keys on every write and the
prefixes on every search.

Reading a name
    - The surname comes first and is read as a surname: pypinyin reads 单 `dan`, 曾 `ceng`,
      解 `jie`, but as surnames they are shàn, zēng, xiè. pypinyin has no surname mode, so
      `SURNAMES` holds the polyphonic surnames with their readings, compound surnames (尉迟
      yùchí, 万俟 mòqí, 单于 chányú, …) matched before single ones. Where a surname has two
      readings in use (覃 qín / tán) both are keys, the first one preferred.
    - The everyday misreading is kept as a further key (`danxiongxin` for 单雄信): users who
      do not know the surname reading type it, and a key too many costs one index row.
    - The given name goes through pypinyin as one phrase (its phrase dictionary picks the
      reading of a polyphonic character from its neighbours), cached, since names repeat.
    - Rare characters (CJK extensions B–H that GB 18030-2022 requires): pypinyin knows most
      of them; one it does not know stays itself in the keys, so a name made only of such
      characters is still found by typing the characters.
    - Minority names with the interpunct (阿卜杜拉·艾力; also written with ・ • ‧ ･ or a full
      stop, all taken as ·) have no Han surname, so no surname reading applies; the part
      after each dot gets keys of its own (`aili`), because people are also looked up by it.
    - Latin letters and digits are kept (lower-cased: `王Anna` → `wanganna`, initials `wa`).
    - ü is written `v` as input methods do (吕 → `lv`); the `u` spelling is a further key.

Storing and searching (phase 2)
    `NameKeys.rows()` gives (kind, key) pairs: the name itself as keyed (`name`), each full
    pinyin reading (`pinyin`), each initials reading (`initials`). Store them one row per
    key in a table `alumnus_name_keys(alumnus_id, kind, key)` with an index on
    `(kind, key)` (the key column declared `COLLATE "C"` on PostgreSQL, so that it orders
    by code point), rather than in one `name_pinyin` and one `name_initials` column: a name
    can have several readings, and a prefix match on the second of several values in one
    column is a substring match that no B-tree serves. A query becomes, for each
    (kind, prefix) of `parse_query(text).prefixes()`, the range
    `kind = :kind AND key >= :low AND key < :high` from `prefix_bounds(prefix)`: an index
    range scan on SQLite and PostgreSQL alike. (`LIKE 'q%'` is the same scan on PostgreSQL
    with a C collation, but on SQLite only on a `COLLATE NOCASE` column: the range is the
    portable form.) No trigram index is needed for names, since pinyin is matched from the
    start of the name as input methods do; `rank()` orders the hits, exact name first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

MAX_READINGS = 4
"""Readings kept per name (and per part of a minority name): enough for a surname with two
readings, its misreading and a ü spelling, without letting an odd name multiply keys."""
MAX_INITIALS = 8
"""The longest query also looked up as initials: a long minority name has eight syllables."""
UMLAUT_SPELLINGS = {"lv": "lu", "nv": "nu", "lve": "lue", "nve": "nue"}
"""Syllables with ü, which input methods spell with v and many people with u."""

SURNAMES: dict[str, tuple[str, ...]] = {
    # Compound surnames (matched first), their syllables space-separated.
    "尉迟": ("yu chi",),
    "万俟": ("mo qi",),
    "单于": ("chan yu",),
    "长孙": ("zhang sun",),
    "澹台": ("tan tai",),
    "乐正": ("yue zheng",),
    "子车": ("zi ju",),
    "中行": ("zhong hang",),
    "亓官": ("qi guan",),
    "皇甫": ("huang fu",),
    "欧阳": ("ou yang",),
    "令狐": ("ling hu",),
    "上官": ("shang guan",),
    "诸葛": ("zhu ge",),
    "司马": ("si ma",),
    "夏侯": ("xia hou",),
    "东方": ("dong fang",),
    "公孙": ("gong sun",),
    "慕容": ("mu rong",),
    "宇文": ("yu wen",),
    "司徒": ("si tu",),
    "司空": ("si kong",),
    "闻人": ("wen ren",),
    "端木": ("duan mu",),
    "南宫": ("nan gong",),
    "呼延": ("hu yan",),
    "轩辕": ("xuan yuan",),
    "独孤": ("du gu",),
    "钟离": ("zhong li",),
    "濮阳": ("pu yang",),
    "申屠": ("shen tu",),
    "赫连": ("he lian",),
    "宗政": ("zong zheng",),
    "百里": ("bai li",),
    "西门": ("xi men",),
    "左丘": ("zuo qiu",),
    "公冶": ("gong ye",),
    "太叔": ("tai shu",),
    "东郭": ("dong guo",),
    "拓跋": ("tuo ba",),
    # Single surnames whose reading as a surname is not (only) the everyday one.
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "仇": ("qiu",),
    "区": ("ou",),
    "朴": ("piao",),
    "查": ("zha",),
    "覃": ("qin", "tan"),
    "尉": ("wei",),
    "翟": ("zhai", "di"),
    "盖": ("ge", "gai"),
    "缪": ("miao",),
    "乐": ("yue", "le"),
    "员": ("yun",),
    "种": ("chong",),
    "华": ("hua",),
    "秘": ("bi",),
    "洗": ("xian",),
    "句": ("gou",),
    "乜": ("nie",),
    "都": ("du",),
    "能": ("nai",),
    "繁": ("po",),
    "黑": ("he", "hei"),
    "卜": ("bu",),
    "召": ("shao",),
    "牟": ("mou", "mu"),
    "折": ("she",),
    "隗": ("wei", "kui"),
    "阚": ("kan",),
    "宓": ("mi", "fu"),
    "薄": ("bo",),
    "郇": ("huan", "xun"),
    "贲": ("ben",),
    "角": ("jue",),
    "祭": ("zhai",),
    "莘": ("shen", "xin"),
    "柏": ("bai",),
    "车": ("che",),
}
"""Surnames read as surnames, preferred reading first; compound ones are matched before
single ones. A surname not listed is read as pypinyin reads it. Some compound surnames are
spelt as their characters' everyday readings: they are listed so that a name splits into
surname and given name where it should (单于飞 may also be 单 + 于飞: both readings are keys)."""

NAME_CHARACTERS: dict[str, str] = {"卜": "bu"}
"""Characters read the same way wherever they stand in a name: 卜 is bǔ in names (卜, and the
阿卜杜- of Uyghur names); its everyday reading `bo` is the 萝卜 of the kitchen."""

INTERPUNCT = "·"
INTERPUNCT_VARIANTS = "·・•‧･．.∙⋅"
"""What registrars type for the dot of a minority name: U+00B7 and its look-alikes."""
_TO_INTERPUNCT = str.maketrans(dict.fromkeys(INTERPUNCT_VARIANTS, INTERPUNCT))
_APOSTROPHES = "'’‘`"
HAN_CLASS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
"""Han characters by code point: the basic block, extension A, the compatibility block and
the supplementary and tertiary planes (extensions B–H, which GB 18030-2022 requires).
Ranges rather than Unicode properties, so characters newer than Python's Unicode
database (extension H is Unicode 15) still count."""
_HAN = re.compile(f"[{HAN_CLASS}]")
_RUNS = re.compile(f"([{HAN_CLASS}]+)|([A-Za-z0-9]+)|(.)", re.DOTALL)
_LATIN = re.compile(r"[a-z0-9]+")
_WORD_SPACE = re.compile(r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])")


def is_han(char: str) -> bool:
    return _HAN.fullmatch(char) is not None


def clean_name(name: str) -> str:
    """A name as it is keyed: NFKC (full-width letters become ASCII), the dot of minority
    names made U+00B7, spaces and apostrophes dropped."""
    return _spaced(name).replace(" ", "")


def _spaced(name: str) -> str:
    """`clean_name` but for the spaces between two Latin words (`John Smith`), which the
    initials need; spaces padding a Chinese name (`张  伟`) go."""
    text = unicodedata.normalize("NFKC", name).translate(_TO_INTERPUNCT)
    text = "".join(c for c in text if c not in _APOSTROPHES)
    return _WORD_SPACE.sub("", " ".join(text.split()))


@dataclass(frozen=True)
class NameKeys:
    """The search keys of one name: the name as keyed (`clean_name`, lower-cased), its full
    pinyin and its initials, preferred reading first.

    `parts` holds the keys of each part after a minority name's dot (`艾力` in
    阿卜杜拉·艾力), each as a further `NameKeys` without parts of its own.
    """

    name: str
    full: tuple[str, ...]
    initials: tuple[str, ...]
    parts: tuple[NameKeys, ...] = ()

    @property
    def pinyin(self) -> str:
        """The preferred full pinyin (`shanxiongxin`): what a list shows or sorts by."""
        return self.full[0] if self.full else ""

    def all_full(self) -> tuple[str, ...]:
        return _unique((*self.full, *(k for part in self.parts for k in part.full)))

    def all_initials(self) -> tuple[str, ...]:
        return _unique((*self.initials, *(k for part in self.parts for k in part.initials)))

    def rows(self) -> list[tuple[str, str]]:
        """(kind, key) pairs, one per index row: the cleaned name and each part of a minority
        name (`name`), the full pinyin (`pinyin`), the initials (`initials`)."""
        names = _unique((self.name, *(part.name for part in self.parts)))
        return (
            [("name", k) for k in names]
            + [("pinyin", k) for k in self.all_full()]
            + [("initials", k) for k in self.all_initials()]
        )


@functools.lru_cache(maxsize=65536)
def name_keys(name: str) -> NameKeys:
    """The keys a user may type for `name` (a Chinese name, a minority name with ·, or Latin).

    Cached (the keys are immutable): names repeat — the 100,000 rows of the bench's sample
    hold ~23,000 distinct names — and a bulk import computes them for every row."""
    spaced = _spaced(name).lower()
    if INTERPUNCT in spaced:
        pieces = [p for p in spaced.split(INTERPUNCT) if p]
        parts = tuple(_keys_of(p, [_syllables(p)]) for p in pieces[1:])
        return _keys_of(spaced, [_syllables(" ".join(pieces))], parts)
    return _keys_of(spaced, _readings(spaced))


Syllables = tuple[str, ...]


def _keys_of(name: str, readings: list[Syllables], parts: tuple[NameKeys, ...] = ()) -> NameKeys:
    readings = [r for r in readings if r]
    readings += [
        tuple(UMLAUT_SPELLINGS.get(s, s) for s in r)
        for r in readings
        if any(s in UMLAUT_SPELLINGS for s in r)
    ]
    full = _unique("".join(r) for r in readings)
    initials = _unique("".join(s[0] for s in r) for r in readings)
    return NameKeys(name.replace(" ", ""), full[:MAX_READINGS], initials[:MAX_READINGS], parts)


def _readings(name: str) -> list[Syllables]:
    """The readings of a Chinese name, preferred first: its surname read as a surname
    (a compound one first, then its first character alone), then the everyday reading."""
    readings: list[Syllables] = []
    for length in (2, 1):
        surname, given = name[:length], name[length:]
        if len(surname) == length and surname in SURNAMES:
            readings += [(*r.split(), *_syllables(given)) for r in SURNAMES[surname]]
    readings.append(_syllables(name))
    return list(dict.fromkeys(readings))


@functools.lru_cache(maxsize=65536)
def _syllables(text: str) -> Syllables:
    """The everyday reading of `text`: each Han run through pypinyin as one phrase (its
    phrase dictionary reads a polyphonic character by its neighbours), a character it does
    not know kept as itself, a Latin or digit word lower-cased as one syllable."""
    # Imported here, not with the module: its dictionaries take ~90 MB, which a process
    # that only parses a file (`is_han`, `clean_name`) does not need.
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for run in _RUNS.finditer(text):
        han, latin, other = run.groups()
        if han:
            read = lazy_pinyin(han, style=Style.NORMAL, errors=lambda chars: list(chars))
            out += [NAME_CHARACTERS.get(c, r) for c, r in zip(han, read, strict=True)]
        elif latin:
            out.append(latin.lower())
        elif not other.isspace():
            out.append(other)
    return tuple(out)


def load_dictionaries() -> None:
    """pypinyin's dictionaries loaded now (~0.6 s, seconds on a loaded machine): the
    registry calls this as it starts, so that its first request reading a name does not
    pay for them within the gateway's 5 s (they are imported where a name is read, for
    the import's processes that never read one)."""
    _syllables("张")


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


# ---- pinyin syllables ----------------------------------------------------------------


@functools.cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin's dictionary holds (ü as v), ~410 of them."""
    from pypinyin.constants import PINYIN_DICT

    found: set[str] = set()
    for readings in PINYIN_DICT.values():
        for reading in readings.split(","):
            decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
            plain = "".join(c for c in decomposed if not unicodedata.combining(c))
            if plain.isascii() and plain.isalpha():
                found.add(plain)
    return frozenset(found)


@functools.cache
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:i] for s in syllables() for i in range(1, len(s) + 1))


def is_pinyin_prefix(text: str) -> bool:
    """Whether `text` (lower-case letters) is whole pinyin syllables, the last one possibly
    cut short: `zhangw`, `shan`, `xiongx` are; `zw`, `sxx` are not."""
    if not text:
        return False
    prefixes = _syllable_prefixes()
    whole = syllables()

    @functools.cache
    def fits(start: int) -> bool:
        if text[start:] in prefixes:
            return True
        return any(text[start:end] in whole and fits(end) for end in range(start + 1, len(text)))

    return fits(0)


# ---- queries -------------------------------------------------------------------------


class QueryKind(IntEnum):
    EMPTY = 0
    CHINESE = 1
    """Han characters (and ·): matched against the name itself, from its start."""
    PINYIN = 2
    """Latin letters: a full-pinyin prefix, initials, or both."""
    MIXED = 3
    """Han characters then Latin letters (`张w`, `单xiong`): the characters as pinyin."""
    DIGITS = 4
    """Only digits: a student number or a phone number, not a name."""
    OTHER = 5


@dataclass(frozen=True)
class SearchQuery:
    """What a typed query asks for; `prefixes()` gives the key prefixes to look up."""

    text: str
    kind: QueryKind
    name_prefix: str = ""
    pinyin_prefixes: tuple[str, ...] = ()
    initials_prefixes: tuple[str, ...] = ()

    def prefixes(self) -> list[tuple[str, str]]:
        """(kind, prefix) pairs in the kinds of `NameKeys.rows()`."""
        return (
            [("name", self.name_prefix)] * bool(self.name_prefix)
            + [("pinyin", p) for p in self.pinyin_prefixes]
            + [("initials", p) for p in self.initials_prefixes]
        )


@functools.lru_cache(maxsize=4096)
def parse_query(text: str) -> SearchQuery:
    """What a query means: `张伟` (a name), `zhangw` (pinyin), `zw` (initials), `张w` (mixed).

    A Latin query that reads as pinyin is looked up as a full-pinyin prefix and, when no
    longer than a name's initials can be, as initials too (`shan` may be 单 or
    孙海安娜); one that cannot be pinyin (`sxx`) only as initials.

    Cached: a search parses its query in each of its tiers, and the answer (frozen) depends
    on the text alone.
    """
    cleaned = clean_name(text).lower().replace("ü", "v")
    if not cleaned:
        return SearchQuery(text, QueryKind.EMPTY)
    if cleaned.isdigit():
        return SearchQuery(text, QueryKind.DIGITS)
    if all(is_han(c) or c == INTERPUNCT for c in cleaned):
        return SearchQuery(text, QueryKind.CHINESE, name_prefix=cleaned)
    if _LATIN.fullmatch(cleaned):
        pinyin = (cleaned,) if is_pinyin_prefix(cleaned) else ()
        initials = (cleaned,) if len(cleaned) <= MAX_INITIALS else ()
        return SearchQuery(text, QueryKind.PINYIN, "", pinyin, initials)
    han_run = re.match(r"[^a-z0-9]+", cleaned)
    tail = cleaned[han_run.end() :] if han_run else ""
    if han_run and _LATIN.fullmatch(tail) and all(is_han(c) for c in han_run.group()):
        keys = name_keys(han_run.group())
        pinyin = keys.full if is_pinyin_prefix(tail) else ()
        initials = keys.initials if len(han_run.group() + tail) <= MAX_INITIALS else ()
        return SearchQuery(
            text,
            QueryKind.MIXED,
            pinyin_prefixes=_unique(k + tail for k in pinyin),
            initials_prefixes=_unique(k + tail for k in initials),
        )
    return SearchQuery(text, QueryKind.OTHER, name_prefix=cleaned)


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """[low, high) such that `low <= key < high` holds exactly for keys starting with
    `prefix`, in code-point order (SQLite's BINARY collation, PostgreSQL's "C")."""
    if not prefix:
        raise ValueError("an empty prefix matches every key; refuse it before the query")
    last = prefix[-1]
    if ord(last) == 0x10FFFF:
        return prefix, prefix + "\U0010ffff"
    return prefix, prefix[:-1] + chr(ord(last) + 1)


class Rank(IntEnum):
    """How well a name answers a query: lower is better, exact name first."""

    EXACT_NAME = 0
    EXACT_PINYIN = 1
    EXACT_INITIALS = 2
    NAME_PREFIX = 3
    PINYIN_PREFIX = 4
    INITIALS_PREFIX = 5
    OTHER = 6


def rank(query: SearchQuery, name: str, keys: NameKeys | None = None) -> Rank:
    """The rank of `name` for `query` (`keys` = `name_keys(name)` when already at hand)."""
    keys = keys or name_keys(name)
    if query.name_prefix:
        if keys.name == query.name_prefix:
            return Rank.EXACT_NAME
        if any(kind == "name" and k.startswith(query.name_prefix) for kind, k in keys.rows()):
            return Rank.NAME_PREFIX
    full, initials = keys.all_full(), keys.all_initials()
    if any(k in query.pinyin_prefixes for k in full):
        return Rank.EXACT_PINYIN
    if any(k in query.initials_prefixes for k in initials):
        return Rank.EXACT_INITIALS
    if any(k.startswith(p) for k in full for p in query.pinyin_prefixes):
        return Rank.PINYIN_PREFIX
    if any(k.startswith(p) for k in initials for p in query.initials_prefixes):
        return Rank.INITIALS_PREFIX
    return Rank.OTHER
