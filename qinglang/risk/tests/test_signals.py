"""Each signal fires at, and not below, its threshold, with the threshold set by the city
(5101) rather than the national default; the evidence names the source rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qinglang.accounts.permissions import system
from qinglang.core.services import policy_set
from qinglang.inspections.models import Notice, RectificationItem, Task
from qinglang.registry.models import Licence
from qinglang.risk.models import RiskScore, RiskSignal
from qinglang.risk.policy import threshold_key, weight_key
from qinglang.risk.scoring import score_day
from qinglang.testing import make_institution

from . import factories as f

pytestmark = pytest.mark.django_db
CITY = "5101"


def _orders(n, inst, day, **kw):
    for _ in range(n):
        f.order(inst, day=day, **kw)


def _rectification_items(n, inst, day):
    task = Task.objects.create(
        institution=inst,
        division_code=inst.division_code,
        scheduled_on=day - timedelta(days=30),
        due_on=day - timedelta(days=29),
        origin="adhoc",
        reason="检查",
    )
    notice = Notice.objects.create(
        number=f"N{task.pk}",
        task=task,
        institution=inst,
        division_code=inst.division_code,
        issued_on=day - timedelta(days=30),
        deadline_days=10,
        deadline_on=day - timedelta(days=3),
    )
    for i in range(n):
        RectificationItem.objects.create(
            notice=notice,
            institution=inst,
            division_code=inst.division_code,
            department_kind="education",
            title=f"问题{i}",
            deadline_on=day - timedelta(days=3),
        )


def _reports(n, inst, day, kind):
    for _ in range(n):
        f.report(inst, kind=kind, observed_on=day - timedelta(days=2), evidence="现场看到大门紧锁，家长聚集")


def shortfall(balance):
    def build(inst, day):
        f.order(inst, day=day - timedelta(days=40), lessons=10, price=10000)  # owes 100,000 fen
        f.custody(inst, balance)

    return build


def overdue(n):
    return lambda inst, day: [
        f.refund(inst, day=day - timedelta(days=9), respond_by=day - timedelta(days=2)) for _ in range(n)
    ]


def rising_refunds(n):
    return lambda inst, day: [
        f.refund(inst, day=day - timedelta(days=1), respond_by=day + timedelta(days=5)) for _ in range(n)
    ]


def surge(recent_lessons):
    def build(inst, day):
        f.order(
            inst, day=day - timedelta(days=60), lessons=9
        )  # 90,000 fen in the 90 days before: 30,000 a month
        f.order(inst, day=day - timedelta(days=3), lessons=recent_lessons)

    return build


def price(recent_price):
    def build(inst, day):
        f.order(inst, day=day - timedelta(days=60), lessons=10, price=10000)
        f.order(inst, day=day - timedelta(days=3), lessons=10, price=recent_price)

    return build


def long(n_long, n_short):
    def build(inst, day):
        _orders(n_long, inst, day - timedelta(days=2), months=3)
        _orders(n_short, inst, day - timedelta(days=2), months=1)

    return build


def clues(n, **kw):
    return lambda inst, day: [f.clue(inst, day=day - timedelta(days=1), **kw) for _ in range(n)]


def left(n):
    return lambda inst, day: [f.staff_left(inst, day=day - timedelta(days=5)) for _ in range(n)]


def licence(days):
    return lambda inst, day: Licence.objects.create(
        institution=inst, kind="food_licence", number="JY1", valid_until=day + timedelta(days=days)
    )


def unreachable(with_report):
    def build(inst, day):
        f.clue(inst, day=day - timedelta(days=1), summary="机构负责人联系不上，电话一直关机")
        if with_report:
            _reports(1, inst, day, "head_unreachable")

    return build


# kind: (the city's threshold, data giving exactly that value, data just short of it)
CASES = {
    "custody_shortfall": (0.25, shortfall(75000), shortfall(76000)),
    "large_movement": (
        0.2,
        lambda i, d: f.large_movement(i, day=d, ratio=0.2),
        lambda i, d: f.large_movement(i, day=d, ratio=0.19),
    ),
    "refunds_overdue": (2, overdue(2), overdue(1)),
    "refunds_rising": (2, rising_refunds(2), rising_refunds(1)),
    "sales_surge": (3.0, surge(9), surge(8)),
    "price_rise": (1.5, price(15000), price(14900)),
    "long_packages": (0.6, long(3, 2), long(1, 1)),
    "complaints_rising": (2, clues(2), clues(1)),
    "complaints_runaway": (3, clues(3, category="runaway"), clues(2, category="refund_difficulty")),
    "wage_arrears": (
        2,
        clues(2, summary="机构拖欠工资三个月，老师们都走了"),
        clues(1, summary="机构拖欠工资三个月，老师们都走了"),
    ),
    "staff_leaving": (2, left(2), left(1)),
    "rectification_overdue": (
        2,
        lambda i, d: _rectification_items(2, i, d),
        lambda i, d: _rectification_items(1, i, d),
    ),
    "licence_expiring": (10, licence(10), licence(11)),  # fires at or *below* the days left
    "site_change": (
        2,
        lambda i, d: _reports(2, i, d, "site_change"),
        lambda i, d: _reports(1, i, d, "site_change"),
    ),
    "head_unreachable": (2, unreachable(True), unreachable(False)),
}


# kind: the rules its explanation must name (the threshold key and the weight key)
RULES = {
    "custody_shortfall": {
        "rule": "risk.threshold.custody_shortfall",
        "weight_rule": "risk.weight.custody_shortfall",
    },
    "large_movement": {"rule": "alerts.large_transaction_ratio", "weight_rule": "risk.weight.large_movement"},
    "refunds_overdue": {
        "rule": "risk.threshold.refunds_overdue",
        "weight_rule": "risk.weight.refunds_overdue",
    },
    "refunds_rising": {"rule": "risk.threshold.refunds_rising", "weight_rule": "risk.weight.refunds_rising"},
    "sales_surge": {"rule": "risk.threshold.sales_surge", "weight_rule": "risk.weight.sales_surge"},
    "price_rise": {"rule": "risk.threshold.price_rise", "weight_rule": "risk.weight.price_rise"},
    "long_packages": {"rule": "risk.threshold.long_packages", "weight_rule": "risk.weight.long_packages"},
    "complaints_rising": {
        "rule": "risk.threshold.complaints_rising",
        "weight_rule": "risk.weight.complaints_rising",
    },
    "complaints_runaway": {
        "rule": "risk.threshold.complaints_runaway",
        "weight_rule": "risk.weight.complaints_runaway",
    },
    "wage_arrears": {"rule": "risk.threshold.wage_arrears", "weight_rule": "risk.weight.wage_arrears"},
    "staff_leaving": {"rule": "risk.threshold.staff_leaving", "weight_rule": "risk.weight.staff_leaving"},
    "rectification_overdue": {
        "rule": "risk.threshold.rectification_overdue",
        "weight_rule": "risk.weight.rectification_overdue",
    },
    "licence_expiring": {
        "rule": "risk.threshold.licence_expiring",
        "weight_rule": "risk.weight.licence_expiring",
    },
    "site_change": {"rule": "risk.threshold.site_change", "weight_rule": "risk.weight.site_change"},
    "head_unreachable": {
        "rule": "risk.threshold.head_unreachable",
        "weight_rule": "risk.weight.head_unreachable",
    },
}
CITY_WEIGHT = 3


@pytest.mark.parametrize("kind", list(CASES))
def test_signal_fires_at_the_city_threshold_and_not_short_of_it(kind, admin):
    threshold, at_threshold, short = CASES[kind]
    day = timezone.localdate()
    rules = RULES[kind]
    assert (threshold_key(kind), weight_key(kind)) == (rules["rule"], rules["weight_rule"])
    policy_set(
        actor=system("test"), key=rules["rule"], division_code=CITY, value=threshold, basis="成都市规定"
    )
    policy_set(
        actor=system("test"),
        key=rules["weight_rule"],
        division_code=CITY,
        value=CITY_WEIGHT,
        basis="成都市规定",
    )
    hit, miss = make_institution(admin), make_institution(admin)
    at_threshold(hit, day)
    short(miss, day)

    score_day(day)

    s = RiskSignal.objects.filter(kind=kind, institution=hit).first()
    assert s is not None, f"{kind} did not fire at the city threshold"
    assert s.threshold == threshold and s.set_in == CITY
    assert s.evidence.get("model") or s.evidence.get("sources")
    # the score explanation names the rules that applied, their values and who set them
    (entry,) = [
        e for e in RiskScore.objects.get(institution=hit, day=day).explanation["signals"] if e["kind"] == kind
    ]
    assert entry["rule"] == rules["rule"] and entry["threshold"] == threshold and entry["set_in"] == CITY
    assert entry["weight_rule"] == rules["weight_rule"] and entry["weight"] == CITY_WEIGHT
    assert entry["weight_set_in"] == CITY and s.weight == CITY_WEIGHT
    assert not RiskSignal.objects.filter(kind=kind, institution=miss).exists(), (
        f"{kind} fired short of the threshold"
    )


def test_evidence_links_the_source_rows(admin):
    day = timezone.localdate()
    inst = make_institution(admin)
    rs = [f.refund(inst, day=day - timedelta(days=9), respond_by=day - timedelta(days=2)) for _ in range(2)]
    score_day(day)
    s = RiskSignal.objects.get(kind="refunds_overdue", institution=inst)
    assert s.evidence == {"model": "funds.refund", "ids": sorted(r.pk for r in rs)}
    assert s.value == 2 and s.set_in == ""  # the national default (1) applied
