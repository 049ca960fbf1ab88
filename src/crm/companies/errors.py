"""Errors of the companies domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class CompanyNameTaken(ValidationFailed):
    code = "company_name_taken"
    default_message = "Company already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})


class UnknownCompany(ValidationFailed):
    """For other domains that link a company (a lead's ``company``): 400 on their field."""

    code = "unknown_company"
    default_message = "Not a company of this organization"

    def __init__(self, field: str) -> None:
        super().__init__(field_errors={field: [self.default_message]})
