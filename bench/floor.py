"""The floor: the least a server can do to answer the list-leads scenario.

``run.py`` records every SQL statement (with its parameters) that one uncached
``GET /api/leads/?status=assigned&source=...&limit=10`` issues in the real application, and
pickles them. This ASGI app, served by the same uvicorn (same workers, uvloop, httptools),
answers every request by running exactly those statements, in one transaction on the same
driver and pool (``crm.core.db.create_engine``), and serialising the rows it fetched with the
same JSON library the API uses (pydantic-core, which FastAPI's response models serialise
with). No routing, middleware, authentication, ORM or validation: what is left is the
database and the bytes. The benchmark's "overhead" is the API's latency over this one's.

    CRM_BENCH_FLOOR_STATEMENTS=/tmp/statements.pickle CRM_DATABASE_URL=... \\
        uvicorn --factory floor:create_floor --app-dir bench --workers 2
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.config import Settings
from crm.core.db import create_engine

Statements = list[tuple[str, Any]]
ASGI = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]

STATEMENTS_ENV = "CRM_BENCH_FLOOR_STATEMENTS"


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def load_statements(path: Path) -> Statements:
    """The recorded statements, without transaction control (``engine.begin()`` brings its
    own, as the application's session does)."""
    with path.open("rb") as source:
        statements: Statements = pickle.load(source)  # noqa: S301 - written by run.py
    return [
        (sql, parameters)
        for sql, parameters in statements
        if not sql.lstrip().upper().startswith(_TRANSACTION_CONTROL)
    ]


async def answer(engine: AsyncEngine, statements: Statements) -> bytes:
    """Run the statements in one transaction; every fetched row, as JSON."""
    results: list[list[dict[str, Any]]] = []
    async with engine.begin() as conn:
        for sql, parameters in statements:
            result = await conn.exec_driver_sql(sql, parameters)
            if result.returns_rows:
                keys = list(result.keys())
                results.append([dict(zip(keys, row, strict=True)) for row in result.all()])
    return to_json(results)


def create_floor() -> ASGI:
    settings = Settings()
    engine = create_engine(settings)
    statements = load_statements(Path(os.environ[STATEMENTS_ENV]))
    headers = [(b"content-type", b"application/json")]

    async def app(
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await engine.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = await answer(engine, statements)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
