"""Inspections API: an inspector's tasks, the rectification register and its transitions,
checklist templates (regulators copy a default for their division and edit its items) and
conflicts of interest (回避)."""

from datetime import date, datetime

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status

from . import selectors, services
from .models import Notice

router = Router(tags=["inspections"])


class TaskOut(Schema):
    id: int
    institution_id: int
    institution_name: str
    site_id: int | None
    division_code: str
    scheduled_on: date
    due_on: date
    status: str
    origin: str
    campaign_id: int | None
    team_id: int | None


def _task(t) -> dict:
    return {
        **{f: getattr(t, f) for f in TaskOut.model_fields if f != "institution_name"},
        "institution_name": t.institution.name,
    }


class RectificationOut(Schema):
    id: int
    institution_id: int
    institution_name: str
    notice_number: str
    title: str
    department_kind: str
    deadline_on: date
    status: str
    escalation: int
    overdue: bool


def _item(i) -> dict:
    return {
        "id": i.pk,
        "institution_id": i.institution_id,
        "institution_name": i.institution.name,
        "notice_number": i.notice.number,
        "title": i.title,
        "department_kind": i.department_kind,
        "deadline_on": i.deadline_on,
        "status": i.status,
        "escalation": i.escalation,
        "overdue": bool(getattr(i, "overdue", 0)),
    }


class NoteIn(Schema):
    note: str = ""


class InspectionReasonIn(Schema):
    reason: str


@router.get("/tasks", response=list[TaskOut])
def tasks(request, status: str = "planned", limit: int = 100):
    qs = selectors.task_list(actor=request.user)
    if status:
        qs = qs.filter(status=status)
    return [_task(t) for t in qs[: max(1, min(limit, 500))]]


@router.get("/tasks/{task_id}", response=TaskOut)
def task(request, task_id: int):
    return _task(selectors.task_get(actor=request.user, task_id=task_id))


class ResultIn(Schema):
    item_id: int
    outcome: str
    description: str = ""
    requirement: str = ""


class RecordIn(Schema):
    inspected_on: date
    results: list[ResultIn]
    summary: str = ""
    deadline_days: int | None = None
    defer_notice: bool = False


class RecordOut(Schema):
    id: int
    task_id: int
    inspected_on: date
    findings: int
    notice_pending: bool
    notice_id: int | None
    notice_number: str | None
    deadline_on: date | None


@router.post(
    "/tasks/{task_id}/record",
    response={201: RecordOut},
    summary="Record an inspection (every active checklist item; evidence photos go through the page form)",
)
def task_record(request, task_id: int, body: RecordIn):
    """With ``defer_notice`` (a client syncing many records), the rectification notice is
    issued shortly after by the batch job instead of in this request."""
    task = selectors.task_get(actor=request.user, task_id=task_id)
    rec = services.inspection_record_submit(
        actor=request.user,
        task_id=task.pk,
        inspected_on=body.inspected_on,
        results=[r.dict() for r in body.results],
        summary=body.summary,
        deadline_days=body.deadline_days,
        defer_notice=body.defer_notice,
    )
    notice = Notice.objects.filter(task_id=task.pk).first()
    return Status(
        201,
        {
            "id": rec.pk,
            "task_id": task.pk,
            "inspected_on": rec.inspected_on,
            "findings": rec.results.exclude(outcome="compliant").count(),
            "notice_pending": rec.notice_pending,
            "notice_id": notice.pk if notice else None,
            "notice_number": notice.number if notice else None,
            "deadline_on": notice.deadline_on if notice else None,
        },
    )


class NoticeOut(Schema):
    id: int
    number: str
    institution_id: int
    institution_name: str
    issued_on: date
    deadline_days: int
    deadline_on: date
    departments: list[str]
    sha256: str
    items: int


def _notice(n) -> dict:
    return {
        "id": n.pk,
        "number": n.number,
        "institution_id": n.institution_id,
        "institution_name": n.institution.name,
        "issued_on": n.issued_on,
        "deadline_days": n.deadline_days,
        "deadline_on": n.deadline_on,
        "departments": n.departments,
        "sha256": n.sha256,
        "items": n.items.count(),
    }


@router.get(
    "/notices",
    response=list[NoticeOut],
    summary="Rectification notices: an institution's own, or those in a regulator's area (download: /inspections/notices/{id}/download/)",
)
def notices(request, limit: int = 100):
    return [_notice(n) for n in selectors.notice_list(actor=request.user)[: max(1, min(limit, 500))]]


@router.get("/notices/{notice_id}", response=NoticeOut)
def notice(request, notice_id: int):
    return _notice(selectors.notice_get(actor=request.user, notice_id=notice_id))


@router.get("/rectifications", response=list[RectificationOut])
def rectifications(request, status: str = "", overdue: bool = False, limit: int = 100):
    qs = selectors.rectification_list(actor=request.user, status=status, overdue_only=overdue)
    return [_item(i) for i in qs[: max(1, min(limit, 500))]]


@router.post("/rectifications/{item_id}/verify", response=RectificationOut)
def rectification_verify(request, item_id: int, body: NoteIn):
    # the reinspector may be a joint-team member of another department: answer with
    # the item as written (the service checked who may), not a departmental re-read
    return _item(services.rectification_verify(actor=request.user, item_id=item_id, note=body.note))


@router.post("/rectifications/{item_id}/return", response=RectificationOut)
def rectification_return(request, item_id: int, body: InspectionReasonIn):
    return _item(services.rectification_return(actor=request.user, item_id=item_id, reason=body.reason))


@router.post("/rectifications/{item_id}/close-out", response=RectificationOut)
def rectification_close_out(request, item_id: int, body: NoteIn):
    services.rectification_close_out(actor=request.user, item_id=item_id, note=body.note)
    return _item(selectors.rectification_get(actor=request.user, item_id=item_id))


# --- checklist templates ---------------------------------------------------------------------


class ChecklistItemOut(Schema):
    id: int
    code: str
    domain: str
    domain_label: str
    title: str
    basis: str
    severity: str
    department_kind: str
    position: int
    retired: bool


class TemplateOut(Schema):
    id: int
    name: str
    campaign_type: str
    division_code: str
    national: bool
    editable: bool
    active_items: int


class TemplateDetailOut(TemplateOut):
    items: list[ChecklistItemOut]


class TemplateCopyIn(Schema):
    division_code: str
    name: str


class ChecklistItemIn(Schema):
    code: str
    domain: str
    title: str
    basis: str
    severity: str = "minor"
    department_kind: str


class ChecklistItemPatch(Schema):
    domain: str | None = None
    title: str | None = None
    basis: str | None = None
    severity: str | None = None
    department_kind: str | None = None


def _checklist_item(i) -> dict:
    return {
        "id": i.pk,
        "code": i.code,
        "domain": i.domain,
        "domain_label": i.get_domain_display(),
        "title": i.title,
        "basis": i.basis,
        "severity": i.severity,
        "department_kind": i.department_kind,
        "position": i.position,
        "retired": i.retired_at is not None,
    }


def _template(request, t, *, items: bool = False) -> dict:
    from qinglang.accounts.permissions import REGULATOR_WRITERS, has_role

    out = {
        "id": t.pk,
        "name": t.name,
        "campaign_type": t.campaign_type,
        "division_code": t.division_code,
        "national": t.division_code == "",
        "editable": bool(t.division_code) and has_role(request.user, REGULATOR_WRITERS),
        "active_items": t.active_items().count(),
    }
    if items:
        out["items"] = [_checklist_item(i) for i in t.items.all()]
    return out


def _template_detail(request, template_id: int) -> dict:
    return _template(request, selectors.template_get(actor=request.user, template_id=template_id), items=True)


@router.get(
    "/checklists",
    response=list[TemplateOut],
    summary="Checklist templates: national defaults and the area's own",
)
def checklists(request, campaign_type: str = ""):
    qs = selectors.template_list(actor=request.user)
    if campaign_type:
        qs = qs.filter(campaign_type=campaign_type)
    return [_template(request, t) for t in qs[:200]]


@router.get("/checklists/{template_id}", response=TemplateDetailOut, summary="A template with its items")
def checklist(request, template_id: int):
    return _template_detail(request, template_id)


@router.post(
    "/checklists/{template_id}/copy",
    response={201: TemplateDetailOut},
    summary="Copy a template (a national default) for a division to edit",
)
def checklist_copy(request, template_id: int, body: TemplateCopyIn):
    src = selectors.template_get(actor=request.user, template_id=template_id)
    t = services.checklist_template_copy(
        actor=request.user, template_id=src.pk, division_code=body.division_code.strip(), name=body.name
    )
    return Status(201, _template_detail(request, t.pk))


@router.post(
    "/checklists/{template_id}/items",
    response={201: ChecklistItemOut},
    summary="Add an item to a local template",
)
def checklist_item_add(request, template_id: int, body: ChecklistItemIn):
    t = selectors.template_get(actor=request.user, template_id=template_id)
    item = services.checklist_item_add(actor=request.user, template_id=t.pk, data=body.dict())
    return Status(201, _checklist_item(item))


def _template_item(request, template_id: int, item_id: int):
    from qinglang.core.errors import NotFound

    t = selectors.template_get(actor=request.user, template_id=template_id)
    item = t.items.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("检查事项"))
    return t, item


@router.patch(
    "/checklists/{template_id}/items/{checklist_item_id}",
    response=ChecklistItemOut,
    summary="Edit an item: domain, text, legal basis, severity, responsible department",
)
def checklist_item_update(request, template_id: int, checklist_item_id: int, body: ChecklistItemPatch):
    t, item = _template_item(request, template_id, checklist_item_id)
    current = {k: getattr(item, k) for k in services.CHECKLIST_FIELDS}
    data = {**current, **body.dict(exclude_none=True)}
    return _checklist_item(
        services.checklist_item_update(actor=request.user, template_id=t.pk, item_id=item.pk, data=data)
    )


@router.post(
    "/checklists/{template_id}/items/{checklist_item_id}/retire",
    response=ChecklistItemOut,
    summary="Retire an item: no longer asked in new inspections",
)
def checklist_item_retire(request, template_id: int, checklist_item_id: int):
    return _set_retired(request, template_id, checklist_item_id, retired=True)


@router.post(
    "/checklists/{template_id}/items/{checklist_item_id}/reinstate",
    response=ChecklistItemOut,
    summary="Bring a retired item back",
)
def checklist_item_reinstate(request, template_id: int, checklist_item_id: int):
    return _set_retired(request, template_id, checklist_item_id, retired=False)


def _set_retired(request, template_id: int, item_id: int, *, retired: bool) -> dict:
    t, item = _template_item(request, template_id, item_id)
    return _checklist_item(
        services.checklist_item_retire(actor=request.user, template_id=t.pk, item_id=item.pk, retired=retired)
    )


# --- conflicts of interest (回避) ----------------------------------------------------------------


class ConflictOut(Schema):
    id: int
    inspector_id: int
    inspector_name: str
    institution_id: int
    institution_name: str
    reason: str
    declared_on: date
    withdrawn_at: datetime | None
    withdraw_reason: str


class ConflictIn(Schema):
    institution_id: int
    reason: str
    inspector_id: int | None = None


def _conflict(c) -> dict:
    return {
        "id": c.pk,
        "inspector_id": c.inspector_id,
        "inspector_name": c.inspector.display_name or c.inspector.username,
        "institution_id": c.institution_id,
        "institution_name": c.institution.name,
        "reason": c.reason,
        "declared_on": c.declared_on,
        "withdrawn_at": c.withdrawn_at,
        "withdraw_reason": c.withdraw_reason,
    }


@router.get(
    "/conflicts",
    response=list[ConflictOut],
    summary="Conflicts of interest: an inspector's own; every one in the area for leaders and officers",
)
def conflicts(request, institution_id: int | None = None, include_withdrawn: bool = False, limit: int = 100):
    qs = selectors.conflict_list(
        actor=request.user, include_withdrawn=include_withdrawn, institution_id=institution_id
    )
    return [_conflict(c) for c in qs[: max(1, min(limit, 500))]]


@router.post(
    "/conflicts",
    response={201: ConflictOut},
    summary="Declare a conflict of interest (an officer may record one for an inspector)",
)
def conflict_declare(request, body: ConflictIn):
    c = services.conflict_declare(
        actor=request.user,
        institution_id=body.institution_id,
        reason=body.reason,
        inspector_id=body.inspector_id,
    )
    return Status(201, _conflict(selectors.conflict_get(actor=request.user, conflict_id=c.pk)))


@router.post(
    "/conflicts/{conflict_id}/withdraw",
    response=ConflictOut,
    summary="Withdraw a declared conflict (leaders and officers of the area)",
)
def conflict_withdraw(request, conflict_id: int, body: InspectionReasonIn):
    c = selectors.conflict_get(actor=request.user, conflict_id=conflict_id)
    services.conflict_withdraw(actor=request.user, conflict_id=c.pk, reason=body.reason)
    return _conflict(selectors.conflict_get(actor=request.user, conflict_id=c.pk))
