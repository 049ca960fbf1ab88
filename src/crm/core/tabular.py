"""Reading uploaded spreadsheets row by row: CSV (UTF-8 with or without BOM, else Latin-1;
comma, semicolon or tab) and XLSX (openpyxl read-only mode). Rows are produced one at a
time, so memory stays flat whatever the file's length.

Headers are matched regardless of case, spacing, underscores and dashes
(``"First Name"``, ``"first_name"`` and ``" FIRST-NAME "`` are all ``first_name``).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook

CHUNK = 64 * 1024
_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_header(header: Any) -> str:
    return _SEPARATORS.sub("_", str(header or "").strip().lower()).strip("_")


class UnreadableTable(ValueError):
    """The file is neither a CSV we can read nor an XLSX workbook."""


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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(handle, dialect)
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


def _open_xlsx(path: Path) -> Table:
    # A file object, not the path: openpyxl would judge a path by its extension.
    handle = path.open("rb")
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        handle.close()
        raise UnreadableTable(f"Not a valid XLSX file: {exc}") from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        workbook.close()
        handle.close()
        return Table(headers=[], rows=iter(()))
    raw_rows = sheet.iter_rows(values_only=True)
    first = next(raw_rows, None)
    headers = [normalize_header(h) for h in first] if first else []
    return Table(
        headers=headers, rows=_records(headers, raw_rows), _closers=[workbook.close, handle.close]
    )


def open_table(path: Path) -> Table:
    """Open a CSV or XLSX file (decided by its bytes, not its name)."""
    return _open_xlsx(path) if is_xlsx(path) else _open_csv(path)
