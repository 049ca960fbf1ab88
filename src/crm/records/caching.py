"""Cached read responses: the rendered JSON of a list or a record's detail view, reused until
the org's data changes.

A list request costs its counts, page, links and lookups; repeated unchanged, it costs one
statement (the membership check, which also reads the org's ``data_version``) and a copy.
The key holds the org, the caller's profile (visibility differs per caller), the data
version and the full URL (filters, paging by offset or by cursor token, and the host the
``next`` links are built from). Every write to the org bumps the version in the same transaction
(crm.models.changes), so an entry is never served once a change is visible.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from crm.auth.permissions import Member
from crm.core.cache import ResponseCache
from crm.core.concurrency import entity_tag, subject_version
from crm.core.tenancy import TenantContext


class ListCache:
    def __init__(self, cache: ResponseCache, key: tuple[object, ...] | None) -> None:
        self.cache = cache
        self.key = key

    def hit(self) -> Response | None:
        entry = self._entry()
        return None if entry is None else _json(entry)

    def keep(self, body: BaseModel, *, exclude_unset: bool = False) -> Response:
        """Render ``body`` as FastAPI would (by alias), remember it, and answer with it."""
        rendered = body.__pydantic_serializer__.to_json(
            body, by_alias=True, exclude_unset=exclude_unset
        )
        if self.key is not None:
            self.cache.put(self.key, self._stored(rendered))
        return _json(rendered)

    def _entry(self) -> bytes | None:
        return None if self.key is None else self.cache.get(self.key)

    def _stored(self, rendered: bytes) -> bytes:
        return rendered


class DetailCache(ListCache):
    """A detail view's cache: the body and the record's version (its ``ETag``).

    A miss answers through :class:`crm.core.concurrency.ConditionalRequestMiddleware`,
    which adds the ``ETag`` of the record just read; a hit reads nothing, so it carries the
    kept one itself. Requests with ``If-Match`` or ``If-None-Match`` always run."""

    def hit(self) -> Response | None:
        entry = self._entry()
        if entry is None:
            return None
        tag, _, body = entry.partition(b"\n")
        response = _json(body)
        if tag:
            response.headers["etag"] = tag.decode()
        return response

    def _stored(self, rendered: bytes) -> bytes:
        version = subject_version()
        tag = entity_tag(version).encode() if version is not None else b""
        return tag + b"\n" + rendered


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


async def _list_cache(request: Request, tenant: Member) -> ListCache:
    cache: ResponseCache = request.app.state.response_cache
    return ListCache(cache, _key(request, tenant) if cache.enabled else None)


async def _detail_cache(request: Request, tenant: Member) -> DetailCache:
    cache: ResponseCache = request.app.state.response_cache
    conditional = "if-match" in request.headers or "if-none-match" in request.headers
    key = None if conditional or not cache.enabled else _key(request, tenant)
    return DetailCache(cache, key)


def _key(request: Request, tenant: TenantContext) -> tuple[object, ...] | None:
    if tenant.data_version is None:
        return None
    return (tenant.org_id, tenant.profile_id, tenant.data_version, str(request.url))


CachedList = Annotated[ListCache, Depends(_list_cache)]
CachedDetail = Annotated[DetailCache, Depends(_detail_cache)]
