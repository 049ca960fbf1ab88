"""Errors of the orgs domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class OrgNameTaken(ValidationFailed):
    code = "org_name_taken"
    default_message = "Organization already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})
