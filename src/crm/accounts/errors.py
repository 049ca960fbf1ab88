"""Errors of the accounts domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class AccountNameTaken(ValidationFailed):
    code = "account_name_taken"
    default_message = "Account already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})
