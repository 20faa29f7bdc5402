"""Registry API: institutions and their sub-resources; public whitelist and blacklist."""

from datetime import date

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from qinglang.core.api_support import fast_page_response
from qinglang.core.crypto import decrypt

from . import public_cache, selectors, services
from .models import Staff

router = Router(tags=["registry"])
public_router = Router(tags=["public"], auth=None)


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


class SiteIn(Schema):
    name: str
    address: str
    division_code: str
    area_sqm: int | None = None
    is_primary: bool = False


class SiteOut(SiteIn):
    id: int
    institution_id: int
    active: bool


class StaffIn(Schema):
    name: str
    resident_id: str | None = None
    role: str = "teacher"
    teaches_subject: bool = False
    subjects: str = ""
    teacher_qualification_no: str = ""
    background_check_on: date | None = None
    hired_on: date | None = None
    left_on: date | None = None


class StaffOut(Schema):
    id: int
    institution_id: int
    name: str
    resident_id: str
    role: str
    teaches_subject: bool
    subjects: str
    teacher_qualification_no: str
    lacks_qualification: bool
    background_check_on: date | None
    hired_on: date | None
    left_on: date | None


class CourseIn(Schema):
    name: str
    kind: str
    stage: str
    lessons: int
    lesson_minutes: int = 45
    unit_price_fen: int
    class_size: int | None = None
    description: str = ""


class CourseOut(CourseIn):
    id: int
    institution_id: int
    approval_status: str


class ReviewIn(Schema):
    approve: bool
    reason: str = ""


class MaterialIn(Schema):
    title: str
    subject: str = ""
    stage: str = ""
    publisher: str = ""


class MaterialOut(MaterialIn):
    id: int
    institution_id: int
    status: str
    reject_reason: str


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


@router.get("/institutions/{int:institution_id}/sites", response=list[SiteOut])
def site_list(request: HttpRequest, institution_id: int):
    return list(selectors.site_list(actor=request.user, institution_id=institution_id))


@router.post("/institutions/{int:institution_id}/sites", response={201: SiteOut})
def site_create(request: HttpRequest, institution_id: int, payload: SiteIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return Status(
        201, services.site_create(actor=request.user, institution_id=institution_id, data=payload.dict())
    )


def _staff_out(request, s: Staff) -> dict:
    full = selectors.staff_may_see_resident_id(actor=request.user)
    return {
        **{f: getattr(s, f) for f in StaffOut.model_fields if hasattr(s, f) and f != "resident_id"},
        "resident_id": decrypt(s.resident_id_encrypted) if full else s.resident_id_masked,
    }


@router.get("/institutions/{int:institution_id}/staff", response=list[StaffOut])
def staff_list(request: HttpRequest, institution_id: int):
    return [
        _staff_out(request, s)
        for s in selectors.staff_list(actor=request.user, institution_id=institution_id)
    ]


@router.post("/institutions/{int:institution_id}/staff", response={201: StaffOut})
def staff_create(request: HttpRequest, institution_id: int, payload: StaffIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    staff = services.staff_create(actor=request.user, institution_id=institution_id, data=payload.dict())
    return Status(201, _staff_out(request, staff))


@router.get("/institutions/{int:institution_id}/courses", response=list[CourseOut])
def course_list(request: HttpRequest, institution_id: int):
    return list(selectors.course_list(actor=request.user, institution_id=institution_id))


@router.post("/institutions/{int:institution_id}/courses", response={201: CourseOut})
def course_create(request: HttpRequest, institution_id: int, payload: CourseIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return Status(
        201, services.course_create(actor=request.user, institution_id=institution_id, data=payload.dict())
    )


@router.post("/courses/{int:course_id}/review", response=CourseOut)
def course_review(request: HttpRequest, course_id: int, payload: ReviewIn):
    return services.course_review(actor=request.user, course_id=course_id, approve=payload.approve)


@router.get("/institutions/{int:institution_id}/materials", response=list[MaterialOut])
def material_list(request: HttpRequest, institution_id: int):
    return list(selectors.material_list(actor=request.user, institution_id=institution_id))


@router.post("/institutions/{int:institution_id}/materials", response={201: MaterialOut})
def material_submit(request: HttpRequest, institution_id: int, payload: MaterialIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    material = services.material_submit(
        actor=request.user, institution_id=institution_id, data=payload.dict()
    )
    return Status(201, material)


@router.post("/materials/{int:material_id}/review", response=MaterialOut)
def material_review(request: HttpRequest, material_id: int, payload: ReviewIn):
    return services.material_review(
        actor=request.user, material_id=material_id, approve=payload.approve, reason=payload.reason
    )


# --- public -----------------------------------------------------------------------


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


# --- Excel import and export (机构台账) ----------------------------------------------------

from django.utils import timezone  # noqa: E402
from django.utils.http import content_disposition_header  # noqa: E402
from ninja import File, UploadedFile  # noqa: E402

from qinglang.core.api_support import Error  # noqa: E402
from qinglang.core.errors import DomainError  # noqa: E402

from . import xlsx  # noqa: E402


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=xlsx.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "no-store"
    return response


class ImportRowError(Schema):
    row: int
    column: str
    message: str


class RegistryImportOut(Schema):
    created: int
    errors: list[ImportRowError]


@router.get(
    "/institutions/export.xlsx",
    summary="Export the filtered institution list (same filters as the list) as .xlsx",
)
def institution_export_xlsx(request: HttpRequest, filters: Query[InstitutionFilters]):
    body = services.institution_export_xlsx(actor=request.user, filters=_filters(filters))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _xlsx_response(body, f"培训机构-{stamp}.xlsx")


@router.get(
    "/institutions/import-template.xlsx",
    summary="The .xlsx template for importing institutions",
)
def institution_import_template(request: HttpRequest):
    townships = services.import_township_choices(actor=request.user)
    return _xlsx_response(xlsx.institution_template_xlsx(townships=townships), "培训机构导入模板.xlsx")


@router.post(
    "/institutions/import",
    response={200: RegistryImportOut, 403: Error, 422: Error},
    summary="Import institutions from .xlsx (all rows or none)",
)
def institution_import(request: HttpRequest, file: File[UploadedFile]):
    result = services.institution_import_xlsx(actor=request.user, file_obj=file)
    if not result.ok:
        raise DomainError("import_failed", result.message, {"errors": result.errors_as_dicts()}, status=422)
    return {"created": result.created, "errors": []}


class CompetentDepartmentIn(Schema):
    department_id: int
    reason: str


@router.post(
    "/institutions/{int:institution_id}/competent-department",
    response=InstitutionOut,
    summary="The approver overrides the derived competent department (谁审批、谁监管)",
)
def institution_set_competent_department(
    request: HttpRequest, institution_id: int, payload: CompetentDepartmentIn
):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    return services.institution_set_competent_department(
        actor=request.user,
        institution_id=institution_id,
        department_id=payload.department_id,
        reason=payload.reason,
    )


# --- rules in force: timetable, practice bans, disclosure (registry.services.rules) ----

from datetime import time  # noqa: E402


class SlotIn(Schema):
    weekday: int
    starts_at: str
    ends_at: str
    term_start: str
    term_end: str
    teacher_id: int | None = None


class SlotOut(Schema):
    id: int
    course_id: int
    course_name: str
    weekday: int
    starts_at: time
    ends_at: time
    term_start: date
    term_end: date
    teacher_id: int | None


@router.get("/courses/{int:course_id}/slots", response=list[SlotOut])
def slot_list(request: HttpRequest, course_id: int):
    return [_slot_out(s) for s in selectors.slot_list(actor=request.user, course_id=course_id)]


def _slot_out(s) -> dict:
    return {
        **{f: getattr(s, f) for f in SlotOut.model_fields if f != "course_name"},
        "course_name": s.course.name,
    }


@router.post("/courses/{int:course_id}/slots", response={201: SlotOut})
def slot_create(request: HttpRequest, course_id: int, payload: SlotIn):
    selectors.course_get(actor=request.user, course_id=course_id)
    return Status(
        201, _slot_out(services.slot_create(actor=request.user, course_id=course_id, data=payload.dict()))
    )


class ViolationOut(Schema):
    id: int
    institution_id: int
    course_id: int
    course_name: str
    starts_at: str
    ends_at: str
    rule: str
    rule_value: object = None
    set_by: str
    basis: str
    message: str
    refused: bool
    source: str


@router.get("/institutions/{int:institution_id}/hours-violations", response=list[ViolationOut])
def hours_violations(request: HttpRequest, institution_id: int):
    return [
        {
            **{f: getattr(v, f) for f in ViolationOut.model_fields if f != "course_name"},
            "course_name": v.course.name,
            "starts_at": v.starts_at.isoformat(),
            "ends_at": v.ends_at.isoformat(),
        }
        for v in selectors.hours_violations(actor=request.user, institution_id=institution_id)[:500]
    ]


class BanIn(Schema):
    resident_id: str
    name: str = ""
    authority: str
    decision_no: str
    basis: str
    division_code: str
    starts_on: date
    ends_on: date | None = None


class BanOut(Schema):
    id: int
    name_masked: str
    resident_id_masked: str
    authority: str
    decision_no: str
    basis: str
    division_code: str
    starts_on: date
    ends_on: date | None
    lifted_on: date | None
    source: str


@router.get("/practice-bans", response=list[BanOut])
def practice_ban_list(request: HttpRequest):
    return list(selectors.practice_bans(actor=request.user)[:500])


@router.post("/practice-bans", response={201: BanOut})
def practice_ban_enter(request: HttpRequest, payload: BanIn):
    return Status(201, services.practice_ban_enter(actor=request.user, **payload.dict()))


@router.post("/practice-bans/{int:ban_id}/lift", response=BanOut)
def practice_ban_lift(request: HttpRequest, ban_id: int, payload: RegistryReasonIn):
    selectors.practice_ban_get(actor=request.user, ban_id=ban_id)
    return services.practice_ban_lift(actor=request.user, ban_id=ban_id, reason=payload.reason)


class BoardItem(Schema):
    item: str
    label: str
    lines: list[str]
    present: bool


class DisclosureIn(Schema):
    items: dict[str, str]


@router.get("/institutions/{int:institution_id}/disclosure", response=list[BoardItem])
def disclosure_get(request: HttpRequest, institution_id: int):
    return services.disclosure_board(
        selectors.institution_get(actor=request.user, institution_id=institution_id)
    )


@router.put("/institutions/{int:institution_id}/disclosure", response=list[BoardItem])
def disclosure_publish(request: HttpRequest, institution_id: int, payload: DisclosureIn):
    selectors.institution_get(actor=request.user, institution_id=institution_id)
    services.disclosure_publish(actor=request.user, institution_id=institution_id, items=payload.items)
    return services.disclosure_board(
        selectors.institution_get(actor=request.user, institution_id=institution_id)
    )


@public_router.get("/institutions/{int:institution_id}/disclosure", response=list[BoardItem])
def public_disclosure_board(request: HttpRequest, institution_id: int):
    return services.disclosure_board(selectors.public_institution_get(institution_id=institution_id))


# --- approvals (registry.services.applications) -------------------------------------------

import json  # noqa: E402

from ninja import Form  # noqa: E402
from ninja.errors import ValidationError as NinjaValidationError  # noqa: E402


class ApplicationOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    institution_id: int | None
    division_code: str
    department_id: int
    category: str
    training_kind: str
    proposed: dict
    checklist: dict
    correction_note: str
    decision_reason: str
    submitted_on: date
    due_on: date
    decided_on: date | None
    permit_number: str
    documents: list[dict]


def _app_out(app) -> dict:
    return {
        **{f: getattr(app, f) for f in ApplicationOut.model_fields if f != "documents"},
        "documents": [
            {
                "doc_type": d.doc_type,
                "name": d.original_name,
                "content_type": d.content_type,
                "sha256": d.sha256,
            }
            for d in app.documents.all()
        ],
    }


def _json_field(raw: str) -> dict:
    try:
        v = json.loads(raw or "{}")
    except ValueError:
        raise NinjaValidationError([{"loc": ["form", "data"], "msg": "data 须为 JSON 对象"}]) from None
    if not isinstance(v, dict):
        raise NinjaValidationError([{"loc": ["form", "data"], "msg": "data 须为 JSON 对象"}])
    return v


@router.get("/applications", response=list[ApplicationOut])
def application_list(request: HttpRequest, status: str = ""):
    qs = selectors.application_list(actor=request.user).prefetch_related("documents")
    if status:
        qs = qs.filter(status=status)
    return [_app_out(a) for a in qs[:200]]


@router.get("/applications/overview")
def approvals_overview(request: HttpRequest):
    return selectors.approvals_overview(actor=request.user)


@router.get("/applications/{int:application_id}", response=ApplicationOut)
def application_get(request: HttpRequest, application_id: int):
    return _app_out(selectors.application_get(actor=request.user, application_id=application_id))


@router.post(
    "/applications",
    response={201: ApplicationOut},
    summary="Submit an application (multipart: kind, data as JSON, one file per document type)",
)
def application_submit(request: HttpRequest, kind: Form[str], data: Form[str] = "{}"):
    app = services.application_submit(
        actor=request.user, kind=kind, data=_json_field(data), files=dict(request.FILES.items())
    )
    return Status(201, _app_out(app))


class RegistryNoteIn(Schema):
    note: str


class ApplicationDecideIn(Schema):
    approve: bool
    reason: str
    checklist: dict[str, bool] = {}


@router.post("/applications/{int:application_id}/correction", response=ApplicationOut)
def application_correction(request: HttpRequest, application_id: int, payload: RegistryNoteIn):
    selectors.application_get(actor=request.user, application_id=application_id)
    app = services.application_request_correction(
        actor=request.user, application_id=application_id, note=payload.note
    )
    return _app_out(app)


@router.post("/applications/{int:application_id}/resubmit", response=ApplicationOut)
def application_resubmit(request: HttpRequest, application_id: int, data: Form[str] = "{}"):
    selectors.application_get(actor=request.user, application_id=application_id)
    app = services.application_resubmit(
        actor=request.user,
        application_id=application_id,
        data=_json_field(data),
        files=dict(request.FILES.items()),
    )
    return _app_out(app)


@router.post("/applications/{int:application_id}/decide", response=ApplicationOut)
def application_decide(request: HttpRequest, application_id: int, payload: ApplicationDecideIn):
    selectors.application_get(actor=request.user, application_id=application_id)
    app = services.application_decide(
        actor=request.user,
        application_id=application_id,
        approve=payload.approve,
        reason=payload.reason,
        checklist=payload.checklist,
    )
    return _app_out(app)
