"""Duplicate alumni: candidate pairs, scored and explained; merging two records and undoing it.

Finding candidates
    A pair is a candidate when the two records share a phone number, an e-mail address or
    a student number (within its department and class year), or when their names are alike
    — by rapidfuzz on the name, or on its pinyin, so 张伟/张玮 and 張偉/张伟 are alike — and
    they share a birth date or a class. Each candidate is then scored on all the evidence,
    for and against, and explained rule by rule in Chinese for the office's review queue.

    No pair of records is compared unless it shares a block: an exact key (phone, e-mail,
    student number), a birth date or a class. At 100,000 alumni a birth date holds about 7
    people and a class 30 to 300, so a record meets a few dozen others, not 100,000 (an
    all-pairs comparison would be five billion). `DuplicateIndex` keeps the blocks: add the
    registry's records once, then ask it about each imported row (`matches`) and add the
    row, or ask it for every pair (`pairs`). A phone or e-mail shared by more than
    `MAX_SHARED` records is a switchboard or a placeholder, not a person: it stops making
    pairs, and `shared_values()` lists it for the office.

    Phones and e-mail addresses are compared for equality only, so phase 2 can hand in their
    blind indexes (HMAC of the normalised value, issue 9) instead of the values.

Merging
    `merge(survivor, absorbed)` decides every field by survivorship: the newest confirmed
    value wins (a blank never wins over a value; a tie keeps the survivor's); the office
    may choose a side per field instead. Graduations are united, the same graduation (same
    department, degree and class year) folded into one. Tags are united. Each field's
    provenance becomes that of the value kept (an office choice is a confirmation by the
    office at the time of the merge). The result says what was decided and why, what was
    discarded, and holds `undo`: a JSON-native record of both sides before the merge, which
    `undo_merge` turns back into the two records — keeping what changed since the merge.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from rapidfuzz import fuzz, process

from services.common.contracts.registry import AlumnusFields
from services.registry.pinyin import INTERPUNCT, clean_name, name_keys

MAX_SHARED = 5
"""More records than this with one phone or e-mail: not one person's."""
NAME_ALIKE = 80
"""rapidfuzz ratio of two names from which they are alike: 李明/李明明, 王小明/王小."""
PINYIN_ALIKE = 90
"""The same on pinyin, stricter (zhangwei/zhangwen is 87.5, and they are not the same name)."""
NAMES_UNLIKE = 50
"""Below this on both, two names are not the same person's (张伟/李强), a reason against."""

WEIGHTS = {
    "same_student_number": 0.9,
    "same_phone": 0.8,
    "same_email": 0.8,
    "same_name": 0.5,
    "similar_name": 0.3,
    "same_birth_date": 0.4,
    "same_class": 0.4,
    "same_cohort": 0.2,
}
"""How much each piece of evidence alone says two records are one person; pieces combine
as independent evidence (1 - Π(1 - w)). Against: different birth dates keep 0.4 of the
score, unlike names 0.5 — the same phone on two different people is a family's phone."""
AGAINST = {"different_birth_date": 0.4, "different_name": 0.5}

RULE_TEXT = {
    "same_student_number": "学号相同（同院系同届）",
    "same_phone": "手机号相同",
    "same_email": "电子邮箱相同",
    "same_name": "姓名相同",
    "similar_name": "姓名相近",
    "same_birth_date": "出生日期相同",
    "same_class": "同班",
    "same_cohort": "同院系同届同学历",
    "different_birth_date": "出生日期不同",
    "different_name": "姓名差别很大",
}


# ---- candidates ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """What duplicate detection looks at in a record: an alumnus, or an imported row."""

    id: str
    name: str
    birth_date: date | None = None
    phone: str | None = None
    """Normalised (11 digits), or its blind index: only compared for equality."""
    email: str | None = None
    student_numbers: frozenset[str] = frozenset()
    """Student numbers scoped to department and class year (`ImportedRecord.student_key`)."""
    classes: frozenset[str] = frozenset()
    """`class_key` of each graduation."""
    pinyin: str = ""
    """The preferred full pinyin of the name (computed when not given)."""
    plain_name: str = field(init=False, repr=False, compare=False)
    """The name as compared: without the dot of a minority name, spaces or case."""

    def __post_init__(self) -> None:
        if not self.pinyin:
            object.__setattr__(self, "pinyin", name_keys(self.name).pinyin)
        plain = clean_name(self.name).replace(INTERPUNCT, "").lower()
        object.__setattr__(self, "plain_name", plain)

    @classmethod
    def from_imported(cls, id: str, record: Any, pinyin: str = "") -> Person:
        """From an `importing.ImportedRecord` (`id` names the row, `row:17`, or the alumnus
        it becomes); `pinyin` where it was computed already."""
        graduation = record.graduation
        return cls(
            id=id,
            name=record.name,
            birth_date=record.birth_date,
            phone=record.phone,
            email=record.email,
            student_numbers=frozenset({record.student_key} - {None}),
            classes=frozenset({class_key(graduation.contract())}),
            pinyin=pinyin,
        )

    @classmethod
    def from_alumnus(cls, alumnus: Mapping[str, Any], student_keys: Iterable[str] = ()) -> Person:
        """From the registry's alumnus dict (`domain.alumnus_to_dict`)."""
        birth = alumnus.get("birth_date")
        return cls(
            id=str(alumnus["id"]),
            name=alumnus["name"],
            birth_date=date.fromisoformat(birth) if isinstance(birth, str) else birth,
            phone=(alumnus.get("phone") or "").removeprefix("+86") or None,
            email=(alumnus.get("email") or "").lower() or None,
            student_numbers=frozenset(student_keys),
            classes=frozenset(class_key(g) for g in alumnus.get("graduations", ())),
        )


def class_key(graduation: Mapping[str, Any]) -> str:
    """A class (`class/…`): its name within department and class year; without a name, the
    cohort (`cohort/…`: department, class year, degree), a weaker tie."""
    department, year = graduation["department_id"], graduation["class_year"]
    if graduation.get("class_name"):
        return f"class/{department}/{year}/{graduation['class_name']}"
    return f"cohort/{department}/{year}/{graduation['degree']}"


@dataclass(frozen=True)
class Evidence:
    rule: str
    detail: str = ""

    @property
    def text(self) -> str:
        return RULE_TEXT[self.rule] + (f"（{self.detail}）" if self.detail else "")


@dataclass(frozen=True)
class Match:
    """A candidate pair: the ids in order, a score in [0, 1], the evidence for and against."""

    first: str
    second: str
    score: float
    evidence: tuple[Evidence, ...]
    found_by: tuple[str, ...]
    """The blocking rules that made it a candidate: `same_phone`, `similar_name+same_class`, …"""

    def explain(self) -> str:
        return "；".join(e.text for e in self.evidence)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "score": self.score,
            "found_by": list(self.found_by),
            "evidence": [{"rule": e.rule, "text": e.text} for e in self.evidence],
            "explanation": self.explain(),
        }


def compare(a: Person, b: Person, found_by: Iterable[str] = ()) -> Match:
    """Score and explain a pair on every piece of evidence."""
    evidence: list[Evidence] = []
    if a.student_numbers & b.student_numbers:
        evidence.append(Evidence("same_student_number"))
    if a.phone and a.phone == b.phone:
        evidence.append(Evidence("same_phone"))
    if a.email and a.email == b.email:
        evidence.append(Evidence("same_email"))
    name_score, pinyin_score = name_similarity(a, b)
    if a.plain_name == b.plain_name:
        evidence.append(Evidence("same_name"))
    elif name_score >= NAME_ALIKE or pinyin_score >= PINYIN_ALIKE:
        detail = f"拼音相同：{a.pinyin}" if a.pinyin == b.pinyin else f"{a.name}/{b.name}"
        evidence.append(Evidence("similar_name", detail))
    elif max(name_score, pinyin_score) < NAMES_UNLIKE:
        evidence.append(Evidence("different_name", f"{a.name}/{b.name}"))
    if a.birth_date and b.birth_date:
        if a.birth_date == b.birth_date:
            evidence.append(Evidence("same_birth_date"))
        else:
            evidence.append(Evidence("different_birth_date"))
    shared = sorted(a.classes & b.classes)
    named = [key for key in shared if key.startswith("class/")]
    if named:
        evidence.append(Evidence("same_class", named[0].split("/", 3)[3]))
    elif shared:
        evidence.append(Evidence("same_cohort"))
    remaining = 1.0
    for item in evidence:
        remaining *= 1 - WEIGHTS.get(item.rule, 0.0)
    score = 1 - remaining
    for item in evidence:
        score *= AGAINST.get(item.rule, 1.0)
    first, second = sorted((a.id, b.id))
    return Match(first, second, round(score, 3), tuple(evidence), tuple(sorted(set(found_by))))


def name_similarity(a: Person, b: Person) -> tuple[float, float]:
    """(rapidfuzz ratio of the names, of their pinyin), 0–100."""
    return fuzz.ratio(a.plain_name, b.plain_name), fuzz.ratio(a.pinyin, b.pinyin)


class DuplicateIndex:
    """The blocks of the records added so far; see the module docstring."""

    def __init__(self) -> None:
        self._people: dict[str, Person] = {}
        self._order: dict[str, int] = {}
        self._exact: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._fuzzy: dict[tuple[str, Any], _Block] = defaultdict(_Block)

    def __len__(self) -> int:
        return len(self._people)

    def add(self, person: Person) -> None:
        if person.id in self._people:
            raise ValueError(f"{person.id} is in the index already")
        self._people[person.id] = person
        self._order[person.id] = len(self._order)
        for key in _exact_keys(person):
            self._exact[key].append(person.id)
        for key in _fuzzy_keys(person):
            self._fuzzy[key].add(person)

    def matches(self, person: Person) -> list[Match]:
        """Candidates for `person` among the records added (itself excluded), best first."""
        matches = self._matches(person, len(self._order))
        return sorted(matches, key=lambda m: (-m.score, m.first, m.second))

    def pairs(self) -> Iterator[Match]:
        """Every candidate pair among the records added, each once (found by the later of
        the two, among those added before it)."""
        for person in self._people.values():
            yield from self._matches(person, self._order[person.id])

    def _matches(self, person: Person, before: int) -> list[Match]:
        found: dict[str, set[str]] = defaultdict(set)
        for key in _exact_keys(person):
            holders = self._exact.get(key, ())
            sharing = len(holders) + (person.id not in self._people)
            if sharing <= MAX_SHARED:
                for other in holders:
                    found[other].add(key[0])
        for key in _fuzzy_keys(person):
            block = self._fuzzy.get(key)
            for other in block.alike(person) if block else ():
                found[other].add(f"similar_name+{key[0]}")
        return [
            compare(person, self._people[other], rules)
            for other, rules in found.items()
            if other != person.id and self._order[other] < before
        ]

    def shared_values(self) -> list[tuple[str, str, int]]:
        """(kind, value, records) of each phone or e-mail too shared to tell people apart."""
        return sorted(
            (kind, value, len(holders))
            for (kind, value), holders in self._exact.items()
            if kind != "same_student_number" and len(holders) > MAX_SHARED
        )


class _Block:
    """The records sharing a birth date or a class, with their names ready for rapidfuzz."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.names: list[str] = []
        self.pinyins: list[str] = []

    def add(self, person: Person) -> None:
        self.ids.append(person.id)
        self.names.append(person.plain_name)
        self.pinyins.append(person.pinyin)

    def alike(self, person: Person) -> set[str]:
        """The ids whose name is alike `person`'s, by characters or by pinyin."""
        by_name = process.extract(
            person.plain_name, self.names, scorer=fuzz.ratio, score_cutoff=NAME_ALIKE, limit=None
        )
        by_pinyin = process.extract(
            person.pinyin, self.pinyins, scorer=fuzz.ratio, score_cutoff=PINYIN_ALIKE, limit=None
        )
        return {self.ids[index] for _, _, index in (*by_name, *by_pinyin)}


def _exact_keys(person: Person) -> list[tuple[str, str]]:
    keys = [("same_student_number", k) for k in person.student_numbers]
    if person.phone:
        keys.append(("same_phone", person.phone))
    if person.email:
        keys.append(("same_email", person.email))
    return keys


def _fuzzy_keys(person: Person) -> list[tuple[str, Any]]:
    keys: list[tuple[str, Any]] = [
        ("same_class" if c.startswith("class/") else "same_cohort", c) for c in person.classes
    ]
    if person.birth_date:
        keys.append(("same_birth_date", person.birth_date))
    return keys


def find_candidates(people: Iterable[Person]) -> list[Match]:
    """Every candidate pair among `people`, best first."""
    index = DuplicateIndex()
    for person in people:
        index.add(person)
    return sorted(index.pairs(), key=lambda m: (-m.score, m.first, m.second))


def matches_by_batch(
    inbox: Iterable[list[tuple[str, Any, str]]], known: list[Person]
) -> Iterator[list[Match]]:
    """*In a process of its own* (offload.ChildProcess, for a bulk import): an index of the
    `known` people, then for each batch received, (id, `ImportedRecord`, pinyin) of each
    new alumnus, their candidates among those before them (`DuplicateIndex.matches`), each
    added once matched. The `Person`s are made here, off the registry's core."""
    index = DuplicateIndex()
    for person in known:
        index.add(person)
    for batch in inbox:
        found: list[Match] = []
        for id, record, pinyin in batch:
            person = Person.from_imported(id, record, pinyin)
            found.extend(index.matches(person))
            index.add(person)
        yield found


# ---- merging -------------------------------------------------------------------------

MERGED_FIELDS = tuple(
    name for name in AlumnusFields().fields if name not in ("tags", "graduations")
)
"""The alumnus's own fields, as the registry's contract lists them (tags and graduations
are united, not chosen)."""
SAME_GRADUATION = ("department_id", "degree", "class_year")
"""What makes two graduation records the same graduation."""
GRADUATION_DETAILS = ("major", "class_name", "student_number")


@dataclass(frozen=True)
class Provenance:
    """Where a field's value came from and when it was last confirmed (phase 2 keeps one per
    field of each alumnus)."""

    source: str
    """`import`, `liaison`, `self_service` or `office` (the registry's change sources)."""
    confirmed_at: str | None
    """UTC ISO 8601; None for a value never confirmed."""


@dataclass
class MergeSide:
    """One record as a merge sees it: JSON-native, so it can be kept in the merge log."""

    id: str
    values: dict[str, Any]
    provenance: dict[str, Provenance]
    tags: list[str] = field(default_factory=list)
    graduations: list[dict[str, Any]] = field(default_factory=list)
    """Each with its `id` and the fields of `SAME_GRADUATION` and `GRADUATION_DETAILS`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "values": dict(self.values),
            "provenance": {
                f: {"source": p.source, "confirmed_at": p.confirmed_at}
                for f, p in self.provenance.items()
            },
            "tags": list(self.tags),
            "graduations": copy.deepcopy(self.graduations),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MergeSide:
        return cls(
            id=data["id"],
            values=dict(data["values"]),
            provenance={f: Provenance(**p) for f, p in data["provenance"].items()},
            tags=list(data["tags"]),
            graduations=copy.deepcopy(data["graduations"]),
        )


@dataclass(frozen=True)
class FieldDecision:
    field: str
    kept: str
    """`survivor`, `absorbed`, `both` (equal values) or `neither` (both blank)."""
    why: str
    """`only_value`, `same_value`, `newer`, `tie`, `office_choice`, `blank`."""
    value: Any
    discarded: Any = None


@dataclass
class MergeResult:
    survivor: MergeSide
    """The survivor as it is after the merge."""
    decisions: list[FieldDecision]
    folded_graduations: dict[str, str]
    """Absorbed graduation id → the survivor's graduation it was folded into."""
    moved_graduations: list[str]
    """Absorbed graduation ids that became the survivor's."""
    conflicts: list[str]
    """In Chinese: details two folded graduations disagreed on (the survivor's were kept)."""
    undo: dict[str, Any]
    """JSON-native: everything `undo_merge` needs. Phase 2 stores it in the merge log."""

    def changes(self) -> dict[str, dict[str, Any]]:
        """Field → {old, new} of the survivor, for its history and `alumnus_updated`."""
        before = self.undo["survivor"]["values"]
        return {
            d.field: {"old": before.get(d.field), "new": d.value}
            for d in self.decisions
            if before.get(d.field) != d.value
        }


def merge(
    survivor: MergeSide,
    absorbed: MergeSide,
    *,
    merged_at: str,
    choices: Mapping[str, str] | None = None,
) -> MergeResult:
    """Merge `absorbed` into `survivor` (neither is changed; the result is new).

    `choices` maps a field to `survivor` or `absorbed` where the office decided; `merged_at`
    (UTC ISO 8601) is when, the time an office choice is confirmed at.
    """
    choices = dict(choices or {})
    wrong = {f: c for f, c in choices.items() if f not in MERGED_FIELDS or c not in _SIDES}
    if wrong:
        raise ValueError(f"choices name unknown fields or sides: {wrong}")
    result = MergeSide(survivor.id, {}, {}, sorted(set(survivor.tags) | set(absorbed.tags)))
    decisions = []
    for name in MERGED_FIELDS:
        decision, provenance = _decide(name, survivor, absorbed, choices.get(name), merged_at)
        decisions.append(decision)
        result.values[name] = decision.value
        if provenance is not None:
            result.provenance[name] = provenance
    graduations, folded, moved, conflicts = _unite(survivor.graduations, absorbed.graduations)
    result.graduations = graduations
    undo = {
        "survivor": survivor.to_json(),
        "absorbed": absorbed.to_json(),
        "merged": result.to_json(),
        "folded_graduations": dict(folded),
        "moved_graduations": list(moved),
        "merged_at": merged_at,
    }
    return MergeResult(result, decisions, folded, moved, conflicts, undo)


_SIDES = ("survivor", "absorbed")


def _decide(
    name: str, survivor: MergeSide, absorbed: MergeSide, choice: str | None, merged_at: str
) -> tuple[FieldDecision, Provenance | None]:
    mine, theirs = survivor.values.get(name), absorbed.values.get(name)
    mine_when = _confirmed(survivor, name)
    theirs_when = _confirmed(absorbed, name)
    if choice is not None:
        kept, other = (mine, theirs) if choice == "survivor" else (theirs, mine)
        decision = FieldDecision(
            name, choice, "office_choice", kept, other if other != kept else None
        )
        return decision, Provenance("office", merged_at)
    if _blank(mine) and _blank(theirs):
        return FieldDecision(name, "neither", "blank", None), None
    if _blank(theirs):
        return FieldDecision(name, "survivor", "only_value", mine), survivor.provenance.get(name)
    if _blank(mine):
        return FieldDecision(name, "absorbed", "only_value", theirs), absorbed.provenance.get(name)
    if mine == theirs:
        newer = absorbed if theirs_when > mine_when else survivor
        return FieldDecision(name, "both", "same_value", mine), newer.provenance.get(name)
    if theirs_when > mine_when:
        decision = FieldDecision(name, "absorbed", "newer", theirs, mine)
        return decision, absorbed.provenance.get(name)
    why = "newer" if mine_when > theirs_when else "tie"
    return FieldDecision(name, "survivor", why, mine, theirs), survivor.provenance.get(name)


def _confirmed(side: MergeSide, name: str) -> datetime:
    """When the field was last confirmed; a value never confirmed counts as oldest."""
    provenance = side.provenance.get(name)
    if provenance is None or provenance.confirmed_at is None:
        return NEVER
    moment = datetime.fromisoformat(provenance.confirmed_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


NEVER = datetime.min.replace(tzinfo=UTC)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _unite(
    mine: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str], list[str], list[str]]:
    united = copy.deepcopy(mine)
    by_identity = {_identity(g): g for g in united}
    folded: dict[str, str] = {}
    moved: list[str] = []
    conflicts: list[str] = []
    for graduation in theirs:
        same = by_identity.get(_identity(graduation))
        if same is None:
            united.append(copy.deepcopy(graduation))
            by_identity[_identity(graduation)] = united[-1]
            moved.append(graduation["id"])
            continue
        folded[graduation["id"]] = same["id"]
        for detail in GRADUATION_DETAILS:
            ours, other = same.get(detail), graduation.get(detail)
            if _blank(ours) and not _blank(other):
                same[detail] = other
            elif not _blank(other) and other != ours:
                conflicts.append(
                    f"{graduation['class_year']} 届的{_DETAIL_LABELS[detail]}不一致："
                    f"保留“{ours}”，舍去“{other}”。"
                )
    return united, folded, moved, conflicts


_DETAIL_LABELS = {"major": "专业", "class_name": "班级", "student_number": "学号"}


def _identity(graduation: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(graduation.get(k) for k in SAME_GRADUATION)


# ---- undoing a merge -----------------------------------------------------------------


@dataclass
class UndoResult:
    survivor: MergeSide
    """The survivor as it goes back: its values from before the merge, except those that
    changed since (`kept_since_merge`)."""
    absorbed: MergeSide
    """The absorbed record exactly as it was before the merge."""
    kept_since_merge: list[str]
    """Fields of the survivor changed after the merge: their current value stays."""


def undo_merge(undo: Mapping[str, Any], current: MergeSide) -> UndoResult:
    """Split a merged record back into the two records it was made of.

    `undo` is `MergeResult.undo` from the merge log; `current` is the survivor now. A field
    still as the merge left it goes back to the survivor's value (and provenance) from
    before; a field changed since keeps its current value. The absorbed record comes back
    as it was. Graduations the merge moved or folded go back to the absorbed record; those
    added to the survivor since the merge stay with it; tags the merge brought in leave.
    """
    before = MergeSide.from_json(undo["survivor"])
    absorbed = MergeSide.from_json(undo["absorbed"])
    merged = MergeSide.from_json(undo["merged"])
    restored = MergeSide(current.id, dict(current.values), dict(current.provenance))
    kept: list[str] = []
    for name in MERGED_FIELDS:
        if current.values.get(name) != merged.values.get(name):
            kept.append(name)
            continue
        if name in before.values:
            restored.values[name] = before.values[name]
        else:
            restored.values.pop(name, None)
        restored.provenance.pop(name, None)
        if name in before.provenance:
            restored.provenance[name] = before.provenance[name]
    brought = set(merged.tags) - set(before.tags)
    restored.tags = sorted(set(current.tags) - brought)
    taken_back = set(undo["moved_graduations"])
    folded_into = set(undo["folded_graduations"].values())
    own_before = {g["id"]: g for g in before.graduations if g["id"] in folded_into}
    as_merged = {g["id"]: g for g in merged.graduations}
    now = {g["id"]: g for g in current.graduations}
    restored.graduations = []
    for graduation in current.graduations:
        if graduation["id"] in taken_back:
            continue
        if graduation["id"] in own_before and graduation == as_merged.get(graduation["id"]):
            graduation = own_before[graduation["id"]]  # as the merge left it: its own details
        restored.graduations.append(copy.deepcopy(graduation))
    # A moved graduation goes back as it is now (edits since the merge were about it).
    absorbed.graduations = [copy.deepcopy(now.get(g["id"], g)) for g in absorbed.graduations]
    return UndoResult(restored, absorbed, kept)
