"""ORM models, one module per aggregate. Importing this package registers every table."""

from crm.models import changes as _changes  # noqa: F401 - registers the version bump
from crm.models import record_counts as _record_counts  # noqa: F401 - registers the folds
from crm.models.activity import PARENT_TABLES, Attachment, Comment
from crm.models.api_keys import APIKey
from crm.models.api_settings import APISetting, api_setting_assignees, api_setting_tags
from crm.models.audit import SecurityEvent
from crm.models.cases import Case
from crm.models.documents import Document
from crm.models.events import Event
from crm.models.idempotency import IdempotentRequest
from crm.models.identity import Address, AuthSession, Org, Profile, User
from crm.models.imports import LeadImport
from crm.models.invoices import Invoice, InvoiceLine
from crm.models.mail import OutboundEmail
from crm.models.opportunity_rows import OpportunityItem, OpportunityLostReason
from crm.models.sales import (
    Account,
    AccountCount,
    Company,
    Contact,
    Lead,
    LeadCount,
    Opportunity,
)
from crm.models.tags import Tag
from crm.models.tasks import Task
from crm.models.teams import Team, team_members

__all__ = [
    "PARENT_TABLES",
    "APIKey",
    "APISetting",
    "Account",
    "AccountCount",
    "Address",
    "Attachment",
    "AuthSession",
    "Case",
    "Comment",
    "Company",
    "Contact",
    "Document",
    "Event",
    "IdempotentRequest",
    "Invoice",
    "InvoiceLine",
    "Lead",
    "LeadCount",
    "LeadImport",
    "Opportunity",
    "OpportunityItem",
    "OpportunityLostReason",
    "Org",
    "OutboundEmail",
    "Profile",
    "SecurityEvent",
    "Tag",
    "Task",
    "Team",
    "User",
    "api_setting_assignees",
    "api_setting_tags",
    "team_members",
]
