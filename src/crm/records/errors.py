"""Errors of the record kit (crm.records.module): the links a record names, refused."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class UnknownAccount(ValidationFailed):
    """Missing, in another org, or not visible to the caller: one answer for all three, so
    the error does not tell which ids exist."""

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
