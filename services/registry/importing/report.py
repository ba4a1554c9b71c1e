"""The per-row report of an import, as a CSV the uploader downloads and opens in Excel.

One line per row that had a problem: its row number, the outcome, the problems in Chinese,
then the row's own cells under the file's own headers, so that the office can correct
the rows in Excel and import the report itself again (the three leading columns map to no
field and are ignored).

UTF-8 with a byte-order mark, CRLF line ends: Excel opens it as UTF-8 only with the mark
and would show GBK mojibake otherwise. A cell starting with `=`, `+`, `-` or `@` (or a tab
or CR) is written after a `'`, so that Excel shows it as text and never runs it as a
formula (CSV injection); the importer drops that `'` again (fields.text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO

from services.registry.importing import fields as read
from services.registry.importing.rows import RowResult

REPORT_HEADERS = ("行号", "结果", "问题说明")
FORMULA_STARTS = (*read.FORMULA_STARTS, "\t", "\r")
OUTCOMES = {True: "已导入（有提示）", False: "未导入"}


def excel_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_report(
    results: Iterable[RowResult],
    headers: Sequence[str],
    out: IO[bytes],
    *,
    include_accepted: bool = False,
) -> int:
    """Write the report to a binary stream; returns the number of rows written.

    `include_accepted` adds the rows imported without any problem (outcome 已导入).
    """
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([*REPORT_HEADERS, *(excel_safe(h) for h in headers)])
    written = 0
    for result in results:
        if not (result.errors or result.warnings or include_accepted):
            continue
        outcome = OUTCOMES[result.accepted] if result.errors or result.warnings else "已导入"
        writer.writerow(
            [
                result.row_number,
                outcome,
                result.problems_text(),
                *(excel_safe(cell) for cell in result.cells),
            ]
        )
        written += 1
    text.detach()
    return written
