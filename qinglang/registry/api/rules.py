"""Rules in force (registry.services: rules, staff_admission, disclosure): timetable slots,
hours violations, practice bans and the disclosure board, with its public face."""

from datetime import date, time

from django.http import HttpRequest
from ninja import Schema, Status

from .. import selectors, services
from .institutions import RegistryReasonIn
from .routers import public_router, router


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
