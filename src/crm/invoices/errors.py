"""Errors of the invoices domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class InvoiceTitleTaken(ValidationFailed):
    code = "invoice_title_taken"
    default_message = "Invoice already exists with this title"

    def __init__(self) -> None:
        super().__init__(field_errors={"invoice_title": [self.default_message]})


class InvoiceNumberTaken(ValidationFailed):
    code = "invoice_number_taken"
    default_message = "Invoice already exists with this number"

    def __init__(self) -> None:
        super().__init__(field_errors={"invoice_number": [self.default_message]})


class UnknownAccounts(ValidationFailed):
    code = "unknown_accounts"

    def __init__(self, missing: list[str]) -> None:
        message = f"No such accounts in this organization: {', '.join(missing)}"
        super().__init__(message, field_errors={"accounts": [message]})
