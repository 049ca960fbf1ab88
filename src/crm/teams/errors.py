"""Errors of the teams domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class TeamNameTaken(ValidationFailed):
    code = "team_name_taken"
    default_message = "Team already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"name": [self.default_message]})
