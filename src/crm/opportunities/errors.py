"""Errors of the opportunities domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class OpportunityNameTaken(ValidationFailed):
    code = "opportunity_name_taken"
    default_message = "Opportunity already exists with this name"

    def __init__(self, field: str = "name") -> None:
        super().__init__(field_errors={field: [self.default_message]})


class UnknownAccount(ValidationFailed):
    """The account is missing, in another org, or one the caller cannot see: one answer for
    all three, so the error does not tell which ids exist."""

    code = "unknown_account"
    default_message = "Not an account of this organization that you can see"

    def __init__(self, message: str | None = None, field: str = "account") -> None:
        text = message or self.default_message
        super().__init__(text, field_errors={field: [text]})
