"""/api/users/ and /api/user/<id>/: the members of the org (§2.6)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm.auth.permissions import Admin
from crm.core.config import Settings
from crm.core.pagination import Pagination
from crm.core.tenancy import Role
from crm.users.permissions import Members
from crm.users.schemas import (
    ActiveUsersBlock,
    AssignedData,
    InactiveUsersBlock,
    MemberCreate,
    MemberDetail,
    MemberDetailOut,
    MemberListOut,
    MemberStatusOut,
    MemberUpdate,
    ProfileOut,
    StatusIn,
)
from crm.users.service import parse_status

router = APIRouter(prefix="/api", tags=["users"])


@router.get("/users/", response_model=MemberListOut)
async def list_members(
    _admin: Admin,
    members: Members,
    request: Request,
    page: Pagination,
    email: Annotated[str | None, Query(max_length=254, description="Part of the e-mail")] = None,
    role: Annotated[Role | None, Query()] = None,
    status_: Annotated[str | None, Query(alias="status", description="Active or Inactive")] = None,
) -> MemberListOut:
    """Members split into active and inactive, each paginated with the same limit/offset (admin)."""
    wanted = parse_status(status_) if status_ else None
    halves: dict[bool, tuple[list[ProfileOut], int]] = {}
    for active in (True, False):
        if wanted is not None and wanted != active:
            halves[active] = ([], 0)
            continue
        rows, total = await members.page(active=active, email=email, role=role, params=page)
        halves[active] = ([ProfileOut.of(p) for p in rows], total)
    settings: Settings = request.app.state.settings
    return MemberListOut(
        active_users=ActiveUsersBlock(
            active_users_count=halves[True][1],
            active_users=halves[True][0],
            offset=page.next_offset(halves[True][1]),
        ),
        inactive_users=InactiveUsersBlock(
            inactive_users_count=halves[False][1],
            inactive_users=halves[False][0],
            offset=page.next_offset(halves[False][1]),
        ),
        admin_email=settings.admin_email,
        roles=[("ADMIN", "ADMIN"), ("USER", "USER")],
        status=[("True", "Active"), ("False", "In Active")],
    )


@router.post("/users/", status_code=status.HTTP_201_CREATED, response_model=ProfileOut)
async def add_member(body: MemberCreate, _admin: Admin, members: Members) -> ProfileOut:
    """Add a user to the org (admin). An e-mail already known to the server reuses that user."""
    return ProfileOut.of(await members.add(body))


@router.get("/user/{profile_id}/", response_model=MemberDetailOut)
async def member_detail(profile_id: uuid.UUID, members: Members) -> MemberDetailOut:
    """One member (admin, or the member themself)."""
    profile = await members.get_visible(profile_id)
    active = await members.all(active=True)
    return MemberDetailOut(
        data=MemberDetail(
            profile_obj=ProfileOut.of(profile),
            assigned_data=[AssignedData(id=p.id, user__email=p.user.email) for p in active],
        )
    )


@router.put("/user/{profile_id}/", response_model=ProfileOut)
@router.patch("/user/{profile_id}/", response_model=ProfileOut)
async def update_member(profile_id: uuid.UUID, body: MemberUpdate, members: Members) -> ProfileOut:
    """Partial update (admin, or the member themself; nobody changes their own role)."""
    return ProfileOut.of(await members.update(profile_id, body))


@router.delete(
    "/user/{profile_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def remove_member(profile_id: uuid.UUID, _admin: Admin, members: Members) -> Response:
    """Remove a member from the org (admin; not yourself, not the last admin)."""
    await members.remove(profile_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/user/{profile_id}/status/", response_model=MemberStatusOut)
async def set_member_status(
    profile_id: uuid.UUID, body: StatusIn, _admin: Admin, members: Members
) -> MemberStatusOut:
    """Activate or deactivate a member (admin). A deactivated member's tokens stop working
    for this org on their next request."""
    await members.set_active(profile_id, parse_status(body.status))
    everyone = await members.all()
    return MemberStatusOut(
        active_profiles=[ProfileOut.of(p) for p in everyone if p.is_active],
        inactive_profiles=[ProfileOut.of(p) for p in everyone if not p.is_active],
    )
