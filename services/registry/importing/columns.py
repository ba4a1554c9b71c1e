"""Which column holds which field: given by the uploader, or guessed from the headers.

Registrars' exports name their columns in Chinese (姓名, 出生日期, 学号), sometimes in
English, with decorations (`姓名*`, `出生日期（YYYY-MM-DD）`, `手机号码(必填)`). A header
is normalised (NFKC, lower case, without spaces, marks and bracketed hints) and looked up
in `FIELDS`. A title row above the header (`2016届本科毕业生名单`) is skipped: the header
is the first of the first rows in which at least two cells name a known field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.registry.importing.errors import ImportRejected

HEADER_SEARCH_ROWS = 10
MIN_KNOWN_HEADERS = 2


@dataclass(frozen=True)
class FieldSpec:
    label: str
    """The field's Chinese name in messages and in the report."""
    aliases: tuple[str, ...]
    """Headers that mean this field, written as `normalise_header` leaves them."""


FIELDS: dict[str, FieldSpec] = {
    "student_number": FieldSpec(
        "学号", ("学号", "学生编号", "学籍号", "studentnumber", "studentno", "studentid", "sno")
    ),
    "name": FieldSpec("姓名", ("姓名", "名字", "学生姓名", "校友姓名", "name", "fullname")),
    "gender": FieldSpec("性别", ("性别", "gender", "sex")),
    "birth_date": FieldSpec(
        "出生日期",
        ("出生日期", "出生年月日", "出生年月", "生日")
        + ("birthdate", "dateofbirth", "birthday", "dob"),
    ),
    "phone": FieldSpec(
        "手机",
        (
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "联系电话",
            "电话",
            "mobile",
            "mobilephone",
            "cellphone",
            "phone",
        ),
    ),
    "email": FieldSpec(
        "邮箱", ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "emailaddress", "mail")
    ),
    "wechat": FieldSpec("微信", ("微信", "微信号", "wechat", "wechatid", "weixin")),
    "department": FieldSpec(
        "院系",
        (
            "院系",
            "学院",
            "院(系)",
            "系",
            "系别",
            "所在学院",
            "所在院系",
            "院系名称",
            "学院名称",
            "department",
            "school",
            "faculty",
            "college",
            "dept",
        ),
    ),
    "major": FieldSpec(
        "专业", ("专业", "专业名称", "所学专业", "major", "programme", "program", "specialty")
    ),
    "degree": FieldSpec(
        "学历",
        ("学历", "学位", "学历层次", "培养层次", "层次", "学生类别")
        + ("degree", "education", "level"),
    ),
    "enrolment_year": FieldSpec(
        "入学年份",
        (
            "入学年份",
            "入学年",
            "入学时间",
            "入学日期",
            "年级",
            "enrolmentyear",
            "enrollmentyear",
            "entryyear",
            "yearofentry",
            "intake",
        ),
    ),
    "class_year": FieldSpec(
        "毕业年份",
        (
            "毕业年份",
            "毕业年",
            "毕业时间",
            "毕业日期",
            "届别",
            "届",
            "毕业届",
            "届次",
            "classyear",
            "graduationyear",
            "yearofgraduation",
            "classof",
        ),
    ),
    "class_name": FieldSpec("班级", ("班级", "班级名称", "行政班", "班", "class", "classname")),
    "employer": FieldSpec(
        "工作单位",
        (
            "工作单位",
            "单位",
            "现工作单位",
            "就业单位",
            "单位名称",
            "employer",
            "company",
            "organization",
            "organisation",
        ),
    ),
    "title": FieldSpec("职务", ("职务", "职位", "职称", "title", "jobtitle", "position")),
    "industry": FieldSpec("行业", ("行业", "所属行业", "industry", "sector")),
    "province": FieldSpec("省份", ("省份", "省", "所在省份", "省/直辖市", "省市", "province")),
    "city": FieldSpec("城市", ("城市", "所在城市", "市", "所在地", "city")),
    "tags": FieldSpec("标签", ("标签", "tags", "tag")),
}
"""Every field an import can fill. `enrolment_year` and `student_number` are new to the
registry (phase 2 stores them on the graduation record)."""

REQUIRED_COLUMNS = ("name", "department", "major", "degree")
"""Without these no row can become a graduation record (AlumnusInput requires them). The
class year is required too, but may come from the enrolment year."""

_BRACKETED = re.compile(r"[(\[{（【［].*?[)\]}）】］]")
_MARKS = re.compile(r"[\s*＊:：_\-.·#＃'\"“”‘’]")
_ALIASES = {alias: name for name, spec in FIELDS.items() for alias in spec.aliases}


def normalise_header(text: Any) -> str:
    """`出生日期（YYYY-MM-DD）*` → `出生日期`, `Date of Birth` → `dateofbirth`; `院(系)` stays."""
    raw = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().lower()
    if raw in _ALIASES:
        return raw
    return _MARKS.sub("", _BRACKETED.sub("", raw))


def label(field_name: str | None) -> str:
    """A field's Chinese name; a problem with the row as a whole has none."""
    return FIELDS[field_name].label if field_name in FIELDS else "整行"


@dataclass(frozen=True)
class ColumnMapping:
    header_row: int
    """The spreadsheet row number of the header."""
    headers: tuple[str, ...]
    """The header cells as written."""
    columns: dict[int, str]
    """Column index → field."""
    ignored: tuple[str, ...] = field(default=())
    """Non-empty headers that map to no field (reported, not an error)."""

    def fields(self) -> set[str]:
        return set(self.columns.values())

    def describe(self) -> list[dict[str, Any]]:
        """For the upload's answer: each header, the field it feeds (or None) and its label."""
        return [
            {
                "column": index + 1,
                "header": header,
                "field": self.columns.get(index),
                "label": label(self.columns[index]) if index in self.columns else None,
            }
            for index, header in enumerate(self.headers)
        ]


def find_mapping(
    rows: Iterable[tuple[int, list[Any]]],
    given: Mapping[str, str | None] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ColumnMapping:
    """The header among the first rows and what each column holds.

    `given` maps header texts (as written in the file) to field names, or to None to ignore
    a column; it overrides the guess for those headers, the others are still guessed.
    `defaults` names fields that are not in the file but given for every row (a file
    that is all one degree has no 学历 column): they count as present.
    Raises `ImportRejected` (`no_header`, `unknown_field`, `unknown_column`,
    `duplicate_columns`, `missing_columns`).
    """
    given = dict(given or {})
    unknown = sorted(f for f in (*given.values(), *(defaults or {})) if f and f not in FIELDS)
    if unknown:
        raise ImportRejected(
            f"列对应中有未知字段：{'、'.join(unknown)}。",
            reason="unknown_field",
            fields=unknown,
            known=list(FIELDS),
        )
    header_row, headers = _header(rows, given)
    wanted = {normalise_header(h): f for h, f in given.items()}
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        if not key:
            continue
        target = wanted[key] if key in wanted else _ALIASES.get(key)
        if target is None:
            ignored.append(str(header))
        else:
            columns[index] = target
    _check_no_field_twice(headers, columns)
    present = set(columns.values()) | set(defaults or {})
    missing = [f for f in REQUIRED_COLUMNS if f not in present]
    if "class_year" not in present and "enrolment_year" not in present:
        missing.append("class_year")
    if missing:
        labels = [label(f) for f in missing]
        raise ImportRejected(
            f"文件缺少必需的列：{'、'.join(labels)}。请在表头中加上这些列，或在导入时指定列对应。",
            reason="missing_columns",
            missing=missing,
            headers=[str(h) for h in headers],
        )
    return ColumnMapping(header_row, tuple(str(h) for h in headers), columns, tuple(ignored))


def _header(
    rows: Iterable[tuple[int, list[Any]]], given: Mapping[str, str | None]
) -> tuple[int, list[Any]]:
    wanted = {normalise_header(h) for h in given}
    seen = 0
    for number, cells in rows:
        keys = {normalise_header(c) for c in cells} - {""}
        if not keys:
            continue
        if wanted and wanted <= keys:
            return number, _trimmed(cells)
        if not wanted and len(keys & _ALIASES.keys()) >= MIN_KNOWN_HEADERS:
            return number, _trimmed(cells)
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    if wanted:
        raise ImportRejected(
            f"在文件前 {HEADER_SEARCH_ROWS} 行中找不到列对应里的表头：{'、'.join(sorted(given))}。",
            reason="unknown_column",
            columns=sorted(given),
        )
    raise ImportRejected(
        f"在文件前 {HEADER_SEARCH_ROWS} 行中找不到表头（如“姓名”“院系”“专业”）。"
        "请确认第一行是列名，或在导入时指定列对应。",
        reason="no_header",
    )


def _trimmed(cells: list[Any]) -> list[Any]:
    """The header without the empty cells after its last one (Excel pads rows)."""
    end = len(cells)
    while end and normalise_header(cells[end - 1]) == "":
        end -= 1
    return list(cells[:end])


def _check_no_field_twice(headers: list[Any], columns: dict[int, str]) -> None:
    by_field: dict[str, list[str]] = {}
    for index, name in columns.items():
        by_field.setdefault(name, []).append(str(headers[index]))
    twice = {name: found for name, found in by_field.items() if len(found) > 1}
    if twice:
        detail = "；".join(f"{label(n)}：{'、'.join(found)}" for n, found in twice.items())
        raise ImportRejected(
            f"有多列对应同一字段（{detail}）。请删去多余的列，或在导入时指定列对应。",
            reason="duplicate_columns",
            columns={n: found for n, found in twice.items()},
        )
