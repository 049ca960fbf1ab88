"""No input of any kind produces a 500: random bodies, query values and headers on every
operation of the API, as an authenticated admin of a real org."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Factory
from tests.contracts.policy import POLICY

_PARAM = re.compile(r"{(\w+)}")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "name",
        "email",
        "password",
        "users",
        "title",
        "website",
        "tags",
        "lead_assigned_to",
        "role",
        "phone",
        "status",
        "refresh",
        "token",
        "description",
        "assign_users",
        "first_name",
        "city",
        "limit",
        "offset",
    ]
)
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values
raw_bodies = st.binary(max_size=64) | st.just(b'{"name": ') | st.just(b"\xff\xfe")
query_values = st.text(max_size=20) | st.integers(min_value=-(2**70), max_value=2**70).map(str)
path_values = st.sampled_from(["not-a-uuid", "0", "%20", "..", str(uuid.uuid4()), "a" * 300])

# Logging out would end the session and turn every later example into a plain 401.
OPERATIONS = sorted(op for op in POLICY if op != ("POST", "/api/auth/logout/"))


async def test_fuzzed_requests_never_fail_with_5xx(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    sent: list[int] = []

    async def send(
        method: str, url: str, query: dict[str, str], content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        return await client.request(method, url, params=query, content=content, headers=headers)

    @settings(
        max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(
        op=st.sampled_from(OPERATIONS),
        body=bodies,
        raw=st.none() | raw_bodies,
        query=st.dictionaries(field_names, query_values, max_size=3),
        segment=path_values,
        org_header=st.none() | st.text(max_size=40),
    )
    def check(
        op: tuple[str, str],
        body: Any,
        raw: bytes | None,
        query: dict[str, str],
        segment: str,
        org_header: str | None,
    ) -> None:
        method, path = op
        url = _PARAM.sub(segment, path)
        headers = {**admin.headers, "content-type": "application/json"}
        if org_header is not None:
            headers["organization-id"] = org_header.encode("ascii", "ignore").decode("ascii")
        content = raw if raw is not None else json.dumps(body).encode()
        # Runs the request on the test's own event loop (the one the DB connection lives on).
        response = anyio.from_thread.run(send, method, url, query, content, headers)
        sent.append(response.status_code)
        assert response.status_code < 500, (method, url, query, content[:200], response.text)

    await anyio.to_thread.run_sync(check)
    assert len(sent) >= 100
