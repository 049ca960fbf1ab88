"""A lean HTTP/1.1 keep-alive client for driving load.

The load generator shares the machine's two cores with the server and the database, so
every millisecond it spends is taken from them: httpx spent about 1 ms of CPU per request
(9% of a core at 30 req/s), this client about a tenth of that. One connection per
concurrent loop, requests sent one after another on it, as a browser or an API client
would. It speaks only what the benchmark needs: GET/POST/DELETE with an optional JSON
body, and responses with Content-Length or chunked bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """A transport failure: the connection closed or the response was malformed."""


class Connection:
    """One keep-alive connection, reopened after ``requests_per_connection`` requests: with
    several server workers the kernel hands each new connection to one of them, and
    connections held for a whole run would freeze whatever split the first accepts made
    (one worker with 11 of 16 connections, the other with 5). Reconnecting now and then, as
    real clients do, lets the split even out over the run."""

    def __init__(
        self, base_url: str, headers: dict[str, str], requests_per_connection: int = 100
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.requests_per_connection = requests_per_connection
        self.served = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        reader, writer = await self._open()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
            f"Content-Length: {len(payload)}\r\n"
        )
        if body is not None:
            head += "Content-Type: application/json\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + payload)
        try:
            status_line = await reader.readline()
            if not status_line:
                raise HttpError("connection closed")
            status = int(status_line.split(b" ", 2)[1])
            length = -1
            chunked = close = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and b"close" in value.lower():
                    close = True
            if chunked:
                data = bytearray()
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        await reader.readline()
                        break
                    data += await reader.readexactly(size)
                    await reader.readline()
                content = bytes(data)
            elif length >= 0:
                content = await reader.readexactly(length) if length else b""
            else:
                content = await reader.read()
                close = True
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise HttpError(repr(exc)) from exc
        self.served += 1
        if close or self.served >= self.requests_per_connection:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None
        self.served = 0
