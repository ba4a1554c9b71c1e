"""Export of a search as CSV or Excel (docs/stewardship.md, item 6).

The rows are exactly what the search route shows the caller: the gateway scopes the filters
(gateway/authz/registry.py `scope_alumni_search`), the search pages through them here
(`domain.search_alumni`, the one search), and each record goes through `rights.shown`,
which masks what the caller may not see and writes every unmasked record to the access log
(services/common/access_log.py) in this transaction. At most `max_rows` rows: a larger
export is refused with the limit stated, rather than cut short without a word.

Every cell that a spreadsheet would run as a formula (= + - @, tab, carriage return first)
is written after a `'` (`importing.report.excel_safe`), in both formats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.errors import ValidationFailed
from services.common.visibility import Viewer
from services.registry import domain, rights
from services.registry.importing.report import excel_safe
from services.registry.models import Department
from services.registry.statistics import DEGREE_LABELS

PAGE = 100
HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "手机",
    "邮箱",
    "微信",
    "省份",
    "城市",
    "工作单位",
    "行业",
    "职务",
    "院系",
    "专业",
    "学历",
    "毕业年份",
    "学号",
]
GENDER_LABELS = {"male": "男", "female": "女", "unknown": "未知"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def records(
    session: Session, params: dict[str, Any], reader: Viewer, purpose: str, max_rows: int
) -> list[dict[str, Any]]:
    """Every record of the search as the caller may see it; 422 past `max_rows`."""
    query = {k: v for k, v in params.items() if k != "format"}
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = domain.search_alumni(session, {**query, "limit": PAGE, "cursor": cursor}, full=True)
        found.extend(page["items"])
        if len(found) > max_rows:
            raise ValidationFailed(
                f"导出结果超过 {max_rows} 条的上限，请增加筛选条件后分批导出。",
                {"limit_rows": max_rows},
                reason="export_too_large",
            )
        cursor = page["next_cursor"]
        if not cursor:
            break
    return [rights.shown(session, record, reader, purpose) for record in found]


def rows(session: Session, found: list[dict[str, Any]]) -> Iterator[list[str]]:
    """One row per graduation (an alumnus with two has two rows), every cell formula-safe."""
    names = dict(session.execute(select(Department.id, Department.name)).all())
    for record in found:
        person = [
            record["name"],
            GENDER_LABELS.get(record.get("gender") or "", ""),
            record.get("birth_date"),
            record.get("phone"),
            record.get("email"),
            record.get("wechat"),
            record.get("province"),
            record.get("city"),
            record.get("employer"),
            record.get("industry"),
            record.get("title"),
        ]
        for graduation in record["graduations"] or [{}]:
            study = [
                names.get(graduation.get("department_id"), ""),
                graduation.get("major"),
                DEGREE_LABELS.get(graduation.get("degree") or "", graduation.get("degree")),
                graduation.get("class_year"),
                graduation.get("student_number"),
            ]
            yield [excel_safe(_text(cell)) for cell in person + study]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def write(fmt: str, table: Iterator[list[str]]) -> bytes:
    if fmt == "xlsx":
        # Imported here, as the importer does: 0.3 s of CPU at every registry start for a
        # format few exports ask for.
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("校友")
        sheet.append(HEADERS)
        for row in table:
            sheet.append(row)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    writer.writerows(table)
    # With a byte-order mark: Excel opens UTF-8 as such only then.
    return text.getvalue().encode("utf-8-sig")


def export(
    session: Session, params: dict[str, Any], reader: Viewer, purpose: str, max_rows: int
) -> dict[str, Any]:
    fmt = params.get("format") or "csv"
    found = records(session, params, reader, purpose, max_rows)
    return {
        "format": fmt,
        "content_type": CONTENT_TYPES[fmt],
        "filename": f"alumni.{fmt}",
        "count": len(found),
        "data": write(fmt, rows(session, found)),
    }
