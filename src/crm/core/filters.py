"""Query-string filter parsing shared by every list (§1.5).

Id filters accept several values, as repeated parameters or a comma list; a value that is
not a UUID is a 400 on that parameter, never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from crm.core.errors import ValidationFailed


def id_list(values: Sequence[str] | None, field: str) -> list[uuid.UUID] | None:
    if not values:
        return None
    ids: list[uuid.UUID] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                ids.append(uuid.UUID(part))
            except ValueError as exc:
                raise ValidationFailed.on(field, f"{part!r} is not a valid id") from exc
    return ids or None
