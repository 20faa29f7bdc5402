"""Every read of the risk app, narrowed by ``accounts.scope.restrict``. Institution users
and parents see nothing here: no risk model declares an institution or owner path (a
guardian sees their own guardianships)."""

from collections import defaultdict

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import actor_for, restrict
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.registry.models import Institution

from .models import (
    GUARDED_LEVELS,
    Alert,
    AlertStatus,
    Guardian,
    RiskReport,
    RiskScore,
    RiskSignal,
    RiskState,
    RunawayPlan,
)
from .services import is_task_force, may_handle


def alerts_for(user, *, status: str = "", level: str = ""):
    qs = restrict(Alert.objects.select_related("institution"), user)
    if status == "open":
        qs = qs.exclude(status=AlertStatus.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("due_on", "-id")


def alert_get(user, alert_id: int) -> Alert:
    a = alerts_for(user).filter(pk=alert_id).first()
    if a is None:
        raise NotFound(_("预警"))
    return a


def institution_risk(user, institution_id: int) -> dict:
    """Level, today's signals with evidence, score history: for regulators in scope."""
    a = actor_for(user)
    if not (a.regulator or a.is_platform_admin):
        raise NotFound(_("机构"))  # an institution never sees its own risk level
    inst = (
        restrict(Institution.objects.all(), user, regulator_department=False)
        .filter(pk=institution_id)
        .first()
    )
    if inst is None:
        raise NotFound(_("机构"))
    state = RiskState.objects.filter(institution_id=institution_id).first()
    history = list(RiskScore.objects.filter(institution_id=institution_id).order_by("-day")[:90])
    last_day = history[0].day if history else None
    signals = list(RiskSignal.objects.filter(institution_id=institution_id, day=last_day)) if last_day else []
    reports = list(RiskReport.objects.filter(institution_id=institution_id).order_by("-observed_on")[:20])
    return {"institution": inst, "state": state, "history": history, "signals": signals, "reports": reports}


def my_guardianships(user):
    return (
        Guardian.objects.filter(user_id=user.pk, active=True)
        .select_related("institution")
        .order_by("next_due")
    )


def guardian_get(user, guardian_id: int) -> Guardian:
    g = Guardian.objects.filter(pk=guardian_id, user_id=user.pk).select_related("institution").first()
    if g is None:
        raise NotFound(_("包保任务"))
    return g


def runaway_get(user, plan_id: int) -> RunawayPlan:
    rp = (
        restrict(RunawayPlan.objects.select_related("institution"), user, regulator_department=False)
        .filter(pk=plan_id)
        .first()
    )
    if rp is None:
        raise NotFound(_("跑路处置"))
    return rp


def may_see_parents(user, rp: RunawayPlan) -> bool:
    """Parents' details are for the handling roles only: the competent department's
    leaders and officers and the task force."""
    return may_handle(user, Alert(division_code=rp.division_code, department_kind=rp.department_kind))


def runaway_orders(user, rp: RunawayPlan) -> list[dict]:
    from qinglang.funds.models import Order

    show = may_see_parents(user, rp)
    orders = Order.objects.in_bulk([ln["order_id"] for ln in rp.lines])
    out = []
    for ln in rp.lines:
        o = orders.get(ln["order_id"])
        row = {**ln, "learner": "", "parent": "", "phone": ""}
        if o is not None:
            if show:
                parent = o.parent
                row.update(
                    learner=o.learner_name,
                    parent=(parent.display_name or parent.username) if parent else "",
                    phone=parent.phone if parent else "",
                )
            else:
                row.update(learner=o.learner_name[:1] + "*" * max(len(o.learner_name) - 1, 1))
        out.append(row)
    return out


def _task_force_prefixes(user) -> list[str]:
    a = actor_for(user)
    if a.is_platform_admin:
        return [""]
    return (
        sorted({p for ps, dept in a.regulator if not dept for p in ps})
        if "regulator_leader" in a.roles
        else []
    )


def board(user) -> dict:
    """The task force's board (维稳专班): every orange and red institution of its area,
    ranked by score, with the fees at stake, pupils and staff, guardian, last check-in and
    open actions; and a summary per township."""
    from qinglang.funds.models import Order
    from qinglang.registry.models import Staff

    prefixes = _task_force_prefixes(user)
    if not prefixes:
        raise PermissionDeniedError(_("风险看板仅向维稳专班开放"))
    q = Q()
    for p in prefixes:
        q |= Q(division_code__startswith=p)
    states = list(
        RiskState.objects.filter(q, level__in=GUARDED_LEVELS)
        .select_related("institution")
        .order_by("-score", "institution_id")
    )
    ids = [s.institution_id for s in states]
    held = defaultdict(int)
    pupils = defaultdict(set)
    for inst, paid, refunded, released, learner in Order.objects.filter(
        institution_id__in=ids, status__in=["paid", "refund_requested"]
    ).values_list("institution_id", "paid_fen", "refunded_fen", "released_fen", "learner_name"):
        held[inst] += max(paid - refunded - released, 0)
        pupils[inst].add(learner)
    staff = dict(
        Staff.objects.filter(institution_id__in=ids, left_on__isnull=True)
        .values("institution_id")
        .annotate(n=Count("pk"))
        .values_list("institution_id", "n")
    )
    guardians = {
        g.institution_id: g
        for g in Guardian.objects.filter(institution_id__in=ids, active=True).select_related("user")
    }
    last = {}
    for g in guardians.values():
        c = g.checkins.first()
        last[g.institution_id] = c.visited_on if c else None
    alerts = {
        a.institution_id: a for a in Alert.objects.filter(institution_id__in=ids).exclude(status="closed")
    }
    open_actions = dict(
        Alert.objects.filter(institution_id__in=ids)
        .exclude(status="closed")
        .annotate(n=Count("actions"))
        .values_list("institution_id", "n")
    )
    from qinglang.core.models import Division

    townships = {s.institution.division_code[:9] for s in states}
    names = dict(Division.objects.filter(code__in=townships).values_list("code", "name"))
    rows, per_township = [], {}
    for rank, s in enumerate(states, 1):
        g = guardians.get(s.institution_id)
        tw = s.institution.division_code[:9]
        row = {
            "rank": rank,
            "institution": s.institution,
            "township": names.get(tw, tw),
            "level": s.level,
            "level_label": s.get_level_display(),
            "score": s.score,
            "since": s.since,
            "held_fen": held[s.institution_id],
            "pupils": len(pupils[s.institution_id]),
            "staff": staff.get(s.institution_id, 0),
            "guardian": f"{g.unit} {g.user.display_name or g.user.username}" if g else "",
            "guardian_obj": g,
            "last_checkin": last.get(s.institution_id),
            "next_due": g.next_due if g else None,
            "alert": alerts.get(s.institution_id),
            "open_actions": open_actions.get(s.institution_id, 0),
        }
        rows.append(row)
        t = per_township.setdefault(
            tw,
            {
                "township": names.get(tw, tw),
                "orange": 0,
                "red": 0,
                "held_fen": 0,
                "pupils": 0,
                "unguarded": 0,
            },
        )
        t[s.level] += 1
        t["held_fen"] += row["held_fen"]
        t["pupils"] += row["pupils"]
        t["unguarded"] += 0 if g else 1
    return {
        "rows": rows,
        "townships": sorted(per_township.values(), key=lambda t: (-t["red"], -t["orange"], t["township"])),
    }


def may_see_board(user) -> bool:
    return bool(_task_force_prefixes(user))


__all__ = ["alerts_for", "board", "is_task_force"]
