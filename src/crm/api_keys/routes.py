"""/api/api-keys/: an org's secret keys (``Authorization: Bearer sk_...``). Admins only.

A key authenticates every org-scoped endpoint (``/api/...`` and ``/api/crm/...``) in place
of a JWT and the ``organization-id`` header, acting as the admin who created it while that
admin is an active member, with that member's role. ``read`` keys may only read.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from crm.api_keys.permissions import APIKeys
from crm.api_keys.schemas import APIKeyCreate, APIKeyCreated, APIKeyListOut, APIKeyOut
from crm.core.clock import utcnow

router = APIRouter(prefix="/api/api-keys", tags=["api-keys"])


@router.get("/", response_model=APIKeyListOut)
async def list_api_keys(keys: APIKeys) -> APIKeyListOut:
    """Every key of the org, newest first, revoked and expired ones included; never the
    secret."""
    now = utcnow()
    return APIKeyListOut(api_keys=[APIKeyOut.of(k, now) for k in await keys.all()])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=APIKeyCreated)
async def create_api_key(body: APIKeyCreate, keys: APIKeys) -> APIKeyCreated:
    """Create a key. The response's ``key`` is the only time the secret is shown: store it
    now. ``scope`` defaults to write; ``expires_at`` is optional."""
    key, secret = await keys.create(body)
    return APIKeyCreated(**APIKeyOut.of(key, utcnow()).model_dump(), key=secret)


@router.get("/{key_id}/", response_model=APIKeyOut)
async def api_key_detail(key_id: uuid.UUID, keys: APIKeys) -> APIKeyOut:
    return APIKeyOut.of(await keys.get(key_id), utcnow())


@router.delete("/{key_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_api_key(key_id: uuid.UUID, keys: APIKeys) -> Response:
    """Revoke the key: from now on it answers 401. It stays listed, with ``revoked_at``."""
    await keys.revoke(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
