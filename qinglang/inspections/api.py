"""Inspections API: an inspector's tasks, the rectification ledger and its transitions."""

from datetime import date

from ninja import Router, Schema

from . import selectors, services

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


class LedgerOut(Schema):
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


class ReasonIn(Schema):
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


@router.get("/ledger", response=list[LedgerOut])
def ledger(request, status: str = "", overdue: bool = False, limit: int = 100):
    qs = selectors.ledger_list(actor=request.user, status=status, overdue_only=overdue)
    return [_item(i) for i in qs[: max(1, min(limit, 500))]]


@router.post("/ledger/{item_id}/verify", response=LedgerOut)
def ledger_verify(request, item_id: int, body: NoteIn):
    services.ledger_verify(actor=request.user, item_id=item_id, note=body.note)
    return _item(selectors.ledger_get(actor=request.user, item_id=item_id))


@router.post("/ledger/{item_id}/return", response=LedgerOut)
def ledger_return(request, item_id: int, body: ReasonIn):
    services.ledger_return(actor=request.user, item_id=item_id, reason=body.reason)
    return _item(selectors.ledger_get(actor=request.user, item_id=item_id))


@router.post("/ledger/{item_id}/close-out", response=LedgerOut)
def ledger_close_out(request, item_id: int, body: NoteIn):
    services.ledger_close_out(actor=request.user, item_id=item_id, note=body.note)
    return _item(selectors.ledger_get(actor=request.user, item_id=item_id))
