"""How custody releases the fees of given lessons: one lesson at a time or in stages
(``custody.release_rule``), and the stages (``custody.staged_release``). An order sold
through the API keeps the rule in force and its record cites it (key, value, division,
basis); with 成都市's stages a stage's share goes pending exactly with the lesson that
completes it, not one lesson before."""

import pytest

from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.funds import services
from qinglang.funds.models import Order
from qinglang.funds.testing import funds_world, paid_order

from .rule_checks import CITY, CITY_BASIS, city_sets, post_json, token_client
from .test_rules_matrix_fees import ORDERS, _body

pytestmark = pytest.mark.django_db
RULE = "custody.release_rule"
STAGES = "custody.staged_release"
CITY_STAGES = [[1, 3, 30], [2, 3, 30], [3, 3, 40]]


def _cite(key, value, set_by) -> dict:
    basis = CITY_BASIS if set_by == CITY else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


@pytest.mark.parametrize("where", ["national", "city"])
def test_the_release_rule_is_kept_and_cited_by_an_order_sold_through_the_api(where):
    """Nationally one lesson at a time (no stages cited); where 成都市 releases in stages,
    the order keeps ``staged`` and cites both rules as the city set them."""
    if where == "city":
        city_sets(RULE, "staged")
        city_sets(STAGES, CITY_STAGES)
    w = funds_world(unit_price_fen=100)
    r = post_json(token_client(w.org_user), ORDERS, _body(w))
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    cited = AuditEvent.objects.get(action="funds.order_create", object_id=str(order.pk)).changes
    if where == "national":
        assert order.release_rule == "per_lesson"
        assert cited["release_rule_cited"] == _cite(RULE, "per_lesson", "national")
        assert "staged_release_cited" not in cited
        return
    assert order.release_rule == "staged"
    assert cited["release_rule_cited"] == _cite(RULE, "staged", CITY)
    assert cited["staged_release_cited"] == _cite(STAGES, CITY_STAGES, CITY)


# nine lessons of 50 yuan (450 yuan): the first stage (30%, 135 yuan) at the third lesson
GIVEN = {"inside": (2, 0), "at": (3, 13500), "beyond": (4, 13500)}


@pytest.mark.parametrize("step", GIVEN)
def test_a_stage_goes_pending_with_the_lesson_that_completes_it(step):
    city_sets(RULE, "staged")
    city_sets(STAGES, CITY_STAGES)
    w = funds_world(unit_price_fen=5000)
    order = paid_order(w, lessons=9)
    assert order.release_rule == "staged"
    lessons, staged = GIVEN[step]
    for i in range(lessons):
        _, res = services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=f"s{i}"
        )
        assert res == "accepted"
    order.refresh_from_db()
    assert order.pending_fen + order.released_fen == staged


def test_per_lesson_release_moves_each_lessons_fee():
    """The national rule: each given lesson's fee goes pending with it."""
    w = funds_world(unit_price_fen=5000)
    order = paid_order(w, lessons=9)
    for i in range(2):
        services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=f"p{i}"
        )
    order.refresh_from_db()
    assert order.release_rule == "per_lesson" and order.pending_fen + order.released_fen == 10000
