"""Public ids of the /api/crm/ surface: ``<type>_<32 hex digits>``, one-to-one with the
internal UUIDs (``opportunity_0f3c...`` is the opportunity whose UUID is ``0f3c...``).
Paths and bodies take either form."""

from __future__ import annotations

import uuid
from typing import Final

OPPORTUNITY: Final = "opportunity"
ITEM: Final = "opportunity-item"
LOST_REASON: Final = "opportunity-lost-reason-detail"


def public_id(kind: str, value: uuid.UUID) -> str:
    return f"{kind}_{value.hex}"


def parse_id(kind: str, text: str) -> uuid.UUID | None:
    """The UUID named by ``<kind>_<hex>`` or by a plain UUID; None for anything else
    (another type's id included)."""
    raw = text.strip()
    if raw.startswith(f"{kind}_"):
        raw = raw[len(kind) + 1 :]
        if len(raw) != 32:
            return None
    elif "_" in raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
