"""Bulk import of registrar exports (CSV and .xlsx): the part that needs no table.

- `source`: size limit, format by content, encoding (UTF-8 ± BOM, UTF-16, GBK/GB 18030),
  the rows of cells;
- `columns`: the header found and each column mapped to a field, given or guessed from
  Chinese or English headers;
- `fields`: one cell read into one field, or refused with a Chinese reason;
- `rows`: `open_import` and the stream of `RowResult`s with progress counts, the
  `ImportedRecord` in the registry's `AlumnusInput` shape, its idempotency key;
- `report`: the per-row report as a CSV for Excel.

Phase 2 wires it in: a staging table for the parsed rows, the import job with its
progress, the dry run and the real run (docs/stewardship.md).
"""

from services.registry.importing.columns import FIELDS, ColumnMapping
from services.registry.importing.errors import FileTooLarge, ImportRejected
from services.registry.importing.fields import FieldProblem
from services.registry.importing.report import write_report
from services.registry.importing.rows import (
    ImportedGraduation,
    ImportedRecord,
    ImportOptions,
    Progress,
    RegistrarFile,
    RowResult,
    open_import,
)
from services.registry.importing.source import Limits

__all__ = [
    "FIELDS",
    "ColumnMapping",
    "FieldProblem",
    "FileTooLarge",
    "ImportOptions",
    "ImportRejected",
    "ImportedGraduation",
    "ImportedRecord",
    "Limits",
    "Progress",
    "RegistrarFile",
    "RowResult",
    "open_import",
    "write_report",
]
