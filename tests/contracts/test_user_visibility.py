"""The USER-level sweep (issue 6): generated from the app's routes, on both surfaces.

A USER who neither created nor is assigned to a record (§1.3) cannot see it in any list,
search, count, lookup or dashboard, nor in the related lists of a record they can see; and
every operation that names it by id is refused with the documented 403 (API.md §1.3, §1.6:
"You do not have Permission to perform this action", the §9 permission_error on /api/crm),
shows no data of it and changes nothing, while another org's record answers like a missing
id (404).

The world every test starts from (``_world``): an org with an admin, the USER, a peer USER
and a team the USER belongs to. The USER has one record of each kind of their own. The admin
then makes one hidden record of each kind, not assigned to the USER (assigned to the peer,
shared with the USER's team, linked to the USER's own account and contact, commented on,
with attachments), every one carrying a unique marker in its texts.

Coverage: ``READS`` classifies every GET operation without path parameters and ``ID_ROUTES``
every operation that names a record in its path; an app operation missing from either table
fails the suite, so a new route must be classified (and so swept) before it ships.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.activity.records import add_attachment, add_comment
from tests.conftest import Factory, Member
from tests.contracts.policy import POLICY, Access
from tests.contracts.test_routes import _body, _fill, _operations, _random_ids, checksum

_PARAM = re.compile(r"{(\w+)}")


# -- the tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Swept:
    """A read the USER may call: each query variant (placeholders filled from the world, see
    ``_World.fill``) must show no hidden record. With ``finds``, one variant at least shows a
    hidden record to the admin, which proves the probe aims at something."""

    variants: tuple[dict[str, str], ...] = ({},)
    finds: bool = True
    # Top-level keys of the body that repeat the request (search's ``query``): left out when
    # looking for the marker, which the request itself carries.
    echoes: tuple[str, ...] = ()

    def shown(self, response: httpx.Response) -> str:
        """The body to look for hidden records in."""
        if not self.echoes:
            return response.text
        body = response.json()
        return json.dumps({k: v for k, v in body.items() if k not in self.echoes})


@dataclass(frozen=True)
class Exempt:
    reason: str


_ADMIN_ONLY = "admin only: a USER gets 403 (test_routes.py::test_admin_routes_refuse_users)"
_ORG_WIDE = "org-wide by design, not a record with a creator and assignees"

READS: dict[str, Swept | Exempt] = {
    "/api/org/": Swept(finds=False),  # the caller's memberships
    "/api/profile/": Swept(finds=False),
    "/api/users/": Exempt(_ADMIN_ONLY),
    "/api/api-keys/": Exempt(_ADMIN_ONLY),
    "/api/audit-log/": Exempt(_ADMIN_ONLY),
    "/api/users/get-teams-and-users/": Swept(finds=False),
    "/api/teams/": Swept(finds=False),
    "/api/api-settings/": Swept(finds=False),
    "/api/tags/": Swept(finds=False),
    "/api/dashboard/": Swept(),
    # Global search over the five record types: the marker is in every hidden record's name
    # or texts; the variants probe each type alone, a name prefix and a short limit.
    "/api/search/": Swept(
        (
            {"q": "{marker}", "limit": "100"},
            {"q": "{marker} shared"},
            {"q": "{marker}", "types": "account,contact"},
            {"q": "{marker}", "types": "lead"},
            {"q": "{marker}", "types": "opportunity,case"},
            {"q": "{marker}", "limit": "1"},
        ),
        echoes=("query",),
    ),
    "/api/accounts/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"industry": "{marker}"},
            {"city": "{marker}"},
            {"status": "open"},
            {"assigned_to": "{peer}"},
        )
    ),
    "/api/contacts/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"email": "{marker}"},
            {"city": "{marker}"},
            {"assigned_to": "{peer}"},
        )
    ),
    "/api/leads/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"title": "{marker}"},
            {"email": "{marker}"},
            {"city": "{marker}"},
            {"assigned_to": "{peer}"},
        )
    ),
    # Companies are org-wide (§7, docs/sales.md): the hidden records add none, and the list
    # must not show them either.
    "/api/leads/companies/": Swept(({}, {"name": "{marker}"}), finds=False),
    "/api/opportunities/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"account": "{own.account}"},
            {"account": "{hidden.account}"},
            {"account": "{marker}"},
            {"assigned_to": "{peer}"},
            {"stage": "prospecting"},
        )
    ),
    "/api/crm/opportunity": Swept(({}, {"limit": "100"}, {"cursor": ""})),
    # Exports are CSV here (an XLSX body is a zip: a marker would not show in it); their
    # XLSX form shares the query and is checked in tests/records/test_exports.py.
    "/api/leads/export/": Swept(({}, {"name": "{marker}"}, {"assigned_to": "{peer}"})),
    "/api/accounts/export/": Swept(({}, {"name": "{marker}"}, {"assigned_to": "{peer}"})),
    "/api/contacts/export/": Swept(({}, {"name": "{marker}"}, {"assigned_to": "{peer}"})),
    "/api/opportunities/export/": Swept(
        ({}, {"name": "{marker}"}, {"account": "{hidden.account}"}, {"assigned_to": "{peer}"})
    ),
    # parent_id is required; a hidden parent is an id probe (QUERY_ID_ROUTES below).
    "/api/crm/opportunity-item": Swept(({"parent_id": "{own.erp}"},), finds=False),
    "/api/crm/opportunity-lost-reason-detail": Swept(({"parent_id": "{own.erp}"},), finds=False),
    "/api/cases/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"account": "{own.account}"},
            {"account": "{hidden.account}"},
            {"assigned_to": "{peer}"},
        )
    ),
    "/api/tasks/": Swept(
        (
            {},
            {"cursor": ""},
            {"title": "{marker}"},
            {"account": "{own.account}"},
            {"assigned_to": "{peer}"},
            {"due_date": "2026-12-01"},
        )
    ),
    "/api/events/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"assigned_to": "{peer}"},
            {"start_date": "2026-12-01"},
        )
    ),
    "/api/events/occurrences/": Swept(
        (
            {"start": "2026-11-25", "end": "2026-12-10"},
            {"start": "2026-11-25", "end": "2026-12-10", "name": "{marker}"},
        )
    ),
    "/api/invoices/": Swept(
        (
            {},
            {"cursor": ""},
            {"name": "{marker}"},
            {"invoice_title_or_number": "{marker}"},
            {"account": "{own.account}"},
            {"assigned_to": "{peer}"},
            {"created_by": "{admin}"},
        )
    ),
    "/api/documents/": Swept(
        (
            {},
            {"cursor": ""},
            {"title": "{marker}"},
            {"status": "inactive"},
            {"shared_to": "{user}"},
            {"shared_to": "{peer}"},
            {"shared_with": "{team}"},
        )
    ),
}


class Hidden(Enum):
    """The USER on a hidden record of their org gets the documented 403 (§1.3), with no data
    of the record, and nothing changes; another org's record answers like a missing id."""

    DENIED = "denied"


ID_ROUTES: dict[tuple[str, str], Hidden | Exempt] = {}
_SELF = "members are not records; another member's profile is 403 (test_self_routes_...)"
for _key, _access in POLICY.items():
    _method, _path = _key
    if not _PARAM.search(_path) or _access in (Access.PUBLIC, Access.USER):
        continue
    if _access is Access.ADMIN:
        ID_ROUTES[_key] = Exempt(_ADMIN_ONLY)
    elif _path.startswith("/api/user/"):
        ID_ROUTES[_key] = Exempt(_SELF)
    elif _path.startswith(("/api/teams/", "/api/api-settings/")):
        ID_ROUTES[_key] = Exempt(_ORG_WIDE + "; writes are admin only")
    elif _path.startswith("/api/leads/company/"):
        ID_ROUTES[_key] = Exempt(
            _ORG_WIDE + " (§7): every member reads it; a non-creator's change is 403 "
            "(tests/companies/test_companies.py::test_other_members_may_neither_change_nor_delete)"
        )
    else:
        ID_ROUTES[_key] = Hidden.DENIED

# Operations that name a record in the query or the body rather than the path: (key, where,
# what) — a hidden record there is refused with the documented 403 too.
QUERY_ID_ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/api/crm/opportunity-item"): ("parent_id", "erp"),
    ("GET", "/api/crm/opportunity-lost-reason-detail"): ("parent_id", "erp"),
}
BODY_ID_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/crm/opportunity-item"): {"opportunity_id": "{hidden.erp}", "qty": 1},
    ("POST", "/api/crm/opportunity-lost-reason-detail"): {
        "opportunity_id": "{hidden.erp}",
        "lost_reason": "Price",
    },
    ("POST", "/api/crm/opportunity-item/reorder"): {
        "parent_id": "{hidden.erp}",
        "ids": ["{hidden.erp_item}"],
    },
    ("POST", "/api/crm/opportunity-lost-reason-detail/reorder"): {
        "parent_id": "{hidden.erp}",
        "ids": ["{hidden.erp_lost_reason}"],
    },
}


def _reads(app: Any) -> list[str]:
    return [p for m, p in _operations(app) if m == "GET" and not _PARAM.search(p)]


def _record_operations(app: Any) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p in _operations(app)
        if _PARAM.search(p) and POLICY.get((m, p)) not in (Access.PUBLIC, Access.USER)
    ]


def test_every_read_is_classified(app: Any) -> None:
    reads = set(_reads(app))
    assert not reads - READS.keys(), (
        f"classify these reads in READS of {__name__}: {sorted(reads - READS.keys())}"
    )
    assert not READS.keys() - reads, f"READS lists reads the app no longer has: {READS.keys()}"
    for path, classified in READS.items():
        if classified == Exempt(_ADMIN_ONLY):  # an exemption that holds only while it is true
            assert POLICY[("GET", path)] is Access.ADMIN, path


def test_every_record_operation_is_classified(app: Any) -> None:
    operations = set(_record_operations(app))
    missing = operations - ID_ROUTES.keys()
    assert not missing, f"classify these operations in ID_ROUTES of {__name__}: {missing}"
    assert not ID_ROUTES.keys() - operations, "ID_ROUTES lists operations the app lacks"
    assert QUERY_ID_ROUTES.keys() <= {(m, p) for m, p in _operations(app)}
    assert BODY_ID_ROUTES.keys() <= {(m, p) for m, p in _operations(app)}


# -- the world -------------------------------------------------------------------------------


@dataclass
class _World:
    admin: Member
    user: Member
    peer: Member
    team: str  # the USER and the peer are members
    other_team: str  # the peer only
    marker: str
    own: dict[str, str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    hidden_ids: set[str] = field(default_factory=set)  # every id the USER must not meet

    def fill(self, text: str) -> str:
        values = {
            "marker": self.marker,
            "peer": self.peer.profile_id,
            "user": self.user.profile_id,
            "admin": self.admin.profile_id,
            "team": self.team,
            **{f"own.{k}": v for k, v in self.own.items()},
            **{f"hidden.{k}": v for k, v in self.hidden.items()},
        }
        return re.sub(r"{([\w.]+)}", lambda m: values[m.group(1)], text)

    def leaks(self, text: str) -> list[str]:
        """The marker and the hidden ids found in a response body, in either id form."""
        lowered = text.lower()
        found = [self.marker] if self.marker in lowered else []
        for value in self.hidden_ids:
            as_uuid = uuid.UUID(value.rsplit("_", 1)[-1])  # /api/crm ids: <type>_<hex>
            if str(as_uuid) in lowered or as_uuid.hex in lowered:
                found.append(value)
        return found


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _records(
    client: httpx.AsyncClient, caller: Member, tag: str, links: dict[str, Any]
) -> dict[str, str]:
    """One record of each kind made by ``caller``, named with ``tag``; ``links`` are added
    to every record that takes them (assignees, teams, the account and contacts)."""
    h = caller.headers
    email = f"{tag}@example.com"
    team_links = {k: v for k, v in links.items() if k in ("assigned_to", "teams")}
    made: dict[str, str] = {}

    account = await _created(
        await client.post(
            "/api/accounts/",
            json={
                "name": f"{tag} account",
                "email": email,
                "industry": tag,
                "billing_city": tag,
                "description": tag,
                **team_links,
                "contacts": links.get("account_contacts", []),
            },
            headers=h,
        )
    )
    made["account"] = account["id"]
    contact = await _created(
        await client.post(
            "/api/contacts/",
            json={
                "first_name": tag,
                "last_name": f"{tag} contact",
                "primary_email": email,
                "city": tag,
                "description": tag,
                **team_links,
            },
            headers=h,
        )
    )
    made["contact"] = contact["id"]
    account_id = links.get("account", made["account"])
    contacts = links.get("contacts", [made["contact"]])
    lead = await _created(
        await client.post(
            "/api/leads/",
            json={
                "first_name": tag,
                "last_name": f"{tag} lead",
                "title": tag,
                "email": email,
                "city": tag,
                "account_name": f"{tag} prospect",
                "description": tag,
                **team_links,
            },
            headers=h,
        )
    )
    made["lead"] = lead["id"]
    opportunity = await _created(
        await client.post(
            "/api/opportunities/",
            json={
                "name": f"{tag} deal",
                "account": account_id,
                "amount": "1234.00",
                "contacts": contacts,
                "description": tag,
                **team_links,
            },
            headers=h,
        )
    )
    made["opportunity"] = opportunity["id"]
    for path, name_field, kind in (
        ("/api/cases/", "name", "case"),
        ("/api/tasks/", "title", "task"),
    ):
        body = {
            name_field: f"{tag} {kind}",
            "account": account_id,
            "contacts": contacts,
            "description": tag,
            **team_links,
        }
        if kind == "task":
            body["due_date"] = "2026-12-01"
        made[kind] = (await _created(await client.post(path, json=body, headers=h)))["id"]
    event = await _created(
        await client.post(
            "/api/events/",
            json={
                "name": f"{tag} event",
                "event_type": "Meeting",
                "start_date": "2026-12-01",
                "start_time": "09:00",
                "end_date": "2026-12-01",
                "end_time": "10:00",
                "contacts": contacts,
                "description": tag,
                **team_links,
            },
            headers=h,
        )
    )
    made["event"] = event["id"]
    invoice = await _created(
        await client.post(
            "/api/invoices/",
            json={
                "invoice_title": f"{tag} invoice",
                "name": tag,
                "email": email,
                "accounts": [account_id],
                "line_items": [{"description": tag, "quantity": "1", "rate": "10"}],
                **team_links,
            },
            headers=h,
        )
    )
    made["invoice"] = invoice["id"]
    erp = await _created(
        await client.post(
            "/api/crm/opportunity",
            json={
                "opportunity_from": "Lead",
                "party_name": tag,
                "customer_name": tag,
                "title": tag,
                "company": f"{tag} corp",
                "transaction_date": "2026-11-21",
            },
            headers=h,
        )
    )
    made["erp"] = erp["id"]
    item = await _created(
        await client.post(
            "/api/crm/opportunity-item",
            json={"opportunity_id": erp["id"], "item_name": tag, "qty": 1, "rate": 10},
            headers=h,
        )
    )
    made["erp_item"] = item["id"]
    reason = await _created(
        await client.post(
            "/api/crm/opportunity-lost-reason-detail",
            json={"opportunity_id": erp["id"], "lost_reason": tag},
            headers=h,
        )
    )
    made["erp_lost_reason"] = reason["id"]
    return made


async def _document(client: httpx.AsyncClient, caller: Member, title: str, **fields: Any) -> str:
    response = await client.post(
        "/api/documents/",
        data={"title": title, **fields},
        files={"document_file": (f"{title}.txt", title.encode(), "text/plain")},
        headers=caller.headers,
    )
    return str((await _created(response))["id"])


_ACTIVITY_MODULES = {
    "account": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "opportunity": "opportunities",
    "case": "cases",
    "task": "tasks",
    "event": "events",
    "invoice": "invoices",
}


async def _world(client: httpx.AsyncClient, factory: Factory, hidden: bool = True) -> _World:
    admin = await factory.admin()
    user = await factory.member_of(admin, role="USER")
    peer = await factory.member_of(admin, role="USER")
    team = await _created(
        await client.post(
            "/api/teams/",
            json={"name": "Sales", "users": [user.profile_id, peer.profile_id]},
            headers=admin.headers,
        )
    )
    # Teams are org-wide lookups, so both exist before the USER's first look.
    other_team = await _created(
        await client.post(
            "/api/teams/", json={"name": "Other", "users": [peer.profile_id]}, headers=admin.headers
        )
    )
    marker = f"zq{uuid.uuid4().hex[:12]}"
    world = _World(admin, user, peer, team["id"], other_team["id"], marker)
    world.own = await _records(client, user, f"own{uuid.uuid4().hex[:6]}", {})
    world.own["document"] = await _document(client, user, f"own{uuid.uuid4().hex[:6]}")
    company = await client.post(
        "/api/leads/companies/", json={"name": f"own{uuid.uuid4().hex[:6]}"}, headers=user.headers
    )
    world.own["company"] = str((await _created(company))["id"])
    if hidden:
        await _hide(client, world)
    return world


async def _hide(client: httpx.AsyncClient, world: _World) -> None:
    """The admin's hidden records: assigned to the peer, shared with the USER's team, and
    pointing at the USER's own account and contact (reverse lists must still omit them)."""
    marker = world.marker
    links = {
        "assigned_to": [world.peer.profile_id],
        "teams": [world.team],
        "account": world.own["account"],
        "contacts": [world.own["contact"]],
        "account_contacts": [world.own["contact"]],
    }
    world.hidden = await _records(client, world.admin, marker, links)
    # Documents: one shared with the peer only, one shared with the USER but inactive (§14.3:
    # only active shared documents are visible), one shared with a team the USER is not in.
    world.hidden["document"] = await _document(
        client, world.admin, f"{marker} shared", shared_to=world.peer.profile_id
    )
    world.hidden["document_inactive"] = await _document(
        client,
        world.admin,
        f"{marker} inactive",
        shared_to=world.user.profile_id,
        status="inactive",
    )
    world.hidden["document_team"] = await _document(
        client, world.admin, f"{marker} team", shared_with=world.other_team
    )
    # Comments and attachments on every hidden record, by the admin.
    for kind, module in _ACTIVITY_MODULES.items():
        comment = await add_comment(client, world.admin, module, world.hidden[kind], marker)
        attachment = await add_attachment(
            client, world.admin, module, world.hidden[kind], name=f"{marker}.txt"
        )
        world.hidden[f"{kind}_comment"] = str(comment["id"])
        world.hidden[f"{kind}_attachment"] = str(attachment["id"])
    world.hidden_ids = set(world.hidden.values())


# -- reads -----------------------------------------------------------------------------------

SWEPT_READS = sorted(p for p, c in READS.items() if isinstance(c, Swept))


def _urls(world: _World, path: str) -> list[tuple[str, bool]]:
    """(url, names hidden ids) for each variant; those naming hidden records are filled
    only once they exist."""
    swept = READS[path]
    assert isinstance(swept, Swept)
    urls = []
    for variant in swept.variants:
        names_hidden = any("{hidden." in v for v in variant.values())
        if names_hidden and not world.hidden:
            continue
        query = httpx.QueryParams({k: world.fill(v) for k, v in variant.items()})
        urls.append((f"{path}?{query}" if query else path, names_hidden))
    return urls


async def _get(client: httpx.AsyncClient, url: str, caller: Member) -> httpx.Response:
    response = await client.get(url, headers=caller.headers)
    assert response.status_code == 200, (url, response.text)
    return response


def _payload(response: httpx.Response) -> Any:
    """The parsed JSON body, or the text of a CSV export."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


def _changes(before: Any, after: Any) -> list[str]:
    """The top-level keys whose values differ (the whole body when it is not an object)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return [] if before == after else ["<body>"]


async def test_user_reads_show_no_hidden_record(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Every variant of every swept read answers the USER exactly as before the hidden
    records existed (so no count, total or lookup moved), and names neither the marker nor
    a hidden id. One world for all reads: each takes a few requests, the world a hundred."""
    world = await _world(client, factory, hidden=False)
    before = {
        url: _payload(await _get(client, url, world.user))
        for path in SWEPT_READS
        for url, _ in _urls(world, path)
    }
    await _hide(client, world)
    problems = []
    for path in SWEPT_READS:
        found_by_admin = False
        swept = READS[path]
        assert isinstance(swept, Swept)
        for url, names_hidden in _urls(world, path):
            response = await _get(client, url, world.user)
            if leaks := world.leaks(swept.shown(response)):
                problems.append(f"{url} shows the USER hidden records: {leaks}")
            elif not names_hidden and (changed := _changes(before[url], _payload(response))):
                problems.append(f"{url} changed for the USER with hidden records: {changed}")
            admin_view = await _get(client, url, world.admin)
            found_by_admin = found_by_admin or bool(world.leaks(swept.shown(admin_view)))
        if found_by_admin != swept.finds:
            problems.append(f"{path}: the admin's view shows hidden records: {found_by_admin}")
    assert not problems, "\n".join(problems)


# -- details of what the USER can see ---------------------------------------------------------

# The USER's own record each path parameter names (module-specific parameters first).
_OWN_TARGETS: dict[tuple[str, str], str] = {
    **{(module, "comment_id"): f"{kind}_comment" for kind, module in _ACTIVITY_MODULES.items()},
    **{
        (module, "attachment_id"): f"{kind}_attachment"
        for kind, module in _ACTIVITY_MODULES.items()
    },
    ("crm", "opportunity_id"): "erp",
    ("crm", "item_id"): "erp_item",
    ("crm", "row_id"): "erp_lost_reason",
}
_OWN_BY_PARAM = {
    "account_id": "account",
    "contact_id": "contact",
    "lead_id": "lead",
    "opportunity_id": "opportunity",
    "case_id": "case",
    "task_id": "task",
    "event_id": "event",
    "invoice_id": "invoice",
    "document_id": "document",
    "profile_id": "profile",  # the USER's own membership
    "team_id": "team",  # the team the USER is in
    "company_id": "company",
}
# GET operations with a path parameter that name nothing the USER owns in the world.
DETAIL_EXEMPT = {
    ("GET", "/api/leads/upload/{job_id}/"): "an import job shows its own file's rows only",
    ("GET", "/api/api-settings/{setting_id}/"): "org-wide; names members and tags only",
    ("GET", "/api/api-keys/{key_id}/"): _ADMIN_ONLY,
}


def _own_key(path: str) -> str | None:
    (param,) = _PARAM.findall(path)
    module = path.removeprefix("/api/").split("/", 1)[0]
    return _OWN_TARGETS.get((module, param)) or _OWN_BY_PARAM.get(param)


def _details(app: Any) -> list[str]:
    return [p for m, p in _operations(app) if m == "GET" and _PARAM.search(p)]


def test_every_detail_read_is_swept_or_exempt(app: Any) -> None:
    for path in _details(app):
        assert ("GET", path) in DETAIL_EXEMPT or _own_key(path) is not None, (
            f"name the USER's own target for GET {path} in {__name__}, or exempt it"
        )


SWEPT_DETAILS = [
    p
    for p in sorted({p for m, p in POLICY if m == "GET" and _PARAM.search(p)})
    if ("GET", p) not in DETAIL_EXEMPT
]


async def test_user_details_embed_no_hidden_record(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A record the USER can see lists only visible related records (an account's
    opportunities, cases, tasks and invoices; a contact's accounts and opportunities; the
    USER's own profile ...), although every hidden record points at the USER's own ones."""
    world = await _world(client, factory, hidden=False)
    for kind, module in _ACTIVITY_MODULES.items():
        comment = await add_comment(client, world.user, module, world.own[kind], "mine")
        attachment = await add_attachment(client, world.user, module, world.own[kind])
        world.own[f"{kind}_comment"] = str(comment["id"])
        world.own[f"{kind}_attachment"] = str(attachment["id"])
    world.own["profile"] = world.user.profile_id
    world.own["team"] = world.team
    await _hide(client, world)
    problems = []
    for path in SWEPT_DETAILS:
        key = _own_key(path)
        assert key is not None, path
        url = _PARAM.sub(world.own[key], path)
        response = await _get(client, url, world.user)
        if leaks := world.leaks(response.text):
            problems.append(f"{url} shows the USER hidden records: {leaks}")
    assert not problems, "\n".join(problems)


# -- operations that name a hidden record ----------------------------------------------------

# The documented refusal (API.md §1.3, §1.6 "Not allowed"), on each surface (§9 on /api/crm).
DENIED_BODY = {
    "error": True,
    "errors": "You do not have Permission to perform this action",
    "code": "permission_denied",
}
CRM_DENIED_BODY = {
    "error": {
        "type": "permission_error",
        "code": "permission_denied",
        "message": "You do not have Permission to perform this action",
        "param": None,
    }
}
# Headers that would describe the record (its version, its file) rather than the refusal.
_RECORD_HEADERS = ("etag", "content-disposition", "location", "last-modified")

HIDDEN_ROUTES = sorted(k for k, c in ID_ROUTES.items() if c is Hidden.DENIED)


def _ids(keys: list[tuple[str, str]]) -> list[str]:
    return [f"{m} {p}" for m, p in keys]


def _denied_body(path: str) -> dict[str, Any]:
    return CRM_DENIED_BODY if path.startswith("/api/crm/") else DENIED_BODY


def _texts(value: Any) -> set[str]:
    """The string values (and numbers) of a JSON body long enough to recognise."""
    if isinstance(value, dict):
        return set().union(*(_texts(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_texts(v) for v in value)) if value else set()
    if isinstance(value, bool) or value is None:
        return set()
    text = str(value)
    return {text} if len(text) >= 6 else set()


def _assert_denied(response: httpx.Response, path: str, record_ids: list[str]) -> None:
    """The documented 403 body exactly, and no header or text naming the record."""
    assert response.status_code == 403, response.text
    assert response.json() == _denied_body(path), response.text
    assert not [h for h in _RECORD_HEADERS if h in response.headers], response.headers
    shown = response.text + repr(sorted(response.headers.items()))
    for record_id in record_ids:
        assert uuid.UUID(record_id.rsplit("_", 1)[-1]).hex not in shown.replace("-", "")


@pytest.mark.parametrize("key", HIDDEN_ROUTES, ids=_ids(HIDDEN_ROUTES))
async def test_hidden_record_is_refused_with_the_documented_403(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """The records the path names are the admin's, assigned to nobody: hidden from the USER,
    who gets the documented 403 (§1.3), with no data of the record, and nothing changes; a
    missing id and another org's record stay 404, alike (§1.6)."""
    method, path = key
    admin = await factory.admin()
    user = await factory.member_of(admin, role="USER")
    url = await _fill(path, client, factory, admin)
    body = await _body(key, client, factory, admin)
    record_ids = [
        part
        for part, pattern in zip(url.split("/"), path.split("/"), strict=True)
        if _PARAM.search(pattern)
    ]
    stranger = await factory.admin()  # another org's record, as the USER sees it
    foreign_url = await _fill(path, client, factory, stranger)
    foreign_body = await _body(key, client, factory, stranger)
    missing = await client.request(method, _random_ids(path), json=body, headers=user.headers)
    assert missing.status_code == 404, missing.text
    foreign = await client.request(method, foreign_url, json=foreign_body, headers=user.headers)
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())

    before = await checksum(test_database)
    response = await client.request(method, url, json=body, headers=user.headers)
    _assert_denied(response, path, record_ids)
    assert await checksum(test_database) == before
    if method == "GET":  # the probe aims at a real record, and its data stays out
        shown = await client.get(url, headers=admin.headers)
        assert shown.status_code == 200, shown.text
        if shown.headers.get("content-type", "").startswith("application/json"):
            leaked = {t for t in _texts(shown.json()) if t in response.text}
            assert not leaked, leaked


@pytest.mark.parametrize("key", sorted(QUERY_ID_ROUTES), ids=_ids(sorted(QUERY_ID_ROUTES)))
async def test_hidden_record_named_in_the_query_is_refused_with_the_documented_403(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory
) -> None:
    method, path = key
    param, kind = QUERY_ID_ROUTES[key]
    world = await _world(client, factory)
    url = f"{path}?{httpx.QueryParams({param: world.hidden[kind]})}"
    missing_url = f"{path}?{httpx.QueryParams({param: str(uuid.uuid4())})}"
    missing = await client.request(method, missing_url, headers=world.user.headers)
    assert missing.status_code == 404, missing.text
    response = await client.request(method, url, headers=world.user.headers)
    _assert_denied(response, path, [world.hidden[kind]])
    assert not world.leaks(response.text)
    assert world.leaks((await _get(client, url, world.admin)).text)  # the probe aims true


@pytest.mark.parametrize("key", sorted(BODY_ID_ROUTES), ids=_ids(sorted(BODY_ID_ROUTES)))
async def test_hidden_record_named_in_the_body_is_refused_with_the_documented_403(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    world = await _world(client, factory)
    body = json.loads(world.fill(json.dumps(BODY_ID_ROUTES[key])))
    missing_body = json.loads(
        json.dumps(body).replace(world.hidden["erp"], f"opportunity_{uuid.uuid4().hex}")
    )
    missing = await client.request(method, path, json=missing_body, headers=world.user.headers)
    assert missing.status_code == 404, missing.text
    before = await checksum(test_database)
    response = await client.request(method, path, json=body, headers=world.user.headers)
    _assert_denied(response, path, [world.hidden["erp"]])
    assert not world.leaks(response.text)
    assert await checksum(test_database) == before
    allowed = await client.request(method, path, json=body, headers=world.admin.headers)
    assert allowed.status_code in (200, 201), allowed.text  # the body is valid for the admin
