"""Background jobs: the taskiq broker and the dispatcher the application enqueues through.

Jobs carry ids only; the work they stand for is a row with a status in the database, so a
lost message costs a delay, never the work: sweeps find due rows again (STYLE example 4).
The broker runs jobs in-process by default and through Redis when ``CRM_REDIS_URL`` is set
(then ``crm worker`` runs them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from taskiq import AsyncBroker, InMemoryBroker

from crm.core.config import get_settings
from crm.core.db import DISPATCHER_KEY, after_commit

logger = logging.getLogger("crm.jobs")


def build_broker(redis_url: str, queue: str = "crm:jobs") -> AsyncBroker:
    if redis_url:
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(redis_url, queue_name=queue)
    return InMemoryBroker()


broker: AsyncBroker = build_broker(get_settings().redis_url, get_settings().job_queue)


@dataclass
class JobRuntime:
    """What jobs need at run time; set by the process that runs them (web app or worker)."""

    services: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError as exc:
            raise RuntimeError(
                f"job runtime has no {name!r}; was the app or worker started?"
            ) from exc


runtime = JobRuntime()


class Dispatcher(Protocol):
    """How the application hands a job over; tests swap in one that records."""

    async def enqueue(self, job: str, *args: str) -> None: ...


JobFunction = Callable[..., Awaitable[Any]]
_registry: dict[str, Any] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Declare a job: a taskiq task registered under a stable name."""

    def register(function: JobFunction) -> JobFunction:
        _registry[name] = broker.task(task_name=name)(function)
        return function

    return register


class BrokerDispatcher:
    async def enqueue(self, job: str, *args: str) -> None:
        task = _registry.get(job)
        if task is None:
            raise KeyError(f"unknown job {job!r}")
        await task.kiq(*args)


@dataclass
class RecordingDispatcher:
    """Keeps what was enqueued instead of running it (tests drive jobs explicitly)."""

    enqueued: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def enqueue(self, job: str, *args: str) -> None:
        self.enqueued.append((job, args))


def enqueue_after_commit(session: AsyncSession | Session, job: str, *args: str) -> None:
    """Hand ``job`` over once this session's transaction has committed."""
    dispatcher: Dispatcher = session.info.get(DISPATCHER_KEY) or BrokerDispatcher()

    async def _enqueue() -> None:
        await dispatcher.enqueue(job, *args)

    after_commit(session, _enqueue)
