"""Turning tag names into the org's tags, creating the missing ones."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.errors import ValidationFailed
from crm.core.tenancy import TenantContext
from crm.models import Tag
from crm.tags.repository import TagRepository

MAX_TAG_LENGTH = 20


def slugify(name: str) -> str:
    """The key tags are matched by: the name lower-cased, runs of spaces made one."""
    return " ".join(name.split()).lower()


class TagService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.tags = TagRepository(session, tenant)

    async def all(self, limit: int | None = None) -> list[Tag]:
        """Tags ordered by slug; ``limit`` caps picker lookups."""
        return await self.tags.all(limit)

    async def resolve(self, names: Sequence[str], field: str = "tags") -> list[Tag]:
        """The org's tags for ``names`` (matched by slug, case-insensitively), in input order."""
        wanted: dict[str, str] = {}
        for raw in names:
            name = raw.strip()
            if not name:
                continue
            if len(name) > MAX_TAG_LENGTH:
                raise ValidationFailed.on(
                    field, f"Tag names are at most {MAX_TAG_LENGTH} characters: {name!r}"
                )
            slug = slugify(name)
            if not slug:
                raise ValidationFailed.on(field, f"Tag name needs a letter or digit: {name!r}")
            wanted.setdefault(slug, name)
        existing = {tag.slug: tag for tag in await self.tags.by_slugs(list(wanted))}
        result: list[Tag] = []
        for slug, name in wanted.items():
            tag = existing.get(slug)
            if tag is None:
                tag = Tag(org_id=self.tenant.org_id, name=name, slug=slug)
                self.tags.add(tag)
            result.append(tag)
        await self.session.flush()
        return result
