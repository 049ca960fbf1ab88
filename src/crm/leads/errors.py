"""Errors of the leads domain: conversion preconditions and the website-capture key."""

from __future__ import annotations

from collections.abc import Sequence

from crm.core.errors import PermissionDenied, ValidationFailed

REQUIRED = "This field is required."  # Django REST framework's wording, kept for old clients


class ConversionFieldsMissing(ValidationFailed):
    """Converting needs the lead's e-mail and account name (§6.5)."""

    code = "conversion_fields_missing"
    default_message = "E-mail and account name are required to convert a lead"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(field_errors={field: [REQUIRED] for field in fields})


class ConvertedAccountNameTaken(ValidationFailed):
    code = "account_name_taken"
    default_message = "Account already exists with this name"

    def __init__(self) -> None:
        super().__init__(field_errors={"account_name": [self.default_message]})


class LeadAlreadyConverted(ValidationFailed):
    code = "lead_already_converted"
    default_message = "This lead has already been converted"

    def __init__(self) -> None:
        super().__init__(field_errors={"status": [self.default_message]})


class ConversionIrreversible(ValidationFailed):
    code = "conversion_irreversible"
    default_message = "A converted lead cannot change status"

    def __init__(self) -> None:
        super().__init__(field_errors={"status": [self.default_message]})


class InvalidSiteKey(PermissionDenied):
    """An unknown website key, or one whose org is inactive (Django-CRM's wording)."""

    code = "invalid_apikey"
    default_message = "You don't have permission, please contact the admin!."
