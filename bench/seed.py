"""Seed one org with a realistic sales data set for the load benchmark (see bench/README.md).

The admin and the org are made by ``crm bootstrap`` and the four members by the member
service, so logging in works exactly as for real users. Everything else (tags, teams,
accounts, contacts, opportunities, leads and their link tables) is inserted with SQLAlchemy
Core ``insert()`` executemany in chunks of :data:`CHUNK_ROWS`, one transaction per chunk.

Values come from one ``random.Random(--seed)`` and timestamps from a fixed anchor date:
the same seed and counts give the same rows, ids included.

    .venv/bin/python bench/seed.py --database-url postgresql://postgres@127.0.0.1/crm_bench
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table as RichTable
from seeded_org import (
    ADMIN_EMAIL,
    ADMIN_FIRST_NAME,
    ADMIN_LAST_NAME,
    ANCHOR,
    MEMBERS,
    ORG_NAME,
    PASSWORD,
    SECRET_KEY,
    backend_of,
    crm_command,
)
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core import migrations
from crm.core.config import Settings
from crm.core.db import Database, create_engine
from crm.core.tenancy import Role, TenantContext, bind_tenant, unscoped
from crm.leads.schemas import SOURCES
from crm.models import Account, Contact, Lead, Opportunity, Org, Profile, Tag, Team, team_members
from crm.models.record_counts import fold
from crm.models.records import link_table
from crm.opportunities.schemas import STAGE_PROBABILITY
from crm.users.schemas import MemberCreate
from crm.users.service import MemberService

CHUNK_ROWS = 5_000
SPAN_SECONDS = 730 * 24 * 3600

console = Console(highlight=False)

# -- vocabulary -----------------------------------------------------------------------------
# fmt: off

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Ben", "Carla", "Chen", "Chloe", "Daniel",
    "Diego", "Elena", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jack", "Jana", "Jonas", "Julia", "Kenji", "Lara", "Leo", "Lucia", "Marco", "Maria",
    "Mateo", "Mei", "Nadia", "Noah", "Olga", "Omar", "Paul", "Priya", "Rafael", "Rosa",
    "Sara", "Sofia", "Tariq", "Tom", "Uma", "Victor", "Wen", "Yusuf", "Zoe", "Zara",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Bauer", "Becker", "Brown", "Chen", "Costa", "Dubois",
    "Ferreira", "Fischer", "Garcia", "Gonzalez", "Hansen", "Ito", "Jansen", "Johnson",
    "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Muller",
    "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Perez", "Rossi", "Santos",
    "Schmidt", "Silva", "Singh", "Smith", "Tanaka", "Taylor", "Weber", "Williams", "Wong",
    "Yamamoto", "Zhang",
)
COMPANY_WORDS = (
    "Acme", "Apex", "Aurora", "Beacon", "Blue Harbor", "Brightline", "Cascade", "Cedar",
    "Cobalt", "Crescent", "Evergreen", "Falcon", "Globex", "Granite", "Helix", "Horizon",
    "Initech", "Ironwood", "Juniper", "Keystone", "Lumen", "Meridian", "Northwind",
    "Oakridge", "Orion", "Pinnacle", "Quantum", "Redwood", "Silverline", "Summit",
    "Tidewater", "Umbra", "Vertex", "Westgate", "Zenith",
)
COMPANY_KINDS = (
    "Analytics", "Bakery", "Biotech", "Capital", "Consulting", "Dynamics", "Energy",
    "Foods", "Freight", "Health", "Holdings", "Industries", "Insurance", "Labs",
    "Logistics", "Media", "Motors", "Networks", "Partners", "Pharma", "Retail", "Robotics",
    "Software", "Systems", "Textiles", "Travel",
)
LEGAL_FORMS = ("Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "Co")
INDUSTRIES = (
    "ADVERTISING", "AGRICULTURE", "APPAREL & ACCESSORIES", "AUTOMOTIVE", "BANKING",
    "BIOTECHNOLOGY", "BUILDING MATERIALS & EQUIPMENT", "CHEMICAL", "COMPUTER", "EDUCATION",
    "ELECTRONICS", "ENERGY", "ENTERTAINMENT & LEISURE", "FINANCE", "FOOD & BEVERAGE",
    "GROCERY", "HEALTHCARE", "INSURANCE", "LEGAL", "MANUFACTURING", "PUBLISHING",
    "REAL ESTATE", "SERVICE", "SOFTWARE", "SPORTS", "TECHNOLOGY", "TELECOMMUNICATIONS",
    "TRANSPORTATION", "VENTURE CAPITAL",
)
# (city, state, country, postcode prefix): a skewed pick (see ``_zipf``) gives city filters
# realistic selectivities, from a few percent down to a few dozen rows.
CITIES = (
    ("New York", "NY", "US", "100"), ("London", "England", "GB", "EC1"),
    ("San Francisco", "CA", "US", "941"), ("Berlin", "Berlin", "DE", "101"),
    ("Bengaluru", "Karnataka", "IN", "560"), ("Paris", "Ile-de-France", "FR", "750"),
    ("Chicago", "IL", "US", "606"), ("Toronto", "ON", "CA", "M5V"),
    ("Sydney", "NSW", "AU", "200"), ("Madrid", "Madrid", "ES", "280"),
    ("Austin", "TX", "US", "787"), ("Amsterdam", "North Holland", "NL", "101"),
    ("Singapore", "Singapore", "SG", "018"), ("Munich", "Bavaria", "DE", "803"),
    ("Boston", "MA", "US", "021"), ("Dublin", "Leinster", "IE", "D02"),
    ("Seattle", "WA", "US", "981"), ("Mumbai", "Maharashtra", "IN", "400"),
    ("Lisbon", "Lisbon", "PT", "110"), ("Milan", "Lombardy", "IT", "201"),
    ("Denver", "CO", "US", "802"), ("Stockholm", "Stockholm", "SE", "111"),
    ("Vancouver", "BC", "CA", "V6B"), ("Zurich", "Zurich", "CH", "800"),
    ("Atlanta", "GA", "US", "303"), ("Warsaw", "Masovia", "PL", "00-"),
    ("Melbourne", "VIC", "AU", "300"), ("Barcelona", "Catalonia", "ES", "080"),
    ("Tokyo", "Tokyo", "JP", "100"), ("Sao Paulo", "SP", "BR", "010"),
    ("Copenhagen", "Capital", "DK", "105"), ("Vienna", "Vienna", "AT", "101"),
    ("Prague", "Prague", "CZ", "110"), ("Oslo", "Oslo", "NO", "015"),
    ("Helsinki", "Uusimaa", "FI", "001"), ("Brussels", "Brussels", "BE", "100"),
    ("Cape Town", "Western Cape", "ZA", "800"), ("Nairobi", "Nairobi", "KE", "001"),
    ("Auckland", "Auckland", "NZ", "101"), ("Reykjavik", "Capital", "IS", "101"),
)
STREETS = (
    "Main St", "High Street", "Market St", "Station Rd", "Park Ave", "Church Lane",
    "Harbour Rd", "King St", "Queen St", "Mill Lane", "Oak Avenue", "River Rd",
)
LEAD_SOURCE_WEIGHTS = {
    "Website Form": 30, "Referral": 15, "Cold Call": 15, "Email Campaign": 12,
    "Social Media": 12, "Trade Show": 8, "Advertisement": 8,
}
LEAD_STATUS_WEIGHTS = {
    "assigned": 40, "in process": 25, "recycled": 8, "converted": 12, "closed": 15,
}
STAGE_WEIGHTS = {
    "QUALIFICATION": 20, "NEEDS ANALYSIS": 15, "VALUE PROPOSITION": 12,
    "ID.DECISION MAKERS": 10, "PERCEPTION ANALYSIS": 8, "PROPOSAL/PRICE QUOTE": 10,
    "NEGOTIATION/REVIEW": 8, "CLOSED WON": 10, "CLOSED LOST": 7,
}
CURRENCY_WEIGHTS = {"USD": 60, "EUR": 18, "GBP": 10, "INR": 5, "CAD": 4, "AUD": 3}
PRODUCTS = (
    "Platform licence", "Support renewal", "Onboarding", "Expansion", "Pilot",
    "Enterprise plan", "Data migration", "Training", "Integration", "Annual contract",
)
TITLES = (
    "CEO", "CTO", "CFO", "VP Sales", "Head of Operations", "Procurement Manager",
    "IT Director", "Marketing Lead", "Office Manager", "Founder", "Engineer", "Buyer",
)
DEPARTMENTS = ("Sales", "Marketing", "Finance", "IT", "Operations", "Procurement", "HR")
LANGUAGES = ("English", "German", "French", "Spanish", "Portuguese", "Hindi", "Japanese")
ENQUIRY_TYPES = ("Demo request", "Pricing", "Partnership", "Support", "General")
TAG_NAMES = (
    "vip", "hot", "cold", "enterprise", "smb", "partner", "renewal", "upsell",
    "churn risk", "follow up", "newsletter", "event 2026",
)
TEAMS = (("Sales", "Closes the deals."), ("Customer Care", "Keeps customers happy."))
# fmt: on

assert set(LEAD_SOURCE_WEIGHTS) <= set(SOURCES), "lead sources must be the API's picker values"
assert set(STAGE_WEIGHTS) <= set(STAGE_PROBABILITY), "stages must be the API's stages"


# -- random values --------------------------------------------------------------------------


def _weights(n: int) -> list[float]:
    """Zipf-like: the k-th value is picked about 1/(k+1) as often as the first."""
    return [1 / (k + 1) for k in range(n)]


CITY_WEIGHTS = _weights(len(CITIES))


@dataclass
class Generator:
    """Every random value of the data set, drawn from one seeded ``random.Random``."""

    rng: random.Random
    org_id: uuid.UUID
    creators: list[uuid.UUID]  # admin first
    assignees: list[uuid.UUID]
    tag_ids: list[uuid.UUID]
    used_names: dict[str, set[str]] = field(default_factory=dict)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(tuple(weights), weights=tuple(weights.values()))[0]

    def maybe(self, probability: float, value: Any) -> Any:
        return value if self.rng.random() < probability else None

    def stamps(self) -> tuple[datetime, datetime]:
        created = ANCHOR - timedelta(seconds=self.rng.randrange(SPAN_SECONDS))
        updated = min(created + timedelta(seconds=self.rng.randrange(30 * 24 * 3600)), ANCHOR)
        return created, updated

    def creator(self) -> uuid.UUID:
        # The admin creates 40%, each member 15%: member visibility is not an empty set.
        return self.rng.choices(self.creators, weights=[40] + [15] * (len(self.creators) - 1))[0]

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def phone(self) -> str:
        return f"+1{self.rng.randrange(200, 999)}555{self.rng.randrange(10_000):04d}"

    def city(self) -> tuple[str, str, str, str]:
        return self.rng.choices(CITIES, weights=CITY_WEIGHTS)[0]

    def street(self) -> str:
        return f"{self.rng.randrange(1, 400)} {self.rng.choice(STREETS)}"

    def amount(self) -> Decimal:
        # Log-normal around 20k: many small deals, a few large ones.
        value = min(self.rng.lognormvariate(math.log(20_000), 1.0), 5_000_000)
        return Decimal(f"{value:.2f}")

    def unique(self, kind: str, name: str, limit: int) -> str:
        """``name``, or ``name N`` when taken (names are unique per org, case-insensitively)."""
        used = self.used_names.setdefault(kind, set())
        candidate, n = name[:limit], 2
        while candidate.lower() in used:
            suffix = f" {n}"
            candidate, n = name[: limit - len(suffix)] + suffix, n + 1
        used.add(candidate.lower())
        return candidate

    def company(self) -> str:
        word, kind = self.rng.choice(COMPANY_WORDS), self.rng.choice(COMPANY_KINDS)
        return self.unique("account", f"{word} {kind} {self.rng.choice(LEGAL_FORMS)}", 64)

    def some_assignees(self) -> list[uuid.UUID]:
        """30% of records have assignees (one, sometimes two)."""
        if self.rng.random() >= 0.3:
            return []
        return self.rng.sample(self.assignees, 2 if self.rng.random() < 0.2 else 1)

    def some_tags(self) -> list[uuid.UUID]:
        """20% of records have one to three tags."""
        if self.rng.random() >= 0.2:
            return []
        return self.rng.sample(self.tag_ids, self.rng.randint(1, 3))


# -- rows -----------------------------------------------------------------------------------


@dataclass
class Links:
    """Rows of the link tables, collected while the records are generated."""

    rows: dict[str, list[dict[str, uuid.UUID]]] = field(default_factory=dict)

    def add(
        self,
        owner: str,
        role: str,
        target_column: str,
        owner_id: uuid.UUID,
        ids: Iterable[uuid.UUID],
    ) -> None:
        bucket = self.rows.setdefault(f"{owner}_{role}", [])
        bucket.extend({"owner_id": owner_id, target_column: target} for target in ids)

    def record(self, owner: str, owner_id: uuid.UUID, gen: Generator) -> None:
        self.add(owner, "assignees", "profile_id", owner_id, gen.some_assignees())
        self.add(owner, "tags", "tag_id", owner_id, gen.some_tags())


@dataclass
class Plan:
    """Ids drawn up front, so records can point at rows generated later."""

    account_ids: list[uuid.UUID]
    account_names: list[str]
    contact_ids: list[uuid.UUID]
    opportunity_ids: list[uuid.UUID]
    opportunity_accounts: list[int]  # index into account_ids
    lead_ids: list[uuid.UUID]


def _common(gen: Generator, record_id: uuid.UUID) -> dict[str, Any]:
    created, updated = gen.stamps()
    return {
        "id": record_id,
        "org_id": gen.org_id,
        "created_on": created,
        "updated_at": updated,
        "created_by_id": gen.creator(),
    }


def account_rows(gen: Generator, plan: Plan, links: Links) -> Iterator[dict[str, Any]]:
    rng = gen.rng
    for account_id, name in zip(plan.account_ids, plan.account_names, strict=True):
        city, state, country, postcode = gen.city()
        first, last = gen.person()
        domain = "".join(c for c in name.lower() if c.isalnum())[:30]
        yield {
            **_common(gen, account_id),
            "name": name,
            "email": f"info@{domain}.example.com",
            "phone": gen.phone(),
            "industry": rng.choice(INDUSTRIES),
            "description": gen.maybe(0.5, f"{name}: key account in {city}."),
            "website": f"https://www.{domain}.example.com",
            "status": "closed" if rng.random() < 0.2 else "open",
            "billing_address_line": gen.maybe(0.3, f"Suite {rng.randrange(1, 900)}"),
            "billing_street": gen.street(),
            "billing_city": city,
            "billing_state": state,
            "billing_postcode": f"{postcode}{rng.randrange(100):02d}",
            "billing_country": country,
            "contact_name": f"{first} {last}",
            "lead_id": None,
            "is_active": rng.random() < 0.9,
        }
        links.record("accounts", account_id, gen)
        # Accounts list a few of the org's contacts (§4: account detail shows them).
        count = rng.choices((0, 1, 2, 3), weights=(30, 35, 25, 10))[0]
        links.add(
            "accounts", "contacts", "contact_id", account_id, rng.sample(plan.contact_ids, count)
        )


def contact_rows(gen: Generator, plan: Plan, links: Links) -> Iterator[dict[str, Any]]:
    rng = gen.rng
    for n, contact_id in enumerate(plan.contact_ids):
        first, last = gen.person()
        city, state, country, postcode = gen.city()
        handle = f"{first}.{last}".lower()
        yield {
            **_common(gen, contact_id),
            "salutation": rng.choice(("", "Mr", "Ms", "Dr")),
            "first_name": first,
            "last_name": last,
            "date_of_birth": gen.maybe(
                0.3, date(1960, 1, 1) + timedelta(days=rng.randrange(15_000))
            ),
            "organization": rng.choice(plan.account_names),
            "title": rng.choice(TITLES),
            # Unique per org: the running number makes it so.
            "primary_email": f"{handle}.{n}@example.org",
            "secondary_email": "",
            "mobile_number": gen.phone(),
            "secondary_number": gen.maybe(0.2, gen.phone()),
            "department": rng.choice(DEPARTMENTS),
            "language": rng.choice(LANGUAGES),
            "do_not_call": rng.random() < 0.05,
            "description": gen.maybe(0.3, f"Met {first} at a customer event."),
            "linked_in_url": gen.maybe(0.4, f"https://www.linkedin.com/in/{handle}-{n}"),
            "facebook_url": None,
            "twitter_username": gen.maybe(0.2, f"{handle}{n}"),
            "address_line": None,
            "street": gen.street(),
            "city": city,
            "state": state,
            "postcode": f"{postcode}{rng.randrange(100):02d}",
            "country": country,
            "is_active": rng.random() < 0.9,
        }
        links.record("contacts", contact_id, gen)


def opportunity_rows(gen: Generator, plan: Plan, links: Links) -> Iterator[dict[str, Any]]:
    rng = gen.rng
    for opportunity_id, account in zip(
        plan.opportunity_ids, plan.opportunity_accounts, strict=True
    ):
        common = _common(gen, opportunity_id)
        stage = gen.pick(STAGE_WEIGHTS)
        closed = stage in ("CLOSED WON", "CLOSED LOST")
        created: datetime = common["created_on"]
        expected = created.date() + timedelta(days=rng.randrange(14, 240))
        name = f"{plan.account_names[account][:40]} - {rng.choice(PRODUCTS)}"
        yield {
            **common,
            "name": gen.unique("opportunity", name, 64),
            "account_id": plan.account_ids[account],
            "stage": stage,
            "amount": gen.amount() if rng.random() < 0.95 else None,
            "currency": gen.pick(CURRENCY_WEIGHTS),
            "probability": STAGE_PROBABILITY[stage],
            "expected_close_date": expected,
            "actual_close_date": expected if closed else None,
            "closed_by_id": common["created_by_id"] if closed else None,
            "lead_source": gen.pick(LEAD_SOURCE_WEIGHTS),
            "description": gen.maybe(0.4, "Budget confirmed; waiting on procurement."),
            "is_active": not closed,
            "lead_id": None,
        }
        links.record("opportunities", opportunity_id, gen)
        if rng.random() < 0.5:
            links.add(
                "opportunities",
                "contacts",
                "contact_id",
                opportunity_id,
                [rng.choice(plan.contact_ids)],
            )


def lead_rows(gen: Generator, plan: Plan, links: Links) -> Iterator[dict[str, Any]]:
    rng = gen.rng
    for n, lead_id in enumerate(plan.lead_ids):
        first, last = gen.person()
        city, state, country, postcode = gen.city()
        status = gen.pick(LEAD_STATUS_WEIGHTS)
        converted: dict[str, Any] = {
            "converted_account_id": None,
            "converted_contact_id": None,
            "converted_opportunity_id": None,
        }
        company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        if status == "converted" and plan.opportunity_ids:
            # What a conversion leaves behind: the lead points at its account, contact and
            # opportunity (§6.5), so the detail loads them as it would in production.
            k = rng.randrange(len(plan.opportunity_ids))
            account = plan.opportunity_accounts[k]
            company = plan.account_names[account]
            converted = {
                "converted_account_id": plan.account_ids[account],
                "converted_contact_id": rng.choice(plan.contact_ids),
                "converted_opportunity_id": plan.opportunity_ids[k],
            }
        yield {
            **_common(gen, lead_id),
            "title": f"{rng.choice(PRODUCTS)} for {company}"[:64],
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}.{n}@{company.split()[0].lower()}.example.net".lower(),
            "phone": gen.phone(),
            "status": status,
            "source": gen.pick(LEAD_SOURCE_WEIGHTS),
            "account_name": company,
            "website": gen.maybe(0.4, f"https://{company.split()[0].lower()}.example.net"),
            "description": gen.maybe(0.5, f"{first} asked about {rng.choice(PRODUCTS).lower()}."),
            "opportunity_amount": gen.maybe(0.6, gen.amount()),
            "address_line": None,
            "street": gen.street(),
            "city": city,
            "state": state,
            "postcode": f"{postcode}{rng.randrange(100):02d}",
            "country": country,
            "probability": rng.choice((0, 10, 20, 30, 50, 70, 90)),
            "close_date": gen.maybe(0.5, ANCHOR.date() + timedelta(days=rng.randrange(-200, 200))),
            "industry": rng.choice(INDUSTRIES),
            "organization": gen.maybe(0.5, company),
            "skype_id": None,
            "enquiry_type": rng.choice(ENQUIRY_TYPES),
            "company_id": None,
            "is_active": status not in ("closed", "converted"),
            "created_from_site": rng.random() < 0.25,
            **converted,
        }
        links.record("leads", lead_id, gen)


# -- the bulk path --------------------------------------------------------------------------


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def bulk_insert(
    engine: AsyncEngine,
    table: Table,
    rows: Iterable[dict[str, Any]],
    progress: Progress,
    task: TaskID,
) -> None:
    """Core ``insert()`` executemany, :data:`CHUNK_ROWS` rows per transaction."""
    for chunk in _chunks(rows, CHUNK_ROWS):
        async with engine.begin() as conn:
            await conn.execute(insert(table), chunk)
        progress.advance(task, len(chunk))


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    org_id: uuid.UUID
    admin_profile_id: uuid.UUID
    access_token: str


def bootstrap(database_url: str, data_dir: Path) -> Bootstrapped:
    """``crm bootstrap``: the admin user, the org and the ADMIN membership."""
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_SECRET_KEY": SECRET_KEY,
    }
    command = [
        *crm_command(),
        "bootstrap",
        "--email",
        ADMIN_EMAIL,
        "--password",
        PASSWORD,
        "--org",
        ORG_NAME,
        "--first-name",
        ADMIN_FIRST_NAME,
        "--last-name",
        ADMIN_LAST_NAME,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise typer.BadParameter(f"crm bootstrap failed: {done.stderr.strip() or done.stdout}")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return Bootstrapped(
        org_id=uuid.UUID(values["org_id"]),
        admin_profile_id=uuid.UUID(values["profile_id"]),
        access_token=values["access_token"],
    )


async def org_exists(settings: Settings) -> bool:
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            found = await session.scalar(select(Org.id).where(Org.name == ORG_NAME))
            return found is not None
    finally:
        await database.dispose()


async def add_members(settings: Settings, org: Bootstrapped) -> list[uuid.UUID]:
    """The four USER members, through the member service (users with argon2 passwords)."""
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            with unscoped(session):
                admin_user_id = await session.scalar(
                    select(Profile.user_id).where(Profile.id == org.admin_profile_id)
                )
            assert admin_user_id is not None
            tenant = TenantContext(
                org_id=org.org_id,
                profile_id=org.admin_profile_id,
                user_id=admin_user_id,
                role=Role.ADMIN,
            )
            bind_tenant(session, tenant)
            members = MemberService(session, tenant)
            ids = []
            for member in MEMBERS:
                profile = await members.add(
                    MemberCreate(
                        email=member.email,
                        role=Role.USER,
                        phone=member.phone,
                        first_name=member.first_name,
                        last_name=member.last_name,
                        password=PASSWORD,
                        has_sales_access=True,
                    )
                )
                ids.append(profile.id)
            await session.commit()
            return ids
    finally:
        await database.dispose()


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


async def load(
    settings: Settings,
    org: Bootstrapped,
    member_ids: list[uuid.UUID],
    counts: dict[str, int],
    seed: int,
) -> dict[str, float]:
    """Insert everything but the people; returns seconds per phase."""
    rng = random.Random(seed)  # noqa: S311 - test data, reproducible by design
    profiles = [org.admin_profile_id, *member_ids]
    tag_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in TAG_NAMES]
    tag_rows = [
        {
            "id": tag_id,
            "org_id": org.org_id,
            "name": name,
            "slug": name,
            "created_on": ANCHOR,
            "updated_at": ANCHOR,
        }
        for tag_id, name in zip(tag_ids, TAG_NAMES, strict=True)
    ]
    gen = Generator(
        rng=rng, org_id=org.org_id, creators=profiles, assignees=profiles, tag_ids=tag_ids
    )
    account_ids = [gen.new_id() for _ in range(counts["accounts"])]
    plan = Plan(
        account_ids=account_ids,
        account_names=[gen.company() for _ in account_ids],
        contact_ids=[gen.new_id() for _ in range(counts["contacts"])],
        opportunity_ids=[gen.new_id() for _ in range(counts["opportunities"])],
        opportunity_accounts=[
            rng.randrange(len(account_ids)) for _ in range(counts["opportunities"])
        ],
        lead_ids=[gen.new_id() for _ in range(counts["leads"])],
    )
    team_rows = [
        {
            "id": gen.new_id(),
            "org_id": org.org_id,
            "name": name,
            "description": about,
            "created_by_id": org.admin_profile_id,
            "created_on": ANCHOR,
            "updated_at": ANCHOR,
        }
        for name, about in TEAMS
    ]
    member_rows = [
        {"team_id": team["id"], "profile_id": profile}
        for team, members in zip(team_rows, (member_ids[:2], member_ids[2:]), strict=True)
        for profile in members
    ]
    links = Links()
    phases = (
        ("accounts", Account, account_rows),
        ("contacts", Contact, contact_rows),
        ("opportunities", Opportunity, opportunity_rows),
        ("leads", Lead, lead_rows),
    )
    engine = create_engine(settings)
    timings: dict[str, float] = {}
    try:
        with Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            started = time.perf_counter()
            small = progress.add_task("tags, teams", total=len(tag_rows) + len(team_rows))
            await bulk_insert(engine, _table(Tag), tag_rows, progress, small)
            await bulk_insert(engine, _table(Team), team_rows, progress, small)
            async with engine.begin() as conn:
                await conn.execute(insert(team_members), member_rows)
            tasks = {name: progress.add_task(name, total=counts[name]) for name, _, _ in phases}
            fts_sync = await pause_fts_sync(engine)
            for name, model, rows in phases:
                began = time.perf_counter()
                await bulk_insert(
                    engine, _table(model), rows(gen, plan, links), progress, tasks[name]
                )
                timings[name] = time.perf_counter() - began
                await analyze(engine, model.__tablename__)
            began = time.perf_counter()
            link_task = progress.add_task(
                "link tables", total=sum(len(rows) for rows in links.rows.values())
            )
            for name, link_rows in links.rows.items():
                owner, role = name.rsplit("_", 1)
                target = {
                    "assignees": ("profiles", "profile_id"),
                    "tags": ("tags", "tag_id"),
                    "contacts": ("contacts", "contact_id"),
                }[role]
                await bulk_insert(
                    engine, link_table(owner, role, *target), link_rows, progress, link_task
                )
            timings["link tables"] = time.perf_counter() - began
            timings["insert total"] = time.perf_counter() - started
        began = time.perf_counter()
        async with engine.begin() as conn:
            # The triggers appended a +1 row per lead: one row per (status, source) instead.
            await conn.run_sync(fold, org.org_id)
        timings["lead counts"] = time.perf_counter() - began
        began = time.perf_counter()
        await rebuild_fts(engine, fts_sync)
        timings["search index (SQLite)"] = time.perf_counter() - began
        began = time.perf_counter()
        await refresh_statistics(engine)
        timings["vacuum/analyze"] = time.perf_counter() - began
    finally:
        await engine.dispose()
    timings["link rows"] = float(sum(len(rows) for rows in links.rows.values()))
    return timings


async def pause_fts_sync(engine: AsyncEngine) -> list[str]:
    """SQLite: drop the triggers that copy each ``search_documents`` row into the FTS5 index
    (migration "global search"), returning their SQL. Row by row, that index grew slower as
    it grew (about 80 leads a second past 15,000); rebuilt once at the end it takes seconds.
    The record tables' own triggers still fill ``search_documents``."""
    if engine.dialect.name != "sqlite":
        return []
    async with engine.begin() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'search_documents'"
                )
            )
        ).all()
        for name, _sql in found:
            await conn.execute(text(f'DROP TRIGGER "{name}"'))
    return [sql for _name, sql in found]


async def rebuild_fts(engine: AsyncEngine, triggers: list[str]) -> None:
    """The FTS5 index rebuilt from ``search_documents`` in one pass, and its triggers back."""
    if engine.dialect.name != "sqlite" or not triggers:
        return
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO search_index (search_index) VALUES ('rebuild')"))
        for sql in triggers:
            await conn.execute(text(sql))


async def analyze(engine: AsyncEngine, table: str) -> None:
    """PostgreSQL: statistics for a table just filled, before rows that refer to it go in.

    A new table's statistics say it is (nearly) empty until ANALYZE runs, so the plan of
    every foreign-key check into it is a sequential scan: 34 ms per linked row at 1,000,000
    leads (measured: 2,000 ``leads_tags`` rows took 68.5 s in their FK checks), which made
    the link tables most of a 39-minute seed."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(f"ANALYZE {table}"))


async def refresh_statistics(engine: AsyncEngine) -> None:
    """PostgreSQL: ``VACUUM ANALYZE`` the (benchmark's own) database now rather than whenever
    autovacuum gets to them, so every run sees the same statistics and visibility map.
    SQLite is left as a deployed server leaves it (nothing there runs ANALYZE)."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    database_url: Annotated[
        str,
        typer.Option(
            envvar="CRM_DATABASE_URL",
            help="postgresql://user@host/db or sqlite:///path (as CRM_DATABASE_URL).",
        ),
    ],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same rows.")] = 42,
    accounts: Annotated[int, typer.Option(min=1)] = 10_000,
    contacts: Annotated[int, typer.Option(min=1)] = 20_000,
    leads: Annotated[int, typer.Option(min=0)] = 100_000,
    opportunities: Annotated[int, typer.Option(min=0)] = 20_000,
) -> None:
    """Apply the migrations, bootstrap the "bench" org and bulk-load its sales records."""
    started = time.perf_counter()
    counts = {
        "accounts": accounts,
        "contacts": contacts,
        "leads": leads,
        "opportunities": opportunities,
    }
    with tempfile.TemporaryDirectory(prefix="crm-bench-seed-") as tmp:
        settings = Settings(database_url=database_url, data_dir=Path(tmp), secret_key=SECRET_KEY)
        console.print(f"applying migrations to {backend_of(database_url)} ...")
        migrations.upgrade(database_url)
        if asyncio.run(org_exists(settings)):
            raise typer.BadParameter(
                f'the database already has an org named "{ORG_NAME}"; seed a fresh database '
                "(dropdb/createdb, or delete the SQLite file)",
                param_hint="--database-url",
            )
        org = bootstrap(database_url, Path(tmp))
        member_ids = asyncio.run(add_members(settings, org))
        people = time.perf_counter() - started
        timings = asyncio.run(load(settings, org, member_ids, counts, seed))
    total = time.perf_counter() - started

    summary = RichTable(title=f"seeded {backend_of(database_url)} (seed {seed})")
    summary.add_column("step")
    summary.add_column("rows", justify="right")
    summary.add_column("seconds", justify="right")
    summary.add_row("migrations, bootstrap, members", "5 people", f"{people:.1f}")
    for name in ("accounts", "contacts", "opportunities", "leads"):
        summary.add_row(name, f"{counts[name]:,}", f"{timings[name]:.1f}")
    summary.add_row(
        "link tables", f"{int(timings['link rows']):,}", f"{timings['link tables']:.1f}"
    )
    if "search index (SQLite)" in timings:
        summary.add_row("search index (SQLite)", "", f"{timings['search index (SQLite)']:.1f}")
    summary.add_row("vacuum/analyze (PostgreSQL)", "", f"{timings['vacuum/analyze']:.1f}")
    summary.add_row("total", "", f"{total:.1f}")
    console.print(summary)
    typer.echo(f"org_id={org.org_id}")
    typer.echo(f"profile_id={org.admin_profile_id}")
    typer.echo(f"admin_email={ADMIN_EMAIL}")
    typer.echo(f"access_token={org.access_token}")
    typer.echo(f"seconds={total:.1f}")


if __name__ == "__main__":
    app()
