"""Time limits (督办), whistles (吹哨报到) and weekly trends.

The escalation sweep works from current state and dates, not from "since the last run",
so a worker that was down catches up on its next run."""

from collections import Counter
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import department_officers, notify_on_commit
from qinglang.accounts.permissions import (
    REGULATOR_WRITERS,
    REGULATORS,
    has_role,
    is_system,
    require_role,
    system,
)
from qinglang.accounts.scope import actor_for
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.calendar import working_days_between
from qinglang.core.division_names import full_name
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_display
from qinglang.core.models import Department, DepartmentKind
from qinglang.core.policy import policy_resolve

from ..models import (
    Clue,
    ClueEscalation,
    ClueStatus,
    ClueTrend,
    Dimension,
    InstitutionSignal,
    Whistle,
    WhistleDepartment,
    WhistleStatus,
)
from .common import text_required

TASK_FORCE_AFTER = 5  # working days past the resolve limit before the task force steps in


@transaction.atomic
def clue_escalate_overdue(*, actor=system("clues.escalation"), today: date | None = None) -> dict[str, int]:
    """Level 1 (department leader): not accepted by the acknowledge limit, or not
    concluded by the resolve limit. Level 2 (task force): still open five working days
    after the resolve limit."""
    today = today or timezone.localdate()
    now = timezone.now()
    qs = Clue.objects.select_for_update().filter(
        status__in=[ClueStatus.RECEIVED, ClueStatus.ROUTED, ClueStatus.ACCEPTED, ClueStatus.INVESTIGATING],
        escalation_level__lt=2,
    )
    qs = qs.filter(acknowledge_due__lt=today)
    ups, escalations, entries, raised = [], [], [], []
    fields = ("id", "reference", "status", "acknowledge_due", "resolve_due", "escalation_level")
    rules: dict[tuple, dict] = {}
    for c in qs.only(*fields, "division_code", "routed_kinds", "category", "received_at"):
        level = c.escalation_level
        reason, key = "", ""
        late_ack = c.status in (ClueStatus.RECEIVED, ClueStatus.ROUTED) and c.acknowledge_due < today
        late_res = c.resolve_due and c.resolve_due < today
        if late_res and working_days_between(c.resolve_due, today) >= TASK_FORCE_AFTER:
            level, reason, key = 2, "超过办结时限5个工作日，提请专班督办", "clue.resolve_days"
        elif late_res:
            level, reason, key = max(level, 1), "超过办结时限，提请部门领导督办", "clue.resolve_days"
        elif late_ack:
            level, reason, key = max(level, 1), "超过受理时限，提请部门领导督办", "clue.acknowledge_days"
        if level > c.escalation_level:
            before = c.escalation_level
            c.escalation_level = level
            ups.append(c)
            raised.append((c, before, reason))
            escalations.append(ClueEscalation(clue_id=c.pk, level=level, reason=reason, at=now))
            entries.append(
                Entry(
                    "clue.escalate",
                    "clues.clue",
                    str(c.pk),
                    c.division_code,
                    {
                        "escalation_level": [before, level],
                        "reason": reason,
                        **_limit_rule(rules, key, c.division_code, timezone.localdate(c.received_at)),
                    },
                )
            )
    Clue.objects.bulk_update(ups, ["escalation_level"], batch_size=2000)
    ClueEscalation.objects.bulk_create(escalations, ignore_conflicts=True)
    audit_record_many(actor=actor, entries=entries)
    if raised:
        _notify_escalations(raised, actor=actor)
    return {
        "leader": sum(1 for e in escalations if e.level == 1),
        "task_force": sum(1 for e in escalations if e.level == 2),
    }


def _limit_rule(memo: dict, key: str, division_code: str, on: date) -> dict:
    """The time limit a clue passed, as its escalation cites it: the rule in force in its
    division on the day it was received (when the limit was set)."""
    k = (key, division_code, on)
    if k not in memo:
        memo[k] = policy_resolve(key, division_code, on=on).cite()
    return memo[k]


class Leaders:
    """Active regulator memberships loaded once per sweep, to pick recipients: a
    department's leaders (or officers too) covering a division, and the county's task
    force (专班: regulator leaders of exactly the county, without a department)."""

    def __init__(self, roles=(Role.REGULATOR_LEADER,)):
        self.rows = [
            (uid, tuple(prefixes or ()), kind)
            for uid, prefixes, kind in Membership.objects.filter(
                role__in=roles, active=True, user__is_active=True
            ).values_list("user_id", "division_prefixes", "department_kind")
        ]

    def of_department(self, division_code: str, kinds: list[str]) -> set[int]:
        """Members of the named departments whose scope covers the division (county level
        or below: a city-wide leader is not the county department's leader)."""
        return {
            uid
            for uid, prefixes, kind in self.rows
            if kind in kinds and any(len(p) >= 6 and division_code.startswith(p) for p in prefixes)
        }

    def task_force(self, division_code: str) -> set[int]:
        county = division_code[:6]
        return {uid for uid, prefixes, kind in self.rows if not kind and county in prefixes}


def _notify_escalations(raised: list, *, actor) -> None:
    """Level 1 → the leaders of the clue's lead department (the county's task force when
    the clue has no department yet); level 2 → the task force, and the department's
    leaders too when a catch-up skipped level 1. Runs once per level reached: the sweep
    escalates a clue to a level only once."""
    from qinglang.accounts.notifications import notify

    people = Leaders()
    for c, before, reason in raised:
        recipients: set[int] = set()
        if before < 1:
            recipients |= people.of_department(c.division_code, c.routed_kind_list[:1])
            if not c.routed_kind_list:
                recipients |= people.task_force(c.division_code)
        if c.escalation_level == 2:
            recipients |= people.task_force(c.division_code)
        who = "专班" if c.escalation_level == 2 else "部门领导"
        notify(
            recipients,
            kind=f"clue.escalation.{'task_force' if c.escalation_level == 2 else 'leader'}",
            title=f"线索{c.reference}督办({who})：{reason}",
            body=f"{chinese_display(c, 'category')}；受理时限{c.acknowledge_due}，办结时限{c.resolve_due}。",
            link=reverse("portal:clue_detail", args=[c.pk]),
            actor=actor,
            division_code=c.division_code,
            about=("clues.clue", c.pk),
        )


# --- whistles --------------------------------------------------------------------------


@transaction.atomic
def whistle_notify_late(*, actor=system("clues.whistles"), now=None) -> int:
    """Named departments that have not reported by the limit: their leaders and officers
    in the county get a notice, once (``late_notified_at``), so a catch-up run after
    downtime sends each notice exactly once. Returns how many departments were notified."""
    from qinglang.accounts.notifications import notify

    now = now or timezone.now()
    late = list(
        WhistleDepartment.objects.select_for_update(of=("self",))
        .select_related("whistle")
        .filter(
            reported_at__isnull=True,
            late_notified_at__isnull=True,
            whistle__status=WhistleStatus.OPEN,
            whistle__due_at__lt=now,
        )
        .order_by("id")
    )
    if not late:
        return 0
    people = Leaders(roles=REGULATOR_WRITERS)
    for wd in late:
        w = wd.whistle
        notify(
            people.of_department(w.division_code[:6], [wd.department_kind]),
            kind="whistle.late",
            title=f"吹哨事项“{w.title}”已超过报到时限，请尽快报到",
            body=f"报到时限{timezone.localtime(w.due_at):%Y-%m-%d %H:%M}；点名部门：{chinese_display(wd, 'department_kind')}。",
            link=reverse("portal:whistle_board"),
            actor=actor,
            division_code=w.division_code,
            about=("clues.whistle", w.pk),
        )
    WhistleDepartment.objects.filter(pk__in=[wd.pk for wd in late]).update(late_notified_at=now)
    return len(late)


def whistle_townships(actor) -> list[str]:
    """The townships (9-digit codes) where ``actor`` works as a township: any regulator role
    (grid worker, the township's leader or officer) held at a township or below."""
    if is_system(actor) or not getattr(actor, "is_authenticated", False):
        return []
    a = actor_for(actor)
    if not (a.roles & REGULATORS):
        return []
    return sorted({p[:9] for ps, _ in a.regulator for p in ps if len(p) >= 9})


def may_raise_whistle(actor, division_code: str | None = None) -> bool:
    """街乡吹哨、部门报到: the township raises the whistle. Leaders and officers whose scope
    covers the township may, and so may anyone holding a regulator role at that township
    (its grid workers and staff). Without ``division_code``: somewhere."""
    if has_role(actor, REGULATOR_WRITERS, division_code=division_code):
        return True
    towns = whistle_townships(actor)
    return bool(towns) if division_code is None else division_code in towns


@transaction.atomic
def whistle_raise(
    *,
    actor,
    division_code: str,
    title: str,
    problem: str,
    department_kinds: list[str],
    institution_id: int | None = None,
    clue_id: int | None = None,
) -> Whistle:
    """街乡吹哨: a township names the county departments that must report
    (``may_raise_whistle``: the township's own people, or leaders and officers over it)."""
    if not may_raise_whistle(actor):
        raise PermissionDeniedError(gettext_lazy("只有乡镇(街道)的工作人员和监管领导、监管人员可以吹哨"))
    division_code = (division_code or "").strip()
    if len(division_code) != 9:
        raise ValidationError({"division_code": gettext_lazy("吹哨须指定乡镇(街道)")})
    if not may_raise_whistle(actor, division_code):
        raise PermissionDeniedError(gettext_lazy("只能在本辖区吹哨"))
    title = text_required(title, "title", gettext_lazy("事项"), max_len=200, min_len=2)
    problem = text_required(problem, "problem", gettext_lazy("问题描述"), max_len=2000, min_len=2)
    kinds = [k for k in dict.fromkeys(department_kinds or []) if k]
    if not kinds:
        raise ValidationError({"department_kinds": gettext_lazy("请至少点名一个部门")})
    bad = [k for k in kinds if k not in DepartmentKind.values]
    if bad:
        raise ValidationError(
            {"department_kinds": format_lazy(gettext_lazy("未知部门：{bad}"), bad="、".join(bad))}
        )
    deps = {d.kind: d for d in Department.objects.filter(division_id=division_code[:6], kind__in=kinds)}
    missing = [k for k in kinds if k not in deps]
    if missing:
        raise DomainError(
            "no_department",
            format_lazy(gettext_lazy("本区县没有这些部门：{missing}"), missing="、".join(missing)),
        )
    if institution_id is not None:
        from qinglang.registry.models import Institution

        if not Institution.objects.filter(
            pk=institution_id, division_code__startswith=division_code[:6]
        ).exists():
            raise NotFound(gettext_lazy("机构"))
    now = timezone.now()
    limit = policy_resolve("whistle.report_hours", division_code)
    hours = int(limit.value)
    w = Whistle.objects.create(
        division_code=division_code,
        title=title,
        problem=problem,
        institution_id=institution_id,
        clue_id=clue_id,
        raised_by_id=actor.pk,
        raised_at=now,
        due_at=now + timedelta(hours=hours),
    )
    WhistleDepartment.objects.bulk_create(
        [WhistleDepartment(whistle=w, department=deps[k], department_kind=k) for k in kinds]
    )
    audit_record(
        actor=actor,
        action="whistle.raise",
        obj=w,
        changes={"title": title, "departments": kinds, "due_at": w.due_at, **_report_rule(limit)},
    )
    place = full_name(division_code)
    for k in kinds:
        notify_on_commit(
            department_officers(division_code, k),
            kind="whistle.named",
            title=f"{place}吹哨点名{deps[k].name}：{title}",
            body=f"{problem[:200]}；请于{timezone.localtime(w.due_at):%Y-%m-%d %H:%M}前报到。",
            link=reverse("portal:whistle_board"),
            actor=actor,
            division_code=division_code,
            about=("clues.whistle", w.pk),
        )
    return w


def _report_rule(limit) -> dict:
    """The rule that set a whistle's report deadline, as its records cite it: key, value,
    who set it and the basis, with the hours it gave."""
    return limit.cite(hours=limit.value)


@transaction.atomic
def whistle_report(*, actor, whistle_id: int, department_kind: str, action: str) -> WhistleDepartment:
    """部门报到: a named department reports and records what it did."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以报到"))
    from qinglang.accounts.scope import restrict

    if not restrict(Whistle.objects.filter(pk=whistle_id), actor).exists():
        raise NotFound(gettext_lazy("吹哨事项"))
    w = Whistle.objects.select_for_update().get(pk=whistle_id)
    a = actor_for(actor)
    own = {d for _, d in a.regulator}
    if not a.is_platform_admin and "" not in own and department_kind not in own:
        raise PermissionDeniedError(gettext_lazy("只能为本部门报到"))
    action = text_required(action, "action", gettext_lazy("采取的措施"), max_len=2000, min_len=2)
    wd = (
        WhistleDepartment.objects.select_for_update()
        .filter(whistle=w, department_kind=department_kind)
        .first()
    )
    if wd is None:
        raise DomainError("not_named", gettext_lazy("该部门不在本次吹哨点名之列"))
    if wd.reported_at:
        raise DomainError("already_reported", gettext_lazy("本部门已报到"))
    wd.reported_at, wd.action, wd.reported_by_id = timezone.now(), action, actor.pk
    wd.save(update_fields=["reported_at", "action", "reported_by_id"])
    late = wd.reported_at > w.due_at
    changes = {"department": department_kind, "late": late}
    if late:  # the flag names the rule it breaks as it stood when the whistle was raised
        limit = policy_resolve("whistle.report_hours", w.division_code, on=timezone.localdate(w.raised_at))
        hours = round((w.due_at - w.raised_at).total_seconds() / 3600)
        changes.update(_report_rule(limit), hours=hours, due_at=w.due_at)
    audit_record(actor=actor, action="whistle.report", obj=w, changes=changes)
    if not w.departments.filter(reported_at__isnull=True).exists():
        w.status, w.closed_at = WhistleStatus.CLOSED, timezone.now()
        w.save(update_fields=["status", "closed_at"])
    return wd


# --- trends ----------------------------------------------------------------------------


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


@transaction.atomic
def clue_trends_refresh(*, actor=system("clues.trends"), week: date | None = None) -> dict[str, int]:
    """Weekly counts by category, county and institution, with the week before; rising
    institutions (at least 2 clues and more than the week before) become signals."""
    ws = week_start(week or timezone.localdate())
    prev = ws - timedelta(days=7)
    tz = timezone.get_current_timezone()

    def counts(start: date):
        from datetime import datetime, time

        a = timezone.make_aware(datetime.combine(start, time.min), tz)
        b = a + timedelta(days=7)
        rows = (
            Clue.objects.filter(received_at__gte=a, received_at__lt=b)
            .values("division_code", "category", "institution_id")
            .annotate(n=Count("id"))
        )
        cat, area, inst = Counter(), Counter(), Counter()
        for r in rows:
            county = r["division_code"][:6]
            cat[(r["category"], county)] += r["n"]
            area[(county, county)] += r["n"]
            if r["institution_id"]:
                inst[(str(r["institution_id"]), county)] += r["n"]
        return {Dimension.CATEGORY: cat, Dimension.AREA: area, Dimension.INSTITUTION: inst}

    now_c, prev_c = counts(ws), counts(prev)
    ClueTrend.objects.filter(week_start=ws).delete()
    rows = []
    for dim, cur in now_c.items():
        before = prev_c[dim]
        for key, county in set(cur) | set(before):
            rows.append(
                ClueTrend(
                    week_start=ws,
                    dimension=dim,
                    key=key,
                    division_code=county,
                    count=cur.get((key, county), 0),
                    previous=before.get((key, county), 0),
                )
            )
    ClueTrend.objects.bulk_create(rows, batch_size=5000)
    signals = [
        InstitutionSignal(institution_id=int(t.key), week_start=ws, count=t.count, previous=t.previous)
        for t in rows
        if t.dimension == Dimension.INSTITUTION and t.count >= 2 and t.count > t.previous
    ]
    InstitutionSignal.objects.filter(week_start=ws).delete()
    InstitutionSignal.objects.bulk_create(signals)
    audit_record(
        actor=actor,
        action="clue.trends",
        object_type="clues.cluetrend",
        object_id=ws.isoformat(),
        changes={"rows": len(rows), "signals": len(signals)},
    )
    return {"rows": len(rows), "signals": len(signals)}
