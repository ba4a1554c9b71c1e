"""Reading one cell into one field, or saying in Chinese why not (`FieldProblem.reason`).

Cells come as text from a CSV and as text, numbers or dates from an .xlsx. Each reader
cleans what a registrar's spreadsheet really holds (full-width digits, `+86`, `2016届`,
`1990年3月5日`, a date Excel stored as a serial number, a student number Excel turned into
a float) and refuses only what cannot be meant. The rules match the registry's contract
(`AlumnusInput`: the same phone pattern, e-mail validator, WeChat pattern, lengths), so a
row accepted here is one the registry accepts.

A blank cell is "not known", never "erase": readers give None for it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, validate

from services.common.contracts.base import CHINA_MOBILE
from services.common.contracts.registry import WECHAT_ID
from services.registry.pinyin import INTERPUNCT, INTERPUNCT_VARIANTS, is_han

MAX_LENGTHS = {
    "name": 50,
    "major": 100,
    "class_name": 100,
    "employer": 200,
    "industry": 100,
    "title": 100,
    "province": 50,
    "city": 50,
    "department": 100,
}
"""The contract's limits (services/common/contracts/registry.py)."""
MAX_TAGS = 50
MAX_TAG_LENGTH = 30
EARLIEST_YEAR = 1900
YEARS_OF_STUDY = {"associate": 3, "bachelor": 4, "master": 3, "doctor": 4, "other": 4}
"""The usual length of each degree in China: a class year is derived from an enrolment year
with it when only the latter is given (and the row says so in a warning)."""
MIN_AGE_AT_GRADUATION = 14
MAX_AGE_AT_GRADUATION = 80
EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's date serial numbers (Windows, 1900 system, after its 1900 leap-year bug)."""
EXCEL_SERIALS = range(1, 73051)  # 1900-01-01 .. 2099-12-31

FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""Control, zero-width and bidirectional-override characters: invisible, they make two equal
names differ or reorder what a reader sees (the registry refuses them too)."""
PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")
_NAME_DOTS = str.maketrans(dict.fromkeys(INTERPUNCT_VARIANTS.replace(".", ""), INTERPUNCT))
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
_DIGITS = re.compile(r"\d+")
_DATE_PARTS = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_YEAR = re.compile(r"(\d{4})\s*(年|届|级)?(?:\s*[-/.]\s*\d{1,2}(?:\s*[-/.]\s*\d{1,2})?)?")
_STUDENT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_TAG_SEPARATORS = re.compile(r"[,，;；、|/\s]+")
_EMAIL = validate.Email()
FORMULA_STARTS = ("=", "+", "-", "@")
"""What Excel would read as the start of a formula."""

GENDERS = {
    "男": "male",
    "男性": "male",
    "m": "male",
    "male": "male",
    "1": "male",
    "女": "female",
    "女性": "female",
    "f": "female",
    "female": "female",
    "2": "female",
    "未知": "unknown",
    "不详": "unknown",
    "未说明": "unknown",
    "unknown": "unknown",
    "0": "unknown",
    "9": "unknown",
}
"""Words and GB/T 2261.1 codes (0 未知, 1 男, 2 女, 9 未说明) that registrars' systems use."""

DEGREES = {
    "专科": "associate",
    "大专": "associate",
    "高职": "associate",
    "高职高专": "associate",
    "专科生": "associate",
    "associate": "associate",
    "本科": "bachelor",
    "大学本科": "bachelor",
    "本科生": "bachelor",
    "学士": "bachelor",
    "bachelor": "bachelor",
    "bachelors": "bachelor",
    "硕士": "master",
    "硕士研究生": "master",
    "研究生": "master",
    "硕士生": "master",
    "学术硕士": "master",
    "专业硕士": "master",
    "master": "master",
    "masters": "master",
    "博士": "doctor",
    "博士研究生": "doctor",
    "博士生": "doctor",
    "doctor": "doctor",
    "doctorate": "doctor",
    "phd": "doctor",
    "其他": "other",
    "other": "other",
}
"""研究生 alone means a master's student in registrars' usage (博士 is always named)."""


@dataclass(frozen=True)
class FieldProblem:
    field: str | None
    """The field, or None for the row as a whole."""
    reason: str
    message: str


class Refused(Exception):
    """Raised by a reader: the cell cannot be taken (an error of the row)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def text(value: Any) -> str:
    """A cell as text: trimmed (full-width and no-break spaces too); numbers without `.0`."""
    if value.__class__ is str:  # nearly every cell: the fast path first
        cleaned = value.strip()
        # Excel shows '=1+1 as text; the report writes a ' before such values (report.py).
        if cleaned[:1] == "'" and cleaned[1:2] in FORMULA_STARTS:
            return cleaned[1:]
        return cleaned
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return text(str(value))


def plain_text(value: Any, field: str) -> str | None:
    """Free text of at most the contract's length, without invisible characters."""
    cleaned = " ".join(text(value).split())
    if not cleaned:
        return None
    _check_characters(cleaned)
    limit = MAX_LENGTHS[field]
    if len(cleaned) > limit:
        raise Refused("too_long", f"不能超过 {limit} 个字（现有 {len(cleaned)} 个）。")
    return cleaned


def name(value: Any) -> str:
    """A person's name: the spaces that pad a Chinese name (`张  伟`) go, the dot of a
    minority name becomes U+00B7; the characters themselves are kept as written (no Unicode
    normalisation, which would change some rare characters)."""
    cleaned = " ".join(text(value).split()).translate(_NAME_DOTS)
    cleaned = re.sub(rf"\s*{INTERPUNCT}\s*", INTERPUNCT, cleaned)
    if all(is_han(c) or c in f" {INTERPUNCT}" for c in cleaned):
        cleaned = cleaned.replace(" ", "")
    if not cleaned:
        raise Refused("required", "不能为空。")
    _check_characters(cleaned)
    if len(cleaned) > MAX_LENGTHS["name"]:
        raise Refused("too_long", f"不能超过 {MAX_LENGTHS['name']} 个字。")
    if cleaned.strip(INTERPUNCT) != cleaned or INTERPUNCT * 2 in cleaned:
        raise Refused("invalid_name", "间隔号“·”只能用在名字的两部分之间。")
    return cleaned


def _check_characters(value: str) -> None:
    if FORBIDDEN_CHARACTERS.search(value):
        raise Refused(
            "bad_characters", "含有不可见的控制字符或排版字符（如零宽空格），请删除后重试。"
        )


def has_private_use(value: str) -> bool:
    """A character from the private use area: a rare character some older system stored at a
    code point of its own, which other systems show as a box or as another character."""
    return PRIVATE_USE.search(value) is not None


def choice(value: Any, table: dict[str, str], what: str) -> str | None:
    cleaned = unicodedata.normalize("NFKC", text(value)).lower().replace(" ", "")
    if not cleaned:
        return None
    if cleaned not in table:
        known = "、".join(dict.fromkeys(k for k in table if not k.isascii()))
        raise Refused("invalid_choice", f"无法识别的{what}“{text(value)}”，可填：{known}。")
    return table[cleaned]


def gender(value: Any) -> str | None:
    return choice(value, GENDERS, "性别")


def degree(value: Any) -> str | None:
    return choice(value, DEGREES, "学历")


def birth_date(value: Any, today: date) -> tuple[date | None, bool]:
    """(the date, whether it was only a year and month, hence dropped)."""
    if not text(value):
        return None, False
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        day = _excel_serial(value)
    else:
        day, partial = _date_text(text(value))
        if partial:
            return None, True
    if day < date(EARLIEST_YEAR, 1, 1) or day > today:
        raise Refused(
            "implausible_date", f"日期 {day.isoformat()} 不合理（应在 1900 年至今天之间）。"
        )
    return day, False


def _excel_serial(value: float) -> date:
    if int(value) not in EXCEL_SERIALS:
        raise Refused("invalid_date", f"“{text(value)}”不是日期。")
    return EXCEL_EPOCH + timedelta(days=int(value))


def _date_text(raw: str) -> tuple[date, bool]:
    cleaned = unicodedata.normalize("NFKC", raw)
    cleaned = cleaned.split(" ")[0] if re.fullmatch(r"\S+ 0?0:00(:00)?", cleaned) else cleaned
    match = _DATE_PARTS.fullmatch(cleaned) or _COMPACT_DATE.fullmatch(cleaned)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day), False
        except ValueError:
            raise Refused("invalid_date", f"“{raw}”不是有效的日期。") from None
    partial = _YEAR_MONTH.fullmatch(cleaned)
    if partial and 1 <= int(partial.group(2)) <= 12:
        return date(int(partial.group(1)), int(partial.group(2)), 1), True
    raise Refused("invalid_date", f"无法识别日期“{raw}”，请写成 1990-03-05 的格式。")


def year(value: Any, today: date, *, cohort: bool = False) -> int | None:
    """A year: 2016, `2016年`, `2016-06-30` or a date cell; `2016届` (a graduating class) for
    a class year, `2016级` (an entering cohort) for an enrolment year (`cohort=True`)."""
    if not text(value):
        return None
    if isinstance(value, date):
        found = value.year
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not float(value).is_integer():
            raise Refused("invalid_year", f"“{text(value)}”不是年份。")
        found = int(value)
    else:
        match = _YEAR.fullmatch(unicodedata.normalize("NFKC", text(value)))
        if match is None:
            raise Refused("invalid_year", f"无法识别年份“{text(value)}”，请写成 2016 的格式。")
        if match.group(2) == ("届" if cohort else "级"):
            raise Refused(
                "invalid_year",
                f"“{text(value)}”是{'毕业届别' if cohort else '入学年级'}，"
                f"不是{'入学年份' if cohort else '毕业年份'}，请检查列对应。",
            )
        found = int(match.group(1))
    if not EARLIEST_YEAR <= found <= today.year:
        raise Refused("implausible_year", f"年份 {found} 不合理（应在 1900 年至今年之间）。")
    return found


def phone(value: Any) -> str | None:
    """A mainland mobile number as the registry keeps it: 11 digits, no `+86`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = text(value)
    cleaned = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", text(value)))
    if not cleaned:
        return None
    for prefix in ("+86", "0086", "86"):
        if cleaned.startswith(prefix) and len(cleaned) == len(prefix) + 11:
            cleaned = cleaned[len(prefix) :]
            break
    if not CHINA_MOBILE.fullmatch(cleaned):
        raise Refused("invalid_phone", f"“{text(value)}”不是 11 位中国大陆手机号。")
    return cleaned


def email(value: Any) -> str | None:
    cleaned = unicodedata.normalize("NFKC", text(value)).lower()
    if not cleaned:
        return None
    try:
        _EMAIL(cleaned)
    except ValidationError:
        raise Refused("invalid_email", f"“{text(value)}”不是有效的电子邮箱。") from None
    if len(cleaned) > 254:
        raise Refused("invalid_email", "电子邮箱不能超过 254 个字符。")
    return cleaned


def wechat(value: Any) -> str | None:
    cleaned = text(value)
    if not cleaned:
        return None
    if not WECHAT_ID.regex.fullmatch(cleaned):
        raise Refused("invalid_wechat", f"“{cleaned}”不是有效的微信号（6 到 20 位，以字母开头）。")
    return cleaned


def student_number(value: Any) -> str | None:
    cleaned = unicodedata.normalize("NFKC", text(value)).replace(" ", "")
    if not cleaned:
        return None
    if _SCIENTIFIC.fullmatch(cleaned):
        raise Refused(
            "invalid_student_number",
            f"学号“{cleaned}”被 Excel 显示成了科学计数法，数字已丢失。"
            "请把学号列设为“文本”后重新导出。",
        )
    if isinstance(value, float) and not value.is_integer():
        raise Refused("invalid_student_number", f"学号“{cleaned}”不应是小数。")
    if not _STUDENT_NUMBER.fullmatch(cleaned):
        raise Refused("invalid_student_number", "学号只能由字母、数字和“-”组成，最多 32 位。")
    return cleaned


def tags(value: Any) -> list[str]:
    found = sorted({t for t in _TAG_SEPARATORS.split(text(value)) if t})
    if len(found) > MAX_TAGS:
        raise Refused("too_long", f"标签不能超过 {MAX_TAGS} 个。")
    for tag in found:
        _check_characters(tag)
        if len(tag) > MAX_TAG_LENGTH:
            raise Refused("too_long", f"标签“{tag}”超过 {MAX_TAG_LENGTH} 个字。")
    return found
