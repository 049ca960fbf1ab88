"""Errors of the cases domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class CaseNameTaken(ValidationFailed):
    code = "case_name_taken"
    default_message = "Case already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})


class UnknownAccount(ValidationFailed):
    """Missing, in another org, or not visible to the caller: one answer for all three."""

    code = "unknown_account"
    default_message = "Not an account of this organization that you can see"

    def __init__(self) -> None:
        super().__init__(self.default_message, field_errors={"account": [self.default_message]})


class UnknownContacts(ValidationFailed):
    code = "unknown_contacts"
    default_message = "Not contacts of this organization"

    def __init__(self, missing: list[str]) -> None:
        text = f"{self.default_message}: {', '.join(missing)}"
        super().__init__(text, field_errors={"contacts": [text]})
