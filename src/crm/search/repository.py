"""Search queries: for every searched record type and ranking tier, the newest records the
caller may see in that tier or a better one, at most ``limit`` each, all in one UNION ALL
statement built once per shape (types, number of terms, admin or not, backend).

A record matches when every term is a substring of its lower-cased searchable text (its
name, then its other texts, joined by spaces; see ``SEARCHED``). Its tier: 0 its name equals
the query, 1 its name starts with it, 2 its name contains every term, 3 the other texts
complete the match. Because each branch takes the newest ``limit`` rows of its tier *or
better* (among the first ``CANDIDATES`` matches its index yields: exact while a tier has no
more), the branches together hold the best ``limit`` hits overall (best tier first, newest
first); the service merges and cuts them.

PostgreSQL answers each branch from the indexes of the migration "global search": a btree on
``(org_id, lower(name) text_pattern_ops)`` for tiers 0 and 1, GIN trigram indexes on the
lower-cased name (tier 2) and text (tier 3), or, for a common term, a backward walk of
``(org_id, created_on, id)`` that stops after ``limit`` matches. The expressions below must stay
exactly those of the migration. The patterns are rendered into the SQL (``literal_execute``)
so every plan is made for the actual terms, never a generic plan.

SQLite narrows each branch to the candidates of the FTS5 trigram index ``search_index``
(its name column for tiers 0-2, every column for tier 3), built from the terms of three
characters or more; the LIKE conditions then decide exactly, as on PostgreSQL.

A query whose terms are all shorter than three characters has no trigram to look up: its
exact and prefix tiers still use the name btree (PostgreSQL) or scan the type (SQLite), but
its contains tiers read only the newest ``SHORT_QUERY_WINDOW`` visible records of each type.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable

from crm.core.tenancy import TenantContext, without_row_security
from crm.models import Account, Case, Contact, Lead, Opportunity
from crm.models.records import SalesRecord
from crm.records.repository import statement_template, tenant_params, visible_template
from crm.search.schemas import RecordKind

SHORT_QUERY_WINDOW = 2_000  # records of each type a query of only short terms reads
# Matches a tier's branch reads at most before ranking them by age: a common word matches
# tens of thousands of records, and sorting them all (or walking the newest-first index
# past them, when the planner misjudges how many match) cost 100-200 ms at 1M leads.
CANDIDATES = 100
TRIGRAM = 3  # the shortest term a trigram index can look up

_SPACE: Any = literal_column("' '")
_EMPTY: Any = literal_column("''")
_LIKE_ESCAPE = "\\"


def _joined(*parts: Any) -> Any:
    """``a || ' ' || b ...``, as the migration writes it (literals inline, not parameters:
    the planner matches an index expression only to the same expression)."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.concat(_SPACE).concat(part)
    return joined


def _or_empty(value: Any) -> Any:
    return func.coalesce(value, _EMPTY)


@dataclass(frozen=True, slots=True)
class _Searched:
    """How one record type is searched and shown. Each callable takes the model or an alias
    of it. ``other`` is None when the name is the whole searchable text."""

    kind: RecordKind
    model: type[SalesRecord]
    name: Callable[[Any], Any]
    other: Callable[[Any], Any] | None
    title: Callable[[Any], Any]
    subtitle: Callable[[Any], Any]
    listed: Callable[[Any], list[Any]] = lambda _e: []  # what its own list leaves out

    def lower_name(self, e: Any) -> Any:
        return func.lower(self.name(e))

    def lower_text(self, e: Any) -> Any:
        assert self.other is not None
        return func.lower(_joined(self.name(e), self.other(e)))


def _person(e: Any) -> Any:
    return _joined(e.first_name, e.last_name)


SEARCHED: dict[RecordKind, _Searched] = {
    s.kind: s
    for s in (
        _Searched(
            "account",
            Account,
            name=lambda e: e.name,
            other=lambda e: _joined(
                _or_empty(e.email), _or_empty(e.website), _or_empty(e.billing_city)
            ),
            title=lambda e: e.name,
            subtitle=lambda e: func.coalesce(e.email, e.billing_city, _EMPTY),
        ),
        _Searched(
            "contact",
            Contact,
            name=_person,
            other=lambda e: _joined(e.primary_email, _or_empty(e.organization)),
            title=_person,
            subtitle=lambda e: e.primary_email,
        ),
        _Searched(
            "lead",
            Lead,
            name=_person,
            other=lambda e: _joined(
                _or_empty(e.email), _or_empty(e.account_name), _or_empty(e.title)
            ),
            title=_person,
            subtitle=lambda e: func.coalesce(e.account_name, e.email, _EMPTY),
            # Converted leads live on as the contact, account and opportunity (§6.3).
            listed=lambda e: [e.status != "converted"],
        ),
        _Searched(
            "opportunity",
            Opportunity,
            name=lambda e: e.name,
            other=None,
            title=lambda e: e.name,
            subtitle=lambda e: e.stage,
        ),
        _Searched(
            "case",
            Case,
            name=lambda e: e.name,
            other=None,
            title=lambda e: e.name,
            subtitle=lambda e: e.status,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: RecordKind
    id: uuid.UUID
    title: str
    subtitle: str
    created_on: datetime
    tier: int


# The SQLite full-text index (migration "global search"); not mapped: no model describes a
# virtual table, and the documents are written by triggers only.
_search_index = table("search_index", column("rowid", Integer))
_search_documents = table(
    "search_documents",
    column("id", Integer),
    column("org_id", Uuid()),
    column("kind", String()),
    column("record_id", Uuid()),
)


def _pattern(name: str) -> Any:
    return bindparam(name, type_=String(), literal_execute=True)


def _fts_candidates(kind: RecordKind, match: str) -> Select[Any]:
    """The ids of the org's records of ``kind`` whose FTS5 row matches the ``match`` param."""
    matching = select(_search_index.c.rowid).where(
        literal_column("search_index").op("MATCH")(bindparam(match, type_=String()))
    )
    return select(_search_documents.c.record_id).where(
        _search_documents.c.kind == literal_column(f"'{kind}'"),
        _search_documents.c.org_id == bindparam("org_id", type_=Uuid()),
        _search_documents.c.id.in_(matching),
    )


def _branches(
    searched: _Searched, terms: int, short_only: bool, is_admin: bool, sqlite: bool
) -> list[Any]:
    """This type's branches, one per tier (3 when the name is the whole text)."""
    model = searched.model
    base = visible_template(model, is_admin).where(*searched.listed(model))
    # Tiers 0 and 1 use the name btree whatever the terms; the contains tiers of a query of
    # only short terms (no trigram) read the newest SHORT_QUERY_WINDOW records, no more.
    contains_entity: Any = model
    contains_base = base
    if short_only:
        recent = base.order_by(model.created_on.desc(), model.id.desc()).limit(SHORT_QUERY_WINDOW)
        contains_entity = aliased(model, recent.subquery())
        contains_base = select(contains_entity)
    tiers: list[tuple[Any, Any, Any, Any]] = []
    for by_name, entity, from_ in ((True, model, base), (False, contains_entity, contains_base)):
        name = searched.lower_name(entity)
        has_all = and_(*(name.like(_pattern(f"t{i}"), escape=_LIKE_ESCAPE) for i in range(terms)))
        tier = case(
            (name == _pattern("q"), literal_column("0")),
            (name.like(_pattern("prefix"), escape=_LIKE_ESCAPE), literal_column("1")),
            (has_all, literal_column("2")),
            else_=literal_column("3"),
        )
        if by_name:
            tiers.append((entity, from_, tier, name == _pattern("q")))
            tiers.append((entity, from_, tier, name.like(_pattern("prefix"), escape=_LIKE_ESCAPE)))
        else:
            tiers.append((entity, from_, tier, has_all))
            if searched.other is not None:
                text = searched.lower_text(entity)
                tiers.append(
                    (
                        entity,
                        from_,
                        tier,
                        and_(
                            *(
                                text.like(_pattern(f"t{i}"), escape=_LIKE_ESCAPE)
                                for i in range(terms)
                            )
                        ),
                    )
                )
    branches = []
    for index, (entity, from_, tier, condition) in enumerate(tiers):
        statement = from_.with_only_columns(
            literal_column(f"'{searched.kind}'").label("kind"),
            entity.id.label("id"),
            searched.title(entity).label("title"),
            searched.subtitle(entity).label("subtitle"),
            entity.created_on.label("created_on"),
            tier.label("tier"),
        ).where(condition)
        if sqlite and not short_only:
            match = "fts_text" if index == 3 else "fts_name"
            statement = statement.where(entity.id.in_(_fts_candidates(searched.kind, match)))
        n = bindparam("n", type_=Integer(), literal_execute=True)
        if index < 2 or not short_only:
            # Bounded: the first CANDIDATES matches the index yields, newest first. (A short
            # query's contains tiers are bounded by SHORT_QUERY_WINDOW already.)
            found = statement.limit(CANDIDATES).subquery()
            limited = (
                select(*found.c)
                .order_by(found.c.created_on.desc(), found.c.id.desc())
                .limit(n)
                .subquery()
            )
        else:
            limited = (
                statement.order_by(entity.created_on.desc(), entity.id.desc()).limit(n).subquery()
            )
        branches.append(select(*limited.c))
    return branches


def _statement(
    kinds: tuple[RecordKind, ...], terms: int, short_only: bool, is_admin: bool, sqlite: bool
) -> Executable:
    return union_all(
        *(
            branch
            for kind in kinds
            for branch in _branches(SEARCHED[kind], terms, short_only, is_admin, sqlite)
        )
    )


def _escape_like(text: str) -> str:
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")


def _fts_query(terms: tuple[str, ...], column_name: str | None) -> str:
    """An FTS5 query: every term of three characters or more as a quoted phrase (the
    trigram tokenizer matches it as a substring), ANDed, in ``column_name`` if given."""
    prefix = f"{column_name} : " if column_name else ""
    return " AND ".join(
        prefix + '"' + term.replace('"', '""') + '"' for term in terms if len(term) >= TRIGRAM
    )


class SearchRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def candidates(
        self,
        kinds: tuple[RecordKind, ...],
        phrase: str,
        terms: tuple[str, ...],
        limit: int,
    ) -> list[Candidate]:
        """Per type and tier, the newest ``limit`` visible matches of ``terms`` (lower-cased,
        distinct) for the lower-cased ``phrase`` (the terms as typed, one space apart)."""
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        short_only = all(len(term) < TRIGRAM for term in terms)
        is_admin = self.tenant.is_admin
        statement = statement_template(
            ("search", kinds, len(terms), short_only, is_admin, sqlite),
            lambda: _statement(kinds, len(terms), short_only, is_admin, sqlite),
        )
        params: dict[str, Any] = {
            **tenant_params(self.tenant),
            "q": phrase,
            "prefix": _escape_like(phrase) + "%",
            "n": limit,
            **{f"t{i}": f"%{_escape_like(term)}%" for i, term in enumerate(terms)},
        }
        if sqlite and not short_only:
            params["fts_name"] = _fts_query(terms, "name")
            params["fts_text"] = _fts_query(terms, None)
        # Under the row-level security policies PostgreSQL would not use the search indexes
        # (their conditions are not LEAKPROOF); the guard's org criteria still scope it.
        async with without_row_security(self.session):
            rows = (await self.session.execute(statement, params)).all()
        return [Candidate(*row) for row in rows]
