"""Levels, alerts, guardians and the runaway: the rules as the people involved meet them."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Notification, Role
from qinglang.accounts.permissions import system
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.funds import services as funds
from qinglang.funds.models import InstructionKind, InstructionLine, LedgerAccount, Posting
from qinglang.funds.testing import funds_world, paid_order
from qinglang.inspections.models import Task
from qinglang.registry.models import Institution
from qinglang.risk import selectors, services
from qinglang.risk.models import Alert, Guardian, RiskReport, RiskScore, RiskSignal, RiskState
from qinglang.risk.scoring import score_day
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_institution, make_user

from . import factories as f

pytestmark = pytest.mark.django_db


def _orange(inst, day):
    """head unreachable (40) + two runaway complaints (25) = 65: orange."""
    f.report(inst, kind="head_unreachable", observed_on=day, evidence="校长电话关机三天，门店关门")
    for _ in range(2):
        f.clue(inst, day=day, category="runaway", summary="交了一年学费，现在门店关门")


@pytest.fixture
def world(admin):
    inst = make_institution(admin)
    dept = inst.competent_department.kind
    return {
        "inst": inst,
        "dept_officer": make_user(Role.REGULATOR_OFFICER, department_kind=dept),
        "other_dept": make_user(
            Role.REGULATOR_OFFICER, department_kind="sports" if dept != "sports" else "culture_tourism"
        ),
        "task_force": make_user(Role.REGULATOR_LEADER),  # county leader without a department
        "grid": make_user(Role.GRID_WORKER),
        "org": make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk),
    }


def test_orange_opens_an_alert_for_the_department_and_the_level_falls_when_the_cause_is_gone(world):
    inst, day = world["inst"], timezone.localdate()
    _orange(inst, day)
    run = score_day(day)
    state = RiskState.objects.get(institution=inst)
    assert (state.level, state.score) == ("orange", 65)
    score = RiskScore.objects.get(institution=inst, day=day)
    assert {s["kind"] for s in score.explanation["signals"]} == {"head_unreachable", "complaints_runaway"}
    assert score.explanation["thresholds"] == [25, 50, 80] and score.previous_level == "blue"
    alert = Alert.objects.get(institution=inst)
    assert alert.level == "orange" and alert.department_kind == inst.competent_department.kind
    assert alert.due_on > day
    assert Notification.objects.filter(recipient=world["dept_officer"], kind="risk.alert").count() == 1
    assert Notification.objects.filter(recipient=world["task_force"], kind="risk.alert").count() == 1
    assert not Notification.objects.filter(recipient=world["other_dept"]).exists()
    assert (
        run.changes and AuditEvent.objects.filter(action="risk.level_change", object_id=str(inst.pk)).exists()
    )

    score_day(day)  # a rerun of the day changes nothing
    assert (
        Alert.objects.filter(institution=inst).count() == 1
        and RiskScore.objects.filter(institution=inst).count() == 1
    )

    g = services.guardian_assign(
        actor=world["task_force"], institution_id=inst.pk, unit="浆洗街街道办", user_id=world["grid"].pk
    )
    later = day + timedelta(days=31)  # the report and the complaints have aged out
    score_day(later)
    state.refresh_from_db()
    assert state.level == "blue" and state.since == later
    fall = RiskScore.objects.get(institution=inst, day=later)
    assert (fall.previous_level, fall.level, fall.score) == ("orange", "blue", 0)
    g.refresh_from_db()
    assert not g.active and "蓝色" in g.ended_reason
    # the check-in of an institution no longer at risk is refused, clearly
    with pytest.raises(DomainError) as e:
        services.checkin_record(actor=world["grid"], guardian_id=g.pk, visited_on=day, seen="门店已恢复营业")
    assert e.value.code == "not_at_risk" and "不在橙色、红色预警" in e.value.message
    assert not g.checkins.exists()


def test_missed_checkin_escalates_once(world):
    inst, day = world["inst"], timezone.localdate()
    _orange(inst, day)
    score_day(day)
    g = services.guardian_assign(
        actor=world["task_force"], institution_id=inst.pk, unit="浆洗街街道办", user_id=world["grid"].pk
    )
    assert g.next_due == day + timedelta(days=7)
    assert services.guardians_escalate_missed(today=day + timedelta(days=7)) == 0  # due today: not missed yet
    assert services.guardians_escalate_missed(today=day + timedelta(days=8)) == 1
    assert services.guardians_escalate_missed(today=day + timedelta(days=9)) == 0
    assert services.guardians_escalate_missed(today=day + timedelta(days=30)) == 0
    assert Notification.objects.filter(recipient=world["task_force"], kind="risk.checkin_missed").count() == 1
    assert AuditEvent.objects.filter(action="risk.checkin_missed").count() == 1
    # a visit sets a new date, which may be missed (and escalated) in its turn
    services.checkin_record(
        actor=world["grid"], guardian_id=g.pk, visited_on=day, seen="门店正常上课，负责人在场"
    )
    g.refresh_from_db()
    assert g.next_due == day + timedelta(
        days=7
    )  # visited on the day of assignment: same date, already escalated
    assert services.guardians_escalate_missed(today=day + timedelta(days=8)) == 0


def test_alert_overdue_escalates_once_and_handling_steps_reach_other_apps(world):
    inst, day = world["inst"], timezone.localdate()
    _orange(inst, day)
    score_day(day)
    alert = Alert.objects.get(institution=inst)
    officer = world["dept_officer"]
    services.alert_act(
        actor=officer, alert_id=alert.pk, kind="interview", note="约谈法定代表人，要求说明经营情况"
    )
    a = services.alert_act(actor=officer, alert_id=alert.pk, kind="onsite_check", note="核查是否仍在经营")
    task = Task.objects.get(pk=int(a.ref.split(":")[1]))
    assert task.institution_id == inst.pk and task.origin_ref == f"risk-alert-{alert.pk}"
    services.alert_act(actor=officer, alert_id=alert.pk, kind="stop_enrolling", note="责令暂停招生")
    assert Institution.objects.get(pk=inst.pk).status == "stop_enrollment"
    alert.refresh_from_db()
    assert alert.status == "handling"
    assert services.alerts_escalate_overdue(today=alert.due_on) == 0
    assert services.alerts_escalate_overdue(today=alert.due_on + timedelta(days=1)) == 1
    assert services.alerts_escalate_overdue(today=alert.due_on + timedelta(days=2)) == 0
    with pytest.raises(ValidationError):
        services.alert_close(actor=officer, alert_id=alert.pk, result="  ")
    services.alert_close(actor=officer, alert_id=alert.pk, result="负责人到案，已签订退费承诺书")
    alert.refresh_from_db()
    assert alert.status == "closed" and [t.to_status for t in alert.transitions.order_by("id")] == [
        "open",
        "handling",
        "closed",
    ]
    with pytest.raises(DomainError):
        services.alert_act(actor=officer, alert_id=alert.pk, kind="interview", note="再次约谈")


def test_scope_department_alerts_task_force_board_institution_sees_nothing(world):
    inst, day = world["inst"], timezone.localdate()
    _orange(inst, day)
    score_day(day)
    alert = Alert.objects.get(institution=inst)
    assert list(selectors.alerts_for(world["dept_officer"])) == [alert]
    assert list(selectors.alerts_for(world["other_dept"])) == []
    assert list(selectors.alerts_for(make_user(Role.REGULATOR_OFFICER, prefixes=[OTHER_COUNTY]))) == []
    with pytest.raises(PermissionDeniedError):
        services.alert_act(actor=world["grid"], alert_id=alert.pk, kind="interview", note="约谈法定代表人")
    with pytest.raises(NotFound):
        services.alert_act(
            actor=world["other_dept"], alert_id=alert.pk, kind="interview", note="约谈法定代表人"
        )
    # the board is the task force's
    assert [r["institution"].pk for r in selectors.board(world["task_force"])["rows"]] == [inst.pk]
    with pytest.raises(PermissionDeniedError):
        selectors.board(world["dept_officer"])
    # the institution never sees its own level: not in selectors, pages or the API
    org = world["org"]
    assert list(selectors.alerts_for(org)) == []
    with pytest.raises(NotFound):
        selectors.institution_risk(org, inst.pk)
    c = Client()
    c.force_login(org)
    assert c.get(f"/api/risk/institutions/{inst.pk}").status_code == 404
    assert c.get("/api/risk/alerts").json() == []
    assert c.get(f"/console/risk/institutions/{inst.pk}/").status_code == 403
    c.force_login(world["dept_officer"])
    body = c.get(f"/api/risk/institutions/{inst.pk}").json()
    assert body["level"] == "orange" and {s["kind"] for s in body["signals"]} == {
        "head_unreachable",
        "complaints_runaway",
    }
    assert c.get("/api/risk/board").status_code == 403
    c.force_login(world["task_force"])
    assert c.get("/api/risk/board").json()[0]["institution_id"] == inst.pk
    x = c.get("/console/risk/board/export/")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert inst.name in c.get("/console/risk/board/print/").content.decode()


def test_bad_input_is_refused_clearly_and_changes_nothing(world):
    inst, day = world["inst"], timezone.localdate()
    with pytest.raises(ValidationError) as e:
        services.report_create(
            actor=world["grid"],
            institution_id=inst.pk,
            kind="head_unreachable",
            reporter_unit="浆洗街街道",
            observed_on=day,
            evidence="",
        )
    assert "证据" in str(e.value)
    with pytest.raises(ValidationError):
        services.report_create(
            actor=world["grid"],
            institution_id=inst.pk,
            kind="head_unreachable",
            reporter_unit="浆洗街街道",
            observed_on=day + timedelta(days=1),
            evidence="校长电话关机三天，门店关门",
        )
    assert not RiskReport.objects.exists()
    r = services.report_create(
        actor=world["grid"],
        institution_id=inst.pk,
        kind="head_unreachable",
        reporter_unit="浆洗街街道",
        observed_on=day,
        evidence="校长电话关机三天，门店关门",
    )
    assert r.source == "township"
    # a guardian before the institution is at risk, and one outside the area
    with pytest.raises(DomainError) as e:
        services.guardian_assign(
            actor=world["task_force"], institution_id=inst.pk, unit="街道办", user_id=world["grid"].pk
        )
    assert e.value.code == "not_at_risk"
    _orange(inst, day)
    score_day(day)
    outsider = make_user(Role.GRID_WORKER, prefixes=[OTHER_COUNTY])
    with pytest.raises(ValidationError) as e:
        services.guardian_assign(
            actor=world["task_force"], institution_id=inst.pk, unit="街道办", user_id=outsider.pk
        )
    assert "不在该区域" in str(e.value)
    with pytest.raises(PermissionDeniedError):
        services.guardian_assign(
            actor=world["dept_officer"], institution_id=inst.pk, unit="街道办", user_id=world["grid"].pk
        )
    assert not Guardian.objects.exists()
    c = Client()
    c.force_login(world["grid"])
    resp = c.post(
        f"/api/risk/institutions/{inst.pk}/reports",
        {"kind": "wage_arrears", "reporter_unit": "街道", "observed_on": str(day), "evidence": "短"},
        content_type="application/json",
    )
    assert (
        resp.status_code == 422
        and set(resp.json()) == {"code", "message", "detail"}
        and "证据" in resp.json()["message"]
    )


def test_runaway_freezes_payouts_and_withdraws_the_release_in_todays_instruction(admin):
    w = funds_world(admin=admin)
    order = paid_order(w, lessons=10)
    lesson, _ = funds.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="e1"
    )
    funds.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)  # the parent confirms: fee releasable
    today = timezone.localdate()
    funds.instructions_generate(day=today)
    line = InstructionLine.objects.get(institution=w.institution, kind=InstructionKind.RELEASE, day=today)
    custody = LedgerAccount.objects.get(institution=w.institution, kind="custody")
    before = custody.balance_fen
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])

    rp = services.runaway_mark(
        actor=leader, institution_id=w.institution.pk, reason="负责人失联，门店人去楼空"
    )

    assert rp.payouts_stopped == [line.ref]
    assert not InstructionLine.objects.filter(pk=line.pk).exists()
    assert line.ref not in funds.instruction_file(InstructionLine.objects.filter(day=today))
    custody.refresh_from_db()
    assert custody.balance_fen == before + line.amount_fen
    assert Posting.objects.filter(reverses_id=line.posting_id).count() == 1
    assert funds.instructions_generate(day=today) == 0  # frozen: nothing released again
    w.custody.refresh_from_db()
    assert w.custody.releases_frozen
    assert Institution.objects.get(pk=w.institution.pk).status == "runaway"
    assert rp.claims_fen == 9 * order.unit_price_fen and rp.lines[0]["order_id"] == order.pk
    assert rp.lines[0]["share_fen"] == rp.lines[0]["claim_fen"]  # custody covers the claim
    from qinglang.funds.verify import ledger_verify

    assert ledger_verify().ok
    # parents' details only to the handling roles
    assert selectors.runaway_orders(leader, rp)[0]["learner"] == order.learner_name
    grid = make_user(Role.GRID_WORKER)
    assert selectors.runaway_orders(grid, rp)[0]["learner"] != order.learner_name
    with pytest.raises(DomainError):
        services.runaway_mark(actor=leader, institution_id=w.institution.pk, reason="再次认定")


def test_level_alert_report_and_checkin_rules_are_named_where_they_bite(world, admin):
    """The city's level lines and time limits and the validity of reports each decide an
    outcome, and the score, the alert and the audit trail name the rule that decided it."""
    inst, day = world["inst"], timezone.localdate()
    city = inst.division_code[:4]
    test = system("test")
    policy_set(
        actor=test, key="risk.level_thresholds", division_code=city, value=[20, 66, 90], basis="市规定"
    )
    policy_set(actor=test, key="risk.alert_days", division_code=city, value=[8, 4, 1], basis="市规定")
    policy_set(actor=test, key="risk.guardian_checkin_days", division_code=city, value=3, basis="市规定")
    policy_set(actor=test, key="risk.manual_signal_days", division_code="", value=3, basis="全国规定")
    _orange(inst, day)  # 65: orange on the national lines, yellow on the city's (66 for orange)
    score_day(day)
    ex = RiskScore.objects.get(institution=inst, day=day).explanation
    assert ex["thresholds_rule"] == "risk.level_thresholds" and ex["thresholds_set_in"] == city
    assert ex["thresholds"] == [20, 66, 90] and RiskState.objects.get(institution=inst).level == "yellow"
    alert = Alert.objects.get(institution=inst)
    assert alert.explanation["due"] == {
        "rule": "risk.alert_days",
        "value": [8, 4, 1],
        "set_by": city,
        "basis": "市规定",
        "working_days": 8,
        "set_in": city,
    }
    assert alert.level == "yellow" and alert.due_on == add_working_days(day, 8)

    # a report counts for risk.manual_signal_days (3 here) from the day it was seen, then not
    other = make_institution(admin)
    f.report(other, kind="site_change", observed_on=day, evidence="房东称租约月底到期不再续租")
    score_day(day + timedelta(days=2))
    ex = RiskScore.objects.get(institution=other, day=day + timedelta(days=2)).explanation
    assert ex["reports_rule"] == "risk.manual_signal_days" and ex["reports_valid_days"] == 3
    assert [s["kind"] for s in ex["signals"]] == ["site_change"]
    score_day(day + timedelta(days=3))
    assert not RiskSignal.objects.filter(institution=other, day=day + timedelta(days=3)).exists()

    # red on the city's lines: a guardian, visiting every risk.guardian_checkin_days (3)
    policy_set(
        actor=test, key="risk.level_thresholds", division_code=city, value=[20, 30, 60], basis="市规定"
    )
    score_day(day)
    assert RiskState.objects.get(institution=inst).level == "red"
    alert.refresh_from_db()
    assert alert.level == "red" and alert.explanation["due"]["working_days"] == 1
    g = services.guardian_assign(
        actor=world["task_force"], institution_id=inst.pk, unit="浆洗街街道办", user_id=world["grid"].pk
    )
    assert g.next_due == day + timedelta(days=3)
    assigned = AuditEvent.objects.get(action="risk.guardian_assign", object_id=str(g.pk))
    assert assigned.changes["rule"] == "risk.guardian_checkin_days"
    assert services.guardians_escalate_missed(today=day + timedelta(days=4)) == 1
    missed = AuditEvent.objects.get(action="risk.checkin_missed", object_id=str(g.pk))
    assert missed.changes == {
        "due": g.next_due.isoformat(),
        "rule": "risk.guardian_checkin_days",
        "value": 3,
        "set_by": city,
        "basis": "市规定",
    }
