"""A realistic registrar export to import: zh-CN alumni, some bad rows, some duplicates.

    python -m services.registry.sample_import --rows 100000 --bad 100 --duplicates 300 \\
        --encoding gbk -o var/registrar-100k.csv [--manifest var/registrar-100k.json]
    python -m services.registry.sample_import --rows 500 --format xlsx -o sample.xlsx

One row per graduation, with the columns a registrar's system exports (学号, 姓名, 性别,
出生日期, 院系, 专业, 学历, 入学年份, 毕业年份, 班级, 手机, 邮箱, 微信, 工作单位, 职务,
行业, 省份, 城市), the people drawn by the demo generator (services/registry/demo.py) and
made more like three decades of real records:

- surnames that are read differently as surnames (单, 曾, 解, 仇, 区, 朴, 查, 覃, 尉迟, 万俟,
  …), minority names with the interpunct (written · or •), characters beyond the everyday
  ones (GBK's 喆 堃 淼; with `--encoding gb18030` also GB 18030-2022's four-byte ones);
- departments under their names of the time: before its merger or renaming a department
  appears under its old name (`LINEAGE`), which the department lookup must resolve;
- the formats registrars really mix: `1994/3/5`, `19940305`, `1994年3月5日`, `+86 138…`,
  `2016届`, GB/T 2261.1 gender codes; old classes without student numbers.

`--bad N` rows each carry exactly one defect (the manifest says which row has which
reason); `--duplicates N` rows are people already in the file again (a second degree, or
the same graduation retyped with a homophone in the name, a new phone or no birth date).
Everything is deterministic for a seed. `generate()` is pure and the tests use it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from services.registry.demo import DEPARTMENTS, generate_alumni

HEADERS = (
    "学号",
    "姓名",
    "性别",
    "出生日期",
    "院系",
    "专业",
    "学历",
    "入学年份",
    "毕业年份",
    "班级",
    "手机",
    "邮箱",
    "微信",
    "工作单位",
    "职务",
    "行业",
    "省份",
    "城市",
)
DEGREE_LABELS = {
    "associate": "专科",
    "bachelor": "本科",
    "master": "硕士研究生",
    "doctor": "博士研究生",
}
YEARS_OF_STUDY = {"associate": 3, "bachelor": 4, "master": 3, "doctor": 4}
LEVEL_DIGITS = {"associate": "1", "bachelor": "2", "master": "3", "doctor": "4"}
"""The digit of a student number that tells the level of study."""
DEPARTMENT_NAMESPACE = uuid.UUID("8f0b7f64-2a53-4c71-9a4e-0c6f2b1f1d10")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
DEFAULT_SEED = 20240901

LINEAGE: dict[str, tuple[tuple[str, int], ...]] = {
    "计算机科学与技术学院": (("计算机系", 1999),),
    "机械工程学院": (("机械系", 2000),),
    "电气与电子工程学院": (("电气工程系", 2003), ("电子工程系", 2003)),
    "经济与管理学院": (("经济管理系", 2002),),
    "外国语学院": (("外语系", 2001),),
    "化学化工学院": (("化学工程系", 1998),),
    "文学与新闻传播学院": (("中文系", 2004),),
    "土木建筑学院": (("土木工程系", 2002), ("建筑系", 2002)),
}
"""Each department's earlier names and the last class year that graduated under them: 电气
and 土木 are mergers of two departments, the others renamings."""

SURNAMES_READ_OTHERWISE = (
    "单", "曾", "解", "仇", "区", "朴", "查", "覃", "尉迟", "万俟",
    "翟", "盖", "缪", "乐", "种", "阚", "单于", "欧阳", "诸葛", "令狐",
)  # fmt: skip
MINORITY_NAMES = (
    "阿卜杜拉·艾力", "买买提·吐尔逊", "古丽娜尔·阿不都", "艾尔肯·热合曼", "迪丽拜尔·买合木提",
    "努尔兰·别克", "阿依古丽·托合提", "伊力哈木·阿吾提", "巴特尔·乌力吉", "其其格·苏和",
    "热依拉·吾守尔", "帕尔哈提·艾山",
)  # fmt: skip
"""Uyghur, Kazakh and Mongolian names as Chinese records write them (Tibetan names such as
扎西多吉 have no dot and come from the generator as they are)."""
RARE_GIVEN_GBK = ("喆", "堃", "淼", "犇", "燚", "珺", "玥", "昇")
RARE_GIVEN_GB18030 = ("䶮", "𫖮", "𬌗", "𬱖", "𬭚", "𫟅", "𬘭", "𬀩")
"""Characters of the 通用规范汉字表 outside GBK: four bytes in GB 18030, extensions A–E."""
HOMOPHONES = {
    "伟": "玮", "玮": "伟", "明": "铭", "铭": "明", "丽": "莉", "莉": "丽", "静": "婧",
    "婧": "静", "杰": "洁", "军": "君", "勇": "永", "强": "墙", "芳": "方", "敏": "民",
    "磊": "蕾", "娜": "纳", "涛": "滔", "斌": "彬", "彬": "斌", "刚": "钢", "华": "桦",
}  # fmt: skip
"""Same reading, other character: how the same person's name gets retyped."""

BAD_KINDS = (
    ("phone", "invalid_phone"),
    ("email", "invalid_email"),
    ("birth_date", "invalid_date"),
    ("class_year", "implausible_year"),
    ("department", "unknown_department"),
    ("student_number", "duplicate_student_number"),
    ("name", "required"),
    ("name", "bad_characters"),
    ("degree", "invalid_choice"),
)
DUPLICATE_KINDS = ("second_degree", "retyped_same_phone", "new_contacts", "retyped_no_birth_date")


@dataclass
class SampleExport:
    headers: tuple[str, ...]
    rows: list[list[str]]
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Row number → (field, reason) of its one defect."""
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    """{original, duplicate, kind}: row numbers of the same person."""

    def encode(self, format: str = "csv", encoding: str = "gbk") -> bytes:
        """The file: CSV in `encoding`, or .xlsx."""
        out = io.BytesIO()
        if format == "xlsx":
            write_xlsx(self, out)
        else:
            write_csv(self, out, encoding)
        return out.getvalue()

    def manifest(self) -> dict[str, Any]:
        return {
            "rows": len(self.rows),
            "bad": {str(n): {"field": f, "reason": r} for n, (f, r) in sorted(self.bad.items())},
            "duplicates": self.duplicates,
            "departments": {d["name"]: d["id"] for d in departments()},
            "lineage": {name: [old for old, _ in olds] for name, olds in LINEAGE.items()},
        }


def departments() -> list[dict[str, str]]:
    """The demo's departments with fixed ids (so that files and lookups agree)."""
    return [
        {
            "id": str(uuid.uuid5(DEPARTMENT_NAMESPACE, d["code"])),
            "name": d["name"],
            "code": d["code"],
        }
        for d in DEPARTMENTS
    ]


def create_departments(post: Callable[[str, dict[str, Any]], dict[str, Any]]) -> dict[str, str]:
    """The sample's departments made in a running registry through its HTTP API (`post(path,
    body)` answers the JSON of a success), their lineage included: a renamed department is
    created under its old name and renamed, a merged one created and merged into its
    successor. Returns name → id of the current departments."""
    ids = {}
    for department in departments():
        name, code = department["name"], department["code"]
        olds = LINEAGE.get(name, ())
        if len(olds) == 1:
            made = post("/api/v1/departments", {"name": olds[0][0], "code": code})
            post(f"/api/v1/departments/{made['id']}/rename", {"name": name})
        else:
            made = post("/api/v1/departments", {"name": name, "code": code})
        if len(olds) > 1:
            merged = [
                post("/api/v1/departments", {"name": old, "code": f"{code}{i}"})["id"]
                for i, (old, _) in enumerate(olds, start=1)
            ]
            post(
                "/api/v1/departments/merges",
                {"department_ids": merged, "successor_id": made["id"]},
            )
        ids[name] = made["id"]
    return ids


def department_lookup() -> Callable[[str], str | None]:
    """Resolves current names, codes and the old names of `LINEAGE` to the successor's id:
    the lookup an import of these files needs."""
    ids: dict[str, str] = {}
    for department in departments():
        ids[department["name"]] = ids[department["code"]] = department["id"]
        for old, _ in LINEAGE.get(department["name"], ()):
            ids[old] = department["id"]
    return ids.get


def generate(
    rows: int, bad: int = 0, duplicates: int = 0, seed: int = DEFAULT_SEED, encoding: str = "gbk"
) -> SampleExport:
    """`rows` data rows, of which `bad` carry one defect each and `duplicates` repeat a
    person of an earlier row. Names are kept encodable in `encoding` (GBK has no four-byte
    characters)."""
    if bad + duplicates > rows // 2:
        raise ValueError("bad rows and duplicates may be at most half the rows")
    rng = random.Random(seed)
    people = rows - bad - duplicates
    builder = _Builder(rng, encoding)
    for person in generate_alumni(people, departments(), seed):
        builder.add_person(person)
    export = SampleExport(HEADERS, builder.rows)
    fresh = generate_alumni(bad, departments(), seed + 1)
    slots = sorted(rng.sample(range(people // 10, people + bad + duplicates), bad + duplicates))
    kinds = ["bad"] * bad + ["duplicate"] * duplicates
    rng.shuffle(kinds)
    for slot, kind in zip(slots, kinds, strict=True):
        if kind == "bad":
            builder.insert_bad(slot, next(fresh), export)
        else:
            builder.insert_duplicate(slot, export)
    export.rows = builder.rows
    return export


class _Builder:
    def __init__(self, rng: random.Random, encoding: str) -> None:
        self.rng = rng
        self.rare = RARE_GIVEN_GB18030 if encoding == "gb18030" else RARE_GIVEN_GBK
        self.encoding = encoding
        # GBK has neither a zero-width space nor a bullet: a control character and a
        # full-width full stop stand in for them.
        self.invisible = _encodable("\u200b", encoding) or "\x08"
        self.other_dot = _encodable("•", encoding) or "．"
        self.rows: list[list[str]] = []
        self.people: list[dict[str, Any]] = []
        """Per row: the person and graduation it was made from (None for a bad row)."""
        self.numbers: dict[tuple[str, int], int] = {}
        self.emails: dict[str, int] = {}
        self.dept_index = {d["id"]: i + 1 for i, d in enumerate(departments())}
        self.dept_name = {d["id"]: d["name"] for d in departments()}

    def add_person(self, person: dict[str, Any]) -> None:
        person = dict(person, name=self._name(person["name"]), email=self._email(person["email"]))
        graduation = person["graduations"][0]
        self.rows.append(self._row(person, graduation, self._student_number(graduation)))
        self.people.append({"person": person, "graduation": graduation})

    def _name(self, name: str) -> str:
        roll = self.rng.random()
        if roll < 0.01:
            name = self.rng.choice(MINORITY_NAMES)
            return name.replace("·", self.other_dot) if self.rng.random() < 0.2 else name
        if roll < 0.05:
            name = self.rng.choice(SURNAMES_READ_OTHERWISE) + name[1:]
        elif roll < 0.053:
            name = name[:-1] + self.rng.choice(self.rare)
        try:
            name.encode(self.encoding)
        except UnicodeEncodeError:
            return name.encode(self.encoding, errors="ignore").decode(self.encoding) or "王明"
        return name

    def _email(self, email: str) -> str:
        """Faker draws from a few thousand addresses; people's addresses are their own."""
        local, _, domain = email.partition("@")
        taken = self.emails.get(email, 0)
        self.emails[email] = taken + 1
        return f"{local}{taken}@{domain}" if taken else email

    def _student_number(self, graduation: dict[str, Any]) -> str:
        year = graduation["class_year"]
        if year < 1995 and self.rng.random() < 0.3:
            return ""  # the oldest records were typed in without one
        key = (graduation["department_id"], year)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        enrolled = year - YEARS_OF_STUDY[graduation["degree"]]
        level = LEVEL_DIGITS[graduation["degree"]]
        index = self.dept_index[graduation["department_id"]]
        return f"{enrolled}{level}{index:02d}{self.numbers[key]:04d}"

    def _department_name(self, graduation: dict[str, Any]) -> str:
        name = self.dept_name[graduation["department_id"]]
        for old, last_year in LINEAGE.get(name, ()):
            if graduation["class_year"] <= last_year and self.rng.random() < 0.9:
                return old
        return name

    def _row(self, person: dict[str, Any], graduation: dict[str, Any], number: str) -> list[str]:
        rng = self.rng
        year = graduation["class_year"]
        birth = date.fromisoformat(person["birth_date"])
        return [
            number,
            person["name"],
            _gender_text(person["gender"], rng),
            _date_text(birth, rng),
            self._department_name(graduation),
            graduation["major"],
            DEGREE_LABELS[graduation["degree"]],
            str(year - YEARS_OF_STUDY[graduation["degree"]]),
            f"{year}届" if rng.random() < 0.2 else str(year),
            graduation.get("class_name") or "",
            _phone_text(person["phone"], rng),
            person["email"],
            person.get("wechat", ""),
            person["employer"],
            person["title"],
            person["industry"],
            person["province"],
            person["city"],
        ]  # fmt: skip

    def insert_bad(self, slot: int, person: dict[str, Any], export: SampleExport) -> None:
        field_name, reason = BAD_KINDS[len(export.bad) % len(BAD_KINDS)]
        person = dict(person, name=self._name(person["name"]), email=self._email(person["email"]))
        graduation = person["graduations"][0]
        row = self._row(person, graduation, self._student_number(graduation))
        column = {
            "phone": 10, "email": 11, "birth_date": 3, "class_year": 8, "department": 4,
            "student_number": 0, "name": 1, "degree": 6,
        }[field_name]  # fmt: skip
        if reason == "duplicate_student_number":
            earlier = self._earlier_with_number(slot)
            if earlier is None:
                field_name, reason = BAD_KINDS[0]
                row[10] = "1380013800"
            else:
                for i in (0, 4, 8):  # the same number in the same department and class
                    row[i] = self.rows[earlier][i]
                row[7] = self.rows[earlier][7]
                # A class year must agree with the enrolment year, and the birth date with both.
                row[3] = self.rows[earlier][3]
        else:
            row[column] = {
                "invalid_phone": "1380013800",
                "invalid_email": person["email"].replace("@", "#"),
                "invalid_date": "1994-13-45",
                "implausible_year": "1850",
                "unknown_department": "火星探索学院",
                "required": "",
                "bad_characters": person["name"][:1] + self.invisible + person["name"][1:],
                "invalid_choice": "博士后",
            }[reason]
        self._insert(slot, row, None)
        export.bad[slot + 2] = (field_name, reason)

    def _earlier_with_number(self, slot: int) -> int | None:
        for index in range(slot - 1, -1, -1):
            if self.people[index] is not None and self.rows[index][0]:
                return index
        return None

    def insert_duplicate(self, slot: int, export: SampleExport) -> None:
        kind = DUPLICATE_KINDS[len(export.duplicates) % len(DUPLICATE_KINDS)]
        original = self._earlier_person(slot)
        person = dict(self.people[original]["person"])
        graduation = dict(self.people[original]["graduation"])
        number = ""
        if kind == "second_degree" or kind == "new_contacts":
            year = graduation["class_year"] + 3
            graduation.update(degree="master", class_year=year, class_name=None)
            if year > 2024:
                graduation.update(class_year=graduation["class_year"] - 3)
                kind = "retyped_same_phone"
            else:
                number = self._student_number(graduation)
        if kind == "new_contacts":
            person.update(
                phone=_other_phone(person["phone"], self.rng), email="new." + person["email"]
            )
        if kind.startswith("retyped"):
            person["name"] = _homophone(person["name"], self.rng)
        if kind == "retyped_no_birth_date":
            person["phone"] = _other_phone(person["phone"], self.rng)
        row = self._row(person, graduation, number)
        if kind == "retyped_same_phone":
            row[10] = "+86 " + person["phone"]
            row[11] = person["email"].upper()
        if kind == "retyped_no_birth_date":
            row[3] = ""
        self._insert(slot, row, {"person": person, "graduation": graduation, "copy": True})
        export.duplicates.append({"original": original + 2, "duplicate": slot + 2, "kind": kind})

    def _earlier_person(self, slot: int) -> int:
        while True:
            index = self.rng.randrange(0, slot)
            entry = self.people[index]
            if entry is not None and not entry.get("copy") and "·" not in entry["person"]["name"]:
                return index

    def _insert(self, slot: int, row: list[str], entry: dict[str, Any] | None) -> None:
        # Slots come in ascending order, so no row already in the manifest moves.
        self.rows.insert(slot, row)
        self.people.insert(slot, entry)


def _encodable(text: str, encoding: str) -> str | None:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return None
    return text


def _gender_text(gender: str, rng: random.Random) -> str:
    """Mostly 男/女, sometimes the GB/T 2261.1 code some registrar systems export."""
    if gender == "unknown":
        return ""
    word, code = ("男", "1") if gender == "male" else ("女", "2")
    return code if rng.random() < 0.1 else word


def _date_text(day: date, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.7:
        return day.isoformat()
    if roll < 0.8:
        return f"{day.year}/{day.month}/{day.day}"
    if roll < 0.9:
        return day.strftime("%Y%m%d")
    return f"{day.year}年{day.month}月{day.day}日"


def _phone_text(phone: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.85:
        return phone
    if roll < 0.95:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"


def _other_phone(phone: str, rng: random.Random) -> str:
    return phone[:3] + "".join(rng.choice("0123456789") for _ in range(8))


def _homophone(name: str, rng: random.Random) -> str:
    given = list(name)
    for index in range(len(given) - 1, 0, -1):
        if given[index] in HOMOPHONES:
            given[index] = HOMOPHONES[given[index]]
            return "".join(given)
    # No homophone at hand: the typist dropped the last character of a three-character name
    # or doubled the last of a two-character one.
    return name[:-1] if len(name) > 2 else name + name[-1]


def write_csv(export: SampleExport, out: IO[bytes], encoding: str) -> None:
    text = io.TextIOWrapper(out, encoding=encoding, newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(export.headers)
    writer.writerows(export.rows)
    text.detach()


def write_xlsx(export: SampleExport, out: IO[bytes]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("校友名单")
    sheet.append(list(export.headers))
    for row in export.rows:
        # A cell cannot hold a control character; a bad row's stands as a zero-width space.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("\u200b", cell) for cell in row])
    workbook.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="生成模拟的教务处校友导出文件 / write a sample registrar export."
    )
    parser.add_argument("--rows", type=int, default=1000, help="数据行数（默认 1000）")
    parser.add_argument("--bad", type=int, default=0, help="其中有一处错误的行数")
    parser.add_argument("--duplicates", type=int, default=0, help="其中与前面某人重复的行数")
    parser.add_argument("--encoding", choices=ENCODINGS, default="gbk", help="CSV 的编码")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子（可复现）")
    parser.add_argument("-o", "--output", type=Path, required=True, help="输出文件")
    parser.add_argument("--manifest", type=Path, help="另写一份 JSON：哪些行有错、哪些重复")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.bad < 0 or args.duplicates < 0:
        parser.error("--rows 至少为 1，--bad 与 --duplicates 不能为负")
    try:
        export = generate(args.rows, args.bad, args.duplicates, args.seed, args.encoding)
    except ValueError as error:
        parser.error(str(error))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(export.encode(args.format, args.encoding))
    if args.manifest:
        args.manifest.write_text(json.dumps(export.manifest(), ensure_ascii=False, indent=1))
    print(
        f"已写入 {args.output}：{len(export.rows)} 行（错误 {len(export.bad)}，"
        f"重复 {len(export.duplicates)}），{args.format}"
        + (f"，{args.encoding}" if args.format == "csv" else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
