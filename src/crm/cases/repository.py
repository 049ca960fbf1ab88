"""Queries on cases: the kit's record queries (crm.records.module) and the case filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement

from crm.models import Case
from crm.records.module import RecordRepository
from crm.records.repository import assigned_to_any, contains_ci, equals_ci, tagged_with


@dataclass(frozen=True, slots=True)
class CaseFilters:
    name: str | None = None
    status: str | None = None
    priority: str | None = None
    case_type: str | None = None
    account_ids: list[uuid.UUID] | None = None
    assigned_to: list[uuid.UUID] | None = None
    tags: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Case.name, self.name))
        if self.status:
            # Stored canonical, as the route canonicalises the filter.
            where.append(Case.status == self.status)
        if self.priority:
            where.append(Case.priority == self.priority)
        if self.case_type:
            where.append(equals_ci(Case.case_type_ci, self.case_type))
        if self.account_ids:
            where.append(Case.account_id.in_(self.account_ids))
        if self.assigned_to:
            where.append(assigned_to_any(Case, self.assigned_to))
        if self.tags:
            where.append(tagged_with(Case, self.tags))
        return where


class CaseRepository(RecordRepository[Case]):
    model = Case
