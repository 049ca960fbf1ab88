"""Where uploaded files live: the ``Storage`` protocol and the local-disk implementation.

A stored file is named by a random key (``YYYY/MM/<uuid hex>``) that the server makes up;
the user's file name is only ever a column in the database, so no upload can choose where
it lands on disk. Size limits are enforced while the bytes stream in: the file stops being
written at the first byte over the limit and the partial file is removed.

File IO runs in worker threads (``anyio``), never on the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from crm.core.clock import utcnow
from crm.core.errors import NotFound, PayloadTooLarge

logger = logging.getLogger("crm.storage")

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^[0-9]{4}/[0-9]{2}/[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Download:
    """A stored file on its way out: the name and type to announce, its size and bytes."""

    file_name: str
    content_type: str
    size: int
    chunks: AsyncIterable[bytes]


class StoredFileMissing(NotFound):
    """A database row names a file the storage no longer has."""

    code = "stored_file_missing"
    default_message = "The file of this attachment is no longer available"


class Storage(Protocol):
    async def save(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredFile:
        """Store the bytes under a new key; ``PayloadTooLarge`` past ``max_bytes``."""
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks; ``StoredFileMissing`` when the key holds nothing."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error."""
        ...


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the limit of {max_bytes} bytes")


class LocalStorage:
    """Files under ``base_dir/YYYY/MM/<uuid hex>`` (``<CRM_DATA_DIR>/attachments`` by default)."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def path_of(self, key: str) -> Path:
        # Keys come from our own rows, but a key is still never trusted to name a path.
        if not _KEY.match(key):
            raise StoredFileMissing()
        return self.base_dir / key

    async def save(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredFile:
        now = utcnow()
        key = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}"
        path = self.path_of(key)
        partial = path.with_name(path.name + ".part")
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        digest = hashlib.sha256()
        size = 0
        try:
            async with await anyio.open_file(partial, "xb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_large(max_bytes)
                    digest.update(chunk)
                    await handle.write(chunk)
            # The key appears complete or not at all.
            await anyio.to_thread.run_sync(os.replace, partial, path)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_unlink_quietly, partial)
            raise
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        if not await anyio.to_thread.run_sync(path.is_file):
            raise StoredFileMissing()

        # Opened on first read, so a response that is never sent holds no file handle.
        async def chunks() -> AsyncIterator[bytes]:
            async with await anyio.open_file(path, "rb") as handle:
                while chunk := await handle.read(CHUNK_BYTES):
                    yield chunk

        return chunks()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(_unlink_quietly, self.path_of(key))


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        # Deleting is cleanup after the fact: a file that will not go is logged, not fatal.
        logger.warning("could not delete stored file %s", path, exc_info=True)


async def peek(chunks: AsyncIterable[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """The first ``size`` bytes (fewer if the stream is shorter), and every byte again."""
    iterator = aiter(chunks)
    head = b""
    exhausted = False
    while len(head) < size:
        try:
            head += await anext(iterator)
        except StopAsyncIteration:
            exhausted = True
            break

    async def replay() -> AsyncIterator[bytes]:
        if head:
            yield head
        if not exhausted:
            async for chunk in iterator:
                yield chunk

    return head[:size], replay()
