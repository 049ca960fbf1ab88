"""Query-string filter parsing shared by every list (§1.5).

Id filters accept several values, as repeated parameters, a comma list or a JSON array (as
Django-CRM's clients send them); a value that is not a UUID is a 400 on that parameter,
never a 500.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from crm.core.errors import ValidationFailed
from crm.core.schemas import choice_of


def _parts(value: str) -> list[str]:
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    return value.split(",")


def id_list(values: Sequence[str] | None, field: str) -> list[uuid.UUID] | None:
    if not values:
        return None
    ids: list[uuid.UUID] = []
    for value in values:
        for part in _parts(value):
            part = part.strip()
            if not part:
                continue
            try:
                ids.append(uuid.UUID(part))
            except ValueError as exc:
                raise ValidationFailed.on(field, f"{part!r} is not a valid id") from exc
    return ids or None


def text_list(values: Sequence[str] | None) -> list[str] | None:
    """Repeated parameters and comma lists, flattened, blanks dropped (tag names ...)."""
    found = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    return found or None


def choice_filter(value: str | None, choices: tuple[str, ...], field: str) -> str | None:
    """A vocabulary filter in its stored spelling (any case); 400 naming the choices when it
    names none; None when blank."""
    if value is None or not value.strip():
        return None
    found = choice_of(choices, value)
    if found is None:
        raise ValidationFailed.on(field, f"Use one of: {', '.join(choices)}")
    return found
