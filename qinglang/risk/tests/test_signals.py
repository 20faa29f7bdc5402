"""Each signal fires at, and not below, its threshold, with the threshold set by the city
(5101) rather than the national default; the evidence names the source rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qinglang.accounts.permissions import system
from qinglang.core.services import policy_set
from qinglang.risk.models import RiskScore, RiskSignal
from qinglang.risk.policy import threshold_key, weight_key
from qinglang.risk.scoring import score_day
from qinglang.testing import make_institution

from . import factories as f
from .signal_cases import CASES

pytestmark = pytest.mark.django_db
CITY = "5101"


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
    case = CASES[kind]
    threshold, steps = case.city_figure, case.steps("city")
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
    case.build(hit, day, steps["at"])
    case.build(miss, day, steps["inside"])

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
