"""Rate limits: fixed-window counters, the rules they are checked against, and the
middleware that limits every /api/ request per credential (or per client IP).

Counters live in memory by default and in Redis when ``CRM_REDIS_URL`` is set, so every
worker shares the counts. Windows expire by themselves: nobody is locked out for longer than
one window.

A request collects a ``Verdict`` for every limit it was counted against (the whole-API limit
here, the attempt limits of the auth endpoints and the per-key lead capture in their
services, through a ``RateLimiter`` bound to the request); the middleware answers with the
``RateLimit-*`` headers of the limit that binds: the one that refused, else the one with the
fewest requests left.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.core.config import Settings
from crm.core.errors import NotAuthenticated, TooManyRequests, send_error
from crm.core.security import SECRET_KEY_PREFIX, TokenType, decode_token


@dataclass(frozen=True, slots=True)
class WindowState:
    count: int
    retry_after: int  # seconds until the window resets


class Counter(Protocol):
    async def peek(self, key: str) -> WindowState: ...
    async def hit(self, key: str, window_seconds: int) -> WindowState: ...
    async def reset(self, key: str) -> None: ...
    async def close(self) -> None: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._windows[key]
            return None
        return entry

    async def peek(self, key: str) -> WindowState:
        entry = self._live(key)
        if entry is None:
            return WindowState(0, 0)
        return WindowState(entry[0], math.ceil(entry[1] - time.monotonic()))

    async def hit(self, key: str, window_seconds: int) -> WindowState:
        async with self._lock:
            entry = self._live(key)
            if entry is None:
                entry = (0, time.monotonic() + window_seconds)
            entry = (entry[0] + 1, entry[1])
            self._windows[key] = entry
            if len(self._windows) > 100_000:
                for stale in [
                    k for k, (_, end) in self._windows.items() if end <= time.monotonic()
                ]:
                    del self._windows[stale]
            return WindowState(entry[0], math.ceil(entry[1] - time.monotonic()))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()


class RedisCounter:
    def __init__(self, url: str, prefix: str = "crm:rl:") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix

    async def peek(self, key: str) -> WindowState:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._prefix + key)
            pipe.ttl(self._prefix + key)
            raw, ttl = await pipe.execute()
        return WindowState(int(raw or 0), max(int(ttl), 0))

    async def hit(self, key: str, window_seconds: int) -> WindowState:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        return WindowState(int(count), max(int(ttl), 1))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_counter(redis_url: str) -> Counter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()


# -- rules and verdicts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``limit`` requests per ``window`` seconds; a limit of 0 is off."""

    limit: int
    window: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @property
    def policy(self) -> str:
        return f"{self.limit};w={self.window}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Where one request left one limit."""

    rule: Rule
    remaining: int
    reset: int  # seconds until the window ends
    refused: bool


def binding(verdicts: Sequence[Verdict]) -> Verdict | None:
    """The limit a client must be told about: the one that refused the request, else the
    one with the fewest requests left (the later reset on a tie)."""
    if not verdicts:
        return None
    refused = [v for v in verdicts if v.refused]
    if refused:
        return max(refused, key=lambda v: v.reset)
    return min(verdicts, key=lambda v: (v.remaining, -v.reset))


def header_items(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """``RateLimit-Limit``, ``-Remaining``, ``-Reset`` (seconds) and ``-Policy``
    (``<limit>;w=<window>``), as in the IETF RateLimit header fields draft."""
    return [
        (b"ratelimit-limit", str(verdict.rule.limit).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset).encode()),
        (b"ratelimit-policy", verdict.rule.policy.encode()),
    ]


# -- one request's limiter ------------------------------------------------------------------

VERDICTS_SCOPE_KEY = "crm.rate_limit_verdicts"
logger = logging.getLogger("crm.ratelimit")
T = TypeVar("T")


async def _or_none(operation: Awaitable[T]) -> T | None:
    """The counter's answer, or None when the counter's store is unreachable: limits fail
    open (logged), so a Redis outage slows nobody down to a 500 on every request."""
    try:
        return await operation
    except (RedisError, OSError) as exc:
        logger.warning("rate-limit counter unavailable; not limiting: %s", exc)
        return None


def client_ip(scope: Scope) -> str:
    """The address of the client: the connection's peer, or, behind a trusted proxy
    (``CRM_TRUSTED_PROXIES``), the address its X-Forwarded-For names (set by the app's
    proxy-headers middleware before anything else runs)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimiter:
    """Counts one request against rules, refuses it (429) over a limit, and keeps every
    verdict for the response's headers."""

    def __init__(
        self,
        counter: Counter,
        *,
        client_ip: str = "unknown",
        verdicts: list[Verdict] | None = None,
        enforce: bool = True,
    ) -> None:
        self.counter = counter
        self.client_ip = client_ip
        self.verdicts: list[Verdict] = [] if verdicts is None else verdicts
        self.enforce = enforce

    @classmethod
    def for_request(cls, scope: Scope, counter: Counter) -> RateLimiter:
        """The limiter of an HTTP request: its verdicts reach the middleware's headers."""
        verdicts = scope.get(VERDICTS_SCOPE_KEY)
        return cls(counter, client_ip=client_ip(scope), verdicts=verdicts)

    @classmethod
    def unlimited(cls) -> RateLimiter:
        """For the operator's own commands (the CLI): nothing is counted or refused."""
        return cls(MemoryCounter(), client_ip="cli", enforce=False)

    async def count(self, key: str, rule: Rule) -> Verdict | None:
        """One more request against ``key``; the verdict (None when the rule is off)."""
        if not (self.enforce and rule.enabled):
            return None
        state = await _or_none(self.counter.hit(key, rule.window))
        if state is None:
            return None
        verdict = Verdict(
            rule,
            remaining=max(rule.limit - state.count, 0),
            reset=max(state.retry_after, 1),
            refused=state.count > rule.limit,
        )
        self.verdicts.append(verdict)
        return verdict

    async def hit(self, key: str, rule: Rule, message: str | None = None) -> None:
        """Count the request against ``key``; 429 when that goes over the limit."""
        verdict = await self.count(key, rule)
        if verdict is not None and verdict.refused:
            raise TooManyRequests(verdict.reset, message)

    async def hit_ip(self, scope_name: str, rule: Rule, message: str | None = None) -> None:
        await self.hit(f"{scope_name}:ip:{self.client_ip}", rule, message)

    async def refuse_if_spent(self, key: str, rule: Rule, message: str | None = None) -> None:
        """429 when ``key`` has already used up ``rule`` in this window, without counting
        (for quotas of failures, which are counted only when a failure happens)."""
        if not (self.enforce and rule.enabled):
            return
        state = await _or_none(self.counter.peek(key))
        if state is not None and state.count >= rule.limit:
            verdict = Verdict(rule, remaining=0, reset=max(state.retry_after, 1), refused=True)
            self.verdicts.append(verdict)
            raise TooManyRequests(verdict.reset, message)

    async def note(self, key: str, rule: Rule) -> None:
        """Count one event (a failure) against a quota checked by ``refuse_if_spent``."""
        if self.enforce and rule.enabled:
            await _or_none(self.counter.hit(key, rule.window))

    async def forget(self, key: str) -> None:
        await _or_none(self.counter.reset(key))


# -- the whole-API limit --------------------------------------------------------------------


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def credential_key(scope: Scope, settings: Settings) -> str | None:
    """Whom a request's credentials name, as the API-limit key, or None when it has none
    that can be trusted without the database. Bearer credentials win over ``Token``, as in
    authentication. An access token is checked (signature and expiry, one HMAC) and counts
    against its login session, so a refreshed token shares its bucket; an unverifiable one
    counts like no credentials, else every forged token would get a fresh bucket. Secret
    and org keys count against a hash of the key."""
    authorization = token = ""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1").strip()
        elif name == b"token":
            token = value.decode("latin-1").strip()
    scheme, _, param = authorization.partition(" ")
    param = param.strip()
    if scheme.lower() == "bearer" and param:
        if param.startswith(SECRET_KEY_PREFIX):
            return f"key:{_digest(param)}"
        try:
            claims = decode_token(
                param, secret=settings.resolved_secret_key(), expected=TokenType.ACCESS
            )
        except NotAuthenticated:
            return None
        return f"session:{claims.session_id}"
    if token:
        return f"key:{_digest(token)}"
    return None


def api_bucket(scope: Scope, settings: Settings) -> tuple[str, Rule] | None:
    """The key and rule an /api/ request counts against, or None when that limit is off."""
    window = settings.rate_limit_api_window_seconds
    per_credential = Rule(settings.rate_limit_api_per_credential, window)
    per_ip = Rule(settings.rate_limit_api_per_ip, window)
    if not (per_credential.enabled or per_ip.enabled):
        return None
    credential = credential_key(scope, settings)
    if credential is not None:
        return (f"api:{credential}", per_credential) if per_credential.enabled else None
    return (f"api:ip:{client_ip(scope)}", per_ip) if per_ip.enabled else None


class RateLimitMiddleware:
    """Counts every /api/ request against its credential, or its client IP without one
    (``CRM_RATE_LIMIT_API_*``), and answers 429 over the limit before the app runs: a pure
    ASGI middleware, so a refused request costs one counter update and no database work.
    Adds the ``RateLimit-*`` headers of the binding limit to every limited response,
    including those the auth and lead-capture limits decide inside the app.

    Reads the settings and the counter from ``app.state`` at each request, so a re-pointed
    state (the tests' fresh counter per test) takes effect at once."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verdicts: list[Verdict] = []
        scope = {**scope, VERDICTS_SCOPE_KEY: verdicts}

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                verdict = binding(verdicts)
                if verdict is not None:
                    headers: list[Any] = list(message.get("headers", []))
                    message = {**message, "headers": headers + header_items(verdict)}
            await send(message)

        path: str = scope["path"]
        if path.startswith("/api/"):
            bucket = api_bucket(scope, self.state.settings)
            if bucket is not None:
                limiter = RateLimiter(self.state.counter, verdicts=verdicts)
                verdict = await limiter.count(*bucket)
                if verdict is not None and verdict.refused:
                    await send_error(send_with_limits, path, TooManyRequests(verdict.reset))
                    return
        await self.app(scope, receive, send_with_limits)
