"""Issue #13 item 4: scope follows the institution. Moving an institution to another
county takes every row that carries its place with it: afterwards the old county reads
none of its learners' orders and the new county reads all of them."""

from datetime import date, timedelta

import pytest
from django.apps import apps

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent
from qinglang.funds.models import CustodyAccount, Order
from qinglang.inspections.models import Task
from qinglang.registry import services
from qinglang.registry.models import Institution, Site
from qinglang.risk.tests import factories as f
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, admin_user, make_institution, make_user

DAY = date.today() - timedelta(days=3)


@pytest.fixture
def placed(db):
    admin = admin_user()
    inst = make_institution(admin)
    orders = [f.order(inst, day=DAY) for _ in range(3)]
    f.custody(inst, 30000)
    bank = apps.get_model("funds", "Bank").objects.create(
        code="B1", name="测试银行", division_code=DEMO_COUNTY
    )
    CustodyAccount.objects.create(
        institution=inst,
        bank=bank,
        account_number="6222000011112222",
        opened_on=DAY,
        mode="bank_custody",
        division_code=inst.division_code,
    )
    services.site_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "二校区", "address": "测试路2号", "division_code": "510107001"},
    )
    f.clue(inst, day=DAY)
    Task.objects.create(
        institution=inst, division_code=DEMO_COUNTY, scheduled_on=DAY, due_on=DAY + timedelta(days=7)
    )
    return admin, inst, orders


def _order_ids(client, user) -> set[int]:
    client.force_login(user)
    r = client.get("/api/funds/orders")
    assert r.status_code == 200, r.content
    return {o["id"] for o in r.json()}


def _rows_left_in(inst, county: str) -> dict[str, int]:
    from qinglang.registry.services import place_bound_models

    left = {}
    for model, lookup in place_bound_models():
        n = model._base_manager.filter(**{lookup: inst.pk}, division_code__startswith=county).count()
        if n:
            left[model._meta.label] = n
    return left


def test_move_takes_orders_and_every_place_bound_row(placed, client):
    admin, inst, orders = placed
    old_officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY])
    new_officer = make_user(Role.REGULATOR_OFFICER, prefixes=[OTHER_COUNTY])
    ids = {o.pk for o in orders}
    assert ids <= _order_ids(client, old_officer) and not ids & _order_ids(client, new_officer)
    assert _rows_left_in(inst, DEMO_COUNTY)  # orders, accounts, custody, site, clue, task…

    client.force_login(admin)
    r = client.post(
        f"/api/registry/institutions/{inst.pk}/move",
        {"division_code": OTHER_COUNTY, "reason": "行政区划调整"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["division_code"] == OTHER_COUNTY

    assert not ids & _order_ids(client, old_officer)
    assert ids <= _order_ids(client, new_officer)
    assert _rows_left_in(inst, DEMO_COUNTY) == {}
    for model in (Order, CustodyAccount, Site, Task, apps.get_model("clues", "Clue")):
        assert (
            model.objects.filter(institution=inst).exclude(division_code__startswith=OTHER_COUNTY).count()
            == 0
        )
    ev = AuditEvent.objects.filter(action="institution.move", object_id=str(inst.pk)).get()
    assert ev.changes["division_code"] == ["510107001", OTHER_COUNTY]
    assert ev.changes["rows"]["funds.Order"] == 3 and ev.changes["rows"]["registry.Site"] == 1
    inst.refresh_from_db()
    assert inst.competent_department.division_id == OTHER_COUNTY


def test_only_the_platform_admin_moves_to_another_county_and_a_refusal_changes_nothing(placed, client):
    _admin, inst, _orders = placed
    city_leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY, OTHER_COUNTY])
    events = AuditEvent.objects.count()
    client.force_login(city_leader)
    r = client.post(
        f"/api/registry/institutions/{inst.pk}/move",
        {"division_code": OTHER_COUNTY, "reason": "调整"},
        content_type="application/json",
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/registry/institutions/{inst.pk}",
        {"division_code": OTHER_COUNTY},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert Institution.objects.get(pk=inst.pk).division_code == "510107001"
    assert Order.objects.filter(institution=inst, division_code="510107001").count() == 3
    assert AuditEvent.objects.count() == events


def test_a_move_inside_the_county_carries_the_rows_too(placed):
    """A township officer's scope is the township: a profile change of the township moves
    the institution's orders with it (the county-level task stays county-level)."""
    admin, inst, _orders = placed
    services.institution_update(actor=admin, institution_id=inst.pk, data={"division_code": DEMO_COUNTY})
    assert not Order.objects.filter(institution=inst).exclude(division_code=DEMO_COUNTY).exists()
    assert Task.objects.get(institution=inst).division_code == DEMO_COUNTY


def test_every_model_with_a_division_code_is_either_carried_or_named(db):
    from qinglang.registry.services import NOT_AN_INSTITUTIONS_PLACE, place_bound_models

    carried = {m._meta.label for m, _ in place_bound_models()}
    with_code = {
        m._meta.label
        for m in apps.get_models()
        if "division_code" in {fld.name for fld in m._meta.concrete_fields}
    }
    assert with_code == carried | (with_code & set(NOT_AN_INSTITUTIONS_PLACE))
    assert not carried & set(NOT_AN_INSTITUTIONS_PLACE)
    for label in (
        "funds.Order",
        "funds.CustodyAccount",
        "funds.LedgerAccount",
        "funds.Posting",
        "funds.ReconciliationDifference",
        "registry.Site",
        "clues.Clue",
        "clues.ClueReport",
        "enforcement.PenaltyCase",
        "inspections.Task",
        "inspections.Record",
        "inspections.RectificationItem",
        "risk.RiskState",
        "screening.TextHold",
    ):
        assert label in carried, label
