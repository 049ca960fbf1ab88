"""Uploads: reading a request body under a byte cap, and what the server believes about an
uploaded file (a safe display name, a content type decided from the file's own bytes, and
the header that hands it back as a download).

The client's ``Content-Type`` and path are never trusted: a name that holds a path
(``../../etc/passwd``) is refused, and the type comes from magic bytes, so an HTML page
uploaded as ``image/png`` is served as text.
"""

from __future__ import annotations

import codecs
import json
import re
import struct
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any
from urllib.parse import quote

from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import StreamingResponse

from crm.core.errors import PayloadTooLarge, ValidationFailed
from crm.core.storage import CHUNK_BYTES, Download

MAX_FILENAME_LENGTH = 255
# Enough for every magic number below and for the first few entries of an OOXML zip.
SNIFF_BYTES = 64 * 1024
_MAX_EXTENSION_LENGTH = 16

OCTET_STREAM = "application/octet-stream"
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")


_DRIVE = re.compile(r"^[A-Za-z]:")


def invalid_filename(field: str) -> ValidationFailed:
    return ValidationFailed.on(
        field,
        "The file name must be a plain name: no folders (/ or \\), drive letters, control "
        'characters, or "." / ".." alone',
        code="invalid_filename",
    )


def sanitize_filename(name: str, field: str = "file") -> str:
    """The name an uploaded file is kept and served under.

    Refused (400 ``invalid_filename`` on ``field``) when it tries to name a place rather than
    a file: a path separator (``../../x``, ``..\\x``, ``/etc/passwd``), a drive
    (``C:x``), a control character (NUL, line breaks, tabs), or ``.``/``..`` alone. Otherwise
    NFC-normalised, invisible format characters (such as the right-to-left override that
    makes "gpj.exe" read as "exe.jpg") and leading dots removed, ``file`` when nothing is
    left, and at most 255 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name)
    if (
        "/" in name
        or "\\" in name
        or _DRIVE.match(name)
        or name.strip() in (".", "..")
        or any(unicodedata.category(ch) == "Cc" for ch in name)
    ):
        raise invalid_filename(field)
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = name.strip().lstrip(".").strip().rstrip(". ")
    if not name:
        return "file"
    if len(name) <= MAX_FILENAME_LENGTH:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= _MAX_EXTENSION_LENGTH:
        return stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
    return name[:MAX_FILENAME_LENGTH]


def sniff_content_type(first_bytes: bytes, filename: str) -> str:
    """The content type the bytes say they are; ``filename`` only tells CSV from plain text."""
    head = first_bytes
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _zip_flavour(head)
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head and _is_text(head, complete=len(head) < SNIFF_BYTES):
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    return OCTET_STREAM


_OOXML = (
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


def _zip_entry_names(head: bytes) -> list[str]:
    """Names of the zip's local file headers that lie wholly inside ``head``."""
    names: list[str] = []
    offset = 0
    while head.startswith(b"PK\x03\x04", offset) and offset + 30 <= len(head):
        flags, compressed, name_length, extra_length = struct.unpack_from(
            "<2xH10xI4xHH", head, offset + 4
        )
        start = offset + 30
        if start + name_length > len(head):
            break
        names.append(head[start : start + name_length].decode("utf-8", "replace"))
        if flags & 0x08:
            break  # sizes follow the data (streamed zip): the next header cannot be found
        offset = start + name_length + extra_length + compressed
    return names


def _zip_flavour(head: bytes) -> str:
    names = _zip_entry_names(head)
    if "[Content_Types].xml" in names:
        for prefix, content_type in _OOXML:
            if any(name.startswith(prefix) for name in names):
                return content_type
    return "application/zip"


def _is_text(head: bytes, *, complete: bool) -> bool:
    """UTF-8 without control characters (tabs and line breaks aside). When ``head`` is cut
    from a longer file, a multi-byte character split at its end does not count against it."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    text = text.removeprefix("\ufeff")
    return not any(
        unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS_ALLOWED for ch in text
    )


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<the real name>`` (RFC 6266)."""
    fallback = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%' else "_" for ch in filename
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- request bodies under a cap ------------------------------------------------------------


def body_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {max_bytes} bytes")


def _refuse_declared_length(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise body_too_large(max_bytes)


async def _capped(request: Request, max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The body, failing at the first byte past ``max_bytes`` (also when no length was sent)."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise body_too_large(max_bytes)
        yield chunk


# python-multipart cuts a file name with a Windows drive or share ("C:\\dir\\x") down to
# its last part, an old Internet Explorer workaround; the raw header still shows it.
_WINDOWS_PATH = re.compile(rb'filename="((?:[A-Za-z]:|\\\\)[^"]*)"', re.IGNORECASE)


class _MultiPartParser(MultiPartParser):
    """Starlette's parser, except that a file name with a drive or share reaches
    :func:`sanitize_filename` whole, to be refused like any other path."""

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        found = _WINDOWS_PATH.search(part.content_disposition or b"")
        if part.file is not None and found:
            part.file.filename = found.group(1).decode("utf-8", "replace")


def form_content_type(request: Request) -> str | None:
    """``multipart/form-data`` or ``application/x-www-form-urlencoded``, else None."""
    content_type, _ = parse_options_header(request.headers.get("content-type"))
    if content_type in (b"multipart/form-data", b"application/x-www-form-urlencoded"):
        return content_type.decode()
    return None


async def read_form(
    request: Request,
    *,
    max_bytes: int,
    max_files: int,
    max_fields: int = 50,
    max_field_bytes: int = 64 * 1024,
) -> FormData:
    """A multipart or urlencoded body; files are spooled to temporary files. The caller
    closes the returned form. 413 past ``max_bytes``; 400 for malformed or excessive parts."""
    _refuse_declared_length(request, max_bytes)
    stream = _capped(request, max_bytes)
    try:
        if form_content_type(request) == "multipart/form-data":
            return await _MultiPartParser(
                request.headers,
                stream,
                max_files=max_files,
                max_fields=max_fields,
                max_part_size=max_field_bytes,
            ).parse()
        return await FormParser(
            request.headers, stream, max_fields=max_fields, max_part_size=max_field_bytes
        ).parse()
    except (MultiPartException, ValueError) as exc:
        message = getattr(exc, "message", None) or "Malformed form body"
        raise ValidationFailed(message, code="malformed_form") from exc


async def read_json(request: Request, *, max_bytes: int) -> Any:
    """A JSON body (an empty body is ``{}``); 413 past ``max_bytes``, 400 when malformed."""
    _refuse_declared_length(request, max_bytes)
    body = b"".join([chunk async for chunk in _capped(request, max_bytes)])
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValidationFailed("Malformed JSON body", code="malformed_json") from exc


async def upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    """A spooled upload's bytes, a chunk at a time (for ``Storage.save``)."""
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


def file_response(download: Download) -> StreamingResponse:
    """A stored file as a download: its sniffed type, never rendered by the browser as a
    page of this origin (nosniff, a sandboxing CSP), and not kept in shared caches."""
    return StreamingResponse(
        download.chunks,
        media_type=download.content_type,
        headers={
            "Content-Disposition": content_disposition(download.file_name),
            "Content-Length": str(download.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
        },
    )
