"""The list pieces every endpoint shares: capped limit/offset and the §1.4 envelopes.

``limit`` defaults to ``CRM_DEFAULT_PAGE_SIZE`` (10) and is silently capped at
``CRM_MAX_PAGE_SIZE`` (100), as DRF's ``max_limit`` does. ``next``/``previous`` are
path + query built from the request, keeping every other query parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from crm.core.config import Settings

T = TypeVar("T")

MAX_OFFSET = 2_000_000_000  # keeps the bound parameter inside a 32-bit signed int
LOOKUP_LIMIT = 100  # lookup lists inside list responses are pickers, not exports


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int

    def next_offset(self, total: int) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < total else None

    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None


async def page_params(
    request: Request,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_OFFSET, description="Page size (capped)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> PageParams:
    settings: Settings = request.app.state.settings
    size = min(limit or settings.default_page_size, settings.max_page_size)
    return PageParams(limit=size, offset=offset)


Pagination = Annotated[PageParams, Depends(page_params)]


def page_link(request: Request, params: PageParams, offset: int | None) -> str | None:
    if offset is None:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
    query += [("limit", str(params.limit)), ("offset", str(offset))]
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(query)}"


class Page(BaseModel, Generic[T]):
    """Envelope (A): ``{count, next, previous, results}``."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]

    @classmethod
    def build(cls, request: Request, params: PageParams, total: int, results: list[T]) -> Page[T]:
        return cls(
            count=total,
            next=page_link(request, params, params.next_offset(total)),
            previous=page_link(request, params, params.previous_offset()),
            results=results,
        )
