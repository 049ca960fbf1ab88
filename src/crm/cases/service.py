"""Case rules (§10, §1.3), on top of the kit's record service (crm.records.module): names
unique per org (case-insensitive); the account must be one the caller can see and the
contacts the org's; see/change: admin, creator or assignee; delete: admin or creator.
Closing a case dates it (``closed_on``, today unless sent); reopening clears the date
unless one is sent."""

from __future__ import annotations

import uuid
from typing import Any

from crm.cases.errors import CaseNameTaken
from crm.cases.repository import CaseRepository
from crm.cases.schemas import CLOSED, CaseCreate, CaseUpdate
from crm.core.clock import today
from crm.models import Case
from crm.records.module import RecordService
from crm.records.service import LINK_FIELDS

# Columns an update sets as sent; ``null`` clears the optional ones and leaves the
# required ones unchanged. Status, account and contacts have rules of their own.
_SCALARS = ("name", "priority", "case_type", "description", "is_active")
_REQUIRED = frozenset({"name", "priority", "is_active"})


class CaseService(RecordService[Case, CaseRepository]):
    kind = "case"
    repository = CaseRepository
    name_taken_error = CaseNameTaken

    async def create(self, data: CaseCreate) -> Case:
        await self._check_name(data.name)
        case = Case(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=data.name,
            status=data.status,
            priority=data.priority,
            case_type=data.case_type,
            account_id=await self._account(data.account),
            closed_on=data.closed_on,
            description=data.description,
            is_active=data.is_active,
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(data.model_dump(include=set(LINK_FIELDS))),
        )
        if case.status == CLOSED and case.closed_on is None:
            case.closed_on = today()
        self.records.add(case)
        await self.session.flush()
        return await self._reload(case.id)

    async def update(self, case_id: uuid.UUID, data: CaseUpdate) -> Case:
        case = await self.get_visible(case_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        await self._check_name(changes.get("name"), exclude=case.id)
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _REQUIRED):
                setattr(case, key, changes[key])
        if "account" in changes:
            case.account_id = await self._account(changes["account"])
        if "closed_on" in changes:
            case.closed_on = changes["closed_on"]
        status = changes.get("status")
        if status is not None and status != case.status:
            case.status = status
            if "closed_on" not in changes:
                case.closed_on = today() if status == CLOSED else None
        if changes.get("contacts") is not None:
            case.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(case, changes)
        await self.session.flush()
        return await self._reload(case.id)
