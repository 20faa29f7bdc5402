"""Guardians (包保责任人) of orange and red institutions: assigned by the task force,
their check-in visits, and escalation of missed visits."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.permissions import system
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.policy import PolicyBatch, policy_resolve

from ..models import GUARDED_LEVELS, CheckIn, Guardian, RiskState
from ..policy import CHECKIN_DAYS_KEY, RiskPolicy
from .common import People, _lock_institution, _send, _text, _uid, is_task_force


def _checkin_days(division_code: str) -> int:
    return int(RiskPolicy(timezone.localdate()).value("risk.guardian_checkin_days", division_code))


def guardian_assign(*, actor, institution_id: int, unit: str, user_id: int) -> Guardian:
    """The task force names a unit and a person for an orange or red institution; the
    person must be a regulator or grid worker whose area covers the institution."""
    unit = _text(unit, "unit", "包保单位", max_len=100)
    with transaction.atomic():
        inst = _lock_institution(actor, institution_id)
        if not is_task_force(actor, inst.division_code):
            raise PermissionDeniedError(_("包保责任人由维稳专班指定"))
        state = RiskState.objects.filter(institution_id=inst.pk).first()
        if state is None or state.level not in GUARDED_LEVELS:
            raise DomainError(
                "not_at_risk",
                _("只有橙色、红色预警机构需要指定包保责任人"),
                {"level": getattr(state, "level", "blue")},
                status=409,
            )
        covers = Membership.objects.filter(
            user_id=user_id,
            user__is_active=True,
            active=True,
            role__in=[Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER],
        ).values_list("division_prefixes", flat=True)
        if not any(inst.division_code.startswith(p) for prefixes in covers for p in (prefixes or ())):
            raise ValidationError(
                {"user_id": _("包保责任人须为机构所在区域的监管人员或网格员(所选人员不在该区域)")}
            )
        previous = Guardian.objects.select_for_update().filter(institution=inst, active=True).first()
        today = timezone.localdate()
        if previous is not None:
            previous.active = False
            previous.ended_on = today
            previous.ended_reason = "专班另行指定包保责任人"
            previous.save(update_fields=["active", "ended_on", "ended_reason"])
        rule = policy_resolve(CHECKIN_DAYS_KEY, inst.division_code, on=today)
        g = Guardian.objects.create(
            institution=inst,
            unit=unit,
            user_id=user_id,
            assigned_on=today,
            next_due=today + timedelta(days=int(rule.value)),
            assigned_by_id=_uid(actor),
            division_code=inst.division_code,
        )
        audit_record(
            actor=actor,
            action="risk.guardian_assign",
            obj=g,
            changes={
                "institution_id": inst.pk,
                "unit": unit,
                "user_id": user_id,
                "replaces": getattr(previous, "pk", None),
                "next_due": g.next_due.isoformat(),
                **rule.cite(),  # the interval names the rule that set it
            },
        )
        _send(
            [user_id],
            kind="risk.guardian",
            title=f"您已被指定为{inst.name}的包保责任人",
            body=f"包保单位：{unit}；请于{g.next_due}前完成首次走访。",
            link=reverse("portal:risk_checkin", args=[g.pk]),
            actor=actor,
            obj=g,
        )
    return g


def checkin_record(*, actor, guardian_id: int, visited_on: date, seen: str, photos=()) -> CheckIn:
    """The guardian's visit. Refused when the institution is no longer at risk."""
    seen = _text(seen, "seen", "走访情况")
    photo_files = files.read_photos(photos)
    today = timezone.localdate()
    if not isinstance(visited_on, date):
        raise ValidationError({"visited_on": _("请填写走访日期")})
    if visited_on > today:
        raise ValidationError({"visited_on": _("走访日期不能晚于今天")})
    with transaction.atomic():
        g = Guardian.objects.select_for_update().filter(pk=guardian_id, user_id=_uid(actor)).first()
        if g is None:
            raise NotFound(_("包保任务"))
        if not g.active:
            raise DomainError(
                "not_at_risk",
                format_lazy(
                    _("该机构已不在橙色、红色预警(包保已于{ended_on}结束：{ended_reason})，无需再走访"),
                    ended_on=g.ended_on,
                    ended_reason=g.ended_reason,
                ),
                {"ended_on": str(g.ended_on)},
                status=409,
            )
        if visited_on < g.assigned_on:
            raise ValidationError({"visited_on": _("走访日期不能早于包保起始日期")})
        stored = [
            {
                "path": files.store(data, folder="risk", suffix=f".{ext}")[0],
                "sha256": digest,
                "content_type": ctype,
            }
            for data, ctype, ext, digest in photo_files
        ]
        c = CheckIn.objects.create(guardian=g, visited_on=visited_on, seen=seen, photos=stored)
        g.next_due = max(g.next_due, visited_on + timedelta(days=_checkin_days(g.division_code)))
        g.save(update_fields=["next_due"])
        audit_record(
            actor=actor,
            action="risk.checkin",
            obj=g,
            changes={"checkin_id": c.pk, "visited_on": visited_on.isoformat(), "photos": len(stored)},
        )
    return c


def guardians_escalate_missed(*, today: date | None = None, actor=system("risk-guardian")) -> int:
    """A guardian past the check-in date is reported to the task force once per missed
    date (a later visit sets a new date, which may be escalated in its turn)."""
    from django.db.models import F, Q

    today = today or timezone.localdate()
    with transaction.atomic():
        missed = list(
            Guardian.objects.select_for_update()
            .filter(active=True, next_due__lt=today)
            .filter(Q(escalated_due__isnull=True) | ~Q(escalated_due=F("next_due")))
            .select_related("institution", "user")
        )
        if not missed:
            return 0
        for g in missed:
            g.escalated_due = g.next_due
        Guardian.objects.bulk_update(missed, ["escalated_due"])
        rules = PolicyBatch([CHECKIN_DAYS_KEY], on=today)  # one query, each division once
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    "risk.checkin_missed",
                    "risk.guardian",
                    str(g.pk),
                    g.division_code,
                    {
                        "due": g.next_due.isoformat(),
                        **rules.resolve(CHECKIN_DAYS_KEY, g.division_code).cite(),
                    },
                )
                for g in missed
            ],
        )
        people = People()
        for g in missed:
            _send(
                people.task_force(g.division_code) | {g.user_id},
                kind="risk.checkin_missed",
                title=f"包保走访逾期：{g.institution.name}",
                body=f"包保单位{g.unit}、责任人{g.user.display_name or g.user.username}应于{g.next_due}前走访。",
                link=reverse("portal:risk_board"),
                actor=actor,
                obj=g,
            )
    return len(missed)
