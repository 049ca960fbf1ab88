"""Dependency that builds the activity service for the calling member, with the app's storage.

The comment and attachment rules themselves (author, uploader, parent visibility) are the
service's, since other domains call it too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm.activity.service import ActivityService
from crm.auth.permissions import Member
from crm.core.db import DbSession


async def activity_service(request: Request, session: DbSession, tenant: Member) -> ActivityService:
    return ActivityService(session, tenant, request.app.state.storage)


Activity = Annotated[ActivityService, Depends(activity_service)]
