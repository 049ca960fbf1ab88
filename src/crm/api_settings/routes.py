"""/api/api-settings/: website lead-capture keys. Members read; admins write (§2.7)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from crm.api_settings.permissions import APISettings
from crm.api_settings.schemas import (
    APISettingCreate,
    APISettingDetailOut,
    APISettingListOut,
    APISettingOut,
    APISettingUpdate,
)
from crm.auth.permissions import Admin
from crm.users.permissions import Members
from crm.users.schemas import ProfileOut

router = APIRouter(prefix="/api/api-settings", tags=["api-settings"])


@router.get("/", response_model=APISettingListOut)
async def list_api_settings(settings: APISettings, members: Members) -> APISettingListOut:
    return APISettingListOut(
        api_settings=[APISettingOut.of(s) for s in await settings.all()],
        users=[ProfileOut.of(p) for p in await members.all(active=True)],
    )


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=APISettingOut)
async def create_api_setting(
    body: APISettingCreate, _admin: Admin, settings: APISettings
) -> APISettingOut:
    """Create a website key; ``tags`` are created on first use, assignees must be active members."""
    return APISettingOut.of(await settings.create(body))


@router.get("/{setting_id}/", response_model=APISettingDetailOut)
async def api_setting_detail(setting_id: uuid.UUID, settings: APISettings) -> APISettingDetailOut:
    return APISettingDetailOut(domain=APISettingOut.of(await settings.get(setting_id)))


@router.put("/{setting_id}/", response_model=APISettingOut)
@router.patch("/{setting_id}/", response_model=APISettingOut)
async def update_api_setting(
    setting_id: uuid.UUID, body: APISettingUpdate, _admin: Admin, settings: APISettings
) -> APISettingOut:
    """Partial update; ``tags`` and ``lead_assigned_to`` replace the lists when sent."""
    return APISettingOut.of(await settings.update(setting_id, body))


@router.delete("/{setting_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_api_setting(
    setting_id: uuid.UUID, _admin: Admin, settings: APISettings
) -> Response:
    await settings.delete(setting_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
