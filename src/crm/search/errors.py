"""The search errors: a 400 in the documented shape, with stable codes."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class InvalidSearchQuery(ValidationFailed):
    code = "invalid_search_query"

    def __init__(self, message: str) -> None:
        super().__init__(message, field_errors={"q": [message]})


class UnknownSearchType(ValidationFailed):
    code = "invalid_search_type"

    def __init__(self, message: str) -> None:
        super().__init__(message, field_errors={"types": [message]})
