"""Dependency that builds the audit-log service for an org admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.audit.service import AuditLogService
from crm.auth.permissions import Admin
from crm.core.db import DbSession


async def audit_log_service(session: DbSession, tenant: Admin) -> AuditLogService:
    return AuditLogService(session, tenant)


AuditLog = Annotated[AuditLogService, Depends(audit_log_service)]
