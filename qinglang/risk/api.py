"""Risk API: alerts and their handling, an institution's level with its signals and
evidence (regulators only: an institution never sees its own), manual signals, guardians
and check-ins, runaway, the task force's board."""

from datetime import date

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from qinglang.core.errors import PermissionDeniedError

from . import selectors, services

router = Router(tags=["risk"])


class AlertOut(Schema):
    id: int
    institution_id: int
    institution_name: str
    level: str
    status: str
    opened_on: date
    due_on: date
    escalated: bool
    department_kind: str
    explanation: dict
    result: str


def _alert(a) -> dict:
    return {
        **{k: getattr(a, k) for k in AlertOut.model_fields if k != "institution_name"},
        "institution_name": a.institution.name,
    }


class AlertActionIn(Schema):
    kind: str
    note: str
    due_on: date | None = None


class ActionOut(Schema):
    id: int
    kind: str
    note: str
    ref: str


class AlertCloseIn(Schema):
    result: str


class SignalOut(Schema):
    kind: str
    day: date
    value: float
    threshold: float
    weight: int
    set_in: str
    evidence: dict


class ScoreOut(Schema):
    day: date
    score: int
    level: str
    previous_level: str
    explanation: dict


class RiskOut(Schema):
    institution_id: int
    institution_name: str
    level: str
    score: int
    since: date | None
    signals: list[SignalOut]
    history: list[ScoreOut]


class ReportIn(Schema):
    kind: str
    reporter_unit: str
    observed_on: date
    evidence: str = ""


class ReportOut(Schema):
    id: int
    kind: str
    source: str
    observed_on: date


class GuardianIn(Schema):
    unit: str
    user_id: int


class GuardianOut(Schema):
    id: int
    institution_id: int
    unit: str
    user_id: int
    next_due: date
    active: bool


class CheckInIn(Schema):
    visited_on: date
    seen: str


class CheckInOut(Schema):
    id: int
    visited_on: date
    next_due: date


class RunawayIn(Schema):
    reason: str


class RunawayOut(Schema):
    id: int
    institution_id: int
    custody_fen: int
    claims_fen: int
    orders: int
    payouts_stopped: list[str]
    staff_referred: int


class RiskBoardRow(Schema):
    rank: int
    institution_id: int
    institution_name: str
    township: str
    level: str
    score: int
    held_fen: int
    pupils: int
    staff: int
    guardian: str
    last_checkin: date | None
    open_actions: int


@router.get("/alerts", response=list[AlertOut])
def alerts(request, status: str = "open", level: str = "", limit: int = 100):
    return [
        _alert(a)
        for a in selectors.alerts_for(request.user, status=status, level=level)[: max(1, min(limit, 500))]
    ]


@router.get("/alerts/{alert_id}", response=AlertOut)
def alert(request, alert_id: int):
    return _alert(selectors.alert_get(request.user, alert_id))


@router.post("/alerts/{alert_id}/actions", response={201: ActionOut})
def alert_act(request, alert_id: int, body: AlertActionIn):
    a = services.alert_act(
        actor=request.user, alert_id=alert_id, kind=body.kind, note=body.note, due_on=body.due_on
    )
    return 201, a


@router.post("/alerts/{alert_id}/close", response=AlertOut)
def alert_close(request, alert_id: int, body: AlertCloseIn):
    services.alert_close(actor=request.user, alert_id=alert_id, result=body.result)
    return _alert(selectors.alert_get(request.user, alert_id))


@router.get("/institutions/{institution_id}", response=RiskOut)
def institution_risk(request, institution_id: int):
    d = selectors.institution_risk(request.user, institution_id)
    st = d["state"]
    return {
        "institution_id": institution_id,
        "institution_name": d["institution"].name,
        "level": st.level if st else "blue",
        "score": st.score if st else 0,
        "since": st.since if st else None,
        "signals": d["signals"],
        "history": d["history"],
    }


@router.post("/institutions/{institution_id}/reports", response={201: ReportOut})
def report(request, institution_id: int, body: ReportIn):
    r = services.report_create(
        actor=request.user,
        institution_id=institution_id,
        kind=body.kind,
        reporter_unit=body.reporter_unit,
        observed_on=body.observed_on,
        evidence=body.evidence,
    )
    return 201, r


@router.post("/institutions/{institution_id}/guardian", response={201: GuardianOut})
def guardian(request, institution_id: int, body: GuardianIn):
    g = services.guardian_assign(
        actor=request.user, institution_id=institution_id, unit=body.unit, user_id=body.user_id
    )
    return 201, g


@router.post("/guardians/{guardian_id}/checkins", response={201: CheckInOut})
def checkin(request, guardian_id: int, body: CheckInIn):
    c = services.checkin_record(
        actor=request.user, guardian_id=guardian_id, visited_on=body.visited_on, seen=body.seen
    )
    return 201, {"id": c.pk, "visited_on": c.visited_on, "next_due": c.guardian.next_due}


@router.post("/institutions/{institution_id}/runaway", response={201: RunawayOut})
def runaway(request, institution_id: int, body: RunawayIn):
    rp = services.runaway_mark(actor=request.user, institution_id=institution_id, reason=body.reason)
    return 201, {
        "id": rp.pk,
        "institution_id": rp.institution_id,
        "custody_fen": rp.custody_fen,
        "claims_fen": rp.claims_fen,
        "orders": len(rp.lines),
        "payouts_stopped": rp.payouts_stopped,
        "staff_referred": rp.staff_referred,
    }


@router.get("/board", response=list[RiskBoardRow])
def board(request):
    if not selectors.may_see_board(request.user):
        raise PermissionDeniedError(_("风险看板仅向维稳专班开放"))
    return [
        {
            **{k: r[k] for k in RiskBoardRow.model_fields if k in r},
            "institution_id": r["institution"].pk,
            "institution_name": r["institution"].name,
        }
        for r in selectors.board(request.user)["rows"]
    ]
