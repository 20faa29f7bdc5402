"""Reads of the inspections app, each narrowed by ``restrict``. Inspectors (and grid
workers) see only the tasks of teams they belong to; institution users see only their
own notices, rectification items and letters."""

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import REGULATOR_WRITERS, has_role
from qinglang.accounts.scope import actor_for, restrict
from qinglang.core.errors import NotFound

from .models import (
    OPEN_STATUSES,
    Campaign,
    ChecklistTemplate,
    Draw,
    Evidence,
    Letter,
    Notice,
    RectificationItem,
    Task,
    TaskStatus,
    Team,
)
from .services.campaigns import population_for


def sees_all_tasks(user) -> bool:
    return has_role(user, REGULATOR_WRITERS)


def campaign_list(*, actor) -> QuerySet:
    return restrict(Campaign.objects.all(), actor).select_related("template").order_by("-id")


def campaign_get(*, actor, campaign_id: int) -> Campaign:
    c = campaign_list(actor=actor).filter(pk=campaign_id).first()
    if c is None:
        raise NotFound(_("专项行动"))
    return c


@dataclass
class Coverage:
    population: int
    drawn: int
    tasks: int
    completed: int
    inspected: int  # distinct institutions with a completed task
    findings_institutions: int
    goal: int

    @property
    def pct(self) -> float:
        return round(100 * self.inspected / self.drawn, 1) if self.drawn else 0.0

    @property
    def goal_met(self) -> bool:
        return self.drawn > 0 and self.pct >= self.goal


def campaign_coverage(*, campaign: Campaign) -> Coverage:
    """Live coverage: inspected institutions against the drawn targets and the population."""
    draw = Draw.objects.filter(campaign=campaign).first()
    agg = Task.objects.filter(campaign=campaign).aggregate(
        tasks=Count("id"),
        completed=Count("id", filter=Q(status=TaskStatus.COMPLETED)),
        inspected=Count("institution_id", filter=Q(status=TaskStatus.COMPLETED), distinct=True),
    )
    findings = Notice.objects.filter(task__campaign=campaign).values("institution_id").distinct().count()
    population = draw.population_size if draw else population_for(campaign).count()
    return Coverage(
        population=population,
        drawn=draw.target_count if draw else 0,
        tasks=agg["tasks"],
        completed=agg["completed"],
        inspected=agg["inspected"],
        findings_institutions=findings,
        goal=campaign.coverage_goal,
    )


@dataclass
class DrawOutcome:
    tasks: int  # one per drawn site (or institution without a site)
    teams: int
    unstaffed: int  # drawn institutions no team could take, to assign by hand


def draw_outcome(*, draw: Draw) -> DrawOutcome:
    """What a draw made: its tasks, the campaign's teams, and the drawn institutions left
    without a team (every team had a conflict or an inspection within the gap)."""
    return DrawOutcome(
        tasks=Task.objects.filter(campaign_id=draw.campaign_id, origin_ref=f"draw:{draw.pk}").count(),
        teams=Team.objects.filter(campaign_id=draw.campaign_id).count(),
        unstaffed=sum(1 for e in draw.exclusions if e.get("rule") == "unstaffed"),
    )


def population_count(*, campaign: Campaign) -> int:
    """How many institutions a draw of the campaign would draw from now."""
    return population_for(campaign).count()


def template_list(*, actor) -> QuerySet:
    local = restrict(ChecklistTemplate.objects.all(), actor).values("id")
    return ChecklistTemplate.objects.filter(Q(division_code="") | Q(id__in=local), follow_up=False).order_by(
        "campaign_type", "id"
    )


def template_get(*, actor, template_id: int) -> ChecklistTemplate:
    t = template_list(actor=actor).filter(pk=template_id).first()
    if t is None:
        raise NotFound(_("检查清单模板"))
    return t


def task_list(*, actor) -> QuerySet:
    """Tasks in the user's area; inspectors see only their teams' tasks."""
    qs = restrict(Task.objects.all(), actor)
    if not sees_all_tasks(actor):
        qs = qs.filter(team__members__user_id=getattr(actor, "pk", None))
    return qs.select_related("institution", "site", "campaign", "team").order_by(
        "status", "scheduled_on", "id"
    )


def task_get(*, actor, task_id: int) -> Task:
    t = task_list(actor=actor).filter(pk=task_id).first()
    if t is None:
        raise NotFound(_("检查任务"))
    return t


def draw_get(*, actor, campaign_id: int) -> Draw | None:
    return restrict(Draw.objects.filter(campaign_id=campaign_id), actor).first()


def notice_list(*, actor) -> QuerySet:
    return restrict(Notice.objects.all(), actor).select_related("institution").order_by("-issued_on", "-id")


def notice_get(*, actor, notice_id: int) -> Notice:
    n = notice_list(actor=actor).filter(pk=notice_id).first()
    if n is None:
        raise NotFound(_("整改通知书"))
    return n


def rectification_list(
    *, actor, status: str = "", overdue_only: bool = False, institution_id: int | None = None
) -> QuerySet:
    """The rectification register, overdue items first, then by deadline."""
    today = timezone.localdate()
    qs = restrict(RectificationItem.objects.all(), actor).select_related("institution", "notice")
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    overdue = Q(status__in=OPEN_STATUSES, deadline_on__lt=today)
    if overdue_only:
        qs = qs.filter(overdue)
    return qs.annotate(
        overdue=Case(When(overdue, then=Value(1)), default=Value(0), output_field=IntegerField())
    ).order_by("-overdue", "deadline_on", "id")


def rectification_get(*, actor, item_id: int) -> RectificationItem:
    i = rectification_list(actor=actor).filter(pk=item_id).first()
    if i is None:
        raise NotFound(_("整改事项"))
    return i


def letter_get(*, actor, letter_id: int) -> Letter:
    letter = (
        restrict(Letter.objects.select_related("item__institution", "item__notice"), actor)
        .filter(pk=letter_id)
        .first()
    )
    if letter is None:
        raise NotFound(_("函件"))
    return letter


def evidence_get(*, actor, evidence_id: int) -> Evidence:
    e = restrict(Evidence.objects.all(), actor, regulator_department=False).filter(pk=evidence_id).first()
    if e is None:
        raise NotFound(_("证据文件"))
    a = actor_for(actor)
    # institutions see the files they uploaded for their own items, not inspectors' photos
    if not (a.is_platform_admin or a.regulator) and e.rectification_item_id is None:
        raise NotFound(_("证据文件"))
    return e


# --- public (一公开) --------------------------------------------------------------------------


def public_draw_list() -> QuerySet:
    return Draw.objects.filter(published=True).select_related("campaign").order_by("-published_at", "-id")


def public_draw_get(*, draw_id: int) -> Draw:
    d = public_draw_list().filter(pk=draw_id).first()
    if d is None:
        raise NotFound(_("抽查结果"))
    return d


def public_draw_targets(*, draw: Draw) -> list[dict]:
    """Drawn institutions with their inspection result so far."""
    rows = {}
    for t in (
        Task.objects.filter(campaign_id=draw.campaign_id)
        .select_related("institution")
        .order_by("institution__name", "id")
    ):
        r = rows.setdefault(
            t.institution_id,
            {
                "name": t.institution.name,
                "division_code": t.institution.division_code,
                "done": True,
                "notice": False,
            },
        )
        r["done"] &= t.status == TaskStatus.COMPLETED
    for inst_id in Notice.objects.filter(task__campaign_id=draw.campaign_id).values_list(
        "institution_id", flat=True
    ):
        if inst_id in rows:
            rows[inst_id]["notice"] = True
    return list(rows.values())


def conflict_list(*, actor, include_withdrawn: bool = False, institution_id: int | None = None) -> QuerySet:
    """Declared conflicts of interest: an inspector sees their own; leaders and officers
    (and the platform admin) every declaration about institutions in their area. Standing
    ones only, unless ``include_withdrawn``."""
    from .models import ConflictOfInterest

    qs = ConflictOfInterest.objects.select_related("institution", "inspector")
    if has_role(actor, REGULATOR_WRITERS):
        qs = restrict(qs, actor)
    else:
        qs = restrict(qs, actor).filter(inspector_id=getattr(actor, "pk", None))
    if not include_withdrawn:
        qs = qs.filter(withdrawn_at__isnull=True)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    return qs.order_by("-declared_on", "-id")


def conflict_get(*, actor, conflict_id: int):
    c = conflict_list(actor=actor, include_withdrawn=True).filter(pk=conflict_id).first()
    if c is None:
        raise NotFound(_("回避申报"))
    return c


def institution_by_ref(*, actor, ref: str) -> int | None:
    """An institution id from what a user typed (its id or its credit code), in scope."""
    from qinglang.registry.models import Institution

    ref = (ref or "").strip().upper()
    qs = restrict(Institution.objects.all(), actor, regulator_department=False)
    if ref.isdigit() and len(ref) < 18:
        qs = qs.filter(pk=int(ref))
    elif ref:
        qs = qs.filter(uscc=ref)
    else:
        return None
    return qs.values_list("pk", flat=True).first()
