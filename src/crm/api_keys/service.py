"""Secret API keys: create (the key shown once), list, revoke. Admins only (the routes
require it). Revoking keeps the row, so the list shows when a key stopped working."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.api_keys.schemas import APIKeyCreate
from crm.core.audit import SecurityEventKind, record
from crm.core.clock import utcnow
from crm.core.errors import NotFound, ValidationFailed
from crm.core.security import hash_secret_key, new_secret_key
from crm.core.tenancy import TenantContext
from crm.models import APIKey

_PREFIX_SHOWN = 11  # "sk_" and 8 characters of the secret


class APIKeyService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def all(self) -> list[APIKey]:
        statement = (
            select(APIKey)
            .where(APIKey.org_id == self.tenant.org_id)
            .order_by(APIKey.created_on.desc(), APIKey.id.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def get(self, key_id: uuid.UUID) -> APIKey:
        key = await self.session.scalar(
            select(APIKey).where(APIKey.org_id == self.tenant.org_id, APIKey.id == key_id)
        )
        if key is None:
            raise NotFound()
        return key

    async def create(self, data: APIKeyCreate) -> tuple[APIKey, str]:
        """The new key's row and the secret itself (which is not stored)."""
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise ValidationFailed.on("expires_at", "The expiry must be in the future")
        secret = new_secret_key()
        key = APIKey(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=data.name,
            prefix=secret[:_PREFIX_SHOWN],
            key_hash=hash_secret_key(secret),
            scope=data.scope,
            expires_at=data.expires_at,
        )
        self.session.add(key)
        await self.session.flush()
        self._record(SecurityEventKind.API_KEY_CREATED, key)
        return key, secret

    async def revoke(self, key_id: uuid.UUID) -> APIKey:
        """Revoke the key at once; revoking a revoked key changes nothing."""
        key = await self.get(key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.session.flush()
            self._record(SecurityEventKind.API_KEY_REVOKED, key)
        return key

    def _record(self, kind: SecurityEventKind, key: APIKey) -> None:
        record(
            kind,
            user_id=self.tenant.user_id,
            org_id=self.tenant.org_id,
            detail={
                "key_id": str(key.id),
                "prefix": key.prefix,
                "name": key.name,
                "scope": key.scope,
            },
            committed_only=True,
        )
