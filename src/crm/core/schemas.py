"""Base schema classes and the field types the whole API shares.

List-valued inputs accept what Django-CRM clients send (§1.1): a JSON array, a JSON-encoded
string of an array, a comma-separated string, or repeated multipart keys. Money goes in as a
decimal (number or string) with at most 2 places and comes out as a string with exactly 2
(``"75000.00"``, §1.1); currencies are 3-letter codes, accepted in any case, kept upper case.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from crm.core.db import CENTS


def _coerce_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value  # let the list validator report it
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


UUIDList = Annotated[list[uuid.UUID], BeforeValidator(_coerce_list)]
NameList = Annotated[list[str], BeforeValidator(_coerce_list)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Secrets are taken exactly as typed: no trimming.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=8, max_length=128)]

# decimal(12,2), never negative: at most 9 999 999 999.99, which the Money column (integer
# hundredths in a BIGINT) holds exactly on every backend.
MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENTS, rounding=ROUND_HALF_UP))


MoneyText = Annotated[Decimal, PlainSerializer(money_text, return_type=str)]

_CURRENCY = re.compile(r"[A-Z]{3}")


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not (code.isascii() and _CURRENCY.fullmatch(code)):
        raise ValueError("Use a 3-letter ISO 4217 currency code, e.g. USD")
    return code


CurrencyCode = Annotated[str, AfterValidator(_currency)]


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("Give a wall-clock time without a UTC offset, e.g. 09:30")
    return value


# A wall-clock time (``HH:MM[:SS[.ffffff]]``), as events keep them. Documented by pattern:
# JSON Schema's "time" format demands a UTC offset, which these never carry.
LocalTime = Annotated[
    time,
    AfterValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$",
            "examples": ["09:30:00"],
        }
    ),
]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class InputSchema(BaseModel):
    """Request bodies: unknown keys are ignored (old clients send extras), strings trimmed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text: refuse it here, the same on every backend.
        if _has_nul(data):
            raise ValueError("NUL characters are not allowed")
        return data


class ReadSchema(BaseModel):
    """Responses, built from ORM objects or read models."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class Message(BaseModel):
    error: bool = False
    message: str


def _key(value: str) -> str:
    return " ".join(value.split()).lower()


def choice_of(choices: tuple[str, ...], value: str) -> str | None:
    """The spelling in ``choices`` of ``value``, matched regardless of case and runs of
    spaces; None when it names none."""
    wanted = _key(value)
    return next((choice for choice in choices if _key(choice) == wanted), None)


def choice_parser(choices: tuple[str, ...], name: str) -> Callable[[str], str]:
    """A validator storing a vocabulary value in its canonical spelling (or refusing it)."""

    def parse(value: str) -> str:
        found = choice_of(choices, value)
        if found is None:
            raise ValueError(f"Unknown {name} {value!r}; use one of: {', '.join(choices)}")
        return found

    return parse
