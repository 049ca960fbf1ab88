"""ETag / If-Match over every editable record, generated from the policy table: every PUT and
PATCH of a record refuses a stale ``If-Match`` with 412 and writes nothing, accepts the
current one, and answers with the next ``ETag``; every detail GET of such a record carries
the ``ETag`` the 412 names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.conftest import Factory
from tests.contracts.policy import BODIES, POLICY, Access
from tests.contracts.test_routes import (
    _PARAM,
    BODY_MAKERS,
    _body,
    _call,
    _fill,
    _ids,
    checksum,
)

EDITS = sorted(
    key
    for key, access in POLICY.items()
    if key[0] in ("PUT", "PATCH")
    and _PARAM.search(key[1])
    and access is not Access.PUBLIC
    and (key in BODIES or key in BODY_MAKERS)
)
DETAILS = sorted(
    ("GET", path) for method, path in EDITS if ("GET", path) in POLICY and method == "PATCH"
)


def test_every_record_edit_is_covered() -> None:
    edits = {k for k in POLICY if k[0] in ("PUT", "PATCH") and _PARAM.search(k[1])}
    assert edits == set(EDITS), f"give these a body in the policy: {sorted(edits - set(EDITS))}"


@pytest.mark.parametrize("key", EDITS, ids=_ids(EDITS))
async def test_stale_if_match_is_refused_and_the_current_one_accepted(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)

    before = await checksum(test_database)
    stale = await _call(client, method, url, body, {**owner.headers, "If-Match": '"999"'})
    assert stale.status_code == 412, stale.text
    payload: Any = stale.json()
    if path.startswith("/api/crm/"):
        assert payload["error"]["code"] == "precondition_failed"
    else:
        assert payload == {
            "error": True,
            "errors": payload["errors"],
            "code": "precondition_failed",
        }
    assert await checksum(test_database) == before
    current = stale.headers["ETag"]

    fresh = await _call(client, method, url, body, {**owner.headers, "If-Match": current})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["ETag"] != current

    # The tag the edit answered with is the record's tag now: it guards the next edit.
    again = await _call(client, method, url, body, {**owner.headers, "If-Match": current})
    assert again.status_code == 412, again.text
    assert again.headers["ETag"] == fresh.headers["ETag"]


@pytest.mark.parametrize("key", DETAILS, ids=_ids(DETAILS))
async def test_detail_carries_the_etag_that_guards_edits(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory
) -> None:
    _, path = key
    owner = await factory.admin()
    url = await _fill(path, client, factory, owner)
    detail = await client.get(url, headers=owner.headers)
    assert detail.status_code == 200, detail.text
    tag = detail.headers["ETag"]
    body = await _body(("PATCH", path), client, factory, owner)
    edit = await _call(client, "PATCH", url, body, {**owner.headers, "If-Match": tag})
    assert edit.status_code == 200, edit.text
    after = await client.get(url, headers=owner.headers)
    assert after.headers["ETag"] == edit.headers["ETag"] != tag
