"""/api/tags/: the org's tags, for pickers (§18). Tags are created by naming them on a record."""

from __future__ import annotations

from fastapi import APIRouter

from crm.tags.permissions import Tags
from crm.tags.schemas import TagListOut, TagOut

router = APIRouter(prefix="/api/tags", tags=["tags"])


@router.get("/", response_model=TagListOut)
async def list_tags(tags: Tags) -> TagListOut:
    return TagListOut(tags=[TagOut.model_validate(t) for t in await tags.all()])
