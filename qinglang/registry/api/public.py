"""The public whitelist search and blacklist (no login)."""

from datetime import date

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Schema

from qinglang.core.api_support import fast_page_response

from .. import public_cache, selectors
from .routers import public_router


class PublicInstitutionOut(Schema):
    id: int
    name: str
    category: str
    kind: str
    division_code: str
    address: str
    mode: str
    licence_status: str


class PublicPage(Schema):
    items: list[PublicInstitutionOut]
    next_cursor: str | None


class PublicFilters(Schema):
    q: str = Field("", max_length=100)
    division: str = Field("", max_length=12)
    category: str = Field("", max_length=32)
    kind: str = Field("", max_length=32)
    cursor: str | None = None
    limit: int = 20


@public_router.get("/whitelist", response=PublicPage, summary="Search the public whitelist (no login)")
def public_whitelist(request: HttpRequest, f: Query[PublicFilters]):
    params = (f.q.strip(), f.division, f.category, f.kind, f.cursor or "", f.limit)
    body, version = public_cache.lookup(params)
    if body is None:
        page = selectors.public_whitelist_page(
            filters=selectors.InstitutionFilter(q=f.q, division=f.division, category=f.category, kind=f.kind),
            fields=tuple(PublicInstitutionOut.model_fields),
            cursor=f.cursor,
            limit=f.limit,
        )
        body = fast_page_response(page, PublicInstitutionOut).content
        public_cache.store(params, version, body)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


class BlacklistOut(Schema):
    institution_id: int
    name: str
    division_code: str
    reason: str
    decided_on: date


@public_router.get("/blacklist", response=list[BlacklistOut], summary="The public blacklist")
def public_blacklist(request: HttpRequest):
    return [
        {
            "institution_id": e.institution_id,
            "name": e.institution.name,
            "division_code": e.institution.division_code,
            "reason": e.reason,
            "decided_on": e.decided_on,
        }
        for e in selectors.public_blacklist()[:1000]
    ]
