"""卷款跑路: the runaway plan (registry status, payouts held, pro-rata refunds, referrals)."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import REGULATOR_WRITERS, is_system
from qinglang.accounts.scope import actor_for
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, PermissionDeniedError

from ..models import ALERT_STATES, ActionKind, Alert, AlertAction, AlertStatus, Level, RunawayPlan
from .common import People, _lock_institution, _send, _text, _uid, is_task_force


def runaway_mark(*, actor, institution_id: int, reason: str) -> RunawayPlan:
    """卷款跑路: the registry status, payouts frozen (a release in today's instruction is
    withdrawn), the pro-rata refund plan from custody, referrals for unpaid staff."""
    reason = _text(reason, "reason", "认定依据")
    from qinglang.funds.models import CustodyAccount
    from qinglang.funds.services.payout_hold import payout_hold, pro_rata_plan
    from qinglang.registry.models import Staff
    from qinglang.registry.services import institution_mark_runaway

    today = timezone.localdate()
    with transaction.atomic():
        inst = _lock_institution(actor, institution_id)
        if not (is_system(actor) or is_task_force(actor, inst.division_code)):
            a = actor_for(actor)
            if not (a.roles & REGULATOR_WRITERS):
                raise PermissionDeniedError(_("认定卷款跑路须由监管部门或专班作出"))
        if RunawayPlan.objects.filter(institution=inst).exists():
            raise DomainError("already_runaway", _("该机构已认定卷款跑路"), status=409)
        institution_mark_runaway(actor=actor, institution_id=inst.pk, reason=reason)
        stopped: list[str] = []
        if CustodyAccount.objects.filter(institution_id=inst.pk).exists():
            stopped = payout_hold(
                actor=actor, institution_id=inst.pk, day=today, reason=f"卷款跑路：{reason}"
            )
        plan = pro_rata_plan(inst.pk)
        staff = Staff.objects.filter(institution=inst, left_on__isnull=True).count()
        dept = inst.competent_department.kind if inst.competent_department_id else ""
        rp = RunawayPlan.objects.create(
            institution=inst,
            custody_fen=plan["custody_fen"],
            claims_fen=plan["claims_fen"],
            lines=plan["lines"],
            payouts_stopped=stopped,
            staff_referred=staff,
            division_code=inst.division_code,
            department_kind=dept,
            created_by_id=_uid(actor),
        )
        alert = Alert.objects.select_for_update().filter(institution=inst).exclude(status="closed").first()
        if alert is None:
            alert = Alert.objects.create(
                institution=inst,
                level=Level.RED,
                opened_on=today,
                due_on=today,
                explanation={"runaway": reason},
                division_code=inst.division_code,
                department_kind=dept,
            )
            ALERT_STATES.record_many(
                [(alert.pk, AlertStatus.OPEN, AlertStatus.OPEN)], actor=actor, reason=f"卷款跑路：{reason}"
            )
        if staff:
            AlertAction.objects.create(
                alert=alert,
                kind=ActionKind.LABOUR_REFERRAL,
                note=f"卷款跑路，在职教职工{staff}人可能被拖欠工资，移交劳动监察",
                ref=f"runaway:{rp.pk}",
                actor_id=_uid(actor),
            )
        audit_record(
            actor=actor,
            action="risk.runaway",
            obj=rp,
            changes={
                "institution_id": inst.pk,
                "reason": reason,
                "payouts_stopped": stopped,
                "custody_fen": rp.custody_fen,
                "claims_fen": rp.claims_fen,
                "orders": len(rp.lines),
                "staff_referred": staff,
            },
        )
        people = People()
        _send(
            people.task_force(inst.division_code)
            | people.department(inst.division_code, dept)
            | people.department(inst.division_code, "human_resources")
            | people.department(inst.division_code, "public_security"),
            kind="risk.runaway",
            title=f"卷款跑路：{inst.name}",
            body=f"已暂停拨付；未消课预收费{rp.claims_fen / 100:.2f}元，监管余额{rp.custody_fen / 100:.2f}元，"
            f"涉及订单{len(rp.lines)}笔、教职工{staff}人。",
            link=reverse("portal:risk_runaway", args=[rp.pk]),
            actor=actor,
            obj=rp,
        )
    return rp
