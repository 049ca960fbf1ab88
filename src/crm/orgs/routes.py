"""/api/org/ (the caller's orgs; create one) and /api/profile/ (the caller in this org)."""

from __future__ import annotations

from fastapi import APIRouter, status

from crm.auth.permissions import CurrentUser
from crm.core.db import DbSession
from crm.models import Profile
from crm.orgs.schemas import MembershipListOut, MembershipOut, OrgCreate, OrgCreatedOut, OrgOut
from crm.orgs.service import OrgService
from crm.users.permissions import Members
from crm.users.schemas import ProfileEnvelope, ProfileOut

router = APIRouter(prefix="/api", tags=["orgs"])


def _org_out(profile: Profile) -> OrgOut:
    return OrgOut(
        id=profile.org.id,
        name=profile.org.name,
        api_key=profile.org.api_key if profile.is_organization_admin else None,
    )


@router.get("/org/", response_model=MembershipListOut)
async def my_orgs(user: CurrentUser, session: DbSession) -> MembershipListOut:
    """The caller's active memberships, one per org. No org header needed."""
    profiles = await OrgService(session).memberships(user)
    return MembershipListOut(
        profile_org_list=[
            MembershipOut(
                id=p.id,
                role=p.role,
                alternate_phone=p.alternate_phone,
                has_sales_access=p.has_sales_access,
                has_marketing_access=p.has_marketing_access,
                is_organization_admin=p.is_organization_admin,
                org=_org_out(p),
            )
            for p in profiles
        ]
    )


@router.post("/org/", status_code=status.HTTP_201_CREATED, response_model=OrgCreatedOut)
async def create_org(body: OrgCreate, user: CurrentUser, session: DbSession) -> OrgCreatedOut:
    """Create an org; the caller becomes its ADMIN. Names are unique server-wide."""
    org, profile = await OrgService(session).create_org(user, body.name)
    profile.user = user
    profile.org = org
    profile.address = None
    return OrgCreatedOut(
        org=OrgOut(id=org.id, name=org.name, api_key=org.api_key), profile=ProfileOut.of(profile)
    )


@router.get("/profile/", response_model=ProfileEnvelope)
async def my_profile(members: Members) -> ProfileEnvelope:
    """The caller's membership in the org named by the org header."""
    return ProfileEnvelope(user_obj=ProfileOut.of(await members.me()))
