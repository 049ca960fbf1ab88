"""Properties of an opportunity's items under random sequences of changes through the HTTP
API: after every step ``idx`` runs 1..n in list order (in the order a simple model of
insert/move/delete/reorder predicts), every amount is ``qty x rate`` in cents, and the
parent's ``total``/``base_total`` are the sums over its items with ``opportunity_amount``
following ``total``.

Each hypothesis example makes its own opportunity, so the examples share the test's
function-scoped client and org without seeing each other's rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Factory, Member
from tests.erp import ITEMS, children, create_opportunity, get_opportunity

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Op:
    kind: str  # create, patch, delete or reorder
    qty: Decimal | None = None
    rate: Decimal | None = None
    idx: int | None = None
    pick: int = 0  # which existing item (modulo their number)
    seed: int = 0  # the permutation of a reorder


def _money(max_value: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(0),
        max_value=Decimal(max_value),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )


QTY = _money("999.99")
RATE = _money("99999.99")
IDX = st.none() | st.integers(min_value=1, max_value=14)
OPS = st.one_of(
    st.builds(Op, kind=st.just("create"), qty=QTY, rate=RATE, idx=IDX),
    st.builds(
        Op,
        kind=st.just("patch"),
        qty=st.none() | QTY,
        rate=st.none() | RATE,
        idx=IDX,
        pick=st.integers(min_value=0, max_value=100),
    ),
    st.builds(Op, kind=st.just("delete"), pick=st.integers(min_value=0, max_value=100)),
    st.builds(Op, kind=st.just("reorder"), seed=st.integers(min_value=0, max_value=2**32)),
)
CONVERSION_RATES = st.none() | st.decimals(
    min_value=Decimal("0.1"), max_value=Decimal(5), places=3, allow_nan=False, allow_infinity=False
)


@dataclass
class Row:
    id: str
    qty: Decimal
    rate: Decimal


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def _insert(rows: list[Row], row: Row, idx: int | None) -> None:
    """Where the API puts a row sent with ``idx``: that position, or the end."""
    position = len(rows) if idx is None else min(idx, len(rows) + 1) - 1
    rows.insert(position, row)


async def _apply(
    client: httpx.AsyncClient, admin: Member, oid: str, rows: list[Row], op: Op
) -> None:
    """Send ``op`` and apply it to the model ``rows`` (list order)."""
    if op.kind == "create" or (op.kind != "create" and not rows):
        body: dict[str, Any] = {"opportunity_id": oid, "qty": str(op.qty or 0)}
        body["rate"] = str(op.rate or 0)
        if op.idx is not None:
            body["idx"] = op.idx
        response = await client.post(ITEMS, json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        _insert(
            rows, Row(response.json()["id"], op.qty or Decimal(0), op.rate or Decimal(0)), op.idx
        )
        return
    row = rows[op.pick % len(rows)]
    if op.kind == "patch":
        body = {}
        if op.qty is not None:
            body["qty"] = str(op.qty)
            row.qty = op.qty
        if op.rate is not None:
            body["rate"] = str(op.rate)
            row.rate = op.rate
        if op.idx is not None:
            body["idx"] = op.idx
            rows.remove(row)
            _insert(rows, row, op.idx)
        response = await client.patch(f"{ITEMS}/{row.id}", json=body, headers=admin.headers)
        assert response.status_code == 200, response.text
    elif op.kind == "delete":
        response = await client.delete(f"{ITEMS}/{row.id}", headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"id": row.id, "deleted": True}
        rows.remove(row)
    else:
        random.Random(op.seed).shuffle(rows)
        response = await client.post(
            f"{ITEMS}/reorder",
            json={"parent_id": oid, "ids": [r.id for r in rows]},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["data"]] == [r.id for r in rows]


async def _check(
    client: httpx.AsyncClient, admin: Member, oid: str, rows: list[Row], history: list[Op]
) -> None:
    items = await children(client, admin, ITEMS, oid)
    assert [i["idx"] for i in items] == list(range(1, len(items) + 1)), history
    assert [i["id"] for i in items] == [r.id for r in rows], history
    for item, row in zip(items, rows, strict=True):
        assert _d(item["qty"]) == row.qty, history
        assert _d(item["rate"]) == row.rate, history
        assert _d(item["amount"]) == _cents(row.qty * row.rate), history
    parent = await get_opportunity(client, admin, oid)
    if not history:
        assert parent["total"] is None
        return
    total = sum((_d(i["amount"]) for i in items), Decimal(0))
    base_total = sum((_d(i["base_amount"]) for i in items), Decimal(0))
    assert _d(parent["total"]) == total, history
    assert _d(parent["base_total"]) == base_total, history
    assert _d(parent["opportunity_amount"]) == _d(parent["total"]), history


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, max_size=12), conversion_rate=CONVERSION_RATES)
async def test_random_item_changes_keep_idx_and_totals(
    client: httpx.AsyncClient, admin: Member, ops: list[Op], conversion_rate: Decimal | None
) -> None:
    fields = {} if conversion_rate is None else {"conversion_rate": str(conversion_rate)}
    oid = (await create_opportunity(client, admin, **fields))["id"]
    rows: list[Row] = []
    history: list[Op] = []
    for op in ops:
        await _apply(client, admin, oid, rows, op)
        history.append(op)
        await _check(client, admin, oid, rows, history)
    await _check(client, admin, oid, rows, history)
