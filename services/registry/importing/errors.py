"""A file that cannot be imported at all, and why (`reason`), with the limit where one applies.

Such a file writes nothing: phase 2 reads a whole upload (into its staging rows) before it
applies any of it, so a file found malformed at its last line leaves no trace but the
failed import job.
"""

from __future__ import annotations

from typing import Any

from services.common.errors import ValidationFailed


class ImportRejected(ValidationFailed):
    """The whole file is refused (422); `details["reason"]` says why:

    `empty_file`, `no_data_rows`, `wrong_encoding`, `malformed_file`, `unsupported_format`,
    `no_header`, `missing_columns`, `duplicate_columns`, `unknown_field`, `unknown_column`,
    `unknown_sheet`, `too_many_rows`, `file_too_large`.
    """

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
        **more: Any,
    ) -> None:
        # `details` positional too: an RPC caller rebuilds the error from its args.
        super().__init__(message, {**(details or {}), **more}, reason=reason)


class FileTooLarge(ImportRejected):
    """Over the size limit, compressed or (an .xlsx) uncompressed. A type of its own so
    that the gateway's error table can answer it 413, as it does an oversized body."""


def size_text(size: int) -> str:
    """`52428800` → `50 MB` (binary megabytes, as Windows shows file sizes)."""
    mib = size / (1024 * 1024)
    if mib >= 1:
        return f"{mib:.0f} MB" if mib == int(mib) else f"{mib:.1f} MB"
    return f"{size / 1024:.0f} KB"
