"""A registrar's file, row by row: each row parsed into a record or refused with reasons.

    registrar_file = open_import(upload, ImportOptions(resolve_department=lookup))
    for result in registrar_file:          # a RowResult per non-blank row, streamed
        ...                                # registrar_file.progress counts as it goes

A row becomes one `ImportedRecord`: an alumnus with one graduation (registrars export one
row per graduation; the same person's bachelor's and master's rows are two records, which
duplicate detection brings together). A row's problems are per field, in Chinese, each
with a machine-readable reason:

- errors refuse the row: a bad phone, e-mail or date, an implausible class year, an
  unknown department (the lookup is a function the caller passes, so department lineage
  lives where the departments do), a student number or a person already in an earlier row;
- warnings keep it: a birth date given only to the month (dropped), a class year derived
  from the enrolment year, a private-use character in the name.

Rows are keyed for idempotency (`ImportedRecord.idempotency_key`): the student number
within its department and class year where there is one, else name + birth date + class.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any

from services.common.chinatime import china_date
from services.registry.importing import fields as read
from services.registry.importing.columns import ColumnMapping, find_mapping, label
from services.registry.importing.errors import ImportRejected
from services.registry.importing.fields import FieldProblem, Refused
from services.registry.importing.source import Limits, Source, open_source

DepartmentLookup = Callable[[str], str | None]
"""Department name or code as a registrar writes it → the department's id, or None."""

PROFILE_TEXT_FIELDS = ("province", "city", "employer", "industry", "title")


@dataclass(frozen=True)
class ImportOptions:
    resolve_department: DepartmentLookup
    mapping: Mapping[str, str | None] | None = None
    """Header → field (None: ignore the column); the other headers are guessed."""
    defaults: Mapping[str, Any] | None = None
    """Field → value for every row, for a field the file has no column for."""
    limits: Limits = field(default_factory=Limits)
    sheet: str | None = None
    today: date | None = None
    """The day dates are judged against; China's today when not given."""


@dataclass(frozen=True)
class ImportedGraduation:
    department_id: str
    department: str
    """As the file wrote it (the report and the merge log show it)."""
    major: str
    degree: str
    class_year: int
    class_name: str | None = None
    student_number: str | None = None
    enrolment_year: int | None = None

    def contract(self) -> dict[str, Any]:
        """The registry's current `Graduation` input."""
        data: dict[str, Any] = {
            "department_id": self.department_id,
            "major": self.major,
            "degree": self.degree,
            "class_year": self.class_year,
        }
        if self.class_name is not None:
            data["class_name"] = self.class_name
        return data


@dataclass(frozen=True)
class ImportedRecord:
    name: str
    graduation: ImportedGraduation
    gender: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    province: str | None = None
    city: str | None = None
    employer: str | None = None
    industry: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()

    def alumnus_input(self) -> dict[str, Any]:
        """The registry's current `AlumnusInput` (JSON-native). A blank cell is left out,
        not sent as null: an import never erases what the registry knows."""
        data: dict[str, Any] = {"name": self.name, "graduations": [self.graduation.contract()]}
        for name in ("gender", "phone", "email", "wechat", *PROFILE_TEXT_FIELDS):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.birth_date is not None:
            data["birth_date"] = self.birth_date.isoformat()
        if self.tags:
            data["tags"] = list(self.tags)
        return data

    def graduation_input(self) -> dict[str, Any]:
        """The graduation as phase 2 stores it: the contract's fields plus the student
        number and the enrolment year."""
        data = self.graduation.contract()
        if self.graduation.student_number is not None:
            data["student_number"] = self.graduation.student_number
        if self.graduation.enrolment_year is not None:
            data["enrolment_year"] = self.graduation.enrolment_year
        return data

    @property
    def idempotency_key(self) -> str:
        """The same row imported twice has the same key (32 hex digits, for a unique index):
        `student_key` where the row has a student number, else `person_key`."""
        return self.student_key or self.person_key

    @property
    def student_key(self) -> str | None:
        """The student number within its department and class year, hashed."""
        graduation = self.graduation
        if not graduation.student_number:
            return None
        return _key(
            "student",
            graduation.department_id,
            str(graduation.class_year),
            graduation.student_number.upper(),
        )

    @property
    def person_key(self) -> str:
        """Name, birth date and class (the class name; else department, class year, degree
        and major), hashed: the same graduation of the same person."""
        graduation = self.graduation
        cohort = graduation.class_name or "/".join(
            (
                graduation.department_id,
                str(graduation.class_year),
                graduation.degree,
                graduation.major,
            )
        )
        birth = self.birth_date.isoformat() if self.birth_date else ""
        return _key("person", self.name, birth, cohort)


def _key(*parts: str) -> str:
    """A hash, so that a key column holds no personal data in clear."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RowResult:
    row_number: int
    """As the spreadsheet shows it (the header is one of the rows)."""
    cells: tuple[str, ...]
    """The row as written, as text: the report repeats it so it can be fixed and re-imported."""
    record: ImportedRecord | None
    errors: tuple[FieldProblem, ...] = ()
    warnings: tuple[FieldProblem, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.record is not None

    def problems_text(self) -> str:
        """`手机：“1380013800”不是 11 位中国大陆手机号。；…` for people."""
        return "；".join(f"{label(p.field)}：{p.message}" for p in (*self.errors, *self.warnings))

    def problems(self) -> list[dict[str, Any]]:
        """JSON-native, for the API: field, its label, reason, message, and whether it is a
        warning (the row kept) or an error (the row refused)."""
        return [
            {
                "field": p.field,
                "label": label(p.field),
                "reason": p.reason,
                "message": p.message,
                "warning": warning,
            }
            for warning, group in ((False, self.errors), (True, self.warnings))
            for p in group
        ]


@dataclass
class Progress:
    rows_read: int = 0
    """Non-blank rows after the header."""
    accepted: int = 0
    rejected: int = 0
    with_warnings: int = 0
    blank_rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class RegistrarFile:
    """An opened registrar export: iterate it for one `RowResult` per non-blank row.

    One pass only (it streams). Iterating may still raise `ImportRejected` for a file that
    turns out malformed or too long after its first rows; the caller must then discard
    what it read (phase 2 stages rows and applies none of a rejected file).
    """

    def __init__(
        self,
        source: Source,
        mapping: ColumnMapping,
        rows: Iterator[tuple[int, list[Any]]],
        options: ImportOptions,
    ) -> None:
        self.source = source
        self.mapping = mapping
        self.progress = Progress()
        self._rows = rows
        self._options = options
        self._today = options.today or china_date(datetime.now(UTC))
        self._departments: dict[str, str | None] = {}
        self._student_numbers: dict[tuple[str, int, str], int] = {}
        self._people: dict[str, tuple[int, str | None]] = {}

    @property
    def format(self) -> str:
        return self.source.format

    @property
    def encoding(self) -> str | None:
        return self.source.encoding_name

    def __iter__(self) -> Iterator[RowResult]:
        for number, cells in self._rows:
            texts = tuple(map(read.text, cells))
            if not any(texts):
                self.progress.blank_rows += 1
                continue
            result = self._parse(number, cells, texts)
            self.progress.rows_read += 1
            if result.accepted:
                self.progress.accepted += 1
            else:
                self.progress.rejected += 1
            if result.warnings:
                self.progress.with_warnings += 1
            yield result
        if self.progress.rows_read == 0:
            raise ImportRejected("文件只有表头，没有数据行。", reason="no_data_rows")

    def _parse(self, number: int, cells: list[Any], texts: tuple[str, ...]) -> RowResult:
        row = _Row(self.mapping, cells, texts, self._options.defaults or {})
        record = self._record(row)
        if record is not None and not row.errors:
            self._check_not_seen(row, record, number)
        accepted = record if not row.errors else None
        return RowResult(
            number,
            texts,
            accepted,
            tuple(row.errors),
            tuple(row.warnings),
        )

    def _record(self, row: _Row) -> ImportedRecord | None:
        today = self._today
        if row.extra_cells:
            row.error(
                None, "extra_cells", "表头以外的列还有内容，可能是某个单元格里的逗号让整行错位了。"
            )
        name = row.take("name", read.name)
        birth = row.take("birth_date", lambda v: read.birth_date(v, today))
        birth_date, partial = birth if birth else (None, False)
        if partial:
            row.warn("birth_date", "partial_date", "只有年月，没有日，出生日期未导入。")
        enrolment_year = row.take("enrolment_year", lambda v: read.year(v, today, cohort=True))
        class_year = row.take("class_year", lambda v: read.year(v, today))
        degree = row.take("degree", read.degree, required=True)
        department_text = row.take("department", lambda v: read.plain_text(v, "department"))
        department_id = self._department(row, department_text)
        class_year = self._class_year(row, class_year, enrolment_year, degree)
        if birth_date and class_year:
            age = class_year - birth_date.year
            if not read.MIN_AGE_AT_GRADUATION <= age <= read.MAX_AGE_AT_GRADUATION:
                row.error(
                    "birth_date",
                    "implausible_date",
                    f"出生于 {birth_date.year} 年、{class_year} 年毕业，年龄不合理，请核对。",
                )
        graduation_values = {
            "major": row.take("major", lambda v: read.plain_text(v, "major"), required=True),
            "class_name": row.take("class_name", lambda v: read.plain_text(v, "class_name")),
            "student_number": row.take("student_number", read.student_number),
        }
        profile = {
            f: row.take(f, lambda v, f=f: read.plain_text(v, f)) for f in PROFILE_TEXT_FIELDS
        }
        contacts = {
            "gender": row.take("gender", read.gender),
            "phone": row.take("phone", read.phone),
            "email": row.take("email", read.email),
            "wechat": row.take("wechat", read.wechat),
        }
        tags = row.take("tags", read.tags) or []
        if name and read.has_private_use(name):
            row.warn(
                "name",
                "private_use_character",
                "姓名含私用区字符（旧系统自造的生僻字），在别的系统中可能显示为方框或别的字。",
            )
        if row.errors or not (name and department_id and class_year and degree):
            return None
        return ImportedRecord(
            name=name,
            graduation=ImportedGraduation(
                department_id=department_id,
                department=department_text or "",
                degree=degree,
                class_year=class_year,
                enrolment_year=enrolment_year,
                **graduation_values,
            ),
            birth_date=birth_date,
            tags=tuple(tags),
            **contacts,
            **profile,
        )

    def _department(self, row: _Row, text: str | None) -> str | None:
        if text is None:
            if not row.has_error("department"):
                row.error("department", "required", "不能为空。")
            return None
        if text not in self._departments:
            self._departments[text] = self._options.resolve_department(text)
        department_id = self._departments[text]
        if department_id is None:
            row.error(
                "department",
                "unknown_department",
                f"没有名为“{text}”的院系（也不是已合并或更名院系的旧名）。",
            )
        return department_id

    def _class_year(
        self, row: _Row, class_year: int | None, enrolment_year: int | None, degree: str | None
    ) -> int | None:
        if row.has_error("class_year"):
            return None
        if class_year is None and enrolment_year is not None and degree is not None:
            derived = enrolment_year + read.YEARS_OF_STUDY[degree]
            if derived > self._today.year:
                row.error(
                    "class_year",
                    "implausible_year",
                    f"{enrolment_year} 年入学，按学制应 {derived} 年毕业，尚未毕业。",
                )
                return None
            row.warn(
                "class_year",
                "class_year_derived",
                f"未填毕业年份，按学制由入学年份推算为 {derived} 年。",
            )
            return derived
        if class_year is None:
            if not row.has_error("enrolment_year"):
                row.error("class_year", "required", "不能为空（也没有入学年份可推算）。")
            return None
        if enrolment_year is not None and not 0 < class_year - enrolment_year <= 12:
            row.error(
                "class_year",
                "inconsistent_years",
                f"入学 {enrolment_year} 年、毕业 {class_year} 年，前后不符。",
            )
        return class_year

    def _check_not_seen(self, row: _Row, record: ImportedRecord, number: int) -> None:
        graduation = record.graduation
        if graduation.student_number:
            key = (graduation.department_id, graduation.class_year, graduation.student_number)
            first = self._student_numbers.setdefault(key, number)
            if first != number:
                row.error(
                    "student_number",
                    "duplicate_student_number",
                    f"与第 {first} 行的学号重复（同院系同届）。",
                )
                return
        # Two rows with different student numbers are two graduations, whatever their names;
        # where one of them has none, the name, birth date and class decide.
        first, number_there = self._people.setdefault(
            record.person_key, (number, graduation.student_number)
        )
        if first != number and not (number_there and graduation.student_number):
            row.error(
                None,
                "duplicate_row",
                f"与第 {first} 行是同一人的同一学历（姓名、出生日期、班级相同）。",
            )


class _Row:
    """One row's cells by field, and the problems found in it."""

    def __init__(
        self,
        mapping: ColumnMapping,
        cells: list[Any],
        texts: tuple[str, ...],
        defaults: Mapping[str, Any],
    ) -> None:
        self.values: dict[str, Any] = dict(defaults)
        for index, name in mapping.columns.items():
            self.values[name] = cells[index] if index < len(cells) else None
        self.extra_cells = any(texts[len(mapping.headers) :])
        self.errors: list[FieldProblem] = []
        self.warnings: list[FieldProblem] = []

    def take(self, name: str, reader: Callable[[Any], Any], *, required: bool = False) -> Any:
        try:
            value = reader(self.values.get(name))
        except Refused as refused:
            self.errors.append(FieldProblem(name, refused.reason, refused.message))
            return None
        if required and value is None:
            self.error(name, "required", "不能为空。")
        return value

    def error(self, name: str | None, reason: str, message: str) -> None:
        self.errors.append(FieldProblem(name, reason, message))

    def warn(self, name: str | None, reason: str, message: str) -> None:
        self.warnings.append(FieldProblem(name, reason, message))

    def has_error(self, name: str) -> bool:
        return any(p.field == name for p in self.errors)


def open_import(upload: IO[bytes] | bytes, options: ImportOptions) -> RegistrarFile:
    """Check the file (size, format, encoding, header, columns) and get ready to stream it.

    Raises `ImportRejected` before any row is read for everything that can be told from
    the file as a whole (see `ImportRejected` for the reasons).
    """
    source = open_source(upload, options.limits, options.sheet)
    rows = source.rows()
    mapping = find_mapping(rows, options.mapping, options.defaults)
    return RegistrarFile(source, mapping, rows, options)
