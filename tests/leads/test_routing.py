"""No route is shadowed by an earlier one: ``/api/leads/{lead_id}/`` is matched by any
segment, so literal paths under the same prefix (``create-from-site/``, ``upload/``,
``companies/``) must come first in the app's route table, or Starlette hands them to the
lead detail routes (which answer 404). Checked over every route of the app, not only leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute


def _matching_order(routes: Iterable[Any]) -> list[tuple[str, Any, set[str]]]:
    """(path, regex, methods) in the order a request tries them. FastAPI keeps included
    routers as branches (tried in order, each over its own routes), so walk into them."""
    flat: list[tuple[str, Any, set[str]]] = []
    for route in routes:
        branch = getattr(route, "effective_candidates", None)
        if callable(branch):
            flat.extend(_matching_order(branch()))
        elif isinstance(route, APIRoute) or getattr(route, "path_regex", None) is not None:
            flat.append((route.path, route.path_regex, set(getattr(route, "methods", None) or ())))
    return flat


def test_no_literal_path_is_shadowed_by_an_earlier_parametrised_one(app: Any) -> None:
    routes = _matching_order(app.router.routes)
    paths = {path for path, _, _ in routes}
    assert {"/api/leads/{lead_id}/", "/api/leads/create-from-site/"} <= paths  # not vacuous
    shadowed = []
    for index, (path, _, methods) in enumerate(routes):
        if "{" in path:
            continue
        for earlier, regex, earlier_methods in routes[:index]:
            if "{" in earlier and earlier_methods & methods and regex.match(path):
                shadowed.append((sorted(methods), path, earlier))
    assert not shadowed, f"move these literal routes before the ones that take them: {shadowed}"


def test_the_check_sees_a_shadowed_route() -> None:
    from fastapi import FastAPI

    from crm.leads.routes import router as leads_router

    late = FastAPI()
    late.include_router(leads_router)
    late.add_api_route("/api/leads/upload/", lambda: None, methods=["GET"])
    routes = _matching_order(late.router.routes)
    upload = next(i for i, (path, _, _) in enumerate(routes) if path == "/api/leads/upload/")
    assert any(
        "{" in path and regex.match("/api/leads/upload/") and "GET" in methods
        for path, regex, methods in routes[:upload]
    )


async def test_create_from_site_is_not_taken_for_a_lead_id(client: Any) -> None:
    response = await client.post("/api/leads/create-from-site/", json={})
    assert response.status_code == 400  # the capture route's own validation, not a 404
    assert {"first_name", "last_name", "email"} <= set(response.json()["errors"])
