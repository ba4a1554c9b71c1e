"""Reading an uploaded registrar export: its size, its format, its encoding, its rows of cells.

Formats are told by content, not by the file's name: an .xlsx is a zip archive holding
`xl/workbook.xml`; the old binary .xls (and a password-protected .xlsx, which is the same
kind of container) is refused with the advice to save it as .xlsx or CSV; anything else is
read as CSV (comma, tab or semicolon separated, whichever the header line uses most).

How the encoding of a CSV is decided, without a detection library (chardet and
charset-normalizer guess among dozens of encodings from statistics; a registrar's file is
in one of three, and the three can be told apart exactly):

1. A byte-order mark decides: UTF-8 (Excel's "CSV UTF-8"), UTF-16 (Excel's "Unicode
   text", tab-separated) or GB 18030's own.
2. Otherwise the whole file is decoded as UTF-8, strictly. UTF-8 is self-validating:
   Chinese text in GBK practically never forms valid UTF-8 sequences (every GBK character
   is two bytes, and a UTF-8 Chinese character is a three-byte sequence with fixed bit
   patterns), so a file that decodes is UTF-8. Plain ASCII is UTF-8 too.
3. Otherwise the file is decoded as GB 18030, strictly. GB 18030 is a superset of GBK and
   GB 2312, byte for byte, so one decoder covers what Chinese Windows (code page 936) and
   older systems write, and the four-byte characters of GB 18030 besides. Python's codec
   follows GB 18030-2005; the 18 characters that GB 18030-2022 moved out of the private use
   area (vertical punctuation and eight ideographic components) are mapped to their
   standard code points after decoding (`GB18030_2022`).
4. A GB 18030 decoding can succeed on text that is something else (Big5 text almost always
   decodes, as nonsense). So the Han characters of the first 64 KiB must be mostly in
   GB 2312, the 6,763 everyday characters: in real Chinese text nearly all are, in Big5
   text read as GBK about a third. Names with rare characters do not move the share.
5. Otherwise: `wrong_encoding`, with the line where decoding failed.

Decoding the whole file before reading a row costs one pass at C speed (about 0.1 s for
100,000 rows) and means an encoding error can never surface halfway through an import.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from xml.etree import ElementTree

from services.registry.importing.errors import FileTooLarge, ImportRejected, size_text
from services.registry.pinyin import is_han

MiB = 1024 * 1024
CHUNK_BYTES = MiB
PLAUSIBILITY_SAMPLE_BYTES = 64 * 1024
EMPTY_PROBE_BYTES = 4096
MIN_HAN_FOR_PLAUSIBILITY = 20
MIN_GB2312_SHARE = 0.6
DELIMITERS = (",", "\t", ";")

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
UTF16 = "utf-16"
GB18030 = "gb18030"
ENCODING_NAMES = {UTF8: "UTF-8", UTF8_BOM: "UTF-8", UTF16: "UTF-16", GB18030: "GBK/GB 18030"}

GB18030_2022 = str.maketrans(
    {
        0xE78D: 0xFE10,
        0xE78E: 0xFE12,
        0xE78F: 0xFE11,
        0xE790: 0xFE13,
        0xE791: 0xFE14,
        0xE792: 0xFE15,
        0xE793: 0xFE16,
        0xE794: 0xFE17,
        0xE795: 0xFE18,
        0xE796: 0xFE19,
        0xE81E: 0x9FB4,
        0xE826: 0x9FB5,
        0xE82B: 0x9FB6,
        0xE82C: 0x9FB7,
        0xE832: 0x9FB8,
        0xE843: 0x9FB9,
        0xE854: 0x9FBA,
        0xE864: 0x9FBB,
    }
)
"""GB 18030-2005's private-use code points (what Python's codec gives) for the 18 characters
that GB 18030-2022 maps to standard ones: A6D9–A6DF, A6EC–A6ED, A6F3 (vertical forms) and
FE59, FE61, FE66, FE67, FE6D, FE7E, FE90, FEA0 (CJK components U+9FB4–U+9FBB)."""
_GB18030_2022_PUA = re.compile("[\ue78d-\ue796\ue81e\ue826\ue82b\ue82c\ue832\ue843\ue854\ue864]")

XLSX_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    ValueError,
    TypeError,
    EOFError,
    OSError,
    ElementTree.ParseError,
)
"""What openpyxl raises for a damaged workbook: it validates nothing up front, so a broken
archive or sheet surfaces as whichever error the XML or zip layer meets first."""

Cells = list[Any]


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * MiB
    """The upload as it arrives."""
    max_rows: int = 200_000
    """Rows read, blank ones included: twice the issue's 100,000."""
    max_unpacked_bytes: int = 400 * MiB
    """An .xlsx unpacked: a zip bomb is refused before any XML is parsed."""


@dataclass(frozen=True)
class Source:
    """An upload that passed the checks that need no row: size, format, encoding."""

    stream: IO[bytes]
    format: str
    """`csv` or `xlsx`."""
    size: int
    limits: Limits
    encoding: str | None = None
    """CSV only: the Python codec it is read with."""
    delimiter: str = ","
    sheet: str | None = None
    """The worksheet an .xlsx is read from (the first visible one unless one was named)."""

    @property
    def encoding_name(self) -> str | None:
        return ENCODING_NAMES.get(self.encoding or "")

    def rows(self) -> Iterator[tuple[int, Cells]]:
        """(row number as a spreadsheet shows it, cells), blank rows included."""
        rows = self._csv_rows() if self.format == "csv" else self._xlsx_rows()
        for number, cells in rows:
            if number > self.limits.max_rows:
                raise ImportRejected(
                    f"文件超过 {self.limits.max_rows} 行的上限，请拆分后分批导入。",
                    reason="too_many_rows",
                    limit_rows=self.limits.max_rows,
                )
            yield number, cells

    def _csv_rows(self) -> Iterator[tuple[int, Cells]]:
        reader = csv.reader(
            _lines(self.stream, self.encoding or UTF8), delimiter=self.delimiter, strict=True
        )
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as error:
            raise ImportRejected(
                f"CSV 文件格式有误（第 {reader.line_num} 行附近：{_csv_problem(error)}），"
                "请检查引号是否成对、文件是否完整。",
                reason="malformed_file",
                line=reader.line_num,
            ) from None

    def _xlsx_rows(self) -> Iterator[tuple[int, Cells]]:
        from openpyxl import load_workbook

        self.stream.seek(0)
        try:
            workbook = load_workbook(self.stream, read_only=True, data_only=True)
        except XLSX_ERRORS as error:
            raise _broken_workbook(error) from None
        try:
            sheet = workbook[self.sheet]
            if not hasattr(sheet, "reset_dimensions"):
                raise ImportRejected(
                    f"工作表“{self.sheet}”是图表，不是数据表。", reason="unknown_sheet"
                )
            # Some exporters write a wrong <dimension>; read-only mode would trust it.
            sheet.reset_dimensions()
            yield from enumerate((list(row) for row in sheet.iter_rows(values_only=True)), 1)
        except XLSX_ERRORS as error:
            raise _broken_workbook(error) from None
        finally:
            workbook.close()


def open_source(
    upload: IO[bytes] | bytes, limits: Limits | None = None, sheet: str | None = None
) -> Source:
    """Check an upload (a seekable binary file, or bytes) and tell how to read it.

    Raises `ImportRejected` (reasons `file_too_large`, `empty_file`, `unsupported_format`,
    `wrong_encoding`, `malformed_file`, `unknown_sheet`).
    """
    limits = limits or Limits()
    stream = io.BytesIO(upload) if isinstance(upload, bytes | bytearray) else upload
    size = stream.seek(0, io.SEEK_END)
    if size > limits.max_bytes:
        raise FileTooLarge(
            f"文件大小 {size_text(size)}，超过 {size_text(limits.max_bytes)} 的上限，"
            "请拆分后分批导入。",
            reason="file_too_large",
            limit_bytes=limits.max_bytes,
            size_bytes=size,
        )
    stream.seek(0)
    head = stream.read(EMPTY_PROBE_BYTES)
    if size <= EMPTY_PROBE_BYTES and not head.strip(b" \t\r\n,;\xef\xbb\xbf"):
        raise ImportRejected("文件是空的。", reason="empty_file")
    if head.startswith(b"PK\x03\x04"):
        return Source(stream, "xlsx", size, limits, sheet=_check_workbook(stream, limits, sheet))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRejected(
            "不支持旧版 Excel（.xls）或加密的工作簿，请在 Excel 中“另存为” .xlsx（不设密码）"
            "或“CSV UTF-8”后再导入。",
            reason="unsupported_format",
        )
    if head.startswith((b"%PDF", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        raise ImportRejected("只能导入 CSV 或 Excel（.xlsx）文件。", reason="unsupported_format")
    # Text has no NUL bytes; UTF-16 has one in every other byte of Latin text. (A stray NUL
    # in a row is that row's problem: fields refuse control characters.)
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and head.count(b"\x00") * 10 > len(head):
        raise _wrong_encoding("文件含有大量空字节，可能是不带 BOM 的 UTF-16 文件，或者不是文本文件")
    encoding = detect_encoding(stream)
    return Source(stream, "csv", size, limits, encoding, _delimiter(stream, encoding))


def detect_encoding(stream: IO[bytes]) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its BOM, or GB 18030 (GBK): see the module
    docstring. Raises `ImportRejected` (`wrong_encoding`) for anything else."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = UTF8_BOM
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = UTF16
    elif head == b"\x84\x31\x95\x33":  # GB 18030's own byte-order mark
        encoding = GB18030
    else:
        utf8_failure = _first_failure(stream, UTF8)
        if utf8_failure is None:
            return UTF8
        gb_failure = _first_failure(stream, GB18030)
        if gb_failure is not None:
            # Mostly UTF-8 with a bad byte late in the file is a damaged UTF-8 file; say where.
            line = utf8_failure[1] if utf8_failure[0] > gb_failure[0] else gb_failure[1]
            raise _wrong_encoding(f"第 {line} 行有无法识别的字节", line=line)
        _check_plausibly_chinese(stream)
        return GB18030
    failure = _first_failure(stream, encoding)
    if failure is not None:
        raise _wrong_encoding(
            f"文件开头标明为 {ENCODING_NAMES[encoding]}，但第 {failure[1]} 行无法按它解码",
            line=failure[1],
        )
    return encoding


def _wrong_encoding(what: str, **details: Any) -> ImportRejected:
    return ImportRejected(
        f"无法识别文件编码：{what}。请用 Excel“另存为”“CSV UTF-8（逗号分隔）”，"
        "或保存为 GBK 编码的 CSV 后再导入。",
        reason="wrong_encoding",
        supported=["UTF-8", "GBK", "GB 18030"],
        **details,
    )


def _first_failure(stream: IO[bytes], encoding: str) -> tuple[int, int] | None:
    """(byte offset, line number) where strict decoding fails, or None if it does not."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    lines = 1
    while chunk := stream.read(CHUNK_BYTES):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            at = max(0, error.start - pending)
            return offset + at, lines + chunk[:at].count(b"\n")
        offset += len(chunk)
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset, lines
    return None


def _check_plausibly_chinese(stream: IO[bytes]) -> None:
    stream.seek(0)
    sample = stream.read(PLAUSIBILITY_SAMPLE_BYTES).decode(GB18030, errors="ignore")
    han = [c for c in sample if is_han(c)]
    if len(han) < MIN_HAN_FOR_PLAUSIBILITY:
        return
    common = sum(1 for c in han if _in_gb2312(c))
    if common / len(han) < MIN_GB2312_SHARE:
        raise _wrong_encoding("文件看起来不是 GBK 编码（可能是 Big5 繁体或其他编码）")


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """The decoded text, line by line with its ending, as `csv.reader` wants it.

    A file whose lines end in a bare CR (old Mac Excel) is split on CR.
    """
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    remap = encoding == GB18030
    separator: str | None = None
    rest = ""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        text = decoder.decode(chunk, final=not chunk)
        if remap and _GB18030_2022_PUA.search(text):
            text = text.translate(GB18030_2022)
        text = rest + text
        if separator is None and (text or not chunk):
            # Python's GB 18030 codec keeps that encoding's byte-order mark as U+FEFF.
            text = text.removeprefix("\ufeff")
            separator = "\r" if "\n" not in text and "\r" in text else "\n"
        if not chunk:
            if text:
                yield text
            return
        *lines, rest = text.split(separator)
        for line in lines:
            yield line + separator


def _delimiter(stream: IO[bytes], encoding: str) -> str:
    """The separator the header line uses most (outside quotes); a comma when in doubt."""
    first = next(_lines(stream, encoding), "")
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _check_workbook(stream: IO[bytes], limits: Limits, sheet: str | None) -> str:
    """The sheet to read, after checking that the archive is a workbook and no zip bomb.

    Reads only the archive's directory and `xl/workbook.xml`, so that a bad upload is
    refused at once, before openpyxl loads the shared strings of a large workbook.
    """
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            members = {m.filename: m for m in archive.infolist()}
            if WORKBOOK_PART not in members:
                raise ImportRejected(
                    "压缩文件不是 Excel 工作簿：只能导入 CSV 或 Excel（.xlsx）文件。",
                    reason="unsupported_format",
                )
            unpacked = sum(m.file_size for m in members.values())
            if unpacked > limits.max_unpacked_bytes:
                raise FileTooLarge(
                    f"工作簿解压后 {size_text(unpacked)}，"
                    f"超过 {size_text(limits.max_unpacked_bytes)} 的上限，请拆分后分批导入。",
                    reason="file_too_large",
                    limit_unpacked_bytes=limits.max_unpacked_bytes,
                )
            sheets = _sheets(archive.read(WORKBOOK_PART))
    except XLSX_ERRORS as error:
        raise _broken_workbook(error) from None
    names = [name for name, _ in sheets]
    if sheet is not None and sheet not in names:
        raise ImportRejected(
            f"工作簿中没有名为“{sheet}”的工作表（有：{'、'.join(names)}）。",
            reason="unknown_sheet",
            sheets=names,
        )
    visible = [name for name, state in sheets if state == "visible"]
    if sheet is None and not visible:
        raise ImportRejected("工作簿中没有可见的工作表。", reason="empty_file")
    return sheet or visible[0]


WORKBOOK_PART = "xl/workbook.xml"


def _sheets(workbook_xml: bytes) -> list[tuple[str, str]]:
    """(name, state) of each sheet in workbook order, whatever the OOXML namespace."""
    root = ElementTree.fromstring(workbook_xml)
    return [
        (element.get("name", ""), element.get("state", "visible"))
        for element in root.iter()
        if element.tag.rpartition("}")[2] == "sheet"
    ]


def _broken_workbook(error: BaseException) -> ImportRejected:
    return ImportRejected(
        "Excel 文件已损坏或不完整，无法读取，请重新导出后再试。",
        reason="malformed_file",
        detail=type(error).__name__,
    )


def _csv_problem(error: csv.Error) -> str:
    text = str(error)
    if "NUL" in text:
        return "含有空字符，可能不是文本文件"
    if "field larger" in text:
        return "单元格过长，可能是引号不成对"
    if "end of data" in text or "EOF" in text:
        return "文件在引号内结束，可能不完整"
    if "new-line character" in text:
        return "单元格内有换行却没有加引号"
    return "引号使用不正确"
