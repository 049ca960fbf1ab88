"""Errors of the contacts domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class ContactEmailTaken(ValidationFailed):
    code = "contact_email_taken"
    default_message = "Contact with this Email already exists"

    def __init__(self) -> None:
        super().__init__(field_errors={"primary_email": [self.default_message]})
