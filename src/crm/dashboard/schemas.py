"""The dashboard response: the docs' nested shape plus Django-CRM's flat counts (§3)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from crm.core.schemas import ReadSchema


class RecentAccount(ReadSchema):
    id: uuid.UUID
    name: str
    status: str
    industry: str | None
    created_on: datetime


class RecentContact(ReadSchema):
    id: uuid.UUID
    first_name: str
    last_name: str
    primary_email: str
    created_on: datetime


class RecentLead(ReadSchema):
    id: uuid.UUID
    title: str | None
    first_name: str
    last_name: str
    status: str
    source: str | None
    created_on: datetime


class RecentOpportunity(ReadSchema):
    id: uuid.UUID
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    probability: int
    expected_close_date: date | None
    created_on: datetime


class StageCount(ReadSchema):
    stage: str
    count: int


class AccountsBlock(ReadSchema):
    open_accounts: int
    closed_accounts: int
    accounts: list[RecentAccount]


class ContactsBlock(ReadSchema):
    contacts_count: int
    contacts: list[RecentContact]


class LeadsBlock(ReadSchema):
    open_leads: int
    closed_leads: int
    leads: list[RecentLead]


class OpportunitiesBlock(ReadSchema):
    opportunities_count: int
    opportunities: list[RecentOpportunity]
    by_stage: list[StageCount]


class DashboardOut(ReadSchema):
    accounts: AccountsBlock
    contacts: ContactsBlock
    leads: LeadsBlock
    opportunities: OpportunitiesBlock
    accounts_count: int
    contacts_count: int
    leads_count: int
    opportunities_count: int
