"""Every write of the risk app: manual signals, what follows a level change (alerts for the
competent department, guardians ended), alert handling and escalation, guardians and
their check-ins, and the runaway plan. Each checks who may act inside its transaction
and leaves an audit event; notifications go through ``accounts.notifications.notify``."""

from collections import defaultdict
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import Message, notify, notify_many
from qinglang.accounts.permissions import (
    REGULATOR_WRITERS,
    competent_or_task_force,
    is_system,
    lock_in_scope,
    system,
)
from qinglang.accounts.scope import actor_for, division_in_scope, in_scope
from qinglang.core import bulk, files
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.registry.models import Institution, InstitutionStatus

from .models import (
    ALERT_STATES,
    GUARDED_LEVELS,
    LEVEL_RANK,
    ActionKind,
    Alert,
    AlertAction,
    AlertStatus,
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
    return competent_or_task_force(actor, alert.division_code, alert.department_kind)


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
        data = photo.read() if hasattr(photo, "read") else photo
        stored = files.store_photo((data, getattr(photo, "name", "")), folder="risk")[:2]
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


ALERT_INSERT = bulk.Table(
    Alert,
    (
        "id",
        "institution_id",
        "level",
        "status",
        "opened_on",
        "due_on",
        "escalated",
        "result",
        "explanation",
        "division_code",
        "department_kind",
        "created_at",
    ),
)
ALERT_RAISE = bulk.Table(Alert, ("level", "due_on", "explanation"))
GUARDIAN_END = bulk.Table(Guardian, ("active", "ended_on", "ended_reason"))


def _as_date(v) -> date:
    return date.fromisoformat(v) if isinstance(v, str) else v


def level_changes_follow(changes: list, *, day: date, actor) -> None:
    """Called by the scorer inside its transaction, set-based (on a first day every level
    is new: hundreds of thousands of changes): a rise to yellow or above opens (or raises)
    the institution's alert for its competent department; a fall below orange ends the
    guardianship; a rise to orange or red asks the task force for a guardian. Alerts,
    their first transition rows, the audit events and the notifications are each written
    in one bulk statement per batch."""
    pol = RiskPolicy(day)
    labels = dict(Level.choices)
    rising = [c for c in changes if c[2] != Level.BLUE and LEVEL_RANK[c[2]] > LEVEL_RANK[c[1]]]
    ids = [c[0] for c in rising]
    open_alerts = {
        inst: (pk, level, _as_date(due))
        for pk, inst, level, due in bulk.select_in(
            "SELECT id, institution_id, level, due_on FROM risk_alert WHERE status <> %s AND institution_id {in}",
            ids,
            params=[AlertStatus.CLOSED],
        )
    }
    names = dict(bulk.select_in("SELECT id, name FROM registry_institution WHERE id {in}", ids))
    rules: dict[tuple[str, str], tuple[date, dict]] = {}
    dates: dict[int, date] = {}  # working days → the date: one calendar walk per distinct limit

    def due_of(level: str, div: str) -> tuple[date, dict]:
        key = (level, div)
        if key not in rules:
            rule = _due_rule(level, pol, div)
            n = rule["working_days"]
            if n not in dates:
                dates[n] = add_working_days(day, n)
            rules[key] = (dates[n], rule)
        return rules[key]

    new_rows, raised, entries, notices = [], [], [], []
    fresh = [c for c in rising if c[0] not in open_alerts]
    new_ids = iter(bulk.allocate_ids(Alert, len(fresh)))
    now = timezone.now()
    people = People() if rising else None
    link = reverse("portal:risk_alert", args=[0]).replace("/0/", "/{}/")  # reversed once, not per alert
    for inst, old, new, score, explanation, div, dept in rising:
        due, rule = due_of(new, div)
        current = open_alerts.get(inst)
        if current is None:
            pk = next(new_ids)
            new_rows.append(
                ALERT_INSERT.row(
                    id=pk,
                    institution_id=inst,
                    level=new,
                    status=AlertStatus.OPEN,
                    opened_on=day,
                    due_on=due,
                    escalated=False,
                    result="",
                    explanation={**explanation, "due": rule},
                    division_code=div,
                    department_kind=dept,
                    created_at=now,
                )
            )
            action = "risk.alert_open"
        elif LEVEL_RANK[new] > LEVEL_RANK[current[1]]:
            pk = current[0]
            due = min(current[2], due)
            raised.append((pk, new, due, {**explanation, "due": rule}))
            action = "risk.alert_raise"
        else:
            continue
        entries.append(
            Entry(
                action,
                "risk.alert",
                str(pk),
                div,
                {"level": [old, new], "score": score, "due_on": due.isoformat()},
            )
        )
        recipients = people.department(div, dept) or people.task_force(div)
        if new in GUARDED_LEVELS:
            recipients |= people.task_force(div)
        notices.append(
            Message(
                recipients,
                kind="risk.alert",
                title=f"{labels[new]}：{names.get(inst, inst)}(风险分{score})",
                body=f"请于{due}前处置；{'需由专班指定包保责任人。' if new in GUARDED_LEVELS else ''}",
                link=link.format(pk),
                division_code=div,
                about=("risk.alert", str(pk)),
            )
        )
    ALERT_INSERT.insert(new_rows)
    ALERT_STATES.record_many(
        ((r[0], AlertStatus.OPEN, AlertStatus.OPEN) for r in new_rows),
        actor=actor,
        reason="风险等级升至预警",
        at=now,
    )
    ALERT_RAISE.update(raised)
    # guardians of institutions that fell below orange end
    falling = {c[0]: c for c in changes if c[2] not in GUARDED_LEVELS}
    ended = bulk.select_in(
        "SELECT id, institution_id, division_code FROM risk_guardian WHERE active = %s AND institution_id {in}",
        list(falling),
        params=[True],
    )
    GUARDIAN_END.update(
        [(pk, False, day, f"风险等级降至{labels[falling[inst][2]]}") for pk, inst, _div in ended]
    )
    entries.extend(
        Entry(
            "risk.guardian_end",
            "risk.guardian",
            str(pk),
            div,
            {"level": [falling[inst][1], falling[inst][2]]},
        )
        for pk, inst, div in ended
    )
    audit_record_many(actor=actor, entries=entries)
    notify_many(notices, actor=actor)


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

            if inst.status != InstitutionStatus.STOP_ENROLLMENT:
                institution_stop_enrollment(
                    actor=actor, institution_id=inst.pk, reason=f"风险预警#{alert.pk}：{note}"
                )
            ref = "stop_enrollment"
        action = AlertAction.objects.create(alert=alert, kind=kind, note=note, ref=ref, actor_id=_uid(actor))
        if alert.status == AlertStatus.OPEN:
            ALERT_STATES.move(alert, AlertStatus.HANDLING, actor=actor, reason=action.get_kind_display())
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
    photo_files = files.read_photos(photos)
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
