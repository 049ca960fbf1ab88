"""Fixed-window counters for throttling (login failures now; whole-API limits later).

In memory by default; in Redis when ``CRM_REDIS_URL`` is set, so every worker shares the
counts. Windows expire by themselves: nobody is locked out for longer than one window.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


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
