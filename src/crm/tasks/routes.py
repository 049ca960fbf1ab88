"""/api/tasks/ (§11): list (envelope A, cached until the org's data changes), create,
detail, update, delete. Comments and attachments on tasks are served by the activity
module (POST /api/tasks/<id>/, /api/tasks/comment/<id>/, /api/tasks/attachment/<id>/)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from crm.activity.permissions import Activity
from crm.core.filters import choice_filter, id_list, text_list
from crm.core.pagination import CursorPagination, Page
from crm.records.caching import CachedList
from crm.records.schemas import AccountLookup, ContactBrief, RecordLookups, link_objects
from crm.tasks.permissions import Tasks
from crm.tasks.repository import TaskFilters
from crm.tasks.schemas import (
    PRIORITIES,
    STATUSES,
    TaskCreate,
    TaskDetailOut,
    TaskItem,
    TaskListOut,
    TaskUpdate,
)

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("/", response_model=TaskListOut)
async def list_tasks(
    cache: CachedList,
    tasks: Tasks,
    request: Request,
    page: CursorPagination,
    title: Annotated[str | None, Query(max_length=255, description="Part of the title")] = None,
    status_: Annotated[
        str | None, Query(alias="status", max_length=32, description=", ".join(STATUSES))
    ] = None,
    priority: Annotated[str | None, Query(max_length=16, description=", ".join(PRIORITIES))] = None,
    due_date: Annotated[date | None, Query(description="YYYY-MM-DD, exact")] = None,
    account: Annotated[list[str] | None, Query(description="Account id(s); any matches")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
) -> Response:
    """The tasks the caller may see, newest first, with lookups for pickers (at most 100
    each) and the status and priority vocabularies."""
    if (hit := cache.hit()) is not None:
        return hit
    filters = TaskFilters(
        title=title,
        status=choice_filter(status_, STATUSES, "status"),
        priority=choice_filter(priority, PRIORITIES, "priority"),
        due_date=due_date,
        account_ids=id_list(account, "account"),
        assigned_to=id_list(assigned_to, "assigned_to"),
        tags=text_list(tags),
    )
    total, rows, more = await tasks.listed(filters, page)
    envelope = Page[TaskItem].build(request, page, total, [TaskItem.of(*row) for row in rows], more)
    return cache.keep(
        TaskListOut(
            **dict(envelope),
            **RecordLookups.fields(await tasks.lookups()),
            status=list(STATUSES),
            priority=list(PRIORITIES),
        )
    )


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=TaskItem)
async def create_task(body: TaskCreate, tasks: Tasks) -> TaskItem:
    """Create a task; ``status`` defaults to New and ``priority`` to Normal; tags are created
    on first use."""
    return TaskItem.of(await tasks.create(body))


@router.get("/{task_id}/", response_model=TaskDetailOut)
async def task_detail(task_id: uuid.UUID, tasks: Tasks) -> TaskDetailOut:
    task = await tasks.get_visible(task_id)
    links = link_objects(task)
    comments, attachments = await tasks.activity_of(task)
    account = task.account
    return TaskDetailOut(
        task_obj=TaskItem.of(task),
        account_obj=AccountLookup(id=account.id, name=account.name) if account else None,
        contacts=[ContactBrief.of(c) for c in task.contacts],
        assigned_to=links["assigned_to"],
        teams=links["teams"],
        tags=links["tags"],
        comments=comments,
        attachments=attachments,
        users_mention=await tasks.users_mention(task),
        comment_permission=tasks.may_comment(task),
        status=list(STATUSES),
        priority=list(PRIORITIES),
    )


@router.put("/{task_id}/", response_model=TaskItem)
@router.patch("/{task_id}/", response_model=TaskItem)
async def update_task(task_id: uuid.UUID, body: TaskUpdate, tasks: Tasks) -> TaskItem:
    """Partial update (PUT and PATCH): admin, creator or assignee; a list field replaces the
    relation only when sent."""
    return TaskItem.of(await tasks.update(task_id, body))


@router.delete("/{task_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_task(
    task_id: uuid.UUID, tasks: Tasks, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its comments and attachments go with it (the files once
    the deletion has committed)."""
    files = await tasks.delete(task_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
