"""Alert handling: the steps taken (on-site check, payouts frozen, enrolment stopped,
referrals), closing, and escalation of overdue alerts to the task force."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import system
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError
from qinglang.core.i18n import chinese_display
from qinglang.registry.models import InstitutionStatus

from ..models import ALERT_STATES, ActionKind, Alert, AlertAction, AlertStatus
from .common import People, _alert_link, _lock_alert, _send, _text, _uid


def alert_act(*, actor, alert_id: int, kind: str, note: str, due_on: date | None = None) -> AlertAction:
    """One handling step. An on-site check opens an inspection task; a request to the
    custody bank freezes payouts; an order to stop enrolling goes through the registry."""
    if kind not in ActionKind.values:
        raise ValidationError({"kind": format_lazy(_("未知的处置措施：{kind}"), kind=kind)})
    note = _text(note, "note", "情况说明")
    with transaction.atomic():
        alert = _lock_alert(actor, alert_id)
        if alert.status == AlertStatus.CLOSED:
            raise DomainError("alert_closed", _("预警已办结，不能再添加处置措施"), status=409)
        inst = alert.institution
        ref = ""
        if kind == ActionKind.ONSITE_CHECK:
            from qinglang.inspections.services import inspection_task_create_adhoc

            task = inspection_task_create_adhoc(
                actor=actor,
                institution_id=inst.pk,
                due_on=due_on or add_working_days(timezone.localdate(), 3),
                reason=f"风险预警#{alert.pk}现场核查：{note}"[:300],
                origin="adhoc",
                origin_ref=f"risk-alert-{alert.pk}",
            )
            ref = f"inspection_task:{task.pk}"
        elif kind == ActionKind.STOP_PAYOUTS:
            from qinglang.funds.services import releases_freeze

            try:
                releases_freeze(
                    actor=actor, institution_id=inst.pk, reason=f"风险预警#{alert.pk}：{note}"[:500]
                )
            except DomainError as exc:
                if exc.code != "no_custody_account":
                    raise
                raise DomainError(
                    "no_custody_account", _("机构未开立监管账户，无法函告银行暂停拨付"), status=422
                ) from exc
            ref = "releases_frozen"
        elif kind == ActionKind.STOP_ENROLLING:
            from qinglang.registry.services import institution_stop_enrollment

            if inst.status != InstitutionStatus.STOP_ENROLLMENT:
                institution_stop_enrollment(
                    actor=actor, institution_id=inst.pk, reason=f"风险预警#{alert.pk}：{note}"
                )
            ref = "stop_enrollment"
        action = AlertAction.objects.create(alert=alert, kind=kind, note=note, ref=ref, actor_id=_uid(actor))
        if alert.status == AlertStatus.OPEN:
            ALERT_STATES.move(
                alert, AlertStatus.HANDLING, actor=actor, reason=chinese_display(action, "kind")
            )
        audit_record(
            actor=actor,
            action=f"risk.alert_{kind}",
            obj=alert,
            changes={"kind": kind, "note": note, "ref": ref},
        )
        people = People()
        recipients = people.department(alert.division_code, alert.department_kind)
        if kind in (ActionKind.POLICE_REFERRAL, ActionKind.LABOUR_REFERRAL):
            recipients |= people.department(
                alert.division_code,
                "public_security" if kind == ActionKind.POLICE_REFERRAL else "human_resources",
            )
        recipients.discard(_uid(actor))
        _send(
            recipients,
            kind=f"risk.alert_{kind}",
            title=f"预警#{alert.pk}{inst.name}：{chinese_display(action, 'kind')}",
            body=note[:200],
            link=_alert_link(alert),
            actor=actor,
            obj=alert,
        )
    return action


def alert_close(*, actor, alert_id: int, result: str) -> Alert:
    result = _text(result, "result", "处置结果")
    with transaction.atomic():
        alert = _lock_alert(actor, alert_id)
        alert.result = result
        alert.closed_at = timezone.now()
        ALERT_STATES.move(
            alert, AlertStatus.CLOSED, actor=actor, reason=result, fields=("result", "closed_at")
        )
    return alert


def alerts_escalate_overdue(*, today: date | None = None, actor=system("risk-escalation")) -> int:
    """Alerts still open past their time limit go to the task force, once each."""
    today = today or timezone.localdate()
    with transaction.atomic():
        overdue = list(
            Alert.objects.select_for_update()
            .filter(escalated=False, due_on__lt=today)
            .exclude(status=AlertStatus.CLOSED)
            .select_related("institution")
        )
        if not overdue:
            return 0
        Alert.objects.filter(pk__in=[a.pk for a in overdue]).update(escalated=True)
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    "risk.alert_escalate",
                    "risk.alert",
                    str(a.pk),
                    a.division_code,
                    {"due_on": a.due_on.isoformat()},
                )
                for a in overdue
            ],
        )
        people = People()
        for a in overdue:
            _send(
                people.task_force(a.division_code) | people.department(a.division_code, a.department_kind),
                kind="risk.alert_overdue",
                title=f"预警#{a.pk}{a.institution.name}超过处置时限，提请专班督办",
                body=f"处置时限{a.due_on}；当前{chinese_display(a, 'status')}。",
                link=_alert_link(a),
                actor=actor,
                obj=a,
            )
    return len(overdue)
