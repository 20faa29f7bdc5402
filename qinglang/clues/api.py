"""The clues API (/api/clues): clue list and detail (scoped; reporter identity masked),
regulator leads, hotline imports, handling actions, whistles; Open311 GeoReport v2 under
/api/clues/open311/v2 (open311.py)."""

from datetime import date, datetime
from typing import Literal

from django.http import Http404
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from qinglang.core.api_support import Limit, Offset
from qinglang.core.errors import NotFound

from . import selectors, services
from .models import Channel, ClueCategory
from .open311 import router as open311_router

router = Router(tags=["clues"])


class ClueOut(Schema):
    id: int
    reference: str
    division_code: str
    institution_id: int | None
    institution_name: str
    operator_name: str
    suspected_unlicensed: bool
    category: str
    category_source: str
    category_confidence: float | None
    needs_triage: bool
    triage_rule: str  # the policy key that sent it to the manual queue, "" when none did
    source_refs: list[str]  # hotline work-order numbers, Open311 request ids of its reports
    summary: str
    first_channel: str
    status: str
    routed_kinds: list[str]
    report_count: int
    received_at: datetime
    acknowledge_due: date | None
    resolve_due: date | None
    escalation_level: int
    finding: str
    feedback: str


class ReporterOut(Schema):
    channel: str
    received_at: datetime
    reporter: str  # masked
    phone: str  # masked


class ClueDetailOut(ClueOut):
    reports: list[ReporterOut]


def _out(c, refs: dict | None = None) -> dict:
    if refs is None:
        refs = selectors.source_refs([c.pk])
    return {
        **{f: getattr(c, f) for f in ClueOut.model_fields if hasattr(c, f) and f != "routed_kinds"},
        "institution_name": c.institution.name if c.institution_id else "",
        "routed_kinds": c.routed_kind_list,
        "source_refs": refs.get(c.pk, []),
    }


@router.get("/clues", response=list[ClueOut], summary="Clues routed to me (scoped)")
def clue_list(
    request,
    status: str = "",
    category: str = "",
    q: str = "",
    triage: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
):
    qs = selectors.clue_list(actor=request.user, status=status, category=category, q=q, triage=triage)
    page = list(qs[offset : offset + min(max(limit, 1), 200)])
    refs = selectors.source_refs(c.pk for c in page)
    return [_out(c, refs) for c in page]


@router.get("/clues/{int:clue_id}", response=ClueDetailOut, summary="A clue, reporters masked")
def clue_detail(request, clue_id: int):
    try:
        c = selectors.clue_get(actor=request.user, clue_id=clue_id)
    except NotFound:
        raise Http404
    reps = [
        {
            "channel": m.report.channel,
            "received_at": m.report.received_at,
            "reporter": m.name,
            "phone": m.phone,
        }
        for m in selectors.masked_reports(c)
    ]
    return {**_out(c), "reports": reps}


class ProgressStepOut(Schema):
    stage: str
    at: datetime


class MyReportOut(Schema):
    """A reporter's own report: what they wrote, the case's progress and its result."""

    tracking_code: str
    reference: str
    channel: str
    received_at: datetime
    content: str
    stage: str
    steps: list[ProgressStepOut]
    feedback: str
    closed: bool
    satisfaction: int | None
    can_reopen: bool


@router.get("/my-reports", response=list[MyReportOut], summary="My own reports and their progress")
def my_reports(request, limit: Limit = 50, offset: Offset = 0):
    out = []
    for r in selectors.my_reports(actor=request.user)[offset : offset + limit]:
        v = selectors.report_progress(r)
        out.append(
            {
                "tracking_code": r.tracking_code,
                "reference": v.reference,
                "channel": r.channel,
                "received_at": r.received_at,
                "content": r.content,
                "stage": v.stage,
                "steps": [{"stage": s, "at": at} for s, at in v.steps],
                "feedback": v.feedback,
                "closed": v.closed,
                "satisfaction": v.satisfaction,
                "can_reopen": v.can_reopen,
            }
        )
    return out


class LeadIn(Schema):
    channel: Literal["covert_visit", "online_patrol"]
    division_code: str
    content: str
    institution_name: str = ""
    uscc: str = ""
    address: str = ""
    url: str = ""


@router.post("/leads", response={201: ClueOut}, summary="Enter a covert-visit or online-patrol lead")
def lead_create(request, payload: LeadIn):
    r = services.clue_lead_create(
        actor=request.user,
        submission=services.Submission(
            channel=payload.channel,
            content=payload.content,
            division_code=payload.division_code,
            institution_name=payload.institution_name,
            uscc=payload.uscc,
            address=payload.address,
            url=payload.url,
        ),
    )
    return 201, _out(r.clue)


class ImportOut(Schema):
    id: int
    rows: int
    created: int
    merged: int
    skipped: int
    errors: list


@router.post("/imports", response={201: ImportOut}, summary="Import hotline work orders (.xlsx)")
def hotline_import(request, division_code: Form[str], file: File[UploadedFile]):
    b = services.clue_import_hotline(
        actor=request.user, division_code=division_code, filename=file.name, data=file.read()
    )
    return 201, b


class ActionIn(Schema):
    action: Literal[
        "accept", "investigate", "conclude", "feedback", "transfer", "return", "route", "reclassify"
    ]
    reason: str = ""
    finding: str = ""
    substantiated: bool = False
    feedback: str = ""
    department_kind: str = ""
    category: str = ""
    open_inspection: bool = False


def run_action(user, clue_id: int, p: ActionIn):
    a = p.action
    if a == "accept":
        return services.clue_accept(actor=user, clue_id=clue_id)
    if a == "investigate":
        return services.clue_investigate(
            actor=user, clue_id=clue_id, note=p.reason, open_inspection=p.open_inspection
        )
    if a == "conclude":
        return services.clue_conclude(
            actor=user, clue_id=clue_id, finding=p.finding, substantiated=p.substantiated
        )
    if a == "feedback":
        return services.clue_feedback(actor=user, clue_id=clue_id, feedback=p.feedback)
    if a == "transfer":
        return services.clue_transfer(
            actor=user, clue_id=clue_id, department_kind=p.department_kind, reason=p.reason
        )
    if a == "return":
        return services.clue_return(actor=user, clue_id=clue_id, reason=p.reason)
    if a == "route":
        return services.clue_route(
            actor=user, clue_id=clue_id, department_kinds_=[p.department_kind], reason=p.reason
        )
    return services.clue_reclassify(actor=user, clue_id=clue_id, category=p.category)


@router.post("/clues/{int:clue_id}/actions", response=ClueOut, summary="Handle a clue (one transition)")
def clue_action(request, clue_id: int, payload: ActionIn):
    return _out(run_action(request.user, clue_id, payload))


class DuplicateOut(Schema):
    """A suggested duplicate: another open case of the same subject, how alike."""

    clue: ClueOut
    similarity: float
    topic: float
    suggested: bool


@router.get(
    "/clues/{int:clue_id}/duplicates",
    response=list[DuplicateOut],
    summary="Suggested duplicates of a clue (same subject, within the window) with their similarity",
)
def clue_duplicates(request, clue_id: int):
    out = services.duplicate_suggestions(actor=request.user, clue_id=clue_id)
    refs = selectors.source_refs(d["clue"].pk for d in out)
    return [{**d, "clue": _out(d["clue"], refs)} for d in out]


class MergeIn(Schema):
    into_id: int
    reason: str


@router.post("/clues/{int:clue_id}/merge", response=ClueOut, summary="Merge this clue into another (并案)")
def clue_merge(request, clue_id: int, payload: MergeIn):
    return _out(
        services.clue_merge(
            actor=request.user, clue_id=clue_id, into_id=payload.into_id, reason=payload.reason
        )
    )


class SplitIn(Schema):
    report_ids: list[int]
    reason: str


@router.post(
    "/clues/{int:clue_id}/split", response={201: ClueOut}, summary="Split reports off into a new case (拆分)"
)
def clue_split(request, clue_id: int, payload: SplitIn):
    new = services.clue_split(
        actor=request.user, clue_id=clue_id, report_ids=payload.report_ids, reason=payload.reason
    )
    return 201, _out(new)


class RetriageIn(Schema):
    division_code: str


class RetriageOut(Schema):
    id: int
    division_code: str
    status: str
    clues: int
    proposals: list[dict]
    applied: list[dict]
    error: str
    created_at: datetime
    finished_at: datetime | None
    applied_at: datetime | None


@router.post(
    "/retriage",
    response={201: RetriageOut},
    summary="Re-run classification and duplicate suggestions over the area's open clues (proposals only)",
)
def retriage_start(request, payload: RetriageIn):
    return 201, services.retriage_start(actor=request.user, division_code=payload.division_code)


@router.get("/retriage/{int:run_id}", response=RetriageOut, summary="A re-triage run and its proposals")
def retriage_get(request, run_id: int):
    return selectors.retriage_get(actor=request.user, run_id=run_id)


class RetriageApplyIn(Schema):
    accept: list[int]
    reason: str


@router.post(
    "/retriage/{int:run_id}/apply", response=RetriageOut, summary="Apply chosen proposals of a re-triage run"
)
def retriage_apply(request, run_id: int, payload: RetriageApplyIn):
    return services.retriage_apply(
        actor=request.user, run_id=run_id, accept=payload.accept, reason=payload.reason
    )


class WhistleIn(Schema):
    division_code: str
    title: str
    problem: str
    department_kinds: list[str]
    institution_id: int | None = None


class WhistleDeptOut(Schema):
    department_kind: str
    reported_at: datetime | None
    action: str


class WhistleOut(Schema):
    id: int
    division_code: str
    title: str
    status: str
    raised_at: datetime
    due_at: datetime
    departments: list[WhistleDeptOut]


def _wout(w) -> dict:
    return {
        "id": w.pk,
        "division_code": w.division_code,
        "title": w.title,
        "status": w.status,
        "raised_at": w.raised_at,
        "due_at": w.due_at,
        "departments": list(w.departments.all()),
    }


@router.get("/whistles", response=list[WhistleOut], summary="Whistles in my area")
def whistle_list(request):
    return [_wout(i["whistle"]) for i in selectors.whistle_board(actor=request.user)]


@router.post("/whistles", response={201: WhistleOut}, summary="Raise a whistle (township)")
def whistle_raise(request, payload: WhistleIn):
    w = services.whistle_raise(actor=request.user, **payload.dict())
    return 201, _wout(w)


class WhistleReportIn(Schema):
    department_kind: str
    action: str


@router.post("/whistles/{int:whistle_id}/report", response=WhistleOut, summary="A named department reports")
def whistle_report(request, whistle_id: int, payload: WhistleReportIn):
    wd = services.whistle_report(
        actor=request.user,
        whistle_id=whistle_id,
        department_kind=payload.department_kind,
        action=payload.action,
    )
    return _wout(wd.whistle)


CATEGORY_VALUES = ClueCategory.values
CHANNEL_VALUES = Channel.values
router.add_router("/open311/v2", open311_router)
