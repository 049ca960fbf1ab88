"""The search request's vocabulary and its answer."""

from __future__ import annotations

import uuid
from typing import Literal

from crm.core.schemas import ReadSchema

RecordKind = Literal["account", "contact", "lead", "opportunity", "case"]
RECORD_KINDS: tuple[RecordKind, ...] = ("account", "contact", "lead", "opportunity", "case")

QUERY_MIN_LENGTH = 2
QUERY_MAX_LENGTH = 200
MAX_TERMS = 8  # every term is a condition in every branch of the statement


class SearchHit(ReadSchema):
    type: RecordKind
    id: uuid.UUID
    title: str
    subtitle: str
    score: float


class SearchOut(ReadSchema):
    count: int
    query: str
    results: list[SearchHit]
