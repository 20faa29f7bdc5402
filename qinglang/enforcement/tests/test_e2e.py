"""A county campaign over 60 institutions from plan to penalty decisions."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from qinglang.accounts.models import Role
from qinglang.core.errors import DomainError, IllegalTransition, NotFound
from qinglang.enforcement import selectors, services
from qinglang.enforcement.models import CaseStatus, Origin, PenaltyCase
from qinglang.inspections import selectors as insp_selectors
from qinglang.inspections import services as insp
from qinglang.inspections.models import (
    Escalation,
    Letter,
    Notice,
    RectificationItem,
    RectificationStatus,
    Task,
)
from qinglang.inspections.tests.helpers import answer_all, campaign_data, inspectors, png
from qinglang.registry.models import Institution, InstitutionStatus
from qinglang.registry.selectors import public_blacklist
from qinglang.testing import OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db


def _member(task):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=task.team.members.first().user_id)


def test_county_campaign_over_60_institutions(admin, leader):
    [make_institution(admin, whitelisted=(i % 3 == 0)) for i in range(60)]
    inspectors(6)
    c = insp.campaign_create(actor=leader, data=campaign_data(name="秋季联合检查"))
    draw = insp.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, team_size=2, seed="county-2026", today=date(2025, 9, 20)
    )
    insp.draw_publish(actor=leader, campaign_id=c.pk)
    assert draw.target_count == 60
    # every task is done by its team; every fifth institution has findings
    tasks = list(Task.objects.filter(campaign=c).order_by("id"))
    for n, t in enumerate(tasks):
        findings = {"F01": "rectification", "Q02": "fixed_on_site"} if n % 5 == 0 else {}
        insp.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2025, 9, 26),
            results=answer_all(t, findings=findings, files=[png()]),
        )
    cov = insp_selectors.campaign_coverage(campaign=c)
    assert cov.inspected == 60 and cov.pct == 100.0 and cov.goal_met
    notices = Notice.objects.filter(task__campaign=c)
    assert notices.count() == 12 and all(n.path and n.deadline_on == date(2025, 10, 16) for n in notices)
    items = list(RectificationItem.objects.filter(notice__in=notices).order_by("id"))
    on_time, late, never = items[:4], items[4:8], items[8:]
    # on time: submitted before the deadline, verified, closed out
    for it in on_time:
        org = make_user(Role.INSTITUTION_ADMIN, institution_id=it.institution_id)
        insp.rectification_submit(actor=org, item_id=it.pk, measures="已整改", uploads=[png()])
        insp.rectification_verify(actor=leader, item_id=it.pk)
        insp.rectification_close_out(actor=leader, item_id=it.pk)
    insp.rectification_sweep_overdue(today=date(2025, 10, 17))  # one working day overdue
    assert Letter.objects.filter(kind="reminder").count() == 8
    insp.rectification_sweep_overdue(today=date(2025, 10, 24))  # five working days overdue
    assert Letter.objects.filter(kind="supervision").count() == 8
    # late ones rectify after their letters
    for it in late:
        org = make_user(Role.INSTITUTION_ADMIN, institution_id=it.institution_id)
        insp.rectification_submit(actor=org, item_id=it.pk, measures="逾期后整改", uploads=[png()])
        insp.rectification_verify(actor=leader, item_id=it.pk)
        insp.rectification_close_out(actor=leader, item_id=it.pk)
    insp.rectification_sweep_overdue(today=date(2025, 10, 31))  # ten working days overdue
    assert insp.letters_render_pending() == 16
    assert services.escalate_overdue_items() == 4
    assert services.escalate_overdue_items() == 0  # idempotent
    for it in never:
        it.refresh_from_db()
        assert it.escalation == Escalation.CASE_FILED and it.case_id
    for it in late + on_time:
        it.refresh_from_db()
        assert it.status == RectificationStatus.CLOSED_OUT and it.case_id is None
    # decisions on the never-fixed ones change status and the public lists
    cases = list(PenaltyCase.objects.filter(origin=Origin.ESCALATION).order_by("id"))
    assert len(cases) == 4
    stop, enrol = cases[0], cases[1]
    services.case_start_investigation(actor=leader, case_id=stop.pk)
    services.case_decide(
        actor=leader,
        case_id=stop.pk,
        penalties=[{"kind": "stop_operation"}, {"kind": "warning"}],
        reasoning="逾期拒不整改消防隐患，依法责令停止举办",
    )
    inst = Institution.objects.get(pk=stop.institution_id)
    assert inst.status == InstitutionStatus.CLOSED and inst.blacklisted and not inst.whitelisted
    assert public_blacklist().filter(institution_id=inst.pk).exists()
    freeze = [e for e in stop.decision.effects if e["effect"] == "funds_freeze"]
    assert freeze  # attempted; applied where the institution has a custody account
    services.case_decide(
        actor=leader, case_id=enrol.pk, penalties=[{"kind": "stop_enrollment"}], reasoning="责令停止招生"
    )
    assert Institution.objects.get(pk=enrol.institution_id).status == InstitutionStatus.STOP_ENROLLMENT


def test_decision_effects_and_publication(admin, leader):
    inst = make_institution(admin, whitelisted=True)
    case = services.case_file(
        actor=leader,
        institution_id=inst.pk,
        case_type="disguised_training",
        origin="inspection",
        facts="以托管名义开展学科类培训",
    )
    with pytest.raises(DomainError) as exc:
        services.case_decide(
            actor=leader,
            case_id=case.pk,
            penalties=[{"kind": "fine", "amount_fen": 60_000_00}],
            reasoning="x",
            gravity="serious",
        )
    assert exc.value.code == "fine_out_of_range" and "50,000" in exc.value.message
    with pytest.raises(DomainError):
        services.case_decide(
            actor=leader, case_id=case.pk, penalties=[{"kind": "fine", "amount_fen": 100}], reasoning="x"
        )
    with pytest.raises(DomainError):
        services.case_publish(actor=leader, case_id=case.pk, title="t", summary="s")
    d = services.case_decide(
        actor=leader,
        case_id=case.pk,
        penalties=[{"kind": "fine", "amount_fen": 30_000_00}, {"kind": "public_criticism"}],
        reasoning="情节严重，依据第十八条",
        gravity="serious",
    )
    inst.refresh_from_db()
    assert not inst.whitelisted and inst.status == InstitutionStatus.ACTIVE and not inst.blacklisted
    assert {"effect": "whitelist_remove"} in d.effects
    with pytest.raises(IllegalTransition):
        services.case_decide(
            actor=leader, case_id=case.pk, penalties=[{"kind": "warning"}], reasoning="again"
        )
    assert selectors.public_typical_cases().count() == 0
    services.case_publish(
        actor=leader, case_id=case.pk, title="某机构以托管名义违规培训被罚", summary="依法罚款3万元并通报批评"
    )
    assert selectors.public_typical_cases().count() == 1
    services.case_close(actor=leader, case_id=case.pk)
    assert PenaltyCase.objects.get(pk=case.pk).status == CaseStatus.CLOSED


def test_unauthorized_operation_fine_range_and_refunds(admin, leader):
    inst = make_institution(admin, licensed=False)
    case = services.case_file(
        actor=leader,
        institution_id=inst.pk,
        case_type="unauthorized_operation",
        origin="clue",
        facts="无证办学",
        illegal_gains_fen=100_000,
    )
    with pytest.raises(DomainError) as exc:
        services.case_decide(
            actor=leader, case_id=case.pk, penalties=[{"kind": "fine", "amount_fen": 100_000}], reasoning="x"
        )
    assert exc.value.code == "stop_required"
    with pytest.raises(DomainError) as exc:  # refunds are deducted: net gains 60,000 fen, 5x = 300,000
        services.case_decide(
            actor=leader,
            case_id=case.pk,
            penalties=[{"kind": "stop_operation"}, {"kind": "fine", "amount_fen": 400_000}],
            reasoning="x",
            refunded_fen=40_000,
        )
    assert exc.value.code == "fine_out_of_range"
    case.refresh_from_db()
    assert case.refunded_fen == 0  # nothing half-written
    services.case_decide(
        actor=leader,
        case_id=case.pk,
        penalties=[{"kind": "stop_operation"}, {"kind": "fine", "amount_fen": 300_000}],
        reasoning="第十七条",
        refunded_fen=40_000,
    )
    inst.refresh_from_db()
    assert inst.status == InstitutionStatus.BANNED and inst.blacklisted


def test_stop_operation_freezes_fund_releases(admin, leader):
    try:
        from qinglang.funds.models import CustodyAccount, CustodyMode
        from qinglang.funds.services import bank_create, custody_account_open, releases_freeze  # noqa: F401
    except ImportError:
        pytest.skip("funds.releases_freeze not there yet")
    inst = make_institution(admin, whitelisted=True)
    bank, _ = bank_create(actor=admin, code="TESTBANK1", name="测试银行", division_code="510107")
    try:
        custody_account_open(
            actor=admin,
            institution_id=inst.pk,
            bank_id=bank.pk,
            mode=CustodyMode.values[0],
            account_number="6222000011112222",
            opened_on=date(2026, 1, 5),
        )
    except DomainError as exc:
        pytest.skip(f"cannot open a custody account here: {exc.message}")
    case = services.case_file(
        actor=leader, institution_id=inst.pk, case_type="other", origin="inspection", facts="拒不整改"
    )
    d = services.case_decide(
        actor=leader, case_id=case.pk, penalties=[{"kind": "revoke_permit"}], reasoning="吊销"
    )
    assert {"effect": "funds_freeze", "applied": True} in d.effects
    assert CustodyAccount.objects.get(institution_id=inst.pk).releases_frozen


def test_case_scope(admin, leader):
    inst = make_institution(admin)
    case = services.case_file(
        actor=leader, institution_id=inst.pk, case_type="other", origin="inspection", facts="事实"
    )
    other = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    with pytest.raises(NotFound):
        services.case_decide(actor=other, case_id=case.pk, penalties=[{"kind": "warning"}], reasoning="x")
    with pytest.raises(NotFound):
        selectors.case_get(actor=other, case_id=case.pk)
    own = make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk)
    assert selectors.case_get(actor=own, case_id=case.pk) == case
    with pytest.raises(ValidationError):
        services.case_file(
            actor=leader, institution_id=inst.pk, case_type="nope", origin="inspection", facts="x"
        )
