"""PostgreSQL: the search queries' expressions are exactly those of the migration's indexes
(the planner matches an index by its expression; a drift would silently scan)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.search.repository import SEARCHED


def _sql(expression: object, table: str) -> str:
    compiled = expression.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled).replace(f"{table}.", "")


async def _definition(connection: AsyncConnection, index: str) -> str:
    found = await connection.scalar(
        text("SELECT pg_get_indexdef(to_regclass(:name))"), {"name": index}
    )
    assert found, f"{index} is missing"
    return str(found).split(" USING ", 1)[1]


@pytest.mark.parametrize("kind", list(SEARCHED))
async def test_query_expressions_match_the_indexes(
    kind: str, backend: str, connection: AsyncConnection
) -> None:
    if backend != "postgresql":
        pytest.skip("the trigram and pattern indexes are PostgreSQL's")
    searched = SEARCHED[kind]  # type: ignore[index]
    table = searched.model.__tablename__
    name = _sql(searched.lower_name(searched.model), table)
    expected = {
        f"ix_{table}_search_name": f"btree (org_id, ({name}) text_pattern_ops)",
        f"ix_{table}_search_name_trgm": f"gin (({name}) gin_trgm_ops)",
    }
    if searched.other is not None:
        whole = _sql(searched.lower_text(searched.model), table)
        expected[f"ix_{table}_search_text_trgm"] = f"gin (({whole}) gin_trgm_ops)"
    for index, using in expected.items():
        # PostgreSQL prints the parsed expression: let it parse the query's too.
        await connection.execute(text(f"CREATE INDEX search_probe ON {table} USING {using}"))
        assert await _definition(connection, "search_probe") == await _definition(
            connection, index
        ), index
        await connection.execute(text("DROP INDEX search_probe"))
