"""Landing pages as to-do lists (待办): what waits for the signed-in person, by role.

Each source counts in one query through the apps' scoped selectors (or ``restrict``), so a
landing page costs the same number of queries for ten rows as for ten thousand. Sources
are chosen by the same role sets the services use: a writer sees what to decide, an
inspector their tasks and rechecks, a township its reports and whistles."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import INSPECTORS, REGULATOR_WRITERS, REGULATORS, has_role
from qinglang.accounts.scope import actor_for, restrict

SOON_DAYS = 3  # "due soon": within this many days


@dataclass
class Todo:
    label: str
    count: int
    href: str
    urgent: bool = False  # overdue or refused: shown in red
    key: str = ""


@dataclass
class Progress:
    label: str
    done: int
    total: int
    href: str

    @property
    def pct(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class Landing:
    todos: list[Todo] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)

    @property
    def open(self) -> list[Todo]:
        return [t for t in self.todos if t.count]

    @property
    def total(self) -> int:
        return sum(t.count for t in self.todos)


def _clues(user, out: Landing, today) -> None:
    from qinglang.clues.models import OPEN_STATUSES, Clue, ClueStatus

    qs = restrict(Clue.objects.filter(status__in=OPEN_STATUSES), user)
    agg = qs.aggregate(
        overdue=Count("id", filter=Q(resolve_due__lt=today)),
        soon=Count(
            "id", filter=Q(resolve_due__gte=today, resolve_due__lte=today + timedelta(days=SOON_DAYS))
        ),
        to_accept=Count("id", filter=Q(status=ClueStatus.ROUTED)),
        escalated=Count("id", filter=Q(escalation_level__gt=0)),
    )
    base = reverse("portal:clue_list")
    out.todos += [
        Todo(_("线索已超办结时限"), agg["overdue"], f"{base}?overdue=1", urgent=True, key="clues_overdue"),
        Todo(_("线索三日内到办结时限"), agg["soon"], base, key="clues_soon"),
        Todo(_("线索待受理"), agg["to_accept"], f"{base}?status=routed", key="clues_to_accept"),
        Todo(_("线索被督办"), agg["escalated"], f"{base}?overdue=1", urgent=True, key="clues_escalated"),
    ]


def _ledger(user, out: Landing, today) -> None:
    from qinglang.inspections.models import RectificationItem, RectificationStatus

    qs = restrict(RectificationItem.objects.exclude(status=RectificationStatus.CLOSED_OUT), user)
    agg = qs.aggregate(
        overdue=Count(
            "id",
            filter=Q(
                deadline_on__lt=today, status__in=[RectificationStatus.ISSUED, RectificationStatus.RETURNED]
            ),
        ),
        soon=Count(
            "id",
            filter=Q(
                deadline_on__gte=today,
                deadline_on__lte=today + timedelta(days=SOON_DAYS),
                status__in=[RectificationStatus.ISSUED, RectificationStatus.RETURNED],
            ),
        ),
        to_verify=Count("id", filter=Q(status=RectificationStatus.SUBMITTED)),
        to_close=Count("id", filter=Q(status=RectificationStatus.VERIFIED)),
    )
    base = reverse("portal:rectifications")
    out.todos += [
        Todo(_("整改逾期未完成"), agg["overdue"], f"{base}?overdue=1", urgent=True, key="ledger_overdue"),
        Todo(_("整改三日内到期"), agg["soon"], base, key="ledger_soon"),
        Todo(_("整改材料待复查"), agg["to_verify"], f"{base}?status=submitted", key="ledger_to_verify"),
    ]
    if has_role(user, REGULATOR_WRITERS):
        out.todos.append(
            Todo(_("复查通过待销号"), agg["to_close"], f"{base}?status=verified", key="ledger_to_close")
        )


def _campaigns(user, out: Landing) -> None:
    from qinglang.inspections.models import Campaign, CampaignStatus, TaskStatus

    rows = (
        restrict(Campaign.objects.filter(status=CampaignStatus.DRAWN), user)
        .annotate(
            n=Count("tasks", filter=~Q(tasks__status=TaskStatus.CANCELLED)),
            done=Count("tasks", filter=Q(tasks__status=TaskStatus.COMPLETED)),
        )
        .order_by("ends_on", "id")[:5]
    )
    for c in rows:
        out.progress.append(Progress(c.name, c.done, c.n, reverse("portal:campaign_detail", args=[c.pk])))


def _tasks(user, out: Landing, today) -> None:
    from qinglang.inspections.models import TaskStatus
    from qinglang.inspections.selectors import task_list

    agg = (
        task_list(actor=user)
        .filter(status=TaskStatus.PLANNED)
        .aggregate(
            n=Count("id", distinct=True),
            late=Count("id", filter=Q(scheduled_on__lt=today), distinct=True),
        )
    )
    base = reverse("portal:inspection_tasks")
    out.todos += [
        Todo(_("检查任务待检查"), agg["n"], base, key="tasks_planned"),
        Todo(_("检查任务已过计划日期"), agg["late"], base, urgent=True, key="tasks_late"),
    ]


def _decisions(user, out: Landing) -> None:
    from qinglang.funds.models import Lesson, LessonStatus, ReconciliationDifference
    from qinglang.registry.selectors import application_list
    from qinglang.risk.models import Alert, AlertStatus
    from qinglang.screening.models import HoldStatus, TextHold

    out.todos += [
        Todo(
            _("风险预警待处置"),
            restrict(Alert.objects.filter(status=AlertStatus.OPEN), user).count(),
            reverse("portal:risk_alerts"),
            urgent=True,
            key="alerts_open",
        ),
        Todo(
            _("审批申请待办理"),
            application_list(actor=user).filter(status="submitted").count(),
            reverse("portal:applications"),
            key="applications",
        ),
        Todo(
            _("消课异议待裁决"),
            restrict(Lesson.objects.filter(status=LessonStatus.DISPUTED), user).count(),
            reverse("portal:funds_disputes"),
            key="disputes",
        ),
        Todo(
            _("对账差异待处理"),
            restrict(ReconciliationDifference.objects.filter(resolved=False), user).count(),
            reverse("portal:funds_differences"),
            key="differences",
        ),
        Todo(
            _("疑似隐形变异文本待复核"),
            restrict(TextHold.objects.filter(status=HoldStatus.HELD), user).count(),
            reverse("portal:screening_holds"),
            key="holds",
        ),
    ]


def _whistles(user, out: Landing, now) -> None:
    from qinglang.clues.models import Whistle, WhistleDepartment, WhistleStatus

    open_w = restrict(Whistle.objects.filter(status=WhistleStatus.OPEN), user)
    late = WhistleDepartment.objects.filter(
        whistle__in=open_w.values("id"), reported_at__isnull=True, whistle__due_at__lt=now
    ).count()
    href = reverse("portal:whistle_board")
    out.todos += [
        Todo(_("吹哨事项办理中"), open_w.count(), href, key="whistles_open"),
        Todo(_("被点名部门超时未报到"), late, href, urgent=True, key="whistles_late"),
    ]


def _sweeps(user) -> Todo:
    from qinglang.screening.models import Sweep, SweepStatus

    n = restrict(Sweep.objects.filter(status=SweepStatus.OPEN), user).count()
    return Todo(_("专项摸排进行中"), n, reverse("portal:screening_sweeps"), key="sweeps")


def _grid(user, out: Landing) -> None:
    from qinglang.clues.models import ClueReport
    from qinglang.risk.selectors import my_guardianships

    out.todos += [
        Todo(
            _("我的网格上报"),
            ClueReport.objects.filter(submitted_by_id=user.pk).count(),
            reverse("portal:grid_report"),
            key="grid_reports",
        ),
        _sweeps(user),
        Todo(
            _("我的包保机构"),
            my_guardianships(user).count(),
            reverse("portal:risk_guardianships"),
            key="guardian",
        ),
    ]


def township_scoped(user) -> bool:
    """A regulator whose every scope is a township or smaller (a 街道办事处's officer)."""
    prefixes = [p for ps, _d in actor_for(user).regulator for p in ps]
    return bool(prefixes) and all(len(p) >= 9 for p in prefixes)


def _township(user, out: Landing) -> None:
    """A township's officer: its grid workers' reports still open, its sweeps (专项摸排)."""
    from qinglang.clues.models import OPEN_STATUSES, Channel, ClueReport

    reports = restrict(ClueReport.objects.filter(channel=Channel.GRID, clue__status__in=OPEN_STATUSES), user)
    out.todos += [
        Todo(
            _("本辖区网格上报办理中"),
            reports.values("clue_id").distinct().count(),
            reverse("portal:clue_list"),
            key="township_reports",
        ),
        _sweeps(user),
    ]


def console_landing(user) -> Landing:
    """The regulator console's to-do list (leaders, officers, inspectors, grid workers)."""
    out = Landing()
    now = timezone.now()
    today = timezone.localdate()
    if has_role(user, REGULATOR_WRITERS):
        _clues(user, out, today)
        _ledger(user, out, today)
        _decisions(user, out)
        _whistles(user, out, now)
        if township_scoped(user):
            _township(user, out)
        _campaigns(user, out)
    elif has_role(user, INSPECTORS):
        _tasks(user, out, today)
        _ledger(user, out, today)
        _campaigns(user, out)
    elif has_role(user, REGULATORS):
        _whistles(user, out, now)
        _grid(user, out)
    if Role.INSPECTOR in actor_for(user).roles and has_role(user, REGULATOR_WRITERS):
        _tasks(user, out, today)
    return out


def org_landing(user, institution_id: int) -> Landing:
    """An institution's to-do list: rectification notices to answer, parents' refund
    requests to answer, lessons parents dispute, materials sent back."""
    from qinglang.funds.models import Lesson, LessonStatus, Refund, RefundStatus
    from qinglang.inspections.models import RectificationItem, RectificationStatus
    from qinglang.registry.models import MaterialStatus, TrainingMaterial

    today = timezone.localdate()
    mine = {"institution_id": institution_id}
    ledger = restrict(
        RectificationItem.objects.filter(
            **mine, status__in=[RectificationStatus.ISSUED, RectificationStatus.RETURNED]
        ),
        user,
    ).aggregate(n=Count("id"), late=Count("id", filter=Q(deadline_on__lt=today)))
    out = Landing()
    out.todos += [
        Todo(_("整改通知待提交整改材料"), ledger["n"], reverse("portal:org_rectification"), key="org_ledger"),
        Todo(
            _("整改已逾期"),
            ledger["late"],
            reverse("portal:org_rectification"),
            urgent=True,
            key="org_ledger_late",
        ),
        Todo(
            _("退费申请待答复"),
            restrict(
                Refund.objects.filter(institution_id=institution_id, status=RefundStatus.REQUESTED), user
            ).count(),
            reverse("portal:org_refunds", args=[institution_id]),
            urgent=True,
            key="org_refunds",
        ),
        Todo(
            _("家长对消课有异议"),
            restrict(
                Lesson.objects.filter(order__institution_id=institution_id, status=LessonStatus.DISPUTED),
                user,
            ).count(),
            reverse("portal:org_funds", args=[institution_id]),
            key="org_disputes",
        ),
        Todo(
            _("培训材料被退回待修改"),
            restrict(TrainingMaterial.objects.filter(**mine, status=MaterialStatus.REJECTED), user).count(),
            reverse("portal:org_materials", args=[institution_id]),
            key="org_materials",
        ),
    ]
    return out


def bank_landing(user, bank_id: int) -> Landing:
    """A custody bank's to-do list: today's instructions to carry out, differences open."""
    from qinglang.funds.models import InstructionLine, ReconciliationDifference

    today = timezone.localdate()
    out = Landing()
    out.todos += [
        Todo(
            _("今日拨付与退费指令"),
            restrict(InstructionLine.objects.filter(bank_id=bank_id, day=today), user).count(),
            reverse("portal:bank_instructions", args=[bank_id]),
            key="bank_instructions",
        ),
        Todo(
            _("对账差异待处理"),
            restrict(ReconciliationDifference.objects.filter(bank_id=bank_id, resolved=False), user).count(),
            reverse("portal:bank_statements", args=[bank_id]),
            urgent=True,
            key="bank_differences",
        ),
    ]
    return out


def parent_landing(user) -> Landing:
    """A parent's to-do list: orders to pay, lessons to confirm, refunds and complaints open."""
    from qinglang.clues.models import OPEN_STATUSES, ClueReport
    from qinglang.funds.selectors_parent import parent_summary

    s = parent_summary(actor=user)
    orders = reverse("portal:parent_orders")
    out = Landing()
    out.todos += [
        Todo(_("订单待缴费"), s["unpaid"], orders, key="parent_unpaid"),
        Todo(_("课时待确认"), s["to_confirm"], f"{orders}#to-confirm", urgent=True, key="parent_to_confirm"),
        Todo(_("退费申请待机构答复"), s["refunds_open"], orders, key="parent_refunds"),
        Todo(
            _("投诉办理中"),
            ClueReport.objects.filter(submitted_by_id=user.pk, clue__status__in=OPEN_STATUSES).count(),
            reverse("portal:parent_clues"),
            key="parent_complaints",
        ),
    ]
    return out
