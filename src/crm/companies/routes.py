"""/api/leads/companies/ and /api/leads/company/<id>/ (§7): lead companies.

Every member reads and creates; an admin or the creator changes and deletes. These literal
paths sit under /api/leads/: ``ROUTERS`` must list this router before the leads router, or
``/api/leads/{lead_id}/`` would take ``/api/leads/companies/``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm.companies.permissions import Companies
from crm.companies.repository import CompanyFilters
from crm.companies.schemas import CompanyCreate, CompanyListOut, CompanyOut, CompanyUpdate
from crm.core.pagination import Page, Pagination

router = APIRouter(prefix="/api/leads", tags=["companies"])


@router.get("/companies/", response_model=CompanyListOut)
async def list_companies(
    companies: Companies,
    request: Request,
    page: Pagination,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name")] = None,
    industry: Annotated[
        str | None, Query(max_length=255, description="Part of the industry")
    ] = None,
) -> CompanyListOut:
    """The org's companies, newest first, paginated with limit/offset."""
    rows, total = await companies.page(CompanyFilters(name=name, industry=industry), page)
    envelope = Page[CompanyOut].build(request, page, total, [CompanyOut.of(c) for c in rows])
    return CompanyListOut(
        count=envelope.count,
        next=envelope.next,
        previous=envelope.previous,
        companies=envelope.results,
    )


@router.post("/companies/", status_code=status.HTTP_201_CREATED, response_model=CompanyOut)
async def create_company(body: CompanyCreate, companies: Companies) -> CompanyOut:
    return CompanyOut.of(await companies.create(body))


@router.get("/company/{company_id}/", response_model=CompanyOut)
async def company_detail(company_id: uuid.UUID, companies: Companies) -> CompanyOut:
    return CompanyOut.of(await companies.get(company_id))


@router.put("/company/{company_id}/", response_model=CompanyOut)
@router.patch("/company/{company_id}/", response_model=CompanyOut)
async def update_company(
    company_id: uuid.UUID, body: CompanyUpdate, companies: Companies
) -> CompanyOut:
    """Partial update (PUT and PATCH); admin or creator."""
    return CompanyOut.of(await companies.update(company_id, body))


@router.delete(
    "/company/{company_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_company(company_id: uuid.UUID, companies: Companies) -> Response:
    """Delete (admin or creator); leads pointing at it keep no company."""
    await companies.delete(company_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
