"""Writing exports: CSV or XLSX files of records, safe to open in a spreadsheet program.

- Every text cell that a spreadsheet would run as a formula (it begins with ``= + - @``,
  a tab or a carriage return) gets a leading apostrophe (OWASP "CSV injection"); the
  importer takes it off again (:func:`crm.core.tabular.restore_cell`). XLSX text cells are
  always written as strings, never as formulas, whatever they hold.
- Rows arrive in chunks and are written to a spooled temporary file (memory up to 1 MiB,
  then disk), so memory stays flat whatever the export's length; the finished file is
  then streamed out. Building it before answering also means a failure is still a proper
  error response, not a truncated download.
- CSV is UTF-8 with a byte order mark (so Excel reads it as UTF-8), comma-separated,
  quoted with ``"`` where needed; XLSX is one sheet written by openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any, Literal

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.responses import StreamingResponse

from crm.core.clock import utcnow
from crm.core.errors import ValidationFailed
from crm.core.storage import CHUNK_BYTES
from crm.core.tabular import neutralise_cell
from crm.core.uploads import content_disposition

ExportFormat = Literal["csv", "xlsx"]
Cell = str | int | Decimal | date | datetime | bool | uuid.UUID | None
Row = Sequence[Cell]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CHUNK_ROWS = 1000
_SPOOL_BYTES = 1024 * 1024

# The 200 answer of an export route, for the OpenAPI document.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment (CSV by default, or `?format=xlsx`)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def ensure_exportable(total: int, max_rows: int) -> None:
    """Refuse an export of more rows than ``CRM_MAX_EXPORT_ROWS`` (400 ``export_too_large``)
    rather than hand out a silently cut file."""
    if total > max_rows:
        raise ValidationFailed(
            f"{total} records match; an export holds at most {max_rows}. Narrow the filters.",
            code="export_too_large",
        )


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise_cell(value)
    return str(value)  # numbers, dates and ids never begin with a formula character


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Cell) -> Cell | Any:
    if isinstance(value, datetime):
        # Excel has no time zones: times are written in UTC.
        value = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, uuid.UUID):
        value = str(value)
    if isinstance(value, str):
        # Characters XML cannot carry (most C0 controls) are dropped; openpyxl would raise.
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", neutralise_cell(value)))
        cell.data_type = "s"  # a string, never a formula, whatever it begins with
        return cell
    return value  # numbers, dates, times and booleans: openpyxl types them itself


class _CsvFile:
    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
        self.writer = csv.writer(self.text)

    def write(self, rows: Sequence[Row]) -> None:
        self.writer.writerows([[_csv_text(v) for v in row] for row in rows])

    def finish(self) -> None:
        self.text.flush()
        self.text.detach()


class _XlsxFile:
    def __init__(self, target: IO[bytes], sheet_title: str) -> None:
        self.target = target
        self.workbook = Workbook(write_only=True)
        self.sheet: WriteOnlyWorksheet = self.workbook.create_sheet(sheet_title)

    def write(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self.sheet.append([_xlsx_cell(self.sheet, v) for v in row])

    def finish(self) -> None:
        self.workbook.save(self.target)


async def write_export(
    export_format: ExportFormat,
    title: str,
    headers: Sequence[str],
    chunks: AsyncIterator[Sequence[Row]],
) -> IO[bytes]:
    """The whole export in a spooled temporary file, rewound; the caller closes it."""
    target: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    try:
        writer = _CsvFile(target) if export_format == "csv" else _XlsxFile(target, title)
        await anyio.to_thread.run_sync(writer.write, [list(headers)])
        async for rows in chunks:
            await anyio.to_thread.run_sync(writer.write, rows)
        await anyio.to_thread.run_sync(writer.finish)
        target.seek(0)
    except BaseException:
        target.close()
        raise
    return target


async def _file_chunks(source: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(source.read, CHUNK_BYTES):
            yield chunk
    finally:
        source.close()


def export_response(source: IO[bytes], export_format: ExportFormat, kind: str) -> StreamingResponse:
    """Stream a written export as ``<kind>-<YYYY-MM-DD>.<format>`` (the date in UTC)."""
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    media_type = CSV_MEDIA_TYPE if export_format == "csv" else XLSX_MEDIA_TYPE
    return StreamingResponse(
        _file_chunks(source),
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(
                f"{kind}-{utcnow():%Y-%m-%d}.{export_format}"
            ),
            "Content-Length": str(size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
