"""Every write of the risk app: manual signals, what follows a level change (alerts for the
competent department, guardians ended), alert handling and escalation, guardians and
their check-ins, and the runaway plan. Each checks who may act inside its transaction
and leaves an audit event; notifications go through ``accounts.notifications.notify``."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import notify
from qinglang.accounts.permissions import REGULATOR_WRITERS, is_system, lock_in_scope, system
from qinglang.accounts.scope import actor_for, division_in_scope, in_scope
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.registry.models import Institution, Status

from .models import (
    ALERT_TRANSITIONS,
    GUARDED_LEVELS,
    LEVEL_RANK,
    ActionKind,
    Alert,
    AlertAction,
    AlertStatus,
    AlertTransition,
    CheckIn,
    Guardian,
    Level,
    RiskReport,
    RiskState,
    RunawayPlan,
    SignalSource,
)
from .policy import RiskPolicy
from .signals import MANUAL_KINDS

LEVEL_INDEX = {Level.YELLOW: 0, Level.ORANGE: 1, Level.RED: 2}
MAX_TEXT = 2000


def _uid(actor) -> int | None:
    return getattr(actor, "pk", None)


def _text(value, field: str, label: str, *, max_len: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"请填写{label}"})
    if len(value) > max_len:
        raise ValidationError({field: f"{label}不能超过{max_len}字"})
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
    if is_system(actor):
        return True
    a = actor_for(actor)
    if a.is_platform_admin:
        return True
    if not (a.roles & REGULATOR_WRITERS):
        return False
    return any(
        (not dept or dept == alert.department_kind) and any(alert.division_code.startswith(p) for p in ps)
        for ps, dept in a.regulator
    )


def _lock_institution(actor, institution_id: int) -> Institution:
    inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
    if inst is None or not in_scope(inst, actor, regulator_department=False):
        raise NotFound("机构")
    return inst


def _lock_alert(actor, alert_id: int) -> Alert:
    alert = lock_in_scope(Alert, alert_id, actor=actor, what="预警", related=("institution",))
    if not may_handle(actor, alert):
        raise PermissionDeniedError("无权处置该预警")
    return alert


def _move(alert: Alert, to: str, *, actor, note: str = "") -> None:
    """The alert state machine: one allowed move, an insert-only transition row."""
    if to not in ALERT_TRANSITIONS[alert.status]:
        labels = dict(AlertStatus.choices)
        raise IllegalTransition(
            "risk.alert", labels[alert.status], labels[to], sorted(ALERT_TRANSITIONS[alert.status])
        )
    AlertTransition.objects.create(
        alert=alert, from_status=alert.status, to_status=to, note=note[:MAX_TEXT], actor_id=_uid(actor)
    )
    alert.status = to


# --- recipients ---------------------------------------------------------------------------


class People:
    """Active regulator memberships, loaded once per call, to pick recipients."""

    def __init__(self):
        self.rows = list(
            Membership.objects.filter(
                role__in=[Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER], active=True, user__is_active=True
            ).values_list("user_id", "role", "division_prefixes", "department_kind")
        )

    def department(self, division_code: str, kind: str) -> set[int]:
        return {
            uid
            for uid, _r, prefixes, dept in self.rows
            if dept == kind
            and kind
            and any(len(p) >= 6 and division_code.startswith(p) for p in prefixes or ())
        }

    def task_force(self, division_code: str) -> set[int]:
        county = division_code[:6]
        return {
            uid
            for uid, role, prefixes, dept in self.rows
            if role == Role.REGULATOR_LEADER and not dept and county in (prefixes or ())
        }


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


# --- manual signals -----------------------------------------------------------------------


def _source_of(actor, inst: Institution) -> str:
    """Who reports: a bank operator for an institution banking with it, the labour
    inspection (人社), the police, a township (街道 or grid worker), else the department."""
    a = actor_for(actor)
    if a.is_platform_admin:
        return SignalSource.REGULATOR
    depts = {dept for _ps, dept in a.regulator}
    if a.regulator and division_in_scope(actor, inst.division_code):
        if "public_security" in depts:
            return SignalSource.POLICE
        if "human_resources" in depts:
            return SignalSource.LABOUR
        if "township_government" in depts or Role.GRID_WORKER in a.roles:
            return SignalSource.TOWNSHIP
        return SignalSource.REGULATOR
    if a.bank_ids and Role.BANK_OPERATOR in a.roles:
        from qinglang.funds.models import CustodyAccount

        if CustodyAccount.objects.filter(institution_id=inst.pk, bank_id__in=a.bank_ids).exists():
            return SignalSource.BANK
    raise NotFound("机构")


def report_create(
    *,
    actor,
    institution_id: int,
    kind: str,
    reporter_unit: str,
    observed_on: date,
    evidence: str,
    photo=None,
) -> RiskReport:
    """A signal entered by hand, with evidence (a description, and a photo or scan)."""
    if kind not in MANUAL_KINDS:
        raise ValidationError({"kind": f"不能人工报送的信号类型：{kind}"})
    evidence = _text(evidence, "evidence", "证据说明(看到了什么、谁反映、何时何地)")
    if len(evidence) < 10:
        raise ValidationError({"evidence": "证据说明过短：请写明看到了什么、谁反映、何时何地(至少10字)"})
    reporter_unit = _text(reporter_unit, "reporter_unit", "报送单位", max_len=100)
    today = timezone.localdate()
    if not isinstance(observed_on, date):
        raise ValidationError({"observed_on": "请填写发现日期"})
    if observed_on > today:
        raise ValidationError({"observed_on": "发现日期不能晚于今天"})
    stored = ("", "")
    if photo is not None:
        from qinglang.clues.services.intake import check_photo

        data = photo.read() if hasattr(photo, "read") else photo
        _ctype, ext, digest = check_photo(data, getattr(photo, "name", ""))
        stored = (files.store(data, folder="risk", suffix=f".{ext}")[0], digest)
    with transaction.atomic():
        inst = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if inst is None:
            raise NotFound("机构")
        source = _source_of(actor, inst)
        r = RiskReport.objects.create(
            institution=inst,
            kind=kind,
            source=source,
            reporter_unit=reporter_unit,
            observed_on=observed_on,
            evidence=evidence,
            evidence_file=stored[0],
            evidence_sha256=stored[1],
            division_code=inst.division_code,
            reported_by_id=_uid(actor),
        )
        audit_record(
            actor=actor,
            action="risk.report",
            obj=r,
            division_code=inst.division_code,
            changes={
                "institution_id": inst.pk,
                "kind": kind,
                "source": source,
                "observed_on": observed_on.isoformat(),
            },
        )
    return r


# --- what follows a level change ----------------------------------------------------------


def _due_rule(level: str, pol: RiskPolicy, division_code: str) -> dict:
    """The time limit of a level's alert and the rule (and division) that set it."""
    days, set_in = pol.get("risk.alert_days", division_code)
    return {"rule": "risk.alert_days", "working_days": int(days[LEVEL_INDEX[level]]), "set_in": set_in}


def _due(level: str, opened: date, pol: RiskPolicy, division_code: str) -> date:
    return add_working_days(opened, _due_rule(level, pol, division_code)["working_days"])


def level_changes_follow(changes: list, *, day: date, actor) -> None:
    """Called by the scorer inside its transaction: a rise to yellow or above opens (or
    raises) the institution's alert for its competent department; a fall below orange ends
    the guardianship; a rise to orange or red asks the task force for a guardian."""
    pol = RiskPolicy(day)
    people = People()
    ids = [c[0] for c in changes]
    open_alerts = {
        a.institution_id: a for a in Alert.objects.filter(institution_id__in=ids).exclude(status="closed")
    }
    guardians = {g.institution_id: g for g in Guardian.objects.filter(institution_id__in=ids, active=True)}
    names = dict(Institution.objects.filter(pk__in=ids).values_list("pk", "name"))
    labels = dict(Level.choices)
    for inst, old, new, score, explanation, div, dept in changes:
        rising = LEVEL_RANK[new] > LEVEL_RANK[old]
        if rising and new != Level.BLUE:
            alert = open_alerts.get(inst)
            if alert is None:
                alert = Alert.objects.create(
                    institution_id=inst,
                    level=new,
                    opened_on=day,
                    due_on=_due(new, day, pol, div),
                    explanation={**explanation, "due": _due_rule(new, pol, div)},
                    division_code=div,
                    department_kind=dept,
                )
                AlertTransition.objects.create(alert=alert, from_status="", to_status=AlertStatus.OPEN)
                action = "risk.alert_open"
            elif LEVEL_RANK[new] > LEVEL_RANK[alert.level]:
                alert.level = new
                alert.due_on = min(alert.due_on, _due(new, day, pol, div))
                alert.explanation = {**explanation, "due": _due_rule(new, pol, div)}
                alert.save(update_fields=["level", "due_on", "explanation"])
                action = "risk.alert_raise"
            else:
                continue
            audit_record(
                actor=actor,
                action=action,
                obj=alert,
                division_code=div,
                changes={"level": [old, new], "score": score, "due_on": alert.due_on.isoformat()},
            )
            recipients = people.department(div, dept) or people.task_force(div)
            if new in GUARDED_LEVELS:
                recipients |= people.task_force(div)
            _send(
                recipients,
                kind="risk.alert",
                title=f"{labels[new]}：{names.get(inst, inst)}(风险分{score})",
                body=f"请于{alert.due_on}前处置；{'需由专班指定包保责任人。' if new in GUARDED_LEVELS else ''}",
                link=_alert_link(alert),
                actor=actor,
                obj=alert,
            )
        g = guardians.get(inst)
        if g is not None and new not in GUARDED_LEVELS:
            g.active = False
            g.ended_on = day
            g.ended_reason = f"风险等级降至{labels[new]}"
            g.save(update_fields=["active", "ended_on", "ended_reason"])
            audit_record(actor=actor, action="risk.guardian_end", obj=g, changes={"level": [old, new]})


# --- alerts -------------------------------------------------------------------------------


def alert_act(*, actor, alert_id: int, kind: str, note: str, due_on: date | None = None) -> AlertAction:
    """One handling step. An on-site check opens an inspection task; a request to the
    custody bank freezes payouts; an order to stop enrolling goes through the registry."""
    if kind not in ActionKind.values:
        raise ValidationError({"kind": f"未知的处置措施：{kind}"})
    note = _text(note, "note", "情况说明")
    with transaction.atomic():
        alert = _lock_alert(actor, alert_id)
        if alert.status == AlertStatus.CLOSED:
            raise DomainError("alert_closed", "预警已办结，不能再添加处置措施", status=409)
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
                    "no_custody_account", "机构未开立监管账户，无法函告银行暂停拨付", status=422
                ) from exc
            ref = "releases_frozen"
        elif kind == ActionKind.STOP_ENROLLING:
            from qinglang.registry.services import institution_stop_enrollment

            if inst.status != Status.STOP_ENROLLMENT:
                institution_stop_enrollment(
                    actor=actor, institution_id=inst.pk, reason=f"风险预警#{alert.pk}：{note}"
                )
            ref = "stop_enrollment"
        action = AlertAction.objects.create(alert=alert, kind=kind, note=note, ref=ref, actor_id=_uid(actor))
        if alert.status == AlertStatus.OPEN:
            _move(alert, AlertStatus.HANDLING, actor=actor, note=f"{action.get_kind_display()}")
            alert.save(update_fields=["status"])
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
            title=f"预警#{alert.pk}{inst.name}：{action.get_kind_display()}",
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
        _move(alert, AlertStatus.CLOSED, actor=actor, note=result)
        alert.result = result
        alert.closed_at = timezone.now()
        alert.save(update_fields=["status", "result", "closed_at"])
        audit_record(actor=actor, action="risk.alert_close", obj=alert, changes={"result": result})
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
                body=f"处置时限{a.due_on}；当前{a.get_status_display()}。",
                link=_alert_link(a),
                actor=actor,
                obj=a,
            )
    return len(overdue)


# --- guardians ----------------------------------------------------------------------------


def _checkin_days(division_code: str) -> int:
    return int(RiskPolicy(timezone.localdate()).value("risk.guardian_checkin_days", division_code))


def guardian_assign(*, actor, institution_id: int, unit: str, user_id: int) -> Guardian:
    """The task force names a unit and a person for an orange or red institution; the
    person must be a regulator or grid worker whose area covers the institution."""
    unit = _text(unit, "unit", "包保单位", max_len=100)
    with transaction.atomic():
        inst = _lock_institution(actor, institution_id)
        if not is_task_force(actor, inst.division_code):
            raise PermissionDeniedError("包保责任人由维稳专班指定")
        state = RiskState.objects.filter(institution_id=inst.pk).first()
        if state is None or state.level not in GUARDED_LEVELS:
            raise DomainError(
                "not_at_risk",
                "只有橙色、红色预警机构需要指定包保责任人",
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
                {"user_id": "包保责任人须为机构所在区域的监管人员或网格员(所选人员不在该区域)"}
            )
        previous = Guardian.objects.select_for_update().filter(institution=inst, active=True).first()
        today = timezone.localdate()
        if previous is not None:
            previous.active = False
            previous.ended_on = today
            previous.ended_reason = "专班另行指定包保责任人"
            previous.save(update_fields=["active", "ended_on", "ended_reason"])
        g = Guardian.objects.create(
            institution=inst,
            unit=unit,
            user_id=user_id,
            assigned_on=today,
            next_due=today + timedelta(days=_checkin_days(inst.division_code)),
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
                "rule": "risk.guardian_checkin_days",
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
    from qinglang.clues.services.intake import read_photos

    photo_files = read_photos(photos)
    today = timezone.localdate()
    if not isinstance(visited_on, date):
        raise ValidationError({"visited_on": "请填写走访日期"})
    if visited_on > today:
        raise ValidationError({"visited_on": "走访日期不能晚于今天"})
    with transaction.atomic():
        g = Guardian.objects.select_for_update().filter(pk=guardian_id, user_id=_uid(actor)).first()
        if g is None:
            raise NotFound("包保任务")
        if not g.active:
            raise DomainError(
                "not_at_risk",
                f"该机构已不在橙色、红色预警(包保已于{g.ended_on}结束：{g.ended_reason})，无需再走访",
                {"ended_on": str(g.ended_on)},
                status=409,
            )
        if visited_on < g.assigned_on:
            raise ValidationError({"visited_on": "走访日期不能早于包保起始日期"})
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
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    "risk.checkin_missed",
                    "risk.guardian",
                    str(g.pk),
                    g.division_code,
                    {"due": g.next_due.isoformat(), "rule": "risk.guardian_checkin_days"},
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


# --- runaway ------------------------------------------------------------------------------


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
                raise PermissionDeniedError("认定卷款跑路须由监管部门或专班作出")
        if RunawayPlan.objects.filter(institution=inst).exists():
            raise DomainError("already_runaway", "该机构已认定卷款跑路", status=409)
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
            AlertTransition.objects.create(alert=alert, from_status="", to_status=AlertStatus.OPEN)
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
