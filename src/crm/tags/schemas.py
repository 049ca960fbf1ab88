"""Bodies of /api/tags/."""

from __future__ import annotations

import uuid

from crm.core.schemas import ReadSchema


class TagOut(ReadSchema):
    id: uuid.UUID
    name: str
    slug: str


class TagListOut(ReadSchema):
    tags: list[TagOut]
