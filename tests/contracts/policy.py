"""Who may call each operation of the API. The route-loop tests check the app against this
table, and fail when the app has an operation the table does not list: a new route must be
classified here (and so gets the generated isolation and permission tests) before it ships.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Access(Enum):
    PUBLIC = "public"  # no credentials
    USER = "user"  # a valid access token, no org
    MEMBER = "member"  # any active member of the org in the header
    SELF_OR_ADMIN = "self_or_admin"  # an admin, or the member the path names
    ADMIN = "admin"  # an ADMIN member


POLICY: dict[tuple[str, str], Access] = {
    ("POST", "/api/auth/register/"): Access.PUBLIC,
    ("POST", "/api/auth/login/"): Access.PUBLIC,
    ("POST", "/api/auth/refresh-token/"): Access.PUBLIC,
    ("POST", "/api/auth/google/"): Access.PUBLIC,
    ("POST", "/api/auth/logout/"): Access.USER,
    ("GET", "/api/org/"): Access.USER,
    ("POST", "/api/org/"): Access.USER,
    ("GET", "/api/profile/"): Access.MEMBER,
    ("GET", "/api/users/"): Access.ADMIN,
    ("POST", "/api/users/"): Access.ADMIN,
    ("GET", "/api/users/get-teams-and-users/"): Access.MEMBER,
    ("GET", "/api/user/{profile_id}/"): Access.SELF_OR_ADMIN,
    ("PUT", "/api/user/{profile_id}/"): Access.SELF_OR_ADMIN,
    ("PATCH", "/api/user/{profile_id}/"): Access.SELF_OR_ADMIN,
    ("DELETE", "/api/user/{profile_id}/"): Access.ADMIN,
    ("POST", "/api/user/{profile_id}/status/"): Access.ADMIN,
    ("GET", "/api/teams/"): Access.MEMBER,
    ("POST", "/api/teams/"): Access.ADMIN,
    ("GET", "/api/teams/{team_id}/"): Access.MEMBER,
    ("PUT", "/api/teams/{team_id}/"): Access.ADMIN,
    ("PATCH", "/api/teams/{team_id}/"): Access.ADMIN,
    ("DELETE", "/api/teams/{team_id}/"): Access.ADMIN,
    ("GET", "/api/api-settings/"): Access.MEMBER,
    ("POST", "/api/api-settings/"): Access.ADMIN,
    ("GET", "/api/api-settings/{setting_id}/"): Access.MEMBER,
    ("PUT", "/api/api-settings/{setting_id}/"): Access.ADMIN,
    ("PATCH", "/api/api-settings/{setting_id}/"): Access.ADMIN,
    ("DELETE", "/api/api-settings/{setting_id}/"): Access.ADMIN,
    ("GET", "/api/tags/"): Access.MEMBER,
    ("GET", "/api/accounts/"): Access.MEMBER,
    ("POST", "/api/accounts/"): Access.MEMBER,
    ("GET", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("PUT", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("PATCH", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("DELETE", "/api/accounts/{account_id}/"): Access.MEMBER,
}

# A body that would succeed for an allowed caller, so that a refusal is about permission
# and not about validation. Operations without an entry send no body.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/org/"): {"name": "ContractOrg"},
    ("POST", "/api/users/"): {
        "email": "contract-new@example.com",
        "role": "USER",
        "phone": "+14155550999",
    },
    ("PUT", "/api/user/{profile_id}/"): {"phone": "+14155550998"},
    ("PATCH", "/api/user/{profile_id}/"): {"phone": "+14155550997"},
    ("POST", "/api/user/{profile_id}/status/"): {"status": "Inactive"},
    ("POST", "/api/teams/"): {"name": "Contract team"},
    ("PUT", "/api/teams/{team_id}/"): {"name": "Renamed by contract"},
    ("PATCH", "/api/teams/{team_id}/"): {"description": "changed by contract"},
    ("POST", "/api/api-settings/"): {
        "title": "Contract",
        "website": "https://contract.example.com",
    },
    ("PUT", "/api/api-settings/{setting_id}/"): {"title": "Renamed by contract"},
    ("PATCH", "/api/api-settings/{setting_id}/"): {"title": "Patched by contract"},
    ("POST", "/api/accounts/"): {"name": "Contract account"},
    ("PUT", "/api/accounts/{account_id}/"): {"name": "Renamed by contract"},
    ("PATCH", "/api/accounts/{account_id}/"): {"phone": "+14155550100"},
}
