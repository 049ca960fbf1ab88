"""Seed data made through the domain services: an org's first admin (``crm bootstrap``) and the
"Acme-Demo" organization (``crm demo``).

Everything goes through the same services as the HTTP API, in one transaction, so seeded data
obeys the same rules as data entered by hand. The demo is a list of small seed functions
(:data:`SEEDS`) run in order; a later module adds its own seed to the list.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.api_settings.schemas import APISettingCreate
from crm.api_settings.service import APISettingService
from crm.auth.errors import InvalidCredentials
from crm.auth.schemas import RegisterIn
from crm.auth.service import AuthService, IssuedTokens
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.errors import ValidationFailed
from crm.core.ratelimit import MemoryCounter
from crm.core.tenancy import Role, TenantContext
from crm.models import User
from crm.orgs.schemas import OrgCreate
from crm.orgs.service import OrgService
from crm.teams.schemas import TeamCreate
from crm.teams.service import TeamService
from crm.users.schemas import MemberCreate, MemberUpdate
from crm.users.service import MemberService

SchemaT = TypeVar("SchemaT", bound=BaseModel)


def _validated(schema: type[SchemaT], **values: Any) -> SchemaT:
    """Check command-line input with the API's own request schema."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValidationFailed(f"Invalid input: {problems}") from exc


async def register_or_sign_in(
    auth: AuthService, email: str, password: str, first_name: str, last_name: str
) -> IssuedTokens:
    """A new user, or the existing one with this e-mail if the password is theirs."""
    try:
        return await auth.register(email, password, first_name, last_name)
    except ValidationFailed as exc:
        if exc.code != "email_taken":
            raise
    try:
        return await auth.login(email, password, client_ip="cli")
    except InvalidCredentials as exc:
        raise ValidationFailed(
            f"A user with e-mail {email} already exists and this password is not theirs "
            "(or the user is inactive); refusing to reuse it",
            code="password_mismatch",
        ) from exc


# -- crm bootstrap --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    org_id: uuid.UUID
    profile_id: uuid.UUID
    access: str
    refresh: str


async def bootstrap_org(
    settings: Settings,
    *,
    email: str,
    password: str,
    org_name: str,
    first_name: str = "",
    last_name: str = "",
) -> BootstrapResult:
    """Create (or reuse) the user, the org and its ADMIN membership in one transaction."""
    account = _validated(
        RegisterIn, email=email, password=password, first_name=first_name, last_name=last_name
    )
    org_in = _validated(OrgCreate, name=org_name)
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            auth = AuthService(session, settings, MemoryCounter())
            tokens = await register_or_sign_in(
                auth, account.email, account.password, account.first_name, account.last_name
            )
            org, profile = await OrgService(session).create_org(tokens.user, org_in.name)
            await session.commit()
    finally:
        await database.dispose()
    return BootstrapResult(
        org_id=org.id, profile_id=profile.id, access=tokens.access, refresh=tokens.refresh
    )


# -- crm demo -------------------------------------------------------------------------------

DEMO_ORG_NAME = "Acme-Demo"  # org names may not contain spaces (OrgCreate)


@dataclass(frozen=True, slots=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    role: Role
    phone: str
    has_sales_access: bool = False
    has_marketing_access: bool = False


DEMO_ADMIN = DemoPerson("demo-admin@example.com", "Ada", "Admin", Role.ADMIN, "+14155550100")
DEMO_MEMBERS = (
    DemoPerson(
        "sam.sales@example.com", "Sam", "Seller", Role.USER, "+14155550101", has_sales_access=True
    ),
    DemoPerson(
        "mia.marketing@example.com",
        "Mia",
        "Marketer",
        Role.USER,
        "+14155550102",
        has_marketing_access=True,
    ),
    DemoPerson(
        "oscar.ops@example.com",
        "Oscar",
        "Operator",
        Role.ADMIN,
        "+14155550103",
        has_sales_access=True,
        has_marketing_access=True,
    ),
    DemoPerson("sue.support@example.com", "Sue", "Supporter", Role.USER, "+14155550104"),
)
DEMO_TEAMS = (
    ("Sales", "Closes the deals.", ("sam.sales@example.com", "oscar.ops@example.com")),
    (
        "Customer Care",
        "Keeps customers happy.",
        ("sue.support@example.com", "mia.marketing@example.com"),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoPlan:
    password: str
    org_name: str = DEMO_ORG_NAME

    @classmethod
    def new(cls, password: str | None = None) -> DemoPlan:
        return cls(password=password or secrets.token_urlsafe(12))


@dataclass
class DemoRun:
    """What the seeds share: the session, the plan, and what earlier seeds created."""

    session: AsyncSession
    settings: Settings
    plan: DemoPlan
    admin: User | None = None
    tenant: TenantContext | None = None
    profiles: dict[str, uuid.UUID] = field(default_factory=dict)  # e-mail -> profile id

    @property
    def acting(self) -> TenantContext:
        if self.tenant is None:
            raise RuntimeError("the organization seed must run first")
        return self.tenant


async def seed_org(run: DemoRun) -> None:
    """The demo admin (a new user, or the existing one if the password matches) and the org."""
    auth = AuthService(run.session, run.settings, MemoryCounter())
    person = DEMO_ADMIN
    tokens = await register_or_sign_in(
        auth, person.email, run.plan.password, person.first_name, person.last_name
    )
    org, _profile = await OrgService(run.session).create_org(tokens.user, run.plan.org_name)
    run.admin = tokens.user
    run.tenant = await auth.member_context(tokens.user, org.id)
    members = MemberService(run.session, run.tenant)
    admin_profile = await members.update(
        run.tenant.profile_id,
        _validated(
            MemberUpdate,
            phone=person.phone,
            has_sales_access=True,
            has_marketing_access=True,
        ),
    )
    run.profiles[person.email] = admin_profile.id


async def seed_members(run: DemoRun) -> None:
    """Four members with different roles and access rights."""
    members = MemberService(run.session, run.acting)
    for person in DEMO_MEMBERS:
        profile = await members.add(
            _validated(
                MemberCreate,
                email=person.email,
                role=person.role,
                phone=person.phone,
                first_name=person.first_name,
                last_name=person.last_name,
                has_sales_access=person.has_sales_access,
                has_marketing_access=person.has_marketing_access,
                password=run.plan.password,
            )
        )
        run.profiles[person.email] = profile.id


async def seed_teams(run: DemoRun) -> None:
    """Two teams of the members above."""
    teams = TeamService(run.session, run.acting)
    for name, description, emails in DEMO_TEAMS:
        await teams.create(
            _validated(
                TeamCreate,
                name=name,
                description=description,
                users=[run.profiles[email] for email in emails],
            )
        )


async def seed_api_setting(run: DemoRun) -> None:
    """The website's lead-capture key: its leads go to the sales member, tagged."""
    await APISettingService(run.session, run.acting).create(
        _validated(
            APISettingCreate,
            title="Acme website contact form",
            website="https://www.acme.example",
            lead_assigned_to=[run.profiles["sam.sales@example.com"]],
            tags=["website", "inbound"],
        )
    )


Seed = Callable[[DemoRun], Awaitable[None]]

SEEDS: tuple[tuple[str, Seed], ...] = (
    ("organization and admin", seed_org),
    ("members", seed_members),
    ("teams", seed_teams),
    ("website API setting", seed_api_setting),
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: Role


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    created: bool
    org_id: uuid.UUID | None = None
    logins: tuple[DemoLogin, ...] = ()


async def load(
    settings: Settings, plan: DemoPlan, on_step: Callable[[str], None] | None = None
) -> DemoOutcome:
    """Run every seed in one transaction; nothing happens if the demo org already exists."""
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            if await OrgService(session).name_taken(plan.org_name):
                return DemoOutcome(created=False)
            run = DemoRun(session=session, settings=settings, plan=plan)
            for description, seed in SEEDS:
                await seed(run)
                if on_step is not None:
                    on_step(description)
            await session.commit()
    finally:
        await database.dispose()
    people = (DEMO_ADMIN, *DEMO_MEMBERS)
    return DemoOutcome(
        created=True,
        org_id=run.acting.org_id,
        logins=tuple(DemoLogin(p.email, p.role) for p in people),
    )
