"""Response shapes of the API contract that many test modules assert."""

from __future__ import annotations

DENIED = {
    "error": True,
    "errors": "You do not have Permission to perform this action",
    "code": "permission_denied",
}

MEMBER_BRIEF_KEYS = {"id", "first_name", "last_name", "email", "role"}

NOT_FOUND = {"error": True, "errors": "Not found", "code": "not_found"}

PROFILE_KEYS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "role",
    "is_active",
    "phone",
    "alternate_phone",
    "has_sales_access",
    "has_marketing_access",
    "is_organization_admin",
    "date_of_joining",
    "address",
    "org",
    "created_on",
    "user_details",
}
