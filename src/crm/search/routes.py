"""/api/search/ (issue 7): one query over accounts, contacts, leads, opportunities and
cases, ranked; see docs/search.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from crm.core.pagination import MAX_OFFSET
from crm.search.permissions import Search
from crm.search.schemas import QUERY_MAX_LENGTH, QUERY_MIN_LENGTH, RECORD_KINDS, SearchOut

router = APIRouter(prefix="/api/search", tags=["search"])

DEFAULT_LIMIT = 10


@router.get("/", response_model=SearchOut)
async def search(
    search: Search,
    request: Request,
    q: Annotated[
        str | None,
        Query(
            description=f"The text to find, {QUERY_MIN_LENGTH} to {QUERY_MAX_LENGTH} "
            "characters; every word must match"
        ),
    ] = None,
    types: Annotated[
        list[str] | None,
        Query(description=f"Record types (repeated or a comma list): {', '.join(RECORD_KINDS)}"),
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_OFFSET, description="Hits to return (capped)")
    ] = None,
) -> SearchOut:
    """The best hits among the records the caller's own lists show (converted leads are
    not listed): a name equal to the query first, then names starting with it, names
    containing every word, and records matched by their other texts; newest first within
    each."""
    size = min(limit or DEFAULT_LIMIT, request.app.state.settings.max_page_size)
    return await search.search(q, types, size)
