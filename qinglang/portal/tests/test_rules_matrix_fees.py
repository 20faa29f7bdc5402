"""The fee rules on an order, through the API (an institution's system on its token) and
the parent's order page: each limit at, just inside and just beyond its figure, with the
city's own figure; the on/off and list rules with the city turning them; each refusal
names the key (not to the parent), the value, the division that set it and the basis."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.urls import reverse

from qinglang.funds import services
from qinglang.funds.models import CustodyAccount, CustodyMode, Order
from qinglang.funds.services.orders import latest_end_in_semester
from qinglang.funds.testing import funds_world, make_course, paid_order
from qinglang.registry import services as registry

from .rule_checks import CITY, assert_cites, assert_refused, city_sets, post_json, token_client

pytestmark = pytest.mark.django_db
ORDERS = "/api/funds/orders"


def _body(w, course=None, **kw) -> dict:
    """An order of one lesson starting today, its period ending before the next semester."""
    today = date.today()
    return {
        "course_id": (course or w.course).pk,
        "learner_name": "小明",
        "lessons": 1,
        "months": 1,
        "starts_on": today,
        "ends_on": latest_end_in_semester(div=w.institution.division_code, starts_on=today, months=1),
        **kw,
    }


def _starting_in(w, days: int) -> dict:
    start = date.today() + timedelta(days=days)
    return _body(w, starts_on=start, ends_on=start)


def _topping_up(w, remaining: int) -> dict:
    earlier = services.order_create(actor=w.org_user, data=services.OrderInput(**_body(w, lessons=remaining)))
    return _body(w, top_up_of=earlier.pk)


@dataclass(frozen=True)
class Limit:
    """A ceiling: ``at`` is the order's figure at the national limit ``value``, ``city_at``
    at the city's stricter ``city_value``; ``order(w, n)`` is the order whose figure is n."""

    key: str
    at: int
    value: int
    city_at: int
    city_value: int
    order: Callable
    price: int = 100
    on_the_page: bool = True  # the parent's form asks for the figure

    def __str__(self):
        return self.key


LIMITS = [
    Limit("fees.max_lessons_per_charge", 60, 60, 40, 40, lambda w, n: _body(w, lessons=n)),
    Limit("fees.max_months_per_charge", 3, 3, 2, 2, lambda w, n: _body(w, months=n)),
    Limit(
        "fees.max_amount_per_charge_fen",
        50,
        500000,
        30,
        300000,
        lambda w, n: _body(w, lessons=n),
        price=10000,
    ),
    Limit("fees.earliest_charge_before_start_days", 30, 30, 10, 10, _starting_in),
    Limit("fees.per_lesson_charge_when_remaining_at_most", 20, 20, 10, 10, _topping_up, on_the_page=False),
]
STEPS = {"inside": -1, "at": 0, "beyond": 1}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("rule", LIMITS, ids=str)
def test_a_fee_limit_through_the_api(rule, step):
    w = funds_world(unit_price_fen=rule.price)
    api = token_client(w.org_user)
    body = rule.order(w, rule.at + STEPS[step])
    before = Order.objects.count()
    r = post_json(api, ORDERS, body)
    if step == "beyond":
        assert_refused(r, rule.key, rule.value)
        assert Order.objects.count() == before
    else:
        assert r.status_code == 201, r.content


@pytest.mark.parametrize("rule", LIMITS, ids=str)
def test_the_citys_fee_limit_through_the_api(rule):
    """成都市's stricter figure: the national limit is now beyond it, refused naming the
    city; the city's own figure is taken."""
    w = funds_world(unit_price_fen=rule.price)
    city_sets(rule.key, rule.city_value)
    api = token_client(w.org_user)
    assert_refused(post_json(api, ORDERS, rule.order(w, rule.at)), rule.key, rule.city_value, CITY)
    assert_refused(post_json(api, ORDERS, rule.order(w, rule.city_at + 1)), rule.key, rule.city_value, CITY)
    assert post_json(api, ORDERS, rule.order(w, rule.city_at)).status_code == 201


def _page(client, w, body: dict):
    form = {
        "course": body["course_id"],
        "learner_name": body["learner_name"],
        "lessons": body["lessons"],
        "months": body["months"],
        "starts_on": body["starts_on"].isoformat(),
        "ends_on": body["ends_on"].isoformat(),
    }
    url = reverse("portal:parent_order_create") + f"?institution={w.institution.pk}"
    return client.post(url, form)


def _refused_on_the_page(resp, key, value, set_by="national", **kw) -> None:
    """The parent's form shows the rule in words (value, division, basis), not its key."""
    assert resp.status_code == 200
    assert_cites(resp.content.decode(), key, value, set_by, with_key=False, **kw)


@pytest.mark.parametrize("rule", [r for r in LIMITS if r.on_the_page], ids=str)
def test_a_fee_limit_on_the_parents_page(client, rule):
    w = funds_world(unit_price_fen=rule.price)
    client.force_login(w.parent)
    before = Order.objects.count()
    _refused_on_the_page(_page(client, w, rule.order(w, rule.at + 1)), rule.key, rule.value)
    city_sets(rule.key, rule.city_value)
    _refused_on_the_page(_page(client, w, rule.order(w, rule.city_at + 1)), rule.key, rule.city_value, CITY)
    assert Order.objects.count() == before
    resp = _page(client, w, rule.order(w, rule.city_at))
    assert resp.status_code == 302 and Order.objects.count() == before + 1


# --- on/off and list rules -------------------------------------------------------------


def test_training_loans_on_and_off_through_the_api():
    """Off nationally: an order paid by a training loan is refused; the same order without
    the loan is taken; where the city allows loans, the loan order is taken too. (The
    parent's form offers no loan.)"""
    w = funds_world(unit_price_fen=100)
    api = token_client(w.org_user)
    key = "fees.training_loans_allowed"
    assert_refused(post_json(api, ORDERS, _body(w, training_loan=True)), key, False)
    assert post_json(api, ORDERS, _body(w)).status_code == 201
    city_sets(key, True)
    assert post_json(api, ORDERS, _body(w, training_loan=True)).status_code == 201


def test_materials_review_on_and_off_on_the_parents_page(client):
    w = funds_world()
    registry.material_submit(
        actor=w.admin,
        institution_id=w.institution.pk,
        data={"title": "少儿美术讲义", "course_id": w.course.pk},
    )
    client.force_login(w.parent)
    resp = _page(client, w, _body(w))
    _refused_on_the_page(resp, "materials.review_required", True)
    assert "少儿美术讲义" in resp.content.decode() and not Order.objects.exists()
    city_sets("materials.review_required", False)
    assert _page(client, w, _body(w)).status_code == 302 and Order.objects.count() == 1


def test_custody_modes_through_the_api_and_the_page(client):
    """Bank custody is in the national list: taken. 成都市 allows only the risk deposit:
    the bank-custody institution's orders are refused, the modes read by their names."""
    w = funds_world(unit_price_fen=100)
    api = token_client(w.org_user)
    key = "custody.modes_allowed"
    assert post_json(api, ORDERS, _body(w)).status_code == 201
    city_sets(key, ["risk_deposit"])
    body = assert_refused(post_json(api, ORDERS, _body(w)), key, ["risk_deposit"], CITY)
    assert "“银行托管”本地不允许" in body["message"] and "风险保证金(" in body["message"]
    client.force_login(w.parent)
    _refused_on_the_page(_page(client, w, _body(w)), key, ["risk_deposit"], CITY)
    assert Order.objects.count() == 1


PROVINCE_BASIS = "四川省指导价(测试)"


def test_guided_price_at_inside_and_beyond_through_the_api_and_the_page(client):
    """Not set nationally (not enforced); 四川省 sets 60 yuan a lesson: a subject course at
    59.99 or 60 yuan is sold, one at 60.01 (priced before the figure) is refused and can no
    longer be created; 成都市's 55 yuan refuses the 60-yuan course on the parent's page."""
    w = funds_world(category="subject", kind="subject", unit_price_fen=100)
    courses = {
        n: make_course(w.admin, w.institution, unit_price_fen=n, kind="subject") for n in (5999, 6000, 6001)
    }
    api = token_client(w.org_user)
    key = "guided_price.subject_per_lesson_fen"
    assert post_json(api, ORDERS, _body(w, courses[6001])).status_code == 201  # nothing set yet
    city_sets(key, 6000, division="51", basis=PROVINCE_BASIS)
    assert post_json(api, ORDERS, _body(w, courses[5999])).status_code == 201
    assert post_json(api, ORDERS, _body(w, courses[6000])).status_code == 201
    assert_refused(post_json(api, ORDERS, _body(w, courses[6001])), key, 6000, "51", basis=PROVINCE_BASIS)
    r = post_json(
        token_client(w.admin),
        f"/api/registry/institutions/{w.institution.pk}/courses",
        {"name": "初中数学", "kind": "subject", "stage": "junior", "lessons": 10, "unit_price_fen": 6001},
    )
    body = assert_refused(r, key, 6000, "51", basis=PROVINCE_BASIS)
    assert "学科类政府指导价(每课时) ¥60.00" in body["message"]
    city_sets(key, 5500)
    client.force_login(w.parent)
    _refused_on_the_page(_page(client, w, _body(w, courses[6000])), key, 5500, CITY)


def test_risk_deposit_at_inside_and_beyond_through_the_api_and_the_page(client):
    """成都市 requires a deposit of 20% of the prepaid fees held: one fen short, the
    institution's next order is refused (on the parent's page in words); at the required
    deposit and one fen over it, orders are taken."""
    w = funds_world(unit_price_fen=1000)
    CustodyAccount.objects.filter(pk=w.custody.pk).update(mode=CustodyMode.RISK_DEPOSIT)
    paid_order(w, lessons=20)
    key = "custody.risk_deposit_ratio"
    city_sets(key, 0.2)
    api = token_client(w.org_user)

    def top_up_to(extra: int, n: int) -> None:
        req = services.deposit_requirement(CustodyAccount.objects.get(pk=w.custody.pk))
        services.deposit_record(
            actor=w.admin,
            institution_id=w.institution.pk,
            amount_fen=req.required_fen + extra - req.held_fen,
            key=f"k{n}",
        )

    top_up_to(-1, 1)
    body = assert_refused(post_json(api, ORDERS, _body(w)), key, 0.2, CITY)
    assert body["detail"]["required_fen"] - body["detail"]["held_fen"] == 1
    client.force_login(w.parent)
    _refused_on_the_page(_page(client, w, _body(w)), key, 0.2, CITY)
    top_up_to(0, 2)
    assert post_json(api, ORDERS, _body(w)).status_code == 201
    top_up_to(1, 3)
    assert post_json(api, ORDERS, _body(w)).status_code == 201


def test_cross_semester_at_inside_and_beyond_through_the_api_and_the_page(client):
    """成都市's school calendar starts a semester 20 days from today: a charge period
    ending the day before it (at) or two days before (inside) is taken; one ending on its
    first day (beyond) is refused naming the rule and the city's calendar; where the city
    allows charging across semesters, it is taken."""
    w = funds_world(unit_price_fen=100)
    start = date.today() + timedelta(days=20)
    if (start.month, start.day) == (2, 29):
        start += timedelta(days=1)
    other = start + timedelta(days=180)
    city_sets("fees.semester_starts", sorted([start.strftime("%m-%d"), other.strftime("%m-%d")]))
    api = token_client(w.org_user)
    key = "fees.cross_semester_allowed"
    for ends_on in (start - timedelta(days=2), start - timedelta(days=1)):
        assert post_json(api, ORDERS, _body(w, ends_on=ends_on)).status_code == 201
    body = assert_refused(post_json(api, ORDERS, _body(w, ends_on=start)), key, False)
    assert body["detail"]["semester_starts_on"] == start.isoformat()
    assert body["detail"]["semester_rule"]["set_by"] == CITY
    client.force_login(w.parent)
    _refused_on_the_page(_page(client, w, _body(w, ends_on=start)), key, False)
    city_sets(key, True)
    assert post_json(api, ORDERS, _body(w, ends_on=start)).status_code == 201
