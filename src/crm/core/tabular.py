"""Reading uploaded spreadsheets row by row: CSV (UTF-8 with or without BOM, else Latin-1;
comma, semicolon or tab) and XLSX (openpyxl read-only mode). Rows are produced one at a
time, so memory stays flat whatever the file's length.

Headers are matched regardless of case, spacing, underscores and dashes
(``"First Name"``, ``"first_name"`` and ``" FIRST-NAME "`` are all ``first_name``).

An XLSX file is a zip of XML parts, so it is checked before openpyxl reads it
(:func:`inspect_xlsx`): the central directory must not list too many parts, declare more
inflated bytes than :class:`XlsxLimits` allows, or a part compressed more than any real
spreadsheet is (a zip bomb: :class:`SpreadsheetTooLarge`); and no XML part may carry a
document type declaration (OOXML never needs one; it is what entity bombs and external
entities need: :class:`ForbiddenXml`). While openpyxl reads, every byte it inflates is
counted against the same budget, so a central directory that lies about sizes gains
nothing.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader

CHUNK = 64 * 1024
_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_header(header: Any) -> str:
    return _SEPARATORS.sub("_", str(header or "").strip().lower()).strip("_")


class UnreadableTable(ValueError):
    """The file is neither a CSV we can read nor an XLSX workbook."""


class SpreadsheetTooLarge(UnreadableTable):
    """An XLSX file that would inflate past :class:`XlsxLimits` (a zip bomb, or just huge)."""


class ForbiddenXml(UnreadableTable):
    """An XLSX part with a document type declaration (entity bombs, external entities)."""


# A part this small may compress oddly without being a bomb; the ratio is judged above it.
_RATIO_FLOOR = 1024 * 1024


@dataclass(frozen=True, slots=True)
class XlsxLimits:
    """How far an XLSX upload may inflate. ``max_inflated_bytes`` bounds all parts together
    (declared, and actually inflated while reading); the shared-strings part, which openpyxl
    keeps in memory whole, gets a quarter of it. Real workbooks compress their XML 5 to 30
    times; a run of zeros compresses about 1000 times."""

    max_inflated_bytes: int = 256 * 1024 * 1024
    max_parts: int = 10_000
    max_ratio: int = 200

    @property
    def max_shared_strings_bytes(self) -> int:
        return self.max_inflated_bytes // 4


class _InflateBudget:
    """Bytes inflated so far from one archive; refuses the file past the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.limit:
            raise SpreadsheetTooLarge(
                f"The XLSX file inflates to more than {self.limit} bytes; the limit is {self.limit}"
            )


class _MeteredPart:
    """A part being read from the archive, every inflated byte counted against the budget."""

    def __init__(self, raw: IO[bytes], budget: _InflateBudget) -> None:
        self._raw = raw
        self._budget = budget

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        data = self._raw.read(size)
        self._budget.spend(len(data))
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _MeteredPart:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _MeteredZip(zipfile.ZipFile):
    """A read-only archive whose parts count what they inflate (``read`` goes through
    ``open``, so both are metered)."""

    def __init__(self, file: IO[bytes], budget: _InflateBudget) -> None:
        super().__init__(file, "r")
        self.budget = budget

    def open(
        self, name: str | zipfile.ZipInfo, mode: str = "r", pwd: bytes | None = None, **kw: Any
    ) -> Any:
        return _MeteredPart(super().open(name, "r", pwd, **kw), self.budget)


class _RootReached(Exception):
    """The prolog of an XML part is over: nothing after it can declare entities."""


def _content_start(stream: IO[bytes] | _MeteredPart) -> bytes:
    """The part's first chunk that holds more than whitespace, from its first other byte on
    (a UTF-16 byte order mark kept, with the chunk whole). Whitespace may precede a DOCTYPE
    when there is no XML declaration, so however much of it there is, it is read past."""
    while chunk := stream.read(CHUNK):
        if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return chunk
        if content := chunk.removeprefix(codecs.BOM_UTF8).lstrip():
            return content
    return b""


def _check_prolog(part: _Prepended, name: str) -> None:
    """Parse ``part`` up to its root element; refuse a DOCTYPE (and so any entity)."""

    def doctype(*_args: Any) -> None:
        raise ForbiddenXml(
            f"The XLSX part {name} declares a document type; spreadsheets never need one "
            "(it is how XML entity bombs and external entities work), so the file is refused"
        )

    def root(*_args: Any) -> None:
        raise _RootReached

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := part.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except expat.ExpatError as exc:
        raise UnreadableTable(f"Not a valid XLSX file: {name} is not well-formed XML") from exc


def inspect_xlsx(archive: zipfile.ZipFile, limits: XlsxLimits) -> None:
    """Refuse a zip bomb from its central directory, and any XML part with a DOCTYPE
    (reading only each part's prolog, metered when ``archive`` is)."""
    parts = archive.infolist()
    if len(parts) > limits.max_parts:
        raise SpreadsheetTooLarge(
            f"The XLSX file has {len(parts)} parts; the limit is {limits.max_parts}"
        )
    declared = sum(part.file_size for part in parts)
    if declared > limits.max_inflated_bytes:
        raise SpreadsheetTooLarge(
            f"The XLSX file inflates to {declared} bytes; the limit is {limits.max_inflated_bytes}"
        )
    for part in parts:
        if part.file_size > _RATIO_FLOOR and part.file_size > limits.max_ratio * max(
            part.compress_size, 1
        ):
            raise SpreadsheetTooLarge(
                f"The XLSX part {part.filename} is compressed "
                f"{part.file_size // max(part.compress_size, 1)} times; "
                f"no spreadsheet is compressed more than {limits.max_ratio} times"
            )
        if (
            part.filename.lower().endswith("sharedstrings.xml")
            and part.file_size > limits.max_shared_strings_bytes
        ):
            raise SpreadsheetTooLarge(
                f"The XLSX shared strings inflate to {part.file_size} bytes; "
                f"the limit is {limits.max_shared_strings_bytes}"
            )
    for part in parts:
        if part.is_dir():
            continue
        with archive.open(part) as stream:
            head = _content_start(stream)
            if head.startswith((b"<", codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                _check_prolog(_Prepended(head, stream), part.filename)


class _Prepended:
    """``head`` already read from ``rest``, read again first."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._rest.read(size)


def detect_encoding(path: Path) -> str:
    """utf-8-sig when a BOM says so, utf-8 when every byte decodes, else latin-1."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


@dataclass
class Table:
    """Header names (normalised) and an iterator of ``(row_number, {header: text})`` where
    row_number counts data rows from 1 (the header row is not counted); blank rows are
    skipped but keep their number."""

    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for closer in self._closers:
            closer()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# Text starting with one of these is run as a formula by spreadsheet programs (OWASP "CSV
# injection"): every CSV/XLSX the server writes prefixes such a cell with an apostrophe.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it but never runs it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def restore_cell(text: str) -> str:
    """The inverse of :func:`neutralise_cell`, so an export re-imports unchanged."""
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return restore_cell(str(value).strip()).strip()


def _records(headers: list[str], raw_rows: Iterator[Any]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, raw in enumerate(raw_rows, start=1):
        values = [_cell(v) for v in raw]
        if not any(values):
            continue
        yield number, {h: values[i] if i < len(values) else "" for i, h in enumerate(headers) if h}


def _open_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    handle: IO[str] = path.open("r", encoding=encoding, newline="")
    try:
        sample = handle.read(CHUNK)
        handle.seek(0)
        # Only the delimiter is sniffed: the quote is always '"'. A sniffer that took the
        # apostrophe an export puts before "=..." for a quote character would mangle the file.
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        reader = csv.reader(handle, csv.excel, delimiter=delimiter)
        try:
            headers = [normalize_header(h) for h in next(reader)]
        except StopIteration:
            headers = []
        except csv.Error as exc:
            raise UnreadableTable(f"Not a valid CSV file: {exc}") from exc
    except BaseException:
        handle.close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            yield from _records(headers, reader)
        except csv.Error as exc:
            raise UnreadableTable(f"Not a valid CSV file: {exc}") from exc

    return Table(headers=headers, rows=rows(), _closers=[handle.close])


def _unreadable(exc: BaseException) -> UnreadableTable:
    """Our own refusal, also when openpyxl wrapped it in an error of its own; else a
    generic one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UnreadableTable):
            return cause
        cause = cause.__cause__ or cause.__context__
    return UnreadableTable(f"Not a valid XLSX file: {exc}")


def _guarded(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a sheet; whatever openpyxl or the zip raises while reading is unreadable."""
    try:
        yield from rows
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise _unreadable(exc) from exc


def _open_xlsx(path: Path, limits: XlsxLimits) -> Table:
    # A file object, not the path: openpyxl would judge a path by its extension.
    handle = path.open("rb")
    archive: _MeteredZip | None = None
    try:
        archive = _MeteredZip(handle, _InflateBudget(limits.max_inflated_bytes))
        inspect_xlsx(archive, limits)
        # openpyxl's reading gets a budget of its own (the prologs were read already).
        archive.budget = _InflateBudget(limits.max_inflated_bytes)
        # load_workbook (openpyxl 3.1), with the metered archive in place of the one
        # openpyxl opened; read-only worksheets keep reading through it as rows are asked.
        reader = ExcelReader(handle, read_only=True, data_only=True)
        reader.archive.close()
        reader.archive, reader.valid_files = archive, archive.namelist()
        reader.read()
        workbook = reader.wb
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        raw_rows = sheet.iter_rows(values_only=True) if sheet is not None else iter(())
        first = next(raw_rows, None)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        if archive is not None:
            archive.close()
        handle.close()
        raise _unreadable(exc) from exc
    headers = [normalize_header(h) for h in first] if first else []
    return Table(
        headers=headers,
        rows=_guarded(_records(headers, raw_rows)),
        _closers=[archive.close, handle.close],
    )


def open_table(path: Path, limits: XlsxLimits | None = None) -> Table:
    """Open a CSV or XLSX file (decided by its bytes, not its name)."""
    if is_xlsx(path):
        return _open_xlsx(path, limits or XlsxLimits())
    return _open_csv(path)
