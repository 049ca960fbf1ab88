"""Global search: reads the query, asks the repository for each type's best candidates and
ranks them together.

Rank: the tier (name equals the query, starts with it, contains every term, other texts
complete the match), then newest first, then the id. ``score`` shows the tier: 1.0, 0.75,
0.5, 0.25.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.filters import text_list
from crm.core.tenancy import TenantContext
from crm.search.errors import InvalidSearchQuery, UnknownSearchType
from crm.search.repository import Candidate, SearchRepository
from crm.search.schemas import (
    MAX_TERMS,
    QUERY_MAX_LENGTH,
    QUERY_MIN_LENGTH,
    RECORD_KINDS,
    RecordKind,
    SearchHit,
    SearchOut,
)

SCORES = (1.0, 0.75, 0.5, 0.25)  # by tier


def search_terms(q: str | None) -> tuple[str, str, tuple[str, ...]]:
    """The trimmed query, its lower-cased phrase (terms one space apart) and its distinct
    lower-cased terms; 400 ``invalid_search_query`` when it is blank, shorter than
    QUERY_MIN_LENGTH or longer than QUERY_MAX_LENGTH characters (after trimming), or has
    more than MAX_TERMS distinct terms."""
    query = (q or "").strip()
    if len(query) < QUERY_MIN_LENGTH:
        raise InvalidSearchQuery(
            f"Send q, the text to search for, of {QUERY_MIN_LENGTH} characters or more"
        )
    if len(query) > QUERY_MAX_LENGTH:
        raise InvalidSearchQuery(f"q may have at most {QUERY_MAX_LENGTH} characters")
    words = query.lower().split()
    terms = tuple(dict.fromkeys(words))
    if len(terms) > MAX_TERMS:
        raise InvalidSearchQuery(f"q may have at most {MAX_TERMS} different words")
    return query, " ".join(words), terms


def search_kinds(types: Sequence[str] | None) -> tuple[RecordKind, ...]:
    """The record types asked for (repeated or comma lists, any case), in RECORD_KINDS order;
    all of them when none is named; 400 ``invalid_search_type`` naming an unknown one."""
    asked = {part.lower() for part in text_list(types) or ()}
    unknown = sorted(asked - set(RECORD_KINDS))
    if unknown:
        raise UnknownSearchType(
            f"Unknown type {', '.join(unknown)}; use any of: {', '.join(RECORD_KINDS)}"
        )
    return tuple(k for k in RECORD_KINDS if k in asked) if asked else RECORD_KINDS


def ranked(candidates: Sequence[Candidate], limit: int) -> list[Candidate]:
    """The best ``limit`` candidates: each record once (in its best tier), best tier first,
    newest first, the id breaking ties."""
    best: dict[tuple[str, object], Candidate] = {}
    for candidate in candidates:
        key = (candidate.kind, candidate.id)
        if key not in best or candidate.tier < best[key].tier:
            best[key] = candidate
    ordered = sorted(best.values(), key=lambda c: (c.id.hex, c.kind), reverse=True)
    ordered.sort(key=lambda c: c.created_on, reverse=True)
    ordered.sort(key=lambda c: c.tier)
    return ordered[:limit]


class SearchService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.data = SearchRepository(session, tenant)

    async def search(self, q: str | None, types: Sequence[str] | None, limit: int) -> SearchOut:
        query, phrase, terms = search_terms(q)
        kinds = search_kinds(types)
        hits = ranked(await self.data.candidates(kinds, phrase, terms, limit), limit)
        return SearchOut(
            count=len(hits),
            query=query,
            results=[
                SearchHit(
                    type=c.kind,
                    id=c.id,
                    title=c.title,
                    subtitle=c.subtitle or "",
                    score=SCORES[c.tier],
                )
                for c in hits
            ],
        )
