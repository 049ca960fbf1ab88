"""Seed data made through the domain services: an org's first admin (``crm bootstrap``) and the
"Acme-Demo" organization (``crm demo``): its members and teams, and a small sales pipeline
(accounts, contacts, lead companies, leads, opportunities, comments) spread over the members,
support cases, follow-up tasks and calendar events.

Everything goes through the same services as the HTTP API, in one transaction, so seeded data
obeys the same rules as data entered by hand. The demo is a list of small seed functions
(:data:`SEEDS`) run in order; a later module adds its own seed to the list.

The sales data is fixed (no randomness); only its dates move with the calendar: close dates
are counted in days from the day the demo is loaded. Members act as themselves where a
salesperson would (their own leads, comments and conversions). New assignees get the usual
notification e-mail rows: they are queued, not sent, and go out once a server with SMTP runs
the e-mail sweep.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.accounts.schemas import AccountCreate
from crm.accounts.service import AccountService
from crm.activity.record_types import record_type_of
from crm.activity.schemas import CommentIn
from crm.activity.service import ActivityService
from crm.api_settings.schemas import APISettingCreate
from crm.api_settings.service import APISettingService
from crm.auth.errors import InvalidCredentials
from crm.auth.schemas import RegisterIn
from crm.auth.service import AuthService, IssuedTokens
from crm.cases.schemas import CaseCreate
from crm.cases.service import CaseService
from crm.companies.schemas import CompanyCreate
from crm.companies.service import CompanyService
from crm.contacts.schemas import ContactCreate
from crm.contacts.service import ContactService
from crm.core.clock import today
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.errors import ValidationFailed
from crm.core.ratelimit import RateLimiter
from crm.core.tenancy import Role, TenantContext, bind_tenant
from crm.events.schemas import EventCreate
from crm.events.service import EventService
from crm.invoices.schemas import InvoiceCreate
from crm.invoices.service import InvoiceService
from crm.leads.schemas import LeadCreate, LeadUpdate
from crm.leads.service import LeadService
from crm.models import User
from crm.opportunities.schemas import OpportunityCreate, OpportunityUpdate
from crm.opportunities.service import OpportunityService
from crm.orgs.schemas import OrgCreate
from crm.orgs.service import OrgService
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import TaskService
from crm.teams.schemas import TeamCreate
from crm.teams.service import TeamService
from crm.users.schemas import MemberCreate, MemberUpdate
from crm.users.service import MemberService

SchemaT = TypeVar("SchemaT", bound=BaseModel)


def _validated(schema: type[SchemaT], **values: Any) -> SchemaT:
    """Check command-line input and seed data with the API's own request schema.

    Request schemas ignore unknown keys (old clients send extras); here a key the schema does
    not know is a typo in our own code, so it fails loudly instead of vanishing."""
    known = {
        key
        for name, info in schema.model_fields.items()
        for key in (name, info.alias)
        if key is not None
    }
    unknown = sorted(set(values) - known)
    if unknown:
        raise TypeError(f"{schema.__name__} has no field {', '.join(unknown)}")
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
        return await auth.login(email, password)
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
            auth = AuthService(session, settings, RateLimiter.unlimited())
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
    members: dict[str, TenantContext] = field(default_factory=dict)  # e-mail -> as them
    teams: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    companies: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    contacts: dict[str, uuid.UUID] = field(default_factory=dict)  # primary e-mail -> id
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    opportunities: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    leads: dict[str, uuid.UUID] = field(default_factory=dict)  # lead e-mail -> id
    converted: list[str] = field(default_factory=list)  # e-mails of the converted leads
    cases: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    tasks: dict[str, uuid.UUID] = field(default_factory=dict)  # title -> id
    events: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    invoices: dict[str, uuid.UUID] = field(default_factory=dict)  # number -> id
    comments: int = 0

    @property
    def acting(self) -> TenantContext:
        if self.tenant is None:
            raise RuntimeError("the organization seed must run first")
        return self.tenant

    @contextmanager
    def acting_as(self, email: str) -> Iterator[TenantContext]:
        """Act as this member, as their own login would: the session's bound tenant decides
        who is "the person making the change" (no notification to oneself); then the admin
        again."""
        context = self.members[email]
        bind_tenant(self.session, context)
        try:
            yield context
        finally:
            bind_tenant(self.session, self.acting)

    def refs(self, spec: Mapping[str, Any], *, close_date_field: str = "") -> dict[str, Any]:
        """A seed spec as request values: people by e-mail, teams, lead companies and
        accounts by name, contacts by e-mail, ``close_in_days`` as a date from today."""
        values = {k: v for k, v in spec.items() if k not in ("by", "then")}
        if "assigned_to" in values:
            values["assigned_to"] = [self.profiles[email] for email in values["assigned_to"]]
        if "teams" in values:
            values["teams"] = [self.teams[name] for name in values["teams"]]
        if "contacts" in values:
            values["contacts"] = [self.contacts[email] for email in values["contacts"]]
        if "account" in values:
            values["account"] = self.accounts[values["account"]]
        if "accounts" in values:
            values["accounts"] = [self.accounts[name] for name in values["accounts"]]
        if "company" in values:
            values["company"] = self.companies[values["company"]]
        if "close_in_days" in values:
            values[close_date_field] = today() + timedelta(days=values.pop("close_in_days"))
        return values


async def seed_org(run: DemoRun) -> None:
    """The demo admin (a new user, or the existing one if the password matches) and the org."""
    auth = AuthService(run.session, run.settings, RateLimiter.unlimited())
    person = DEMO_ADMIN
    tokens = await register_or_sign_in(
        auth, person.email, run.plan.password, person.first_name, person.last_name
    )
    org, _profile = await OrgService(run.session).create_org(tokens.user, run.plan.org_name)
    run.admin = tokens.user
    run.tenant = await auth.member_context(tokens.user, org.id)
    run.members[person.email] = run.tenant
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
        run.members[person.email] = TenantContext(
            org_id=profile.org_id, profile_id=profile.id, user_id=profile.user_id, role=profile.role
        )


async def seed_teams(run: DemoRun) -> None:
    """Two teams of the members above."""
    teams = TeamService(run.session, run.acting)
    for name, description, emails in DEMO_TEAMS:
        team = await teams.create(
            _validated(
                TeamCreate,
                name=name,
                description=description,
                users=[run.profiles[email] for email in emails],
            )
        )
        run.teams[name] = team.id


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


# -- crm demo: sales data ---------------------------------------------------------------------
#
# Specs are request bodies, with people by e-mail, teams, lead companies and accounts by name
# and contacts by e-mail (see ``DemoRun.refs``); ``by`` is who creates the record (default:
# the demo admin). The domains' own validation applies to every value.

ADA = DEMO_ADMIN.email
SAM = "sam.sales@example.com"
MIA = "mia.marketing@example.com"
OSCAR = "oscar.ops@example.com"
SUE = "sue.support@example.com"

Spec = Mapping[str, Any]

DEMO_COMPANIES: tuple[Spec, ...] = (
    {"name": "Lakeside Dental Group", "industry": "Healthcare", "website": "https://lakeside-dental.example"},
    {"name": "Kestrel Robotics", "industry": "Robotics", "website": "https://kestrel-robotics.example"},
    {"name": "Greenfield Schools Trust", "industry": "Education", "website": "https://greenfield-schools.example"},
)  # fmt: skip


def _person(
    first: str, last: str, email: str, title: str, organization: str, city: str, country: str,
    phone: str, assigned_to: tuple[str, ...], **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "first_name": first,
        "last_name": last,
        "primary_email": email,
        "title": title,
        "organization": organization,
        "city": city,
        "country": country,
        "mobile_number": phone,
        "assigned_to": list(assigned_to),
        "is_active": True,
        **extra,
    }


DEMO_CONTACTS: tuple[Spec, ...] = (
    _person("Nancy", "Davolio", "nancy.davolio@northwind.example", "Purchasing Manager", "Northwind Traders", "Seattle", "US", "+12065550141", (SAM,)),
    _person("Andrew", "Fuller", "andrew.fuller@northwind.example", "VP Sales", "Northwind Traders", "Seattle", "US", "+12065550142", (SAM,)),
    _person("Rachel", "Kim", "rachel.kim@contoso.example", "CTO", "Contoso Manufacturing", "Chicago", "US", "+13125550150", (OSCAR,), linked_in_url="https://www.linkedin.com/in/rachel-kim-demo"),
    _person("David", "Okafor", "david.okafor@contoso.example", "Procurement Lead", "Contoso Manufacturing", "Chicago", "US", "+13125550151", (OSCAR,)),
    _person("Priya", "Raman", "priya.raman@fabrikam.example", "Head of Engineering", "Fabrikam Software", "Austin", "US", "+15125550160", (SAM,)),
    _person("Tom", "Becker", "tom.becker@fabrikam.example", "CFO", "Fabrikam Software", "Austin", "US", "+15125550161", (), do_not_call=True, description="Prefers e-mail; approves anything above $10k."),
    _person("Katrin", "Vogel", "katrin.vogel@rheinwerk.example", "Managing Director", "Rheinwerk Medizintechnik GmbH", "Munich", "DE", "+49895550170", (OSCAR,), salutation="Dr.", language="German"),
    _person("Jonas", "Weber", "jonas.weber@rheinwerk.example", "Head of Purchasing", "Rheinwerk Medizintechnik GmbH", "Munich", "DE", "+49895550171", (OSCAR,), language="German"),
    _person("Sanne", "de Vries", "sanne.devries@blueharbor.example", "Operations Director", "Blue Harbor Logistics", "Rotterdam", "NL", "+31105550180", (SAM, OSCAR)),
    _person("Pieter", "Jansen", "pieter.jansen@blueharbor.example", "IT Manager", "Blue Harbor Logistics", "Rotterdam", "NL", "+31105550181", (SAM,)),
    _person("Camille", "Laurent", "camille.laurent@maison-lumiere.example", "Owner", "Maison Lumière", "Lyon", "FR", "+33478555019", (SUE,), language="French"),
    _person("Marcus", "Reed", "marcus.reed@summitfitness.example", "General Manager", "Summit Fitness Studios", "Denver", "US", "+13035550190", (SUE,)),
    _person("Aoife", "Byrne", "aoife.byrne@tailspin.example", "Fleet Director", "Tailspin Aviation Services", "Dublin", "IE", "+35315550200", ()),
)  # fmt: skip


def _account(
    name: str, industry: str, street: str, city: str, state: str, postcode: str, country: str,
    domain: str, assigned_to: tuple[str, ...], contacts: tuple[str, ...], tags: tuple[str, ...],
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    closed = extra.get("status") == "closed"
    return {
        "name": name,
        "industry": industry,
        "email": f"info@{domain}",
        "website": f"https://www.{domain}",
        "billing_street": street,
        "billing_city": city,
        "billing_state": state,
        "billing_postcode": postcode,
        "billing_country": country,
        "assigned_to": list(assigned_to),
        "contacts": list(contacts),
        "tags": list(tags),
        "is_active": not closed,
        **extra,
    }


DEMO_ACCOUNTS: tuple[Spec, ...] = (
    _account("Northwind Traders", "Wholesale", "2001 Western Ave", "Seattle", "WA", "98121", "US", "northwind.example", (SAM,), ("nancy.davolio@northwind.example", "andrew.fuller@northwind.example"), ("key-account",), phone="+12065550140", description="Specialty food distributor, 120 stores on the West Coast."),
    _account("Contoso Manufacturing", "Manufacturing", "400 W Lake St", "Chicago", "IL", "60606", "US", "contoso.example", (OSCAR,), ("rachel.kim@contoso.example", "david.okafor@contoso.example"), ("enterprise",), teams=["Sales"], phone="+13125550150"),
    _account("Fabrikam Software", "Software", "500 Congress Ave", "Austin", "TX", "78701", "US", "fabrikam.example", (SAM,), ("priya.raman@fabrikam.example", "tom.becker@fabrikam.example"), ("smb",)),
    _account("Rheinwerk Medizintechnik GmbH", "Healthcare", "Leopoldstraße 88", "Munich", "Bavaria", "80802", "DE", "rheinwerk.example", (OSCAR,), ("katrin.vogel@rheinwerk.example", "jonas.weber@rheinwerk.example"), ("enterprise", "eu")),
    _account("Blue Harbor Logistics", "Logistics", "Waalhaven Zuidzijde 21", "Rotterdam", "South Holland", "3089 JH", "NL", "blueharbor.example", (SAM, OSCAR), ("sanne.devries@blueharbor.example", "pieter.jansen@blueharbor.example"), ("eu", "key-account"), teams=["Sales"]),
    _account("Maison Lumière", "Hospitality", "12 Quai Saint-Antoine", "Lyon", "Auvergne-Rhône-Alpes", "69002", "FR", "maison-lumiere.example", (SUE,), ("camille.laurent@maison-lumiere.example",), ("churned", "eu"), status="closed", teams=["Customer Care"], description="Boutique hotel; sold to a chain that runs its own booking system."),
    _account("Summit Fitness Studios", "Fitness", "1550 Blake St", "Denver", "CO", "80202", "US", "summitfitness.example", (SUE,), ("marcus.reed@summitfitness.example",), ("churned", "smb"), status="closed", teams=["Customer Care"]),
    _account("Tailspin Aviation Services", "Aviation", "Dublin Airport Business Park", "Dublin", "County Dublin", "K67 X2Y9", "IE", "tailspin.example", (), ("aoife.byrne@tailspin.example",), ("enterprise", "eu")),
)  # fmt: skip


def _deal(
    name: str, account: str, stage: str, amount: str, currency: str, close_in_days: int,
    assigned_to: tuple[str, ...], contacts: tuple[str, ...], tags: tuple[str, ...], source: str,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "account": account,
        "stage": stage,
        "amount": Decimal(amount),
        "currency": currency,
        "close_in_days": close_in_days,
        "assigned_to": list(assigned_to),
        "contacts": list(contacts),
        "tags": list(tags),
        "lead_source": source,
        "is_active": stage not in ("CLOSED WON", "CLOSED LOST"),
        **extra,
    }


DEMO_OPPORTUNITIES: tuple[Spec, ...] = (
    _deal("Northwind - POS rollout, 40 stores", "Northwind Traders", "PROPOSAL/QUOTATION", "84000", "USD", 21, (SAM,), ("nancy.davolio@northwind.example",), ("expansion",), "Existing Customer", by=SAM),
    _deal("Contoso - MES integration", "Contoso Manufacturing", "NEGOTIATION/REVIEW", "126500", "USD", 14, (OSCAR,), ("rachel.kim@contoso.example", "david.okafor@contoso.example"), ("new-business",), "Trade Show", teams=["Sales"], description="Legal is reviewing the MSA; procurement wants net-60."),
    _deal("Fabrikam - Premium support renewal", "Fabrikam Software", "CLOSED WON", "18000", "USD", -3, (SAM,), ("tom.becker@fabrikam.example",), ("renewal",), "Existing Customer", probability=100),
    _deal("Rheinwerk - Lab device fleet", "Rheinwerk Medizintechnik GmbH", "VALUE PROPOSITION", "95000", "EUR", 75, (OSCAR,), ("katrin.vogel@rheinwerk.example",), ("new-business",), "Referral"),
    _deal("Blue Harbor - Warehouse scanners", "Blue Harbor Logistics", "ID.DECISION MAKERS", "42300", "EUR", 45, (SAM, OSCAR), ("sanne.devries@blueharbor.example",), ("expansion",), "Existing Customer", teams=["Sales"]),
    _deal("Blue Harbor - Route planning pilot", "Blue Harbor Logistics", "PERCEPTION ANALYSIS", "12750", "EUR", 30, (SAM,), ("pieter.jansen@blueharbor.example",), ("pilot",), "Existing Customer", by=SAM),
    _deal("Maison Lumière - Booking system", "Maison Lumière", "CLOSED LOST", "9800", "EUR", -40, (SUE,), ("camille.laurent@maison-lumiere.example",), ("new-business",), "Website Form", description="Lost: the new owners keep their chain's booking system."),
    # Created in negotiation, then won: closing stamps the close date and who closed it.
    _deal("Tailspin - Maintenance tracking", "Tailspin Aviation Services", "NEGOTIATION/REVIEW", "61200", "EUR", 7, (), ("aoife.byrne@tailspin.example",), ("new-business",), "Cold Call", then={"stage": "CLOSED WON"}),
)  # fmt: skip


def _lead(
    first: str, last: str, email: str, status: str, source: str, account_name: str,
    title: str, assigned_to: tuple[str, ...], city: str, country: str, **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "status": status,
        "source": source,
        "account_name": account_name,
        "title": title,
        "assigned_to": list(assigned_to),
        "city": city,
        "country": country,
        "is_active": status not in ("closed", "recycled"),
        **extra,
    }


DEMO_LEADS: tuple[Spec, ...] = (
    # assigned: new, not yet worked
    _lead("Olivia", "Chen", "olivia.chen@kestrel-robotics.example", "assigned", "Website Form", "Kestrel Robotics", "Pricing for 25 seats", (SAM,), "San Jose", "US", company="Kestrel Robotics", tags=["website", "inbound"], opportunity_amount=Decimal("15000"), probability=10),
    _lead("Marco", "Rossi", "marco@trattoria-rossi.example", "assigned", "Cold Call", "Trattoria Rossi Group", "POS for 6 restaurants", (SAM,), "Boston", "US", phone="+16175550210", by=SAM),
    _lead("Emma", "Schulz", "emma.schulz@hanse-solar.example", "assigned", "Email Campaign", "Hanse Solar GmbH", "Replied to the spring newsletter", (MIA,), "Hamburg", "DE", tags=["newsletter"]),
    _lead("James", "O'Connor", "j.oconnor@greenfield-schools.example", "assigned", "Referral", "Greenfield Schools Trust", "Trust-wide rollout, 14 schools", (OSCAR,), "Leeds", "GB", company="Greenfield Schools Trust", opportunity_amount=Decimal("56000"), probability=10),
    _lead("Fatima", "Al-Sayed", "fatima@desertbloom-hotels.example", "assigned", "Trade Show", "Desert Bloom Hotels", "Met at the hospitality expo", (OSCAR,), "Dubai", "AE", tags=["trade-show"]),
    _lead("Noah", "Williams", "noah.williams@pinecrest-cu.example", "assigned", "Advertisement", "Pinecrest Credit Union", "Clicked the LinkedIn ad", (MIA,), "Portland", "US"),
    # in process: being qualified
    _lead("Sofia", "Martins", "sofia.martins@atlantico-seafood.example", "in process", "Referral", "Atlântico Seafood", "Cold-chain tracking", (SAM,), "Porto", "PT", opportunity_amount=Decimal("22000"), probability=30, close_in_days=60),
    _lead("Ben", "Carter", "ben@carterlowe.example", "in process", "Cold Call", "Carter & Lowe Architects", "Project time tracking", (SAM,), "Denver", "US", by=SAM),
    _lead("Yuki", "Tanaka", "yuki.tanaka@kestrel-robotics.example", "in process", "Trade Show", "Kestrel Robotics", "Second contact at Kestrel, wants API access", (OSCAR,), "San Jose", "US", company="Kestrel Robotics", tags=["trade-show"]),
    _lead("Grace", "Liu", "grace.liu@lumenhealth.example", "in process", "Social Media", "Lumen Health Clinics", "Asked for a demo on Instagram", (MIA,), "Vancouver", "CA"),
    _lead("Daniel", "Novak", "daniel.novak@novakfreight.example", "in process", "Email Campaign", "Novak Freight", "Fleet of 80 trucks", (OSCAR,), "Prague", "CZ", opportunity_amount=Decimal("31000"), probability=20, close_in_days=90),
    # recycled: not now, maybe later
    _lead("Chloe", "Dubois", "chloe@atelier-dubois.example", "recycled", "Website Form", "Atelier Dubois", "Budget frozen until Q3", (MIA,), "Bordeaux", "FR", tags=["website"]),
    _lead("Ethan", "Brooks", "ethan@brookshardware.example", "recycled", "Cold Call", "Brooks Hardware", "Re-engage after their ERP migration", (SAM,), "Columbus", "US"),
    _lead("Hannah", "Meyer", "h.meyer@greenfield-schools.example", "recycled", "Email Campaign", "Greenfield Schools Trust", "Single-school pilot, parked", (), "Leeds", "GB", company="Greenfield Schools Trust"),
    # closed: lost or not a fit
    _lead("Lucas", "Silva", "lucas@silva-construcoes.example", "closed", "Advertisement", "Silva Construções", "Wanted on-premise only", (SAM,), "São Paulo", "BR"),
    _lead("Ava", "Thompson", "ava@thompsondairy.example", "closed", "Cold Call", "Thompson Dairy Farms", "Too small for now", (OSCAR,), "Madison", "US"),
    _lead("Ryan", "Patel", "ryan.patel@patelpharmacies.example", "closed", "Referral", "Patel Pharmacies", "Chose a competitor", (), "Leicester", "GB"),
    _lead("Mei", "Wong", "mei@harbourbayflorists.example", "closed", "Social Media", "Harbour Bay Florists", "Duplicate of an existing customer", (MIA,), "Sydney", "AU"),
    # qualified, converted by the ``lead conversions`` seed
    _lead("Helen", "Park", "helen.park@lakeside-dental.example", "in process", "Trade Show", "Lakeside Dental Group", "3 clinics, wants a demo", (SAM,), "Minneapolis", "US", company="Lakeside Dental Group", phone="+16125550220", industry="Healthcare", website="https://lakeside-dental.example", opportunity_amount=Decimal("24000"), probability=20, close_in_days=45, tags=["trade-show"]),
    _lead("Lukas", "Brandt", "lukas.brandt@brandt-brauerei.example", "in process", "Referral", "Brandt & Söhne Brauerei", "Brewery ERP add-on", (OSCAR,), "Bamberg", "DE", industry="Food & Beverage", opportunity_amount=Decimal("38500"), probability=10, close_in_days=120),
)  # fmt: skip

# Lead e-mail -> who converts it, and what they change on the new opportunity afterwards.
# A lead has no currency, so a converted opportunity starts in the default one (USD).
DEMO_CONVERSIONS: tuple[tuple[str, str, Spec], ...] = (
    ("helen.park@lakeside-dental.example", SAM, {"stage": "NEEDS ANALYSIS"}),
    ("lukas.brandt@brandt-brauerei.example", OSCAR, {"currency": "EUR"}),
)

# (record kind, record key, author, text): accounts by name, leads by e-mail.
DEMO_COMMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("account", "Northwind Traders", SAM, "Quarterly review booked; Nancy wants pricing for 12 more stores."),
    ("account", "Contoso Manufacturing", OSCAR, "Legal sent MSA redlines back; procurement insists on net-60."),
    ("account", "Maison Lumière", SUE, "Closed: the hotel was sold and the new owners use their chain's system."),
    ("lead", "helen.park@lakeside-dental.example", SAM, "Met at the Dental Expo. Three clinics, wants a demo with their office managers."),
    ("lead", "ben@carterlowe.example", SAM, "Left two voicemails; try again Thursday morning."),
    ("lead", "chloe@atelier-dubois.example", MIA, "Budget frozen until Q3; re-engage in July."),
    ("lead", "ava@thompsondairy.example", ADA, "Not a fit yet: 3 users, needs offline mode."),
)  # fmt: skip


# Support cases, opened by the admin and worked by Sue (support) and the account owners; the
# closed one carries its close date.
DEMO_CASES: tuple[Spec, ...] = (
    {"name": "Northwind - Store 14 POS offline", "account": "Northwind Traders", "status": "In Progress", "priority": "Urgent", "case_type": "Incident", "contacts": ["nancy.davolio@northwind.example"], "assigned_to": [SUE], "teams": ["Customer Care"], "description": "Card terminals at store 14 drop their connection every few hours."},
    {"name": "Contoso - SSO login loop", "account": "Contoso Manufacturing", "status": "New", "priority": "High", "case_type": "Problem", "contacts": ["rachel.kim@contoso.example"], "assigned_to": [SUE, OSCAR], "tags": ["sso"]},
    {"name": "Fabrikam - Invoice address change", "account": "Fabrikam Software", "status": "Closed", "priority": "Low", "case_type": "Question", "contacts": ["tom.becker@fabrikam.example"], "assigned_to": [SUE]},
    {"name": "Blue Harbor - Scanner firmware question", "account": "Blue Harbor Logistics", "status": "Pending", "priority": "Normal", "case_type": "Question", "assigned_to": [SAM]},
)  # fmt: skip


# Follow-ups on the accounts, due over the coming weeks; one done already.
DEMO_TASKS: tuple[Spec, ...] = (
    {"title": "Send Northwind the 12-store price sheet", "account": "Northwind Traders", "priority": "High", "due_in_days": 2, "contacts": ["nancy.davolio@northwind.example"], "assigned_to": [SAM]},
    {"title": "Book Contoso legal review call", "account": "Contoso Manufacturing", "status": "In Progress", "priority": "Urgent", "due_in_days": 1, "contacts": ["david.okafor@contoso.example"], "assigned_to": [OSCAR]},
    {"title": "Quarterly check-in with Fabrikam", "account": "Fabrikam Software", "priority": "Low", "due_in_days": 30, "assigned_to": [SAM]},
    {"title": "Confirm Blue Harbor scanner count", "account": "Blue Harbor Logistics", "status": "Completed", "priority": "Medium", "due_in_days": -5, "assigned_to": [SAM, OSCAR]},
    {"title": "Prepare spring newsletter segment", "priority": "Normal", "due_in_days": 14, "assigned_to": [MIA], "teams": ["Customer Care"]},
)  # fmt: skip


# Calendar: a weekly sales stand-up for the coming month, and one-off calls and meetings.
DEMO_EVENTS: tuple[Spec, ...] = (
    {"name": "Sales stand-up", "event_type": "Recurring", "start_in_days": 0, "end_in_days": 28, "start_time": "09:00", "end_time": "09:15", "recurring_days": ["Monday", "Thursday"], "assigned_to": [SAM, OSCAR], "teams": ["Sales"]},
    {"name": "Contoso MSA call", "event_type": "Call", "status": "Planned", "start_in_days": 2, "end_in_days": 2, "start_time": "15:00", "end_time": "15:30", "contacts": ["david.okafor@contoso.example"], "assigned_to": [OSCAR]},
    {"name": "Northwind store visit", "event_type": "Meeting", "status": "Planned", "start_in_days": 6, "end_in_days": 6, "start_time": "10:00", "end_time": "12:00", "contacts": ["nancy.davolio@northwind.example"], "assigned_to": [SAM]},
    {"name": "Fabrikam renewal kickoff", "event_type": "Meeting", "status": "Held", "start_in_days": -10, "end_in_days": -10, "start_time": "14:00", "end_time": "15:00", "assigned_to": [SAM]},
)  # fmt: skip


_DEMO_FROM = {
    "address_line": "Demo Company Ltd",
    "street": "1 Market Street",
    "city": "San Francisco",
    "state": "CA",
    "postcode": "94105",
    "country": "US",
}

# Invoices to the customer accounts: paid, sent and overdue, a draft, one in euros with a
# discount, and a legacy hours x rate one; numbers generated (INV-0001 ...).
DEMO_INVOICES: tuple[Spec, ...] = (
    {"invoice_title": "Northwind - POS rollout, phase 1", "accounts": ["Northwind Traders"], "name": "Northwind Traders", "email": "ap@northwind.example", "status": "Paid", "due_in_days": -20, "assigned_to": [SAM], "line_items": [{"description": "POS licences (12 stores)", "quantity": "12", "rate": "1200", "tax": "8.5"}, {"description": "On-site installation", "quantity": "3", "rate": "950", "tax": "8.5"}], "to_address": {"address_line": "Northwind Traders", "street": "20 Harbour Road", "city": "Seattle", "state": "WA", "postcode": "98101", "country": "US"}},
    {"invoice_title": "Contoso - Annual subscription 2027", "accounts": ["Contoso Manufacturing"], "name": "Contoso Manufacturing", "email": "invoices@contoso.example", "status": "Sent", "due_in_days": 30, "assigned_to": [OSCAR], "line_items": [{"description": "Enterprise plan, 120 seats", "quantity": "120", "rate": "348", "discount": "10", "tax": "0"}]},
    {"invoice_title": "Fabrikam - Support retainer Q3", "accounts": ["Fabrikam Software"], "name": "Fabrikam Software", "email": "billing@fabrikam.example", "status": "Pending", "due_in_days": -7, "assigned_to": [SAM], "quantity": 16, "rate": "140", "tax": "19"},
    {"invoice_title": "Blue Harbor - Scanner bundle", "accounts": ["Blue Harbor Logistics"], "name": "Blue Harbor Logistics", "email": "finance@blueharbor.example", "status": "Draft", "currency": "EUR", "due_in_days": 45, "assigned_to": [SAM, OSCAR], "line_items": [{"description": "Handheld scanners", "quantity": "40", "rate": "289.99", "discount": "5", "tax": "21"}, {"description": "Charging cradles", "quantity": "10", "rate": "79.5", "tax": "21"}]},
)  # fmt: skip


async def seed_companies(run: DemoRun) -> None:
    """Three lead companies (the prospects' organisations some leads point at)."""
    companies = CompanyService(run.session, run.acting)
    for spec in DEMO_COMPANIES:
        company = await companies.create(_validated(CompanyCreate, **spec))
        run.companies[company.name] = company.id


async def seed_contacts(run: DemoRun) -> None:
    """People at the customer accounts, assigned to the accounts' owners."""
    for spec in DEMO_CONTACTS:
        with run.acting_as(spec.get("by", ADA)) as acting:
            contact = await ContactService(run.session, acting).create(
                _validated(ContactCreate, **run.refs(spec))
            )
        run.contacts[contact.primary_email] = contact.id


async def seed_accounts(run: DemoRun) -> None:
    """Customer accounts across industries and cities, two of them closed (churned)."""
    for spec in DEMO_ACCOUNTS:
        with run.acting_as(spec.get("by", ADA)) as acting:
            account = await AccountService(run.session, acting).create(
                _validated(AccountCreate, **run.refs(spec))
            )
        run.accounts[account.name] = account.id


async def seed_opportunities(run: DemoRun) -> None:
    """Deals at every stage of the pipeline, in US dollars and euros."""
    for spec in DEMO_OPPORTUNITIES:
        with run.acting_as(spec.get("by", ADA)) as acting:
            opportunities = OpportunityService(run.session, acting)
            values = run.refs(spec, close_date_field="expected_close_date")
            opportunity = await opportunities.create(_validated(OpportunityCreate, **values))
            if "then" in spec:
                opportunity = await opportunities.update(
                    opportunity.id, _validated(OpportunityUpdate, **spec["then"])
                )
        run.opportunities[opportunity.name] = opportunity.id


async def seed_leads(run: DemoRun) -> None:
    """Leads from every source in every open and closed status."""
    for spec in DEMO_LEADS:
        with run.acting_as(spec.get("by", ADA)) as acting:
            written = await LeadService(run.session, acting).create(
                _validated(LeadCreate, **run.refs(spec, close_date_field="close_date"))
            )
        if written.lead.email is None:
            raise RuntimeError("demo leads have e-mails")
        run.leads[written.lead.email] = written.lead.id


async def seed_comments(run: DemoRun) -> None:
    """Notes by the people working the accounts and leads (one on a lead about to convert:
    conversion moves it to the new account)."""
    for kind, key, author, text in DEMO_COMMENTS:
        record_id = run.accounts[key] if kind == "account" else run.leads[key]
        with run.acting_as(author) as acting:
            activity = ActivityService(run.session, acting)
            parent = await activity.parent(record_type_of(kind), record_id)
            await activity.add(parent, _validated(CommentIn, comment=text), None)
        run.comments += 1


async def seed_conversions(run: DemoRun) -> None:
    """Two qualified leads converted by their owners, as the API does (status "converted":
    a new account, contact and opportunity), then worked on."""
    for email, owner, follow_up in DEMO_CONVERSIONS:
        with run.acting_as(owner) as acting:
            written = await LeadService(run.session, acting).update(
                run.leads[email], _validated(LeadUpdate, status="converted")
            )
            if written.account is None or written.contact is None or written.opportunity is None:
                raise RuntimeError(f"the lead {email} was not converted")
            opportunity = await OpportunityService(run.session, acting).update(
                written.opportunity.id, _validated(OpportunityUpdate, **follow_up)
            )
        run.accounts[written.account.name] = written.account.id
        run.contacts[written.contact.primary_email] = written.contact.id
        run.opportunities[opportunity.name] = opportunity.id
        run.converted.append(email)


async def seed_cases(run: DemoRun) -> None:
    """Support cases on the customer accounts, in several statuses and priorities."""
    for spec in DEMO_CASES:
        with run.acting_as(spec.get("by", ADA)) as acting:
            case = await CaseService(run.session, acting).create(
                _validated(CaseCreate, **run.refs(spec))
            )
        run.cases[case.name] = case.id


async def seed_tasks(run: DemoRun) -> None:
    """Follow-up tasks on the accounts, due from last week to next month."""
    for spec in DEMO_TASKS:
        values = run.refs({k: v for k, v in spec.items() if k != "due_in_days"})
        values["due_date"] = today() + timedelta(days=spec["due_in_days"])
        with run.acting_as(spec.get("by", ADA)) as acting:
            task = await TaskService(run.session, acting).create(_validated(TaskCreate, **values))
        run.tasks[task.title] = task.id


async def seed_events(run: DemoRun) -> None:
    """A recurring stand-up and a few calls and meetings around today."""
    for spec in DEMO_EVENTS:
        values = run.refs({k: v for k, v in spec.items() if not k.endswith("_in_days")})
        values["start_date"] = today() + timedelta(days=spec["start_in_days"])
        values["end_date"] = today() + timedelta(days=spec["end_in_days"])
        with run.acting_as(spec.get("by", ADA)) as acting:
            event = await EventService(run.session, acting).create(
                _validated(EventCreate, **values)
            )
        run.events[event.name] = event.id


async def seed_invoices(run: DemoRun) -> None:
    """Invoices to the customer accounts in every common state (totals by the server)."""
    for spec in DEMO_INVOICES:
        values = run.refs({k: v for k, v in spec.items() if k != "due_in_days"})
        values["due_date"] = today() + timedelta(days=spec["due_in_days"])
        values.setdefault("from_address", _DEMO_FROM)
        with run.acting_as(spec.get("by", ADA)) as acting:
            invoice = await InvoiceService(run.session, acting).create(
                _validated(InvoiceCreate, **values)
            )
        run.invoices[invoice.invoice_number] = invoice.id


Seed = Callable[[DemoRun], Awaitable[None]]

SEEDS: tuple[tuple[str, Seed], ...] = (
    ("organization and admin", seed_org),
    ("members", seed_members),
    ("teams", seed_teams),
    ("website API setting", seed_api_setting),
    ("lead companies", seed_companies),
    ("contacts", seed_contacts),
    ("accounts", seed_accounts),
    ("opportunities", seed_opportunities),
    ("leads", seed_leads),
    ("comments", seed_comments),
    ("lead conversions", seed_conversions),
    ("cases", seed_cases),
    ("tasks", seed_tasks),
    ("events", seed_events),
    ("invoices", seed_invoices),
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
    summary: str = ""  # what the sales seeds made, for people


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
        summary=(
            f"{len(run.accounts)} accounts, {len(run.contacts)} contacts, "
            f"{len(run.companies)} lead companies, {len(run.leads)} leads "
            f"({len(run.converted)} converted), {len(run.opportunities)} opportunities, "
            f"{run.comments} comments, {len(run.cases)} cases, {len(run.tasks)} tasks, "
            f"{len(run.events)} events, {len(run.invoices)} invoices"
        ),
    )
