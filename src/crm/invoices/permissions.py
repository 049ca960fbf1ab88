"""Dependency that builds the invoice service for the calling member. Every member may call
the routes; the record rules (see, change, delete) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.invoices.service import InvoiceService


async def invoice_service(session: DbSession, tenant: Member) -> InvoiceService:
    return InvoiceService(session, tenant)


Invoices = Annotated[InvoiceService, Depends(invoice_service)]
