"""Each fee rule refuses an order just over its limit and accepts one at it; a city
override of a provincial value is honoured; refusals name the rule."""

from datetime import date, timedelta

import pytest

from qinglang.core.errors import DomainError
from qinglang.core.services import policy_set
from qinglang.funds import services
from qinglang.funds.testing import funds_world, make_course, paid_order

pytestmark = pytest.mark.django_db


def _order(w, *, lessons=1, starts_on=None, months=1, course=None, **kw):
    return services.order_create(
        actor=w.parent,
        data=services.OrderInput(
            course_id=(course or w.course).pk,
            learner_name="小红",
            lessons=lessons,
            starts_on=starts_on or date.today(),
            months=months,
            **kw,
        ),
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
    _order(w, months=3)
    _refused("fees.max_months_per_charge", lambda: _order(w, months=4))


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
        actor="system:test",
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
        actor="system:test",
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
        actor="system:test", key="fees.max_lessons_per_charge", division_code="51", value=30, basis="省规则"
    )
    policy_set(
        actor="system:test", key="fees.max_lessons_per_charge", division_code="5101", value=40, basis="市规则"
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
        actor="system:test",
        key="custody.modes_allowed",
        division_code="5101",
        value=["risk_deposit"],
        basis="市规则",
    )
    _refused("custody.modes_allowed", lambda: _order(w))
