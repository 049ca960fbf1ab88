"""Errors of the events domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class EventNameTaken(ValidationFailed):
    code = "event_name_taken"
    default_message = "Event already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})


class ImmutableField(ValidationFailed):
    code = "immutable_field"

    def __init__(self, field: str) -> None:
        text = f"{field} cannot change once the event exists"
        super().__init__(text, field_errors={field: [text]})


class BadSchedule(ValidationFailed):
    """Dates, times or recurrence that do not make an event."""

    code = "invalid_schedule"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field_errors={field: [message]})
