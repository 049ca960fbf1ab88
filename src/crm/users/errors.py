"""Errors of the members domain."""

from __future__ import annotations

from crm.core.errors import PermissionDenied, ValidationFailed


class LastAdmin(ValidationFailed):
    code = "last_admin"
    default_message = "An organization needs at least one active admin"


class SelfRemoval(PermissionDenied):
    code = "self_removal"
    default_message = "You cannot remove or deactivate yourself"


class NotYourAccount(PermissionDenied):
    code = "not_your_account"
    default_message = "Only the user can change their own e-mail, name or password"


class InvalidStatus(ValidationFailed):
    code = "invalid_status"
    default_message = "Please enter Valid Status for user"
