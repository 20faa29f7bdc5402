"""What the risk services share: text checks, who may act (the task force, the competent
department), row locks in scope, and the recipients of their notifications."""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import notify
from qinglang.accounts.permissions import competent_or_task_force, is_system, lock_in_scope
from qinglang.accounts.scope import actor_for, in_scope
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.registry.models import Institution

from ..models import Alert

MAX_TEXT = 2000


def _uid(actor) -> int | None:
    return getattr(actor, "pk", None)


def _text(value, field: str, label: str, *, max_len: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: format_lazy(_("请填写{label}"), label=label)})
    if len(value) > max_len:
        raise ValidationError(
            {field: format_lazy(_("{label}不能超过{max_len}字"), label=label, max_len=max_len)}
        )
    return value


def is_task_force(actor, division_code: str) -> bool:
    """The county's task force (维稳专班): regulator leaders without a department whose
    scope covers the division, and the platform admin."""
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    if Role.REGULATOR_LEADER not in a.roles:
        return False
    return any(not dept and any(division_code.startswith(p) for p in ps) for ps, dept in a.regulator)


def may_handle(actor, alert: Alert) -> bool:
    """Leaders and officers of the competent department (or without a department) whose
    scope covers the institution."""
    return competent_or_task_force(actor, alert.division_code, alert.department_kind)


def _lock_institution(actor, institution_id: int) -> Institution:
    inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound(_("机构"))
    return inst


def _lock_alert(actor, alert_id: int) -> Alert:
    alert = lock_in_scope(Alert, alert_id, actor=actor, what="预警", related=("institution",))
    if not may_handle(actor, alert):
        raise PermissionDeniedError(_("无权处置该预警"))
    return alert


# --- recipients ---------------------------------------------------------------------------


class People:
    """Active regulator memberships, loaded once per call and indexed by area, to pick
    recipients (a first day of scoring asks for hundreds of thousands of alerts)."""

    def __init__(self):
        self.by_prefix: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.leaders: dict[str, set[int]] = defaultdict(set)
        for uid, role, prefixes, dept in Membership.objects.filter(
            role__in=[Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER], active=True, user__is_active=True
        ).values_list("user_id", "role", "division_prefixes", "department_kind"):
            for p in prefixes or ():
                if dept and len(p) >= 6:
                    self.by_prefix[(p, dept)].add(uid)
                if role == Role.REGULATOR_LEADER and not dept:
                    self.leaders[p].add(uid)

    def department(self, division_code: str, kind: str) -> set[int]:
        """The department's people whose area (a county or below) covers the division."""
        if not kind:
            return set()
        out: set[int] = set()
        for n in range(6, len(division_code) + 1):
            out |= self.by_prefix.get((division_code[:n], kind), set())
        return out

    def task_force(self, division_code: str) -> set[int]:
        """The county's leaders without a department."""
        return set(self.leaders.get(division_code[:6], ()))


def _send(recipients, *, kind: str, title: str, body: str, link: str, actor, obj) -> None:
    notify(
        recipients,
        kind=kind,
        title=title,
        body=body,
        link=link,
        actor=actor,
        division_code=getattr(obj, "division_code", ""),
        about=(obj._meta.label_lower, str(obj.pk)),
    )


def _alert_link(alert: Alert) -> str:
    return reverse("portal:risk_alert", args=[alert.pk])
