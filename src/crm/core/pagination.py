"""The list pieces every endpoint shares: capped limit/offset, keyset cursors and the §1.4
envelopes.

``limit`` defaults to ``CRM_DEFAULT_PAGE_SIZE`` (10) and is silently capped at
``CRM_MAX_PAGE_SIZE`` (100), as DRF's ``max_limit`` does. ``next``/``previous`` are
path + query built from the request, keeping every other query parameter.

Cursor mode (lists that take :data:`CursorPagination` or :data:`SplitCursorPagination`): a
request with a ``cursor`` parameter, empty for the first page, walks the list in its default
order (newest first, the id breaking ties) by keyset instead of by offset, so a deep page
costs what the first one does and rows added meanwhile are neither repeated nor skip others.
The token is opaque: the last row's ``(created_on, id)``, the half of a split list it
continues, and an HMAC over them and the list's path under a key derived from the server's
secret key, so a token altered by hand, or made for another list, is ``400 invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from crm.core.config import Settings
from crm.core.errors import ValidationFailed

T = TypeVar("T")

MAX_OFFSET = 2_000_000_000  # keeps the bound parameter inside a 32-bit signed int
LOOKUP_LIMIT = 100  # lookup lists inside list responses are pickers, not exports

# The position of a row in the default order: (created_on, id).
Keyset = tuple[datetime, uuid.UUID]

# The halves of the split lists (leads, accounts): a cursor continues one of them.
SPLIT_HALVES = ("open", "closed")


# -- the cursor token -----------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION = 1
# version, half (0 none, 1.. a half), microseconds since the epoch, the id's 16 bytes
_PAYLOAD = struct.Struct(">BBq16s")
_MAC_BYTES = 12
_TOKEN_BYTES = _PAYLOAD.size + _MAC_BYTES
_MAX_TOKEN_CHARS = 100  # a real token has 47; anything much longer is not one


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed.on(
        "cursor",
        "Not a cursor of this list: use the `next` link of a page, or `cursor=` to start",
        code="invalid_cursor",
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a cursor page starts: after ``after`` (None: the first page) within ``half``
    (None: every half on the first page, or a list with no halves)."""

    after: Keyset | None = None
    half: str | None = None


@dataclass(frozen=True, slots=True)
class CursorSigner:
    """Makes and reads the tokens of one list (``scope``: its path) under one key."""

    key: bytes
    scope: str
    halves: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings, scope: str, halves: tuple[str, ...]) -> CursorSigner:
        secret = settings.resolved_secret_key().encode()
        key = hmac.new(secret, b"crm list cursor v1", hashlib.sha256).digest()
        return cls(key=key, scope=scope.rstrip("/") or "/", halves=halves)

    def _mac(self, payload: bytes) -> bytes:
        signed = self.scope.encode() + b"\x00" + payload
        return hmac.new(self.key, signed, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, after: Keyset, half: str | None) -> str:
        created_on, record_id = after
        micros = (created_on - _EPOCH) // timedelta(microseconds=1)
        code = 0 if half is None else self.halves.index(half) + 1
        payload = _PAYLOAD.pack(_VERSION, code, micros, record_id.bytes)
        raw = payload + self._mac(payload)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, token: str) -> Cursor:
        """The cursor a token names; an empty token is the first page. Anything that is not
        a token this list made is :func:`invalid_cursor`."""
        token = token.strip()
        if not token:
            return Cursor()
        if len(token) > _MAX_TOKEN_CHARS:
            raise invalid_cursor()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as error:
            raise invalid_cursor() from error
        if len(raw) != _TOKEN_BYTES:
            raise invalid_cursor()
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise invalid_cursor()
        version, code, micros, id_bytes = _PAYLOAD.unpack(payload)
        # A split list's token always names its half; another list's never does.
        if version != _VERSION or code > len(self.halves) or (code == 0) != (not self.halves):
            raise invalid_cursor()
        try:
            created_on = _EPOCH + timedelta(microseconds=micros)
        except OverflowError as error:
            raise invalid_cursor() from error
        half = self.halves[code - 1] if code else None
        return Cursor(after=(created_on, uuid.UUID(bytes=id_bytes)), half=half)


# -- page parameters ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """One page's rows, and in cursor mode the position the next page starts after
    (None: this is the last page)."""

    rows: list[T]
    more: Keyset | None = None


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int
    cursor: Cursor | None = None  # None: limit/offset mode
    signer: CursorSigner | None = None

    @property
    def after(self) -> Keyset | None:
        """Where the rows of this page start in the default order (cursor mode)."""
        return None if self.cursor is None else self.cursor.after

    @property
    def fetch(self) -> int:
        """Rows to ask for: one more than the page in cursor mode, to know if more follow."""
        return self.limit if self.cursor is None else self.limit + 1

    def shows(self, total: int, half: str | None = None) -> bool:
        """Whether this page has rows of ``half`` (of ``total`` matching) at all, so the
        page statement can be skipped when it has none."""
        if self.cursor is None:
            return self.offset < total
        return total > 0 and (self.cursor.after is None or self.cursor.half == half)

    def window(self, rows: Sequence[T]) -> Window[T]:
        """The page out of the rows (models with ``created_on`` and ``id``, in the default
        order) fetched with :attr:`fetch`."""
        if self.cursor is None or len(rows) <= self.limit:
            return Window(list(rows))
        last: Any = rows[self.limit - 1]
        return Window(list(rows[: self.limit]), (last.created_on, last.id))

    def next_offset(self, total: int) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < total else None

    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    def next_link(
        self, request: Request, total: int, more: Keyset | None, half: str | None = None
    ) -> str | None:
        """The next page's link: by offset, or (cursor mode) by a token of ``half``."""
        if self.cursor is None:
            return page_link(request, self, self.next_offset(total))
        if more is None or self.signer is None:
            return None
        return cursor_link(request, self, self.signer.encode(more, half))

    def previous_link(self, request: Request) -> str | None:
        """Cursor pages go forward only."""
        if self.cursor is not None:
            return None
        return page_link(request, self, self.previous_offset())

    def next_cursor(self, more: Keyset | None) -> str | None:
        """The token of the next page (cursor mode), for envelopes that carry it bare."""
        if self.cursor is None or more is None or self.signer is None:
            return None
        return self.signer.encode(more, None)


def _limit(settings: Settings, limit: int | None) -> int:
    return min(limit or settings.default_page_size, settings.max_page_size)


async def page_params(
    request: Request,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_OFFSET, description="Page size (capped)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> PageParams:
    settings: Settings = request.app.state.settings
    return PageParams(limit=_limit(settings, limit), offset=offset)


def cursor_page_params(
    request: Request, limit: int, offset: int, cursor: str | None, halves: tuple[str, ...] = ()
) -> PageParams:
    """Page parameters of a list that also takes ``cursor`` (``limit`` already capped)."""
    if cursor is None:
        return PageParams(limit=limit, offset=offset)
    if offset:
        raise ValidationFailed.on(
            "offset",
            "A cursor page starts where its cursor says: send `cursor` or `offset`, not both",
            code="cursor_with_offset",
        )
    signer = CursorSigner.of(request.app.state.settings, request.url.path, halves)
    return PageParams(limit=limit, offset=0, cursor=signer.decode(cursor), signer=signer)


CursorQuery = Annotated[
    str | None,
    Query(
        description="Keyset paging: empty for the first page, then the token of a `next` "
        "link. Not with `offset`."
    ),
]


def _cursor_dependency(halves: tuple[str, ...]) -> Callable[..., Any]:
    async def params(
        request: Request,
        limit: Annotated[
            int | None, Query(ge=1, le=MAX_OFFSET, description="Page size (capped)")
        ] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
        cursor: CursorQuery = None,
    ) -> PageParams:
        settings: Settings = request.app.state.settings
        return cursor_page_params(request, _limit(settings, limit), offset, cursor, halves)

    return params


Pagination = Annotated[PageParams, Depends(page_params)]
CursorPagination = Annotated[PageParams, Depends(_cursor_dependency(()))]
SplitCursorPagination = Annotated[PageParams, Depends(_cursor_dependency(SPLIT_HALVES))]


def _link(request: Request, extra: list[tuple[str, str]]) -> str:
    drop = ("limit", "offset", "cursor")
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in drop]
    return f"{request.url.path}?{urlencode(query + extra)}"


def page_link(request: Request, params: PageParams, offset: int | None) -> str | None:
    if offset is None:
        return None
    return _link(request, [("limit", str(params.limit)), ("offset", str(offset))])


def cursor_link(request: Request, params: PageParams, token: str) -> str:
    return _link(request, [("limit", str(params.limit)), ("cursor", token)])


class Page(BaseModel, Generic[T]):
    """Envelope (A): ``{count, next, previous, results}``."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]

    @classmethod
    def build(
        cls,
        request: Request,
        params: PageParams,
        total: int,
        results: list[T],
        more: Keyset | None = None,
    ) -> Page[T]:
        """``more``: where the next cursor page starts (see :meth:`PageParams.window`)."""
        return cls(
            count=total,
            next=params.next_link(request, total, more),
            previous=params.previous_link(request),
            results=results,
        )
