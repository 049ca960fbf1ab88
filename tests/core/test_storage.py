"""File storage and upload helpers: local storage with its streaming size limit, safe file
names, content types sniffed from bytes, and the download header."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.app import create_app
from crm.core.errors import PayloadTooLarge, ValidationFailed
from crm.core.ratelimit import MemoryCounter
from crm.core.storage import LocalStorage, StoredFileMissing, peek
from crm.core.uploads import (
    MAX_FILENAME_LENGTH,
    SNIFF_BYTES,
    content_disposition,
    sanitize_filename,
    sniff_content_type,
)

KEY = re.compile(r"^[0-9]{4}/[0-9]{2}/[0-9a-f]{32}$")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.is_file())


async def _read(storage: LocalStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in await storage.open(key)])


# -- LocalStorage ---------------------------------------------------------------------------


async def test_save_open_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "attachments")
    content = b"x" * 200_000 + b"end"
    stored = await storage.save(_chunks(content[:70_000], content[70_000:]), max_bytes=10**6)
    assert KEY.match(stored.key)
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert _files(tmp_path) == [tmp_path / "attachments" / stored.key]
    assert await _read(storage, stored.key) == content
    await storage.delete(stored.key)
    assert _files(tmp_path) == []
    await storage.delete(stored.key)  # already gone: not an error
    with pytest.raises(StoredFileMissing):
        await storage.open(stored.key)


async def test_every_save_gets_a_new_key(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    keys = {(await storage.save(_chunks(b"same"), max_bytes=10)).key for _ in range(5)}
    assert len(keys) == 5


@pytest.mark.parametrize("limit", [0, 5, 9])
async def test_save_stops_at_the_limit_and_leaves_nothing(tmp_path: Path, limit: int) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(PayloadTooLarge) as raised:
        await storage.save(_chunks(b"12345", b"67890"), max_bytes=limit)
    assert raised.value.status_code == 413
    assert _files(tmp_path) == []


async def test_save_of_exactly_the_limit(tmp_path: Path) -> None:
    stored = await LocalStorage(tmp_path).save(_chunks(b"12345", b"67890"), max_bytes=10)
    assert stored.size == 10


async def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await LocalStorage(tmp_path).save(broken(), max_bytes=100)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "key", ["../secret", "2026/01/../../etc/passwd", "/etc/passwd", "2026/01/ABC", "", "a/b/c"]
)
async def test_keys_never_name_other_paths(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "attachments")
    (tmp_path / "secret").write_bytes(b"do not serve")
    with pytest.raises(StoredFileMissing):
        await storage.open(key)
    with pytest.raises(StoredFileMissing):
        await storage.delete(key)
    assert (tmp_path / "secret").exists()


async def test_peek_replays_every_byte() -> None:
    head, rest = await peek(_chunks(b"abc", b"defg", b"hij"), 5)
    assert head == b"abcde"
    assert b"".join([c async for c in rest]) == b"abcdefghij"
    head, rest = await peek(_chunks(b"ab"), 5)
    assert head == b"ab"
    assert b"".join([c async for c in rest]) == b"ab"
    head, rest = await peek(_chunks(), 5)
    assert head == b""
    assert [c async for c in rest] == []


def test_app_storage_defaults_to_the_data_dir(settings, test_database) -> None:
    app = create_app(settings, database=test_database, counter=MemoryCounter())
    assert isinstance(app.state.storage, LocalStorage)
    assert app.state.storage.base_dir == settings.data_dir / "attachments"
    mine = LocalStorage(Path("/nowhere"))
    app = create_app(settings, database=test_database, counter=MemoryCounter(), storage=mine)
    assert app.state.storage is mine


# -- file names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        (".bashrc", "bashrc"),
        ("...hidden.txt", "hidden.txt"),
        ("...", "file"),
        ("", "file"),
        ("   ", "file"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),  # right-to-left override removed
        ("trailing dots...", "trailing dots"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("Résumé.pdf", "Résumé.pdf"),
        ("Re\u0301sume\u0301.pdf", "Résumé.pdf"),  # NFC
        ("日本語のファイル.xlsx", "日本語のファイル.xlsx"),
        ("a..b.txt", "a..b.txt"),
        ("Re: offer.txt", "Re: offer.txt"),  # a colon after more than one letter: no drive
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\x",
        "/etc/shadow",
        "C:\\Windows\\system32\\cmd.exe",
        "C:x",
        "dir/",
        "..",
        ".",
        " .. ",
        "nul\x00byte.txt",
        "line\r\nbreak.txt",
        "tab\there.txt",
        "bell\x07.txt",
        "del\x7f.txt",
        "c1\x85.txt",
    ],
)
def test_path_like_filenames_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sanitize_filename(name, "attachment")
    assert refused.value.code == "invalid_filename"
    assert refused.value.field_errors is not None
    assert list(refused.value.field_errors) == ["attachment"]


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("a" * 400 + ".docx")
    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith("a.docx")
    no_extension = sanitize_filename("b" * 400)
    assert no_extension == "b" * MAX_FILENAME_LENGTH
    odd_extension = sanitize_filename("c" * 300 + "." + "d" * 100)
    assert len(odd_extension) == MAX_FILENAME_LENGTH


# -- content types --------------------------------------------------------------------------


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, f"<xml>{name}</xml>" * 50)
    return buffer.getvalue()


OOXML = "application/vnd.openxmlformats-officedocument"


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "x.bin", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.txt", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a.png", "image/jpeg"),
        (b"GIF89a\x01\x00", "a", "image/gif"),
        (b"GIF87a\x01\x00", "a", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "a", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "a", "application/octet-stream"),
        (_zip("a.txt", "b.txt"), "a.docx", "application/zip"),
        (
            _zip("[Content_Types].xml", "_rels/.rels", "word/document.xml"),
            "a.zip",
            f"{OOXML}.wordprocessingml.document",
        ),
        (
            _zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"),
            "a",
            f"{OOXML}.spreadsheetml.sheet",
        ),
        (
            _zip("[Content_Types].xml", "_rels/.rels", "ppt/presentation.xml"),
            "a",
            f"{OOXML}.presentationml.presentation",
        ),
        (_zip("word/document.xml"), "a.docx", "application/zip"),  # no [Content_Types].xml
        (b"\x1f\x8b\x08\x00\x00\x00", "a.csv", "application/gzip"),
        (b"hello\nworld\r\n\ttabbed", "notes", "text/plain"),
        ("Grüße, 日本\n".encode(), "notes.txt", "text/plain"),
        (b"\xef\xbb\xbfwith a BOM", "bom.txt", "text/plain"),
        (b"a,b\n1,2\n", "table.CSV", "text/csv"),
        (b"<html><script>x</script></html>", "page.html", "text/plain"),
        (b"<svg onload=alert(1)/>", "image.svg", "text/plain"),
        (b"a,b\x00\n", "table.csv", "application/octet-stream"),
        (b"\xff\xfe\x00\x00", "a.txt", "application/octet-stream"),
        (b"MZ\x90\x00", "setup.exe", "application/octet-stream"),
        (b"", "empty.txt", "application/octet-stream"),
    ],
)
def test_sniff_content_type(content: bytes, filename: str, expected: str) -> None:
    assert sniff_content_type(content, filename) == expected


def test_text_cut_inside_a_character_is_still_text() -> None:
    head = ("a" + "é" * SNIFF_BYTES).encode()[:SNIFF_BYTES]
    assert head.endswith(b"\xc3")  # the sniffed head of a longer file ends mid-character
    assert sniff_content_type(head, "long.txt") == "text/plain"
    # A whole file that ends mid-character is not UTF-8.
    assert sniff_content_type(b"short \xc3", "short.txt") == "application/octet-stream"


# -- the download header --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            'say "hi"\\.txt',
            "attachment; filename=\"say _hi__.txt\"; filename*=UTF-8''say%20%22hi%22%5C.txt",
        ),
        ("100%.txt", "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt"),
        (
            "Résumé.pdf",
            "attachment; filename=\"R_sum_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf",
        ),
        ("a;b,c.txt", "attachment; filename=\"a;b,c.txt\"; filename*=UTF-8''a%3Bb%2Cc.txt"),
    ],
)
def test_content_disposition(name: str, header: str) -> None:
    assert content_disposition(name) == header
