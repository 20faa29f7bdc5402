"""Reads of the clues app, narrowed by ``restrict`` (a department's officers see the clues
routed to their department; parents their own). Reporter identity is never read here:
the masked forms are computed on demand, the clear text only through the audited
``services.clue_reporters_reveal``."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import restrict
from qinglang.core.errors import NotFound
from qinglang.core.validators import mask_name, mask_phone

from .models import (
    OPEN_STATUSES,
    PUBLIC_STAGE,
    Clue,
    ClueReport,
    ClueStatus,
    ClueTrend,
    InstitutionSignal,
    Whistle,
)


def clue_list(
    *, actor, status: str = "", category: str = "", q: str = "", overdue: bool = False, triage: bool = False
) -> QuerySet:
    """Clues in the actor's scope; ``q`` finds the reference, the institution or operator,
    or a report's source reference (hotline work-order number, Open311 request id);
    ``triage`` is the 待人工分类 queue (open clues whose category confidence is below the
    place's ``clue.triage_confidence``)."""
    qs = restrict(Clue.objects.all(), actor).distinct().select_related("institution")
    if triage:
        qs = qs.filter(needs_triage=True, status__in=OPEN_STATUSES)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if q:
        q = q.strip()
        # a source reference is a whole number (工单编号, request id), found through its
        # index as typed or in capitals; names and the clue's reference match in part
        by_source = ClueReport.objects.filter(source_ref__in={q, q.upper()}).values("clue_id")
        qs = qs.filter(
            Q(reference__icontains=q)
            | Q(operator_name__icontains=q)
            | Q(institution__name__icontains=q)
            | Q(pk__in=by_source)
        )
    if overdue:
        qs = qs.filter(escalation_level__gt=0)
    return qs.order_by("-received_at", "-id")


def source_refs(clue_ids) -> dict[int, list[str]]:
    """Source references (work-order numbers, Open311 ids) of each clue's reports, in one
    query for a page or an export chunk; each once (Open311 reports merged into one case
    share its id)."""
    out: dict[int, dict[str, None]] = {}
    for cid, ref in (
        ClueReport.objects.filter(clue_id__in=list(clue_ids))
        .exclude(source_ref="")
        .order_by("id")
        .values_list("clue_id", "source_ref")
    ):
        out.setdefault(cid, {})[ref] = None
    return {cid: list(refs) for cid, refs in out.items()}


def clue_get(*, actor, clue_id: int) -> Clue:
    c = restrict(Clue.objects.all(), actor).select_related("institution").filter(pk=clue_id).first()
    if c is None:
        raise NotFound(_("线索"))
    return c


@dataclass
class HandedOver:
    """A clue the actor worked on that has since left their department: where it went,
    and what they may still read (no reporter's details)."""

    clue: Clue
    to_department: str
    at: object
    history: list


def handed_over(*, actor, clue_id: int) -> HandedOver | None:
    """A clue ``actor`` routed, transferred or moved (its history names them) that their
    scope no longer shows because it went to another department of their area; else None.
    They keep read access to it: its summary, status and history, never the reporters."""
    from django.db.models import Q

    from .models import ClueRouting, ClueTransition, RoutingAction

    uid = getattr(actor, "pk", None)
    if uid is None:
        return None
    c = (
        restrict(Clue.objects.all(), actor, regulator_department=False)
        .filter(pk=clue_id)
        .filter(Q(routings__actor_id=uid) | Q(transitions__actor_id=uid))
        .select_related("institution")
        .first()
    )
    if c is None:
        return None
    last = (
        ClueRouting.objects.filter(clue=c, action__in=[RoutingAction.TRANSFER, RoutingAction.ASSIGN])
        .select_related("department")
        .order_by("-at", "-id")
        .first()
    )
    where = ""
    if last is not None:
        where = last.department.name if last.department_id else last.get_department_kind_display()
    history = list(ClueTransition.objects.filter(clue=c).order_by("at", "id"))
    return HandedOver(c, where, last.at if last else None, history)


@dataclass
class MaskedReport:
    report: ClueReport
    name: str
    phone: str


def masked_reports(clue: Clue) -> list[MaskedReport]:
    out = []
    for r in clue.reports.all().order_by("id"):
        if r.anonymous:
            out.append(MaskedReport(r, "匿名", ""))
        else:
            out.append(MaskedReport(r, mask_name(r.reporter()["name"]), mask_phone(r.reporter()["phone"])))
    return out


@dataclass
class TrackingView:
    """What the tracking page shows: progress and nothing else."""

    reference: str
    received_on: object
    stage: str
    steps: list[tuple[str, object]]
    feedback: str
    closed: bool
    satisfaction: int | None
    can_reopen: bool


def tracking_lookup(*, code: str) -> TrackingView:
    code = (code or "").strip().upper()
    r = (
        ClueReport.objects.select_related("clue").filter(tracking_code=code).first()
        if len(code) >= 8
        else None
    )
    if r is None:
        raise NotFound(_("查询码对应的举报"))
    return report_progress(r)


def report_progress(r: ClueReport) -> TrackingView:
    """What one reporter may know of the case their report is merged into: its progress
    and its result, nothing of the other reports (their reporters, channels, times) nor
    the case summary another reporter wrote."""
    c = r.clue
    steps = [("已收到", timezone.localtime(r.received_at))]
    for t in c.transitions.order_by("at", "id"):
        steps.append((PUBLIC_STAGE[t.to_status], timezone.localtime(t.at)))
    return TrackingView(
        reference=c.reference,
        received_on=timezone.localtime(r.received_at).date(),
        stage=PUBLIC_STAGE[c.status],
        steps=steps,
        feedback=c.feedback if c.status == ClueStatus.CLOSED else "",
        closed=c.status == ClueStatus.CLOSED,
        satisfaction=r.satisfaction,
        can_reopen=c.status == ClueStatus.CLOSED and not c.reopened,
    )


def my_reports(*, actor) -> QuerySet:
    """A parent's own reports (by the submitting account)."""
    return ClueReport.objects.filter(submitted_by_id=actor.pk).select_related("clue").order_by("-received_at")


def whistle_board(*, actor) -> list[dict]:
    now = timezone.now()
    out = []
    for w in (
        restrict(Whistle.objects.all(), actor)
        .prefetch_related("departments__department")
        .order_by("-raised_at")[:200]
    ):
        deps = list(w.departments.all())
        late = [d for d in deps if (d.reported_at or now) > w.due_at]
        out.append({"whistle": w, "departments": deps, "late": late})
    return out


def late_departments(*, actor) -> list[dict]:
    """Departments named in whistles that reported late or not yet past the limit, each
    with the rule it passed (``whistle.report_hours`` as it stood when the whistle was
    raised) in words: its figure, who set it, the basis and the key."""
    from django.utils.translation import gettext

    from qinglang.core.policy import RULE_MARK, policy_resolve

    now = timezone.now()
    rules: dict[tuple, str] = {}
    rows = []
    for item in whistle_board(actor=actor):
        w = item["whistle"]
        k = (w.division_code, timezone.localdate(w.raised_at))
        if item["late"] and k not in rules:
            r = policy_resolve("whistle.report_hours", k[0], on=k[1])
            rules[k] = f"{r.stated}{gettext(RULE_MARK)}{r.key}]"
        for d in item["late"]:
            rows.append(
                {
                    "whistle": w,
                    "department": d,
                    "pending": d.reported_at is None,
                    "now": now,
                    "rule": rules[k],
                }
            )
    return rows


def trends(*, actor, dimension: str = "category") -> QuerySet:
    qs = restrict(ClueTrend.objects.all(), actor).filter(dimension=dimension)
    latest = qs.order_by("-week_start").values_list("week_start", flat=True).first()
    return qs.filter(week_start=latest).order_by("-count") if latest else qs.none()


def signals(*, actor) -> QuerySet:
    return (
        restrict(InstitutionSignal.objects.all(), actor)
        .select_related("institution")
        .order_by("-week_start", "-count")
    )


def retriage_get(*, actor, run_id: int):
    from .models import RetriageRun

    run = restrict(RetriageRun.objects.all(), actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("重新研判"))
    return run


def retriage_runs(*, actor, limit: int = 20):
    from .models import RetriageRun

    return list(restrict(RetriageRun.objects.all(), actor)[:limit])


def case_changes(clue) -> list:
    """Merges, splits and re-triage changes this case took part in (reasons kept)."""
    from .models import CaseChange

    return list(CaseChange.objects.filter(Q(clue=clue) | Q(other=clue)).select_related("clue", "other"))
