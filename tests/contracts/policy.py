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
    ("GET", "/api/opportunities/"): Access.MEMBER,
    ("POST", "/api/opportunities/"): Access.MEMBER,
    ("GET", "/api/opportunities/{opportunity_id}/"): Access.MEMBER,
    ("PUT", "/api/opportunities/{opportunity_id}/"): Access.MEMBER,
    ("PATCH", "/api/opportunities/{opportunity_id}/"): Access.MEMBER,
    ("DELETE", "/api/opportunities/{opportunity_id}/"): Access.MEMBER,
    ("POST", "/api/leads/create-from-site/"): Access.PUBLIC,  # a website key, not a login
    ("GET", "/api/leads/"): Access.MEMBER,
    ("POST", "/api/leads/"): Access.MEMBER,
    ("GET", "/api/leads/{lead_id}/"): Access.MEMBER,
    ("PUT", "/api/leads/{lead_id}/"): Access.MEMBER,
    ("PATCH", "/api/leads/{lead_id}/"): Access.MEMBER,
    ("DELETE", "/api/leads/{lead_id}/"): Access.MEMBER,
    ("GET", "/api/leads/companies/"): Access.MEMBER,
    ("POST", "/api/leads/companies/"): Access.MEMBER,
    ("GET", "/api/leads/company/{company_id}/"): Access.MEMBER,
    ("PUT", "/api/leads/company/{company_id}/"): Access.MEMBER,
    ("PATCH", "/api/leads/company/{company_id}/"): Access.MEMBER,
    ("DELETE", "/api/leads/company/{company_id}/"): Access.MEMBER,
    ("GET", "/api/contacts/"): Access.MEMBER,
    ("POST", "/api/contacts/"): Access.MEMBER,
    ("GET", "/api/contacts/{contact_id}/"): Access.MEMBER,
    ("PUT", "/api/contacts/{contact_id}/"): Access.MEMBER,
    ("PATCH", "/api/contacts/{contact_id}/"): Access.MEMBER,
    ("DELETE", "/api/contacts/{contact_id}/"): Access.MEMBER,
    ("GET", "/api/tags/"): Access.MEMBER,
    ("GET", "/api/dashboard/"): Access.MEMBER,
    ("POST", "/api/leads/upload/"): Access.MEMBER,
    ("GET", "/api/leads/upload/{job_id}/"): Access.MEMBER,
    ("GET", "/api/accounts/"): Access.MEMBER,
    ("POST", "/api/accounts/"): Access.MEMBER,
    ("GET", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("PUT", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("PATCH", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("DELETE", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("POST", "/api/accounts/{account_id}/create_mail/"): Access.MEMBER,
    # Comments and attachments (§16): any member; the rules per record are the service's.
    ("POST", "/api/accounts/{account_id}/"): Access.MEMBER,
    ("PUT", "/api/accounts/comment/{comment_id}/"): Access.MEMBER,
    ("DELETE", "/api/accounts/comment/{comment_id}/"): Access.MEMBER,
    ("GET", "/api/accounts/attachment/{attachment_id}/"): Access.MEMBER,
    ("DELETE", "/api/accounts/attachment/{attachment_id}/"): Access.MEMBER,
    ("POST", "/api/contacts/{contact_id}/"): Access.MEMBER,
    ("PUT", "/api/contacts/comment/{comment_id}/"): Access.MEMBER,
    ("DELETE", "/api/contacts/comment/{comment_id}/"): Access.MEMBER,
    ("GET", "/api/contacts/attachment/{attachment_id}/"): Access.MEMBER,
    ("DELETE", "/api/contacts/attachment/{attachment_id}/"): Access.MEMBER,
    ("POST", "/api/leads/{lead_id}/"): Access.MEMBER,
    ("PUT", "/api/leads/comment/{comment_id}/"): Access.MEMBER,
    ("DELETE", "/api/leads/comment/{comment_id}/"): Access.MEMBER,
    ("GET", "/api/leads/attachment/{attachment_id}/"): Access.MEMBER,
    ("DELETE", "/api/leads/attachment/{attachment_id}/"): Access.MEMBER,
    ("POST", "/api/opportunities/{opportunity_id}/"): Access.MEMBER,
    ("PUT", "/api/opportunities/comment/{comment_id}/"): Access.MEMBER,
    ("DELETE", "/api/opportunities/comment/{comment_id}/"): Access.MEMBER,
    ("GET", "/api/opportunities/attachment/{attachment_id}/"): Access.MEMBER,
    ("DELETE", "/api/opportunities/attachment/{attachment_id}/"): Access.MEMBER,
}

# A body that would succeed for an allowed caller, so that a refusal is about permission
# and not about validation. Operations without an entry send no body (or take one from
# BODY_MAKERS in tests/contracts/test_routes.py when it must name records made per test).
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
    # POST /api/opportunities/ needs an account of the caller's org: see BODY_MAKERS in
    # tests/contracts/test_routes.py.
    ("PUT", "/api/opportunities/{opportunity_id}/"): {
        "stage": "negotiation/review",
        "amount": "80000.00",
    },
    ("PATCH", "/api/opportunities/{opportunity_id}/"): {"probability": 75},
    # The key goes in ?apikey= (an API setting's key made per test), so no body can carry it.
    ("POST", "/api/leads/create-from-site/"): {
        "first_name": "Site",
        "last_name": "Visitor",
        "email": "visitor@example.com",
    },
    ("POST", "/api/leads/"): {"first_name": "Contract", "last_name": "Lead"},
    ("PUT", "/api/leads/{lead_id}/"): {"title": "Renamed by contract"},
    ("PATCH", "/api/leads/{lead_id}/"): {"status": "in process", "city": "Patched"},
    ("POST", "/api/leads/companies/"): {"name": "Contract company", "industry": "Software"},
    ("PUT", "/api/leads/company/{company_id}/"): {"name": "Renamed by contract"},
    ("PATCH", "/api/leads/company/{company_id}/"): {"website": "https://contract.example.com"},
    ("POST", "/api/contacts/"): {
        "first_name": "Contract",
        "last_name": "Contact",
        "primary_email": "contract-contact@example.com",
    },
    ("PUT", "/api/contacts/{contact_id}/"): {"first_name": "Renamed by contract"},
    ("PATCH", "/api/contacts/{contact_id}/"): {"city": "Patched by contract"},
    ("POST", "/api/accounts/"): {"name": "Contract account"},
    ("PUT", "/api/accounts/{account_id}/"): {"name": "Renamed by contract"},
    ("PATCH", "/api/accounts/{account_id}/"): {"phone": "+14155550100"},
    ("POST", "/api/accounts/{account_id}/create_mail/"): {
        "recipients": ["a@example.com"],
        "subject": "Hi",
    },
    ("POST", "/api/accounts/{account_id}/"): {"comment": "Added by contract"},
    ("PUT", "/api/accounts/comment/{comment_id}/"): {"comment": "Edited by contract"},
    ("POST", "/api/contacts/{contact_id}/"): {"comment": "Added by contract"},
    ("PUT", "/api/contacts/comment/{comment_id}/"): {"comment": "Edited by contract"},
    ("POST", "/api/leads/{lead_id}/"): {"comment": "Added by contract"},
    ("PUT", "/api/leads/comment/{comment_id}/"): {"comment": "Edited by contract"},
    ("POST", "/api/opportunities/{opportunity_id}/"): {"comment": "Added by contract"},
    ("PUT", "/api/opportunities/comment/{comment_id}/"): {"comment": "Edited by contract"},
}
