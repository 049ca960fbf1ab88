"""The sales records: accounts, contacts, lead companies, leads and opportunities (§4-§8)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Fixed4, Fixed9, Money, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned
from crm.models.records import SalesRecord, link_table

ACCOUNT_STATUSES = ("open", "closed")
LEAD_STATUSES = ("assigned", "in process", "converted", "recycled", "closed")


class Account(SalesRecord, Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    industry: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    website: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(10), default="open")
    billing_address_line: Mapped[str | None] = mapped_column(String(255), default=None)
    billing_street: Mapped[str | None] = mapped_column(String(55), default=None)
    billing_city: Mapped[str | None] = mapped_column(String(255), default=None)
    billing_state: Mapped[str | None] = mapped_column(String(255), default=None)
    billing_postcode: Mapped[str | None] = mapped_column(String(64), default=None)
    billing_country: Mapped[str | None] = mapped_column(String(255), default=None)
    contact_name: Mapped[str | None] = mapped_column(String(120), default=None)
    # Indexed: deleting a lead sets this to null, which would otherwise scan the table.
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("leads.id", ondelete="SET NULL", use_alter=True),
        default=None,
        index=True,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)

    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("accounts", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_accounts_org_id_name_ci", "org_id", func.lower(name), unique=True),
        # Lists walk (org, [filter,] created_on, id) newest first: docs/architecture.md.
        Index("ix_accounts_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_accounts_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        # Pickers list accounts by name.
        Index("ix_accounts_org_id_name_id", "org_id", "name", "id"),
    )


class Contact(SalesRecord, Base):
    __tablename__ = "contacts"

    salutation: Mapped[str] = mapped_column(String(255), default="")
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    date_of_birth: Mapped[date | None] = mapped_column(Date, default=None)
    organization: Mapped[str | None] = mapped_column(String(255), default=None)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    primary_email: Mapped[str] = mapped_column(String(254))
    secondary_email: Mapped[str] = mapped_column(String(254), default="")
    mobile_number: Mapped[str | None] = mapped_column(String(32), default=None)
    secondary_number: Mapped[str | None] = mapped_column(String(32), default=None)
    department: Mapped[str | None] = mapped_column(String(255), default=None)
    language: Mapped[str | None] = mapped_column(String(255), default=None)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    linked_in_url: Mapped[str | None] = mapped_column(String(255), default=None)
    facebook_url: Mapped[str | None] = mapped_column(String(255), default=None)
    twitter_username: Mapped[str | None] = mapped_column(String(255), default=None)
    address_line: Mapped[str | None] = mapped_column(String(255), default=None)
    street: Mapped[str | None] = mapped_column(String(55), default=None)
    city: Mapped[str | None] = mapped_column(String(255), default=None)
    state: Mapped[str | None] = mapped_column(String(255), default=None)
    postcode: Mapped[str | None] = mapped_column(String(64), default=None)
    country: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index(
            "uq_contacts_org_id_primary_email_ci", "org_id", func.lower(primary_email), unique=True
        ),
        Index("ix_contacts_org_id_created_on_id", "org_id", "created_on", "id"),
        # Pickers list contacts by name.
        Index(
            "ix_contacts_org_id_first_name_last_name_id", "org_id", "first_name", "last_name", "id"
        ),
    )


class Company(UUIDPrimaryKey, Timestamps, Versioned, CreatedBy, TenantOwned, Base):
    """A prospective company leads can point at (§7)."""

    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(255), default=None)
    website: Mapped[str | None] = mapped_column(String(255), default=None)
    created_from_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("leads.id", ondelete="SET NULL", use_alter=True),
        default=None,
        index=True,
    )

    __table_args__ = (
        Index("uq_companies_org_id_name_ci", "org_id", func.lower(name), unique=True),
    )


class Lead(SalesRecord, Base):
    __tablename__ = "leads"

    title: Mapped[str | None] = mapped_column(String(64), default=None)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(20), default="assigned")
    source: Mapped[str | None] = mapped_column(String(255), default=None)
    # The source as the case-insensitive filter compares it, kept by the database. Not an
    # index on lower(source): under row-level security PostgreSQL will not use a
    # non-leakproof function such as lower() as an index condition. Never loaded.
    source_ci: Mapped[str | None] = mapped_column(
        String(255), Computed("lower(source)"), deferred=True, deferred_raiseload=True
    )
    account_name: Mapped[str | None] = mapped_column(String(255), default=None)
    website: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    opportunity_amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    address_line: Mapped[str | None] = mapped_column(String(255), default=None)
    street: Mapped[str | None] = mapped_column(String(55), default=None)
    city: Mapped[str | None] = mapped_column(String(255), default=None)
    state: Mapped[str | None] = mapped_column(String(255), default=None)
    postcode: Mapped[str | None] = mapped_column(String(64), default=None)
    country: Mapped[str | None] = mapped_column(String(255), default=None)
    probability: Mapped[int] = mapped_column(Integer, default=0)
    close_date: Mapped[date | None] = mapped_column(Date, default=None)
    industry: Mapped[str | None] = mapped_column(String(255), default=None)
    organization: Mapped[str | None] = mapped_column(String(255), default=None)
    skype_id: Mapped[str | None] = mapped_column(String(100), default=None)
    enquiry_type: Mapped[str | None] = mapped_column(String(255), default=None)
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("companies.id", ondelete="SET NULL"), default=None, index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_from_site: Mapped[bool] = mapped_column(Boolean, default=False)
    converted_account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    converted_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("opportunities.id", ondelete="SET NULL", use_alter=True), default=None
    )

    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("leads", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("ix_leads_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_leads_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        # The source filter is case-insensitive; with the status it narrows a list to a few
        # percent of the org, still in the list's order (and counts from the index alone).
        Index(
            "ix_leads_org_id_source_ci_status_created_on_id",
            "org_id",
            "source_ci",
            "status",
            "created_on",
            "id",
        ),
    )


class LeadCount(TenantOwned, Base):
    """How many leads an org has per status and lower-cased source, as a running sum of
    changes: the database's triggers on ``leads`` (migration c5e2a9d41f07) append +1 for
    each lead that enters a (status, source) and -1 for each that leaves one, and
    ``crm.models.record_counts`` folds an org's rows into one per pair now and then. The lead list
    of an admin sums these rows instead of counting up to a million leads.

    Appended, not updated in place: concurrent writers of an org never wait on each other
    for a counter row. Its ``org_id`` has no foreign key: the rows of an org that is being
    deleted are appended while its leads are, and are then simply never read."""

    __tablename__ = "lead_counts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(20))
    source_ci: Mapped[str | None] = mapped_column(String(255))
    n: Mapped[int] = mapped_column(BigInteger)


class AccountCount(TenantOwned, Base):
    """How many accounts an org has per status, kept as ``LeadCount`` keeps the leads' (+1/-1
    rows appended by the triggers of migration d8a4c2f16b93, folded now and then)."""

    __tablename__ = "account_counts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(10))
    n: Mapped[int] = mapped_column(BigInteger)


class Opportunity(SalesRecord, Base):
    __tablename__ = "opportunities"

    name: Mapped[str] = mapped_column(String(64))
    # None for an ERPNext-style opportunity whose party is a lead or a prospect (§9).
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True, default=None
    )
    stage: Mapped[str] = mapped_column(String(32), default="QUALIFICATION")
    amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    probability: Mapped[int] = mapped_column(Integer, default=0)
    expected_close_date: Mapped[date | None] = mapped_column(Date, default=None)
    actual_close_date: Mapped[date | None] = mapped_column(Date, default=None)
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("profiles.id", ondelete="SET NULL"), default=None
    )
    lead_source: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("leads.id", ondelete="SET NULL"), default=None, index=True
    )
    # True once a client sets the amount: item changes then leave it alone (§9.3).
    amount_is_manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # The ERPNext fields (§9.2) with no Django-CRM counterpart, stored as sent; see
    # docs/erpnext.md for the mapping of the others.
    opportunity_from: Mapped[str | None] = mapped_column(String(32), default=None)
    party_name: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_name: Mapped[str | None] = mapped_column(String(255), default=None)
    opportunity_type: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="Open", server_default="Open")
    order_lost_reason: Mapped[str | None] = mapped_column(Text, default=None)
    customer_address: Mapped[str | None] = mapped_column(String(255), default=None)
    address_display: Mapped[str | None] = mapped_column(Text, default=None)
    territory: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_group: Mapped[str | None] = mapped_column(String(255), default=None)
    contact_person: Mapped[str | None] = mapped_column(String(255), default=None)
    contact_display: Mapped[str | None] = mapped_column(Text, default=None)
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    contact_mobile: Mapped[str | None] = mapped_column(String(64), default=None)
    company: Mapped[str | None] = mapped_column(String(255), default=None)
    transaction_date: Mapped[date | None] = mapped_column(Date, default=None)
    first_response_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    conversion_rate: Mapped[Decimal | None] = mapped_column(Fixed9, default=None)
    # Sums of item amounts in any minor unit (KWD has 3 places): ten-thousandths.
    total: Mapped[Decimal | None] = mapped_column(Fixed4, default=None)
    base_total: Mapped[Decimal | None] = mapped_column(Fixed4, default=None)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Money, default=None)
    no_of_employees: Mapped[str | None] = mapped_column(String(32), default=None)
    market_segment: Mapped[str | None] = mapped_column(String(255), default=None)
    industry: Mapped[str | None] = mapped_column(String(255), default=None)
    opportunity_owner: Mapped[str | None] = mapped_column(String(255), default=None)
    website: Mapped[str | None] = mapped_column(String(255), default=None)
    whatsapp: Mapped[str | None] = mapped_column(String(64), default=None)
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    phone_ext: Mapped[str | None] = mapped_column(String(16), default=None)
    job_title: Mapped[str | None] = mapped_column(String(255), default=None)
    city: Mapped[str | None] = mapped_column(String(255), default=None)
    state: Mapped[str | None] = mapped_column(String(255), default=None)
    country: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_source: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_content: Mapped[str | None] = mapped_column(String(255), default=None)

    account: Mapped[Account | None] = relationship(lazy="raise")
    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("opportunities", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_opportunities_org_id_name_ci", "org_id", func.lower(name), unique=True),
        Index("ix_opportunities_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_opportunities_org_id_stage_created_on_id", "org_id", "stage", "created_on", "id"),
        Index(
            "ix_opportunities_org_id_currency_created_on_id",
            "org_id",
            "currency",
            "created_on",
            "id",
        ),
    )
