"""Coverage of every institution: 账户开通率 and 资金纳管率 over every operating
fee-charging institution of the area, those without any custody account included and
listed by name; per township and per competent department, ranked, with the change on
the week before; one grouped query each, whatever the number of institutions. The
public board shows the custody bank and masked account, or in red that there is none."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.funds import services
from qinglang.funds.selectors_coverage import coverage_of_all
from qinglang.funds.services.indicators import week_monday
from qinglang.funds.testing import funds_world, make_course, paid_order
from qinglang.registry.models import Institution
from qinglang.testing import make_institution, make_user

pytestmark = pytest.mark.django_db

TOWNSHIP_2 = "510107004"


def _labels(code):
    return code


def _cov(actor, week=None):
    return coverage_of_all(
        actor=actor,
        week_start=week or week_monday(timezone.localdate()),
        township_label=_labels,
        department_label=_labels,
    )


def _priced(admin, **kw):
    inst = make_institution(admin, whitelisted=True, **kw)
    make_course(admin, inst, kind=inst.kind)
    return inst


@pytest.fixture
def area():
    w = funds_world()  # 510107001, arts, custody opened 30 days ago
    admin = w.admin
    opened_now = _priced(admin, kind="sports")
    services.custody_account_open(
        actor=admin,
        institution_id=opened_now.pk,
        bank_id=w.bank.pk,
        mode="risk_deposit",
        account_number="6222000099990001",
        opened_on=timezone.localdate(),
    )
    none_1 = _priced(admin, kind="sports", name="无监管的体育机构")
    none_2 = _priced(admin, kind="arts", division_code=TOWNSHIP_2, name="无监管的艺术机构")
    make_institution(admin, name="不收费的机构")  # no priced course, no order
    closed = _priced(admin, name="已关停的机构")
    Institution.objects.filter(pk=closed.pk).update(status="closed", whitelisted=False)
    order = paid_order(w, lessons=10)
    services.declaration_submit(
        actor=w.org_user,
        institution_id=w.institution.pk,
        week_start=timezone.localdate(),
        declared_fen=2 * order.amount_fen,
    )
    return w, opened_now, none_1, none_2, order


def test_every_fee_charging_institution_counts_and_those_without_custody_are_named(area):
    _w, _opened_now, _none_1, _none_2, order = area
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    cov = _cov(officer)
    t = cov["total"]
    assert (t.institutions, t.with_account) == (4, 2)  # not the unpriced one, not the closed one
    assert t.account_rate == 0.5
    # custody holds the order's fee; 2× was declared: known is the larger of the two
    assert (t.held_fen, t.known_fen) == (order.amount_fen, 2 * order.amount_fen)
    assert t.coverage_rate == 0.5
    assert [i.name for i in cov["without_account"]] == ["无监管的体育机构", "无监管的艺术机构"]


def test_per_township_and_department_ranked_with_the_change_on_the_week_before(area):
    w, *_ = area
    cov = _cov(make_user(Role.REGULATOR_OFFICER, prefixes=["510107"]))
    towns = {r.group: r for r in cov["by_township"]}
    t1, t2 = towns[w.institution.division_code[:9]], towns[TOWNSHIP_2]
    assert (t1.institutions, t1.with_account, t1.prev_with_account) == (3, 2, 1)
    assert t1.account_change_pp == pytest.approx(33.3, abs=0.1)  # one account opened this week
    assert (t2.institutions, t2.with_account, t2.account_rate) == (1, 0, 0.0)
    assert [r.rank for r in cov["by_township"]] == [1, 2] and cov["by_township"][0] is t1
    # the money moved this week: the week before knew nothing, so no rate and no change
    assert t1.prev_known_fen == 0 and t1.prev_coverage_rate is None and t1.coverage_change_pp is None
    depts = {r.group: r for r in cov["by_department"]}
    assert sum(r.institutions for r in depts.values()) == 4 and len(depts) == 2
    assert all(r.with_account == 1 and r.institutions == 2 for r in depts.values())
    # equal account rates: the department with money under custody ranks first
    assert [r.rank for r in cov["by_department"]] == [1, 2]
    assert cov["by_department"][0].coverage_rate == 0.5 and cov["by_department"][1].coverage_rate is None


def test_a_past_week_is_as_it_stood(area):
    _w, *_ = area
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    past = _cov(officer, week_monday(timezone.localdate()) - timedelta(days=14))
    assert past["total"].with_account == 1 and past["total"].held_fen == 0


def test_scope_narrows_the_area(area):
    other = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    cov = _cov(other)
    assert cov["total"] is None and not cov["without_account"].exists()


def test_the_query_count_does_not_grow_with_institutions(area):
    w, *_ = area
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            cov = _cov(officer)
            list(cov["without_account"])
        return [q["sql"][:60] for q in ctx.captured_queries], cov["total"].institutions

    queries()  # the officer's memberships, read once and kept
    before, n = queries()
    assert len(before) == 4  # township, department, total, the uncovered list
    for _ in range(6):
        _priced(w.admin, kind="sports")
    after, m = queries()
    assert m == n + 6 and after == before, (before, after)


def test_declarations_page_shows_coverage_and_the_uncovered(area):
    c = Client()
    c.force_login(make_user(Role.REGULATOR_OFFICER, prefixes=["510107"]))
    html = c.get(reverse("portal:funds_declarations")).content.decode()
    assert 'id="coverage"' in html and "账户开通率" in html and "资金纳管率" in html
    assert "无监管的体育机构" in html and "无监管的艺术机构" in html
    assert "不收费的机构" not in html and "已关停的机构" not in html
    assert 'id="total-account-rate">50.0%' in html
    assert "+33.3" in html


def test_public_board_shows_custody_or_says_in_red_there_is_none(area):
    w, opened_now, none_1, *_ = area
    html = Client().get(reverse("portal:public_institution", args=[w.institution.pk])).content.decode()
    number = w.custody.account_number
    assert w.bank.name in html and f"{number[:4]} **** **** {number[-4:]}" in html
    assert number not in html and "暂未接入" not in html
    html = Client().get(reverse("portal:public_institution", args=[opened_now.pk])).content.decode()
    assert "风险保证金" in html
    html = Client().get(reverse("portal:public_institution", args=[none_1.pk])).content.decode()
    assert 'class="small mb-0 mt-2 not-custodied" id="custody"' in html and "未纳入资金监管" in html


def test_week_arithmetic():
    assert week_monday(date(2026, 12, 3)) == date(2026, 11, 30)
