"""Approval applications (registry.services.applications): list, overview, one application,
submit, correction, resubmit and decision."""

import json
from datetime import date

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Form, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError

from .. import selectors, services
from .routers import router


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
        raise NinjaValidationError([{"loc": ["form", "data"], "msg": _("data 须为 JSON 对象")}]) from None
    if not isinstance(v, dict):
        raise NinjaValidationError([{"loc": ["form", "data"], "msg": _("data 须为 JSON 对象")}])
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
