"""``Idempotency-Key`` on every POST (issue 6): a retried create gets the first answer.

For a POST carrying the header, the key is claimed for (scope, key) before the request
runs: scope is the org the caller acts in (``organization-id``/``org`` with an access
token), or the API key itself (``Token`` org key, ``Bearer sk_...`` secret key), or the
user when an access token names no org. Then:

- the key is new: the request runs; its answer is kept 24 h (unless it is a 5xx, or the
  request failed, when the claim is dropped so that a retry runs it);
- the same caller sent the same request (method, path, query, content type and body) with
  this key: the kept answer is returned again, marked ``Idempotent-Replayed: true``; a
  duplicate that arrives while the first is still running waits for its answer;
- anything else with this key (another body, another path, another caller of the org):
  ``422 idempotency_key_reused``, and nothing runs.

Requests without credentials the server can verify pass through untouched: the route
refuses them anyway, and keys are never shared between callers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.core.errors import DomainError, ValidationFailed, send_error
from crm.core.security import SECRET_KEY_PREFIX, TokenType, decode_token, hash_secret_key
from crm.core.uploads import body_too_large
from crm.idempotency.service import Answer, IdempotencyStore, Request

logger = logging.getLogger("crm.idempotency")

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
WAIT_FOR_FIRST_SECONDS = 10.0
POLL_SECONDS = 0.05


class KeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request; use a new key"


class KeyInFlight(DomainError):
    status_code = 409
    code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still running; retry shortly"


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope["headers"]}


def _caller(headers: dict[bytes, bytes], secret: str) -> tuple[str, str] | None:
    """(scope, principal) from credentials checked without the database, or None."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential.startswith(SECRET_KEY_PREFIX):
        who = "sk:" + hash_secret_key(credential)
        return who, who
    token = headers.get(b"token", b"").decode("latin-1").strip()
    if token and not credential:
        who = "token:" + hash_secret_key(token)
        return who, who
    if scheme.lower() != "bearer" or not credential:
        return None
    try:
        claims = decode_token(credential, secret=secret, expected=TokenType.ACCESS)
    except Exception:  # any unverifiable token: the route answers 401
        return None
    principal = f"user:{claims.user_id}"
    org = (headers.get(b"organization-id") or headers.get(b"org") or b"").decode("latin-1")
    try:
        return (f"org:{uuid.UUID(org.strip())}" if org.strip() else principal), principal
    except ValueError:
        return None  # the route refuses the malformed header


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            error = ValidationFailed.on(
                "Idempotency-Key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                code="invalid_idempotency_key",
            )
            await send_error(send, path, error)
            return
        state = scope["app"].state
        caller = _caller(headers, state.settings.resolved_secret_key())
        if caller is None:
            await self.app(scope, receive, send)
            return

        limit = state.settings.max_upload_bytes + 1024 * 1024
        buffered = await _buffered(receive, limit)
        if buffered is None:
            await send_error(send, path, body_too_large(limit))
            return
        body, replay_receive = buffered
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    path.rstrip("/").encode(),
                    scope.get("query_string", b""),
                    headers.get(b"content-type", b""),
                    body,
                ]
            )
        ).hexdigest()
        request = Request(scope=caller[0], key=key, principal=caller[1], fingerprint=fingerprint)
        store = IdempotencyStore(state.database)

        found = await store.claim(request)
        if found is not None:
            await self._answer_again(store, request, found.same_request, send, path)
            return
        await self._run_first(store, request, scope, replay_receive, send)

    async def _answer_again(
        self, store: IdempotencyStore, request: Request, same: bool, send: Send, path: str
    ) -> None:
        if not same:
            await send_error(send, path, KeyReused())
            return
        waited = 0.0
        while True:
            found = await store.find(request)
            if found is None:
                # The first request failed and let go of the key; this one may not run in
                # its place unseen (its body was read): the client retries.
                await send_error(send, path, KeyInFlight(headers={"Retry-After": "1"}))
                return
            if not found.same_request:
                await send_error(send, path, KeyReused())
                return
            if found.answer is not None:
                await _send_answer(send, found.answer, replayed=True)
                return
            if waited >= WAIT_FOR_FIRST_SECONDS:
                await send_error(send, path, KeyInFlight(headers={"Retry-After": "1"}))
                return
            await asyncio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS

    async def _run_first(
        self,
        store: IdempotencyStore,
        request: Request,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await _quietly(store.release(request))
            raise
        assert start is not None
        body = b"".join(chunks)
        status = int(start["status"])
        if status >= 500:
            await _quietly(store.release(request))
        else:
            content_type = None
            for name, value in start.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode("latin-1")
            # Kept before the client sees it: once it has the answer, a retry gets it too.
            await store.complete(request, Answer(status, content_type, body))
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _quietly(step: Any) -> None:
    try:
        await step
    except Exception:
        logger.exception("idempotency record could not be released")


async def _buffered(receive: Receive, limit: int) -> tuple[bytes, Receive] | None:
    """The whole request body, and a receive that hands it over again (None: too large)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _send_answer(send: Send, answer: Answer, *, replayed: bool) -> None:
    headers = [(b"content-length", str(len(answer.body)).encode())]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
