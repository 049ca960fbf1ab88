"""/api/teams/ (§15) and the /api/users/get-teams-and-users/ picker lookup.

Every member may read teams; only admins create, change or delete them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm.auth.permissions import Admin
from crm.core.filters import id_list
from crm.core.pagination import Page, Pagination
from crm.teams.permissions import Teams
from crm.teams.repository import TeamFilters
from crm.teams.schemas import TeamCreate, TeamDetailOut, TeamOut, TeamsAndUsersOut, TeamUpdate
from crm.users.permissions import Members
from crm.users.schemas import ProfileOut

router = APIRouter(prefix="/api", tags=["teams"])


@router.get("/teams/", response_model=Page[TeamOut])
async def list_teams(
    teams: Teams,
    request: Request,
    page: Pagination,
    name: Annotated[str | None, Query(max_length=100, description="Part of the team name")] = None,
    team_name: Annotated[str | None, Query(max_length=100, description="Alias of name")] = None,
    created_by: Annotated[list[str] | None, Query(description="Creator profile ids")] = None,
    assigned_users: Annotated[
        list[str] | None, Query(description="Teams with any of these members")
    ] = None,
) -> Page[TeamOut]:
    filters = TeamFilters(
        name=name or team_name,
        created_by=id_list(created_by, "created_by"),
        member=id_list(assigned_users, "assigned_users"),
    )
    rows, total = await teams.page(filters, page)
    return Page[TeamOut].build(request, page, total, [TeamOut.of(t) for t in rows])


@router.post("/teams/", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
async def create_team(body: TeamCreate, _admin: Admin, teams: Teams) -> TeamOut:
    return TeamOut.of(await teams.create(body))


@router.get("/teams/{team_id}/", response_model=TeamDetailOut)
async def team_detail(team_id: uuid.UUID, teams: Teams) -> TeamDetailOut:
    return TeamDetailOut(team=TeamOut.of(await teams.get(team_id)))


@router.put("/teams/{team_id}/", response_model=TeamOut)
@router.patch("/teams/{team_id}/", response_model=TeamOut)
async def update_team(team_id: uuid.UUID, body: TeamUpdate, _admin: Admin, teams: Teams) -> TeamOut:
    """Partial update; ``users`` (alias ``assign_users``) replaces the member list when sent."""
    return TeamOut.of(await teams.update(team_id, body))


@router.delete("/teams/{team_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_team(team_id: uuid.UUID, _admin: Admin, teams: Teams) -> Response:
    await teams.delete(team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/get-teams-and-users/", response_model=TeamsAndUsersOut, tags=["users"])
async def teams_and_users(teams: Teams, members: Members) -> TeamsAndUsersOut:
    """Lookup lists for pickers: every team, and the active members ordered by e-mail."""
    return TeamsAndUsersOut(
        teams=[TeamOut.of(t) for t in await teams.all()],
        profiles=[ProfileOut.of(p) for p in await members.all(active=True)],
    )
