"""Errors of the cases domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class CaseNameTaken(ValidationFailed):
    code = "case_name_taken"
    default_message = "Case already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})
