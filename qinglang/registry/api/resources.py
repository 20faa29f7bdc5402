"""An institution's sites, staff, courses and training materials."""

from datetime import date

from django.http import HttpRequest
from ninja import Schema, Status

from qinglang.core.crypto import decrypt

from .. import selectors, services
from ..models import Staff
from .routers import router


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
