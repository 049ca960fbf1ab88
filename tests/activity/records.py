"""Test kit for comments and attachments (§16).

Parent records are made directly in the database, so these tests do not depend on the
record modules' own endpoints; comments and attachments are always made through the API.
Also the record makers the route-loop contract tests use for these routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from crm.activity.record_types import BY_KIND, RECORD_TYPES
from crm.core.db import Database
from crm.core.tenancy import Role, TenantContext, bind_tenant, unscoped
from crm.models import (
    Account,
    Attachment,
    Case,
    Comment,
    Contact,
    Event,
    Invoice,
    Lead,
    Opportunity,
    Profile,
    Task,
)
from crm.models.records import SalesRecord
from tests.conftest import Factory, Member

MODULES = sorted(RECORD_TYPES)
KIND = {module: record_type.kind for module, record_type in RECORD_TYPES.items()}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))

Maker = Callable[[httpx.AsyncClient, Factory, Member], Awaitable[str]]


def database_of(client: httpx.AsyncClient) -> Database:
    """The database of the app behind a test client."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    database: Database = transport.app.state.database  # type: ignore[attr-defined]
    return database


def _admin_context(owner: Member) -> TenantContext:
    return TenantContext(
        org_id=uuid.UUID(owner.org_id),
        profile_id=uuid.UUID(owner.profile_id),
        user_id=uuid.UUID(owner.user_id),
        role=Role.ADMIN,
    )


def _new_record(kind: str, org_id: uuid.UUID, creator: uuid.UUID) -> SalesRecord:
    suffix = uuid.uuid4().hex[:10]
    common: dict[str, Any] = {"org_id": org_id, "created_by_id": creator}
    if kind == "account":
        return Account(name=f"Account {suffix}", **common)
    if kind == "contact":
        return Contact(
            first_name="Pat", last_name=suffix, primary_email=f"{suffix}@example.com", **common
        )
    if kind == "lead":
        return Lead(first_name="Lee", last_name=suffix, **common)
    if kind == "opportunity":
        account = Account(name=f"Account of {suffix}", **common)
        return Opportunity(name=f"Deal {suffix}", account=account, **common)
    if kind == "case":
        return Case(name=f"Case {suffix}", **common)
    if kind == "task":
        return Task(title=f"Task {suffix}", **common)
    if kind == "event":
        return Event(
            name=f"Event {suffix}",
            event_type="Meeting",
            start_date=date(2026, 12, 1),
            start_time=time(9, 0),
            end_date=date(2026, 12, 1),
            **common,
        )
    if kind == "invoice":
        return Invoice(
            invoice_title=f"Invoice {suffix}",
            invoice_number=f"T-{suffix}",
            name="Customer",
            email="customer@example.com",
            **common,
        )
    raise ValueError(kind)


async def make_record(
    database: Database,
    owner: Member,
    kind: str,
    *,
    created_by: Member | None = None,
    assigned_to: Sequence[Member] = (),
) -> str:
    """A record of ``owner``'s org, created by ``created_by`` (default: the owner)."""
    async with database.sessionmaker() as session:
        context = _admin_context(owner)
        bind_tenant(session, context)
        creator = uuid.UUID(created_by.profile_id) if created_by else context.profile_id
        record = _new_record(kind, context.org_id, creator)
        if assigned_to:
            ids = [uuid.UUID(m.profile_id) for m in assigned_to]
            record.assigned_to = list(
                (await session.scalars(select(Profile).where(Profile.id.in_(ids)))).all()
            )
        session.add(record)
        await session.commit()
        return str(record.id)


async def delete_record(database: Database, owner: Member, kind: str, record_id: str) -> None:
    model = BY_KIND[kind].model
    async with database.sessionmaker() as session:
        bind_tenant(session, _admin_context(owner))
        await session.execute(delete(model).where(model.id == uuid.UUID(record_id)))
        await session.commit()


async def count_rows(
    database: Database, model: type[Comment] | type[Attachment], **where: str
) -> int:
    """Rows of every org, filtered by column = value."""
    statement = select(func.count()).select_from(model)
    for column, value in where.items():
        statement = statement.where(getattr(model, column) == uuid.UUID(value))
    async with database.sessionmaker() as session:
        with unscoped(session):
            return int(await session.scalar(statement) or 0)


def stored_files(storage_dir: Path) -> list[Path]:
    """Every file under the storage directory (partial uploads included)."""
    return sorted(p for p in storage_dir.rglob("*") if p.is_file())


# -- through the API ----------------------------------------------------------------------------


async def add_comment(
    client: httpx.AsyncClient, caller: Member, module: str, record_id: str, text: str = "A note"
) -> dict[str, Any]:
    response = await client.post(
        f"/api/{module}/{record_id}/", json={"comment": text}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    comment: dict[str, Any] = response.json()["comment"]
    return comment


async def add_attachment(
    client: httpx.AsyncClient,
    caller: Member,
    module: str,
    record_id: str,
    *,
    name: str = "notes.txt",
    content: bytes = b"hello, world\n",
    client_type: str = "text/plain",
    field: str = "attachment",
) -> dict[str, Any]:
    response = await client.post(
        f"/api/{module}/{record_id}/",
        files={field: (name, content, client_type)},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["attachment"]
    return attachment


# -- record makers of the route-loop contract tests ---------------------------------------------


def _comment_maker(module: str, parent: Maker) -> Maker:
    async def make(client: httpx.AsyncClient, factory: Factory, owner: Member) -> str:
        record_id = await parent(client, factory, owner)
        return str((await add_comment(client, owner, module, record_id))["id"])

    return make


def _attachment_maker(module: str, parent: Maker) -> Maker:
    async def make(client: httpx.AsyncClient, factory: Factory, owner: Member) -> str:
        record_id = await parent(client, factory, owner)
        return str((await add_attachment(client, owner, module, record_id))["id"])

    return make


def activity_record_makers(parents: Mapping[str, Maker]) -> dict[tuple[str, str], Maker]:
    """(module, parameter) -> maker: a comment or attachment, made through the API, on a
    record of that module made by ``parents[<kind>_id]`` (the contract suite's makers)."""
    makers: dict[tuple[str, str], Maker] = {}
    for module, record_type in RECORD_TYPES.items():
        parent = parents[record_type.id_param]
        makers[(module, "comment_id")] = _comment_maker(module, parent)
        makers[(module, "attachment_id")] = _attachment_maker(module, parent)
    return makers
