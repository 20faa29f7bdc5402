"""Institutions: the list, one institution, its status and county, its white/black list
entries and its licences."""

from datetime import date

from django.http import HttpRequest
from ninja import Field, Query, Schema, Status

from qinglang.core.api_support import fast_page_response

from .. import selectors, services
from .routers import router


class InstitutionSummary(Schema):
    """A list row: what a list screen shows and filters by. Contacts, legal representative
    and the other particulars are on the institution itself (GET /institutions/{id})."""

    id: int
    name: str
    uscc: str | None
    category: str
    kind: str
    division_code: str
    address: str
    competent_department_id: int | None
    licence_status: str
    status: str
    whitelisted: bool
    blacklisted: bool


class InstitutionOut(InstitutionSummary):
    registered_name: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    stages: str
    mode: str
    nature: str
    nonprofit_conversion: str
    party_organisation: bool
    party_charter_clause: bool


class InstitutionPage(Schema):
    items: list[InstitutionSummary]
    next_cursor: str | None


class InstitutionFilters(Schema):
    division: str = Field("", max_length=12)
    category: str = Field("", max_length=32)
    kind: str = Field("", max_length=32)
    status: str = ""
    licence_status: str = ""
    whitelisted: bool | None = None
    blacklisted: bool | None = None
    q: str = Field("", max_length=100)
    cursor: str | None = None
    limit: int = 50


class InstitutionIn(Schema):
    name: str
    registered_name: str = ""
    uscc: str | None = None
    legal_representative: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    category: str
    kind: str = ""
    stages: list[str] = []
    mode: str = "offline"
    nature: str = "for_profit"
    nonprofit_conversion: str = "not_applicable"
    division_code: str
    address: str = ""
    party_organisation: bool = False
    party_charter_clause: bool = False
    founded_on: date | None = None


class InstitutionPatch(Schema):
    name: str | None = None
    registered_name: str | None = None
    uscc: str | None = None
    legal_representative: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    category: str | None = None
    kind: str | None = None
    stages: list[str] | None = None
    mode: str | None = None
    nature: str | None = None
    nonprofit_conversion: str | None = None
    division_code: str | None = None
    address: str | None = None
    party_organisation: bool | None = None
    party_charter_clause: bool | None = None
    founded_on: date | None = None


class RegistryReasonIn(Schema):
    reason: str


class TransitionIn(Schema):
    to_status: str
    reason: str


class InstitutionMoveIn(Schema):
    division_code: str
    reason: str


class LicenceIn(Schema):
    number: str
    issuer: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    business_scope: str | None = Field(
        None,
        description="经营范围 / 业务范围 as printed (business licence, 民办非企业单位登记证书); omitted: kept",
    )


class LicenceOut(Schema):
    id: int
    kind: str
    number: str
    issuer: str
    valid_from: date | None
    valid_until: date | None
    revoked: bool
    business_scope: str


def _filters(f: InstitutionFilters) -> selectors.InstitutionFilter:
    return selectors.InstitutionFilter(
        division=f.division,
        category=f.category,
        kind=f.kind,
        status=f.status,
        licence_status=f.licence_status,
        whitelisted=f.whitelisted,
        blacklisted=f.blacklisted,
        q=f.q,
    )


@router.get(
    "/institutions",
    response=InstitutionPage,
    summary="Institutions in the caller's scope (cursor pages)",
)
def institution_list(request: HttpRequest, filters: Query[InstitutionFilters]):
    page = selectors.institution_page(
        actor=request.user,
        filters=_filters(filters),
        fields=tuple(InstitutionSummary.model_fields),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return fast_page_response(page, InstitutionSummary)


@router.post("/institutions", response={201: InstitutionOut})
def institution_create(request: HttpRequest, payload: InstitutionIn):
    return Status(201, services.institution_create(actor=request.user, data=payload.dict()))


@router.get("/institutions/{int:institution_id}", response=InstitutionOut)
def institution_get(request: HttpRequest, institution_id: int):
    return selectors.institution_get(actor=request.user, institution_id=institution_id)


@router.patch("/institutions/{int:institution_id}", response=InstitutionOut)
def institution_update(request: HttpRequest, institution_id: int, payload: InstitutionPatch):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.institution_update(
        actor=request.user, institution_id=institution_id, data=payload.dict(exclude_unset=True)
    )


@router.post(
    "/institutions/{int:institution_id}/transitions",
    response=InstitutionOut,
    summary="Change operating status",
)
def institution_transition(request: HttpRequest, institution_id: int, payload: TransitionIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.institution_transition(
        actor=request.user,
        institution_id=institution_id,
        to_status=payload.to_status,
        reason=payload.reason,
    )


@router.post(
    "/institutions/{int:institution_id}/move",
    response=InstitutionOut,
    summary="Move to another county with its orders, accounts, sites, clues… (platform admin)",
)
def institution_move(request: HttpRequest, institution_id: int, payload: InstitutionMoveIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.institution_move(
        actor=request.user,
        institution_id=institution_id,
        division_code=payload.division_code,
        reason=payload.reason,
    )


@router.post("/institutions/{int:institution_id}/whitelist", response=InstitutionOut)
def whitelist_add(request: HttpRequest, institution_id: int, payload: RegistryReasonIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    services.whitelist_add(actor=request.user, institution_id=institution_id, reason=payload.reason)
    return selectors.institution_get(actor=request.user, institution_id=institution_id)


@router.delete("/institutions/{int:institution_id}/whitelist", response=InstitutionOut)
def whitelist_remove(request: HttpRequest, institution_id: int, payload: RegistryReasonIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.whitelist_remove(actor=request.user, institution_id=institution_id, reason=payload.reason)


@router.post("/institutions/{int:institution_id}/blacklist", response=InstitutionOut)
def blacklist_add(request: HttpRequest, institution_id: int, payload: RegistryReasonIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    services.blacklist_add(actor=request.user, institution_id=institution_id, reason=payload.reason)
    return selectors.institution_get(actor=request.user, institution_id=institution_id)


@router.delete("/institutions/{int:institution_id}/blacklist", response=InstitutionOut)
def blacklist_remove(request: HttpRequest, institution_id: int, payload: RegistryReasonIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.blacklist_remove(actor=request.user, institution_id=institution_id, reason=payload.reason)


@router.get("/institutions/{int:institution_id}/licences", response=list[LicenceOut])
def licence_list(request: HttpRequest, institution_id: int):
    return list(selectors.licence_list(actor=request.user, institution_id=institution_id))


@router.put("/institutions/{int:institution_id}/licences/{kind}", response=LicenceOut)
def licence_set(request: HttpRequest, institution_id: int, kind: str, payload: LicenceIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.licence_set(
        actor=request.user, institution_id=institution_id, kind=kind, **payload.dict()
    )
