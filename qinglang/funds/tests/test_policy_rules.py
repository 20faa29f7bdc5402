"""Each fee rule refuses an order just over its limit and accepts one at it; a city
override of a provincial value is honoured; refusals name the rule."""

from datetime import date, timedelta

import pytest

from qinglang.accounts.permissions import system
from qinglang.core.errors import DomainError
from qinglang.core.services import policy_set
from qinglang.funds import services
from qinglang.funds.models import CustodyAccount, CustodyMode
from qinglang.funds.services.orders import latest_end_in_semester
from qinglang.funds.testing import funds_world, make_course, paid_order

pytestmark = pytest.mark.django_db


def _order(w, *, lessons=1, starts_on=None, months=1, course=None, today=None, **kw):
    starts_on = starts_on or today or date.today()
    if "ends_on" not in kw and today is None:
        # rules other than the semester one: keep the period inside the current semester
        kw["ends_on"] = latest_end_in_semester(
            div=w.institution.division_code, starts_on=starts_on, months=months
        )
    return services.order_create(
        actor=w.parent,
        data=services.OrderInput(
            course_id=(course or w.course).pk,
            learner_name="小红",
            lessons=lessons,
            starts_on=starts_on,
            months=months,
            **kw,
        ),
        today=today,
    )


def _refused(rule, fn):
    with pytest.raises(DomainError) as e:
        fn()
    assert e.value.code == "policy_violation", e.value.as_dict()
    assert e.value.detail["rule"] == rule
    assert "依据" in e.value.message and rule in e.value.message
    return e.value


def test_max_lessons_per_charge():
    w = funds_world(unit_price_fen=100)
    _order(w, lessons=60)
    _refused("fees.max_lessons_per_charge", lambda: _order(w, lessons=61))


def test_max_months_per_charge():
    w = funds_world(unit_price_fen=100)
    autumn = date(2026, 9, 1)  # 3 months from 1 Sep stay in the autumn term
    _order(w, months=3, today=autumn)
    _refused("fees.max_months_per_charge", lambda: _order(w, months=4, today=autumn))


def test_max_amount_per_charge():
    w = funds_world(unit_price_fen=10000)
    _order(w, lessons=50)  # 500,000 fen exactly
    course = make_course(w.admin, w.institution, unit_price_fen=10001)
    _refused("fees.max_amount_per_charge_fen", lambda: _order(w, lessons=50, course=course))


def test_earliest_charge_before_start():
    w = funds_world(unit_price_fen=100)
    _order(w, starts_on=date.today() + timedelta(days=30))
    _refused(
        "fees.earliest_charge_before_start_days",
        lambda: _order(w, starts_on=date.today() + timedelta(days=31)),
    )


def test_guided_price_for_subject_courses():
    w = funds_world(unit_price_fen=100, category="subject", kind="subject")
    policy_set(
        actor=system("test"),
        key="guided_price.subject_per_lesson_fen",
        division_code="51",
        value=6000,
        basis="省定价",
    )
    at = make_course(w.admin, w.institution, unit_price_fen=6000, kind="subject")
    _order(w, course=at)
    # a course above the ceiling cannot even be created now, so lower the ceiling after
    over = make_course(w.admin, w.institution, unit_price_fen=5000, kind="subject")
    policy_set(
        actor=system("test"),
        key="guided_price.subject_per_lesson_fen",
        division_code="5101",
        value=4999,
        basis="市定价",
    )
    e = _refused("guided_price.subject_per_lesson_fen", lambda: _order(w, course=over))
    assert e.detail["set_by"] == "5101"


def test_top_up_only_when_few_lessons_remain():
    w = funds_world(unit_price_fen=100)
    first = paid_order(w, lessons=21)
    _refused("fees.per_lesson_charge_when_remaining_at_most", lambda: _order(w, top_up_of_id=first.pk))
    services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=first.pk, event_id="t1"
    )
    _order(w, top_up_of_id=first.pk)  # 20 remain: allowed


def test_training_loans_refused():
    w = funds_world(unit_price_fen=100)
    _refused("fees.training_loans_allowed", lambda: _order(w, training_loan=True))


def test_city_override_of_province_is_honoured():
    w = funds_world(unit_price_fen=100)
    policy_set(
        actor=system("test"), key="fees.max_lessons_per_charge", division_code="51", value=30, basis="省规则"
    )
    policy_set(
        actor=system("test"),
        key="fees.max_lessons_per_charge",
        division_code="5101",
        value=40,
        basis="市规则",
    )
    _order(w, lessons=40)
    e = _refused("fees.max_lessons_per_charge", lambda: _order(w, lessons=41))
    assert e.detail["set_by"] == "5101" and e.detail["value"] == 40 and e.detail["basis"] == "市规则"


def test_course_must_be_approved_and_custody_mode_allowed():
    w = funds_world(unit_price_fen=100)
    pending = make_course(w.admin, w.institution, approve=False)
    with pytest.raises(DomainError) as e:
        _order(w, course=pending)
    assert e.value.code == "course_not_approved"
    policy_set(
        actor=system("test"),
        key="custody.modes_allowed",
        division_code="5101",
        value=["risk_deposit"],
        basis="市规则",
    )
    _refused("custody.modes_allowed", lambda: _order(w))


# --- fees.cross_semester_allowed ------------------------------------------------------
# Semesters start on fees.semester_starts (default 1 Feb and 1 Sep: autumn term 1 Sep –
# 31 Jan, spring term 1 Feb – 31 Aug). The charge period runs from the start date for
# its months (1 month from 1 Jul ends 31 Jul), or to an earlier end date the order gives.


def test_cross_semester_refused_just_over_and_accepted_at_the_boundary():
    w = funds_world(unit_price_fen=100)
    # 2 months from 1 Jul end on 31 Aug: the last day of the spring term
    order = _order(w, months=2, starts_on=date(2026, 7, 1), today=date(2026, 7, 1))
    assert order.ends_on == date(2026, 8, 31)
    # from 2 Jul the same 2 months end on 1 Sep, the first day of the autumn term
    e = _refused(
        "fees.cross_semester_allowed",
        lambda: _order(w, months=2, starts_on=date(2026, 7, 2), today=date(2026, 7, 2)),
    )
    assert e.detail["value"] is False and e.detail["set_by"] == "national"
    assert e.detail["semester_starts_on"] == "2026-09-01" and e.detail["period_end"] == "2026-09-01"
    assert e.detail["semester_rule"]["rule"] == "fees.semester_starts"
    # a period that ends before the term, though the months would run on, is accepted
    _order(w, months=2, starts_on=date(2026, 7, 2), today=date(2026, 7, 2), ends_on=date(2026, 8, 31))
    # the winter boundary: 1 month from 2 Jan runs to 1 Feb
    _order(w, starts_on=date(2027, 1, 1), today=date(2027, 1, 1))
    _refused(
        "fees.cross_semester_allowed", lambda: _order(w, starts_on=date(2027, 1, 2), today=date(2027, 1, 2))
    )


def test_cross_semester_end_date_is_checked_against_the_months():
    from django.core.exceptions import ValidationError

    w = funds_world(unit_price_fen=100)
    with pytest.raises(ValidationError):
        _order(w, starts_on=date(2026, 10, 1), today=date(2026, 10, 1), ends_on=date(2026, 11, 1))
    with pytest.raises(ValidationError):
        _order(w, starts_on=date(2026, 10, 1), today=date(2026, 10, 1), ends_on=date(2026, 9, 30))


def test_cross_semester_city_override_of_province_is_honoured():
    w = funds_world(unit_price_fen=100)
    policy_set(
        actor=system("test"),
        key="fees.cross_semester_allowed",
        division_code="51",
        value=False,
        basis="省规则",
    )
    policy_set(
        actor=system("test"),
        key="fees.cross_semester_allowed",
        division_code="5101",
        value=True,
        basis="市规则",
    )
    _order(w, months=3, starts_on=date(2026, 12, 1), today=date(2026, 12, 1))  # into spring: allowed here
    policy_set(
        actor=system("test"),
        key="fees.cross_semester_allowed",
        division_code="5101",
        value=False,
        basis="市规则",
    )
    e = _refused(
        "fees.cross_semester_allowed",
        lambda: _order(w, months=3, starts_on=date(2026, 12, 1), today=date(2026, 12, 1)),
    )
    assert e.detail["set_by"] == "5101" and e.detail["basis"] == "市规则"
    # the city's own school calendar: spring term from 16 Feb
    policy_set(
        actor=system("test"),
        key="fees.semester_starts",
        division_code="5101",
        value=["02-16", "09-01"],
        basis="市校历",
    )
    _order(w, starts_on=date(2027, 1, 15), today=date(2027, 1, 15))  # ends 14 Feb: inside
    e = _refused(
        "fees.cross_semester_allowed", lambda: _order(w, starts_on=date(2027, 1, 17), today=date(2027, 1, 17))
    )
    assert e.detail["semester_starts_on"] == "2027-02-16"
    assert e.detail["semester_rule"]["set_by"] == "5101" and e.detail["semester_rule"]["basis"] == "市校历"


# --- custody.risk_deposit_ratio -------------------------------------------------------


def _risk_world(required_fen=0):
    w = funds_world(unit_price_fen=1000)
    CustodyAccount.objects.filter(pk=w.custody.pk).update(
        mode=CustodyMode.RISK_DEPOSIT, required_deposit_fen=required_fen
    )
    return w


def test_risk_deposit_below_required_refuses_new_orders():
    w = _risk_world()
    paid_order(w, lessons=20)  # 20,000 fen held; no ratio set locally yet: nothing required
    policy_set(
        actor=system("test"), key="custody.risk_deposit_ratio", division_code="51", value=0.1, basis="省规则"
    )
    policy_set(
        actor=system("test"),
        key="custody.risk_deposit_ratio",
        division_code="5101",
        value=0.2,
        basis="市规则",
    )
    req = services.deposit_requirement(CustodyAccount.objects.get(pk=w.custody.pk))
    assert (req.base_fen, req.required_fen, req.held_fen) == (20000, 4000, 0)
    e = _refused("custody.risk_deposit_ratio", lambda: _order(w))
    assert e.detail["set_by"] == "5101" and e.detail["value"] == 0.2
    assert e.detail["required_fen"] == 4000 and e.detail["held_fen"] == 0
    assert "风险保证金不足" in e.message
    services.deposit_record(actor=w.admin, institution_id=w.institution.pk, amount_fen=3999, key="k1")
    _refused("custody.risk_deposit_ratio", lambda: _order(w))  # one fen short
    services.deposit_record(actor=w.admin, institution_id=w.institution.pk, amount_fen=1, key="k2")
    _order(w)  # exactly the required deposit: accepted


def test_risk_deposit_follows_the_larger_of_ledger_and_declaration():
    from qinglang.funds.services.indicators import week_monday

    w = _risk_world(required_fen=500)
    policy_set(
        actor=system("test"),
        key="custody.risk_deposit_ratio",
        division_code="5101",
        value=0.25,
        basis="市规则",
    )
    acc = CustodyAccount.objects.get(pk=w.custody.pk)
    assert services.deposit_requirement(acc).required_fen == 500  # the fixed minimum
    services.declaration_submit(
        actor=w.org_user,
        institution_id=w.institution.pk,
        week_start=week_monday(date.today()),
        declared_fen=10001,
    )
    req = services.deposit_requirement(acc)
    assert req.declared_fen == 10001 and req.required_fen == 2501  # rounded up to the fen


def test_deposit_top_up_is_audited_idempotent_and_regulator_only():
    from qinglang.accounts.models import Role
    from qinglang.core.errors import PermissionDeniedError
    from qinglang.core.models import AuditEvent
    from qinglang.testing import make_user

    w = _risk_world()
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    services.deposit_record(actor=officer, institution_id=w.institution.pk, amount_fen=5000, key="top-1")
    services.deposit_record(actor=officer, institution_id=w.institution.pk, amount_fen=5000, key="top-1")
    acc = CustodyAccount.objects.get(pk=w.custody.pk)
    assert acc.deposit_held_fen == 5000
    assert AuditEvent.objects.filter(action="funds.deposit_record", object_id=str(acc.pk)).count() == 1
    with pytest.raises(DomainError) as e:
        services.deposit_record(actor=officer, institution_id=w.institution.pk, amount_fen=6000, key="top-1")
    assert e.value.code == "idempotency_conflict"
    with pytest.raises(PermissionDeniedError):
        services.deposit_record(
            actor=w.org_user, institution_id=w.institution.pk, amount_fen=100, key="top-2"
        )
    bank_custody = funds_world()
    with pytest.raises(DomainError) as e:
        services.deposit_record(
            actor=officer, institution_id=bank_custody.institution.pk, amount_fen=100, key="top-3"
        )
    assert e.value.code == "not_risk_deposit_mode"
    assert CustodyAccount.objects.get(pk=w.custody.pk).deposit_held_fen == 5000


def test_the_city_release_rule_decides_the_order_and_the_order_cites_it_with_its_stages():
    from qinglang.core.models import AuditEvent

    w = funds_world()
    city = w.institution.division_code[:4]
    national = AuditEvent.objects.get(action="funds.order_create", object_id=str(_order(w).pk)).changes
    assert national["release_rule"] == "per_lesson" and national["release_rule_cited"]["set_by"] == "national"
    assert "staged_release_cited" not in national
    policy_set(
        actor=system("test"), key="custody.release_rule", division_code=city, value="staged", basis="市规定"
    )
    stages = [[1, 3, 50], [1, 1, 50]]
    policy_set(
        actor=system("test"), key="custody.staged_release", division_code=city, value=stages, basis="市规定"
    )
    order = _order(w, lessons=3)
    assert order.release_rule == "staged"
    cited = AuditEvent.objects.get(action="funds.order_create", object_id=str(order.pk)).changes
    assert cited["release_rule_cited"] == {
        "rule": "custody.release_rule",
        "value": "staged",
        "set_by": city,
        "basis": "市规定",
    }
    assert cited["staged_release_cited"]["rule"] == "custody.staged_release"
    assert (cited["staged_release_cited"]["value"], cited["staged_release_cited"]["set_by"]) == (stages, city)
