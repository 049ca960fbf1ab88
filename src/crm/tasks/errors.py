"""Errors of the tasks domain: all payload errors (400) on one field."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class TaskTitleTaken(ValidationFailed):
    code = "task_title_taken"
    default_message = "Task already exists with this title"

    def __init__(self) -> None:
        super().__init__(field_errors={"title": [self.default_message]})
