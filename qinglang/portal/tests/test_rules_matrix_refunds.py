"""The refund rules: the working days an institution has to answer a parent's refund
request before it counts as agreed (``refund.institution_response_days``), and where a
refund goes (``refund.destination``). The deadline at, just inside and just beyond its
figure, nationally and with the city's own figure, requested through the API and the
parent's page; the deemed agreement, its transition row and its audit record name the
key (the parent reads the same sentence without it), the value, the division that set it
and the basis."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from qinglang.core.calendar import add_working_days
from qinglang.core.models import AuditEvent
from qinglang.funds import services
from qinglang.funds.models import InstructionKind, InstructionLine, Refund, RefundStatus, RefundTransition
from qinglang.funds.testing import funds_world, paid_order

from .rule_checks import CITY, CITY_BASIS, assert_cites, city_sets, post_json, token_client

pytestmark = pytest.mark.django_db
DAYS = "refund.institution_response_days"
DESTINATION = "refund.destination"
PERIODS = {"national": 5, "city": 2}
STEPS = {"inside": -1, "at": 0, "beyond": 1}
PAYER = {"payer_account": "6217000011112222", "payer_account_name": "张女士", "payer_bank": "成都银行"}


def _cite(key, value, set_by) -> dict:
    from qinglang.core.policy import policy_resolve

    basis = CITY_BASIS if set_by == CITY else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


def _requested_through_the_api(client, w) -> Refund:
    order = paid_order(w, lessons=5, payer=PAYER)
    client.force_login(w.parent)
    r = post_json(client, f"/api/funds/orders/{order.pk}/refund", {"reason": "不学了"})
    assert r.status_code == 201, r.content
    return Refund.objects.get(pk=r.json()["id"])


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", PERIODS)
def test_an_unanswered_refund_counts_as_agreed_only_after_the_period(client, where, step):
    """The deadline falls exactly the configured number of working days after the request
    (not a day sooner); on the day before it and on it the institution may still answer,
    the deemed-agree job leaves the refund; the day after, it counts as agreed, citing the
    rule in its transition row (with the key), its audit record and the answer the parent
    and the institution read (in words)."""
    days = PERIODS[where]
    set_by = CITY if where == "city" else "national"
    if where == "city":
        city_sets(DAYS, days)
    w = funds_world()
    refund = _requested_through_the_api(client, w)
    today = timezone.localdate()
    assert refund.respond_by == add_working_days(today, days) > add_working_days(today, days - 1)
    asked = AuditEvent.objects.get(action="funds.refund_request", object_id=str(refund.pk)).changes
    assert asked["respond_rule"] == _cite(DAYS, days, set_by)
    deemed = services.refunds_deem_agreed(today=refund.respond_by + timedelta(days=STEPS[step]))
    refund.refresh_from_db()
    if step != "beyond":
        assert deemed == 0 and refund.status == RefundStatus.REQUESTED
        return
    assert deemed == 1 and refund.status == RefundStatus.DEEMED_AGREED
    row = RefundTransition.objects.get(refund=refund, to_status=RefundStatus.DEEMED_AGREED)
    assert "逾期未答复，视为同意" in row.reason
    assert_cites(row.reason, DAYS, days, set_by)
    decided = AuditEvent.objects.get(action="funds.refund_decide", object_id=str(refund.pk)).changes
    assert decided["rule"] == _cite(DAYS, days, set_by)
    assert_cites(refund.answer, DAYS, days, set_by, with_key=False)
    api = token_client(w.org_user).get("/api/funds/refunds")
    (listed,) = [x for x in api.json() if x["id"] == refund.pk]
    assert listed["status"] == RefundStatus.DEEMED_AGREED
    assert_cites(listed["answer"], DAYS, days, set_by, with_key=False)
    page = client.get(reverse("portal:parent_order", args=[refund.order_id]))
    assert page.status_code == 200
    assert_cites(page.content.decode(), DAYS, days, set_by, with_key=False)


def test_the_citys_period_on_the_parents_page(client):
    """A request on the parent's page gets 成都市's deadline of 2 working days, shown on
    the order's page; the refund counts as agreed only the day after it."""
    city_sets(DAYS, 2)
    w = funds_world()
    order = paid_order(w, lessons=5)
    client.force_login(w.parent)
    r = client.post(reverse("portal:parent_refund_request", args=[order.pk]), {"reason": "搬家"})
    assert r.status_code == 302
    refund = Refund.objects.get(order=order)
    due = add_working_days(timezone.localdate(), 2)
    assert refund.respond_by == due
    assert due.isoformat() in client.get(reverse("portal:parent_order", args=[order.pk])).content.decode()
    assert services.refunds_deem_agreed(today=due) == 0
    assert services.refunds_deem_agreed(today=due + timedelta(days=1)) == 1


def test_an_answer_within_the_period_is_the_institutions_not_the_rules(client):
    """The institution answers on the last day: agreed, its own answer, no rule cited."""
    city_sets(DAYS, 2)
    w = funds_world()
    refund = _requested_through_the_api(client, w)
    r = post_json(token_client(w.org_user), f"/api/funds/refunds/{refund.pk}/answer", {"agree": True})
    assert r.status_code == 200 and r.json()["status"] == RefundStatus.AGREED, r.content
    assert services.refunds_deem_agreed(today=refund.respond_by + timedelta(days=1)) == 0
    decided = AuditEvent.objects.get(action="funds.refund_decide", object_id=str(refund.pk)).changes
    assert "rule" not in decided and r.json()["answer"] == ""


@pytest.mark.parametrize("where", ["national", "city"])
def test_the_destination_is_cited_and_the_refund_goes_back_to_the_payer(client, where):
    """The request's record cites the destination rule as it is in force (nationally, or
    as 成都市 restates it); the refund, deemed agreed, is paid back to the payer's own
    account named in the payment notification, not to the institution."""
    set_by = CITY if where == "city" else "national"
    if where == "city":
        city_sets(DESTINATION, "original_payment_account")
    w = funds_world()
    refund = _requested_through_the_api(client, w)
    asked = AuditEvent.objects.get(action="funds.refund_request", object_id=str(refund.pk)).changes
    assert asked["destination_rule"] == _cite(DESTINATION, "original_payment_account", set_by)
    assert refund.destination == "original_payment_account"
    assert services.refunds_deem_agreed(today=refund.respond_by + timedelta(days=1)) == 1
    services.instructions_generate(day=timezone.localdate())
    line = InstructionLine.objects.get(refund=refund, kind=InstructionKind.REFUND)
    assert (line.destination, line.destination_name, line.destination_bank) == (
        PAYER["payer_account"],
        PAYER["payer_account_name"],
        PAYER["payer_bank"],
    )
    assert line.amount_fen == refund.amount_fen > 0
