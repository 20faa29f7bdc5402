"""The risk signals' rules: every kind's threshold (``risk.threshold.<kind>``, and
``alerts.large_transaction_ratio`` for a large movement) just inside, at and just beyond
its figure, with the national figure and with 成都市's own threshold and weight
(``risk.weight.<kind>``). Read as an official reads them, through the API (the
institution's risk: its signals and the day's score explanation) and on the institution's
risk page: a signal that fires names the threshold's key, its figure, the division that
set it and the basis, and the weight counted is the one in force there, cited alike."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core.policy import RULE_MARK, policy_resolve
from qinglang.risk.models import RiskSignal
from qinglang.risk.policy import threshold_key, weight_key
from qinglang.risk.scoring import score_day
from qinglang.risk.signals import AT_MOST
from qinglang.risk.tests.signal_cases import CASES, STEPS
from qinglang.testing import make_institution, make_user

from .rule_checks import CITY, CITY_BASIS, assert_cites, city_sets, token_client

pytestmark = pytest.mark.django_db
CITY_WEIGHT = 3  # no national weight is 3: the weight counted shows whose it is


def _cite(key, value, set_by) -> dict:
    basis = CITY_BASIS if set_by == CITY else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


def _figures(kind: str, where: str) -> tuple:
    """(threshold, weight, who set them) for ``where`` ("national" or "city"), 成都市
    setting its own threshold and weight for "city"."""
    case = CASES[kind]
    if where == "city":
        city_sets(threshold_key(kind), case.city_figure)
        city_sets(weight_key(kind), CITY_WEIGHT)
        return case.city_figure, CITY_WEIGHT, CITY
    assert policy_resolve(threshold_key(kind), CITY).value == case.national_figure
    return case.national_figure, policy_resolve(weight_key(kind), CITY).value, "national"


def _beyond(kind: str, value, figure) -> bool:
    return value < figure if kind in AT_MOST else value > figure


@pytest.mark.parametrize("where", ["national", "city"])
@pytest.mark.parametrize("kind", list(CASES))
def test_a_signal_fires_at_and_beyond_its_threshold_naming_the_rules_in_force(admin, kind, where):
    """Three institutions scored on one day, one short of the threshold (inside), one at
    it, one beyond: the two that reach it have the signal with the threshold, weight and
    division in force; the score's explanation (API) cites both rules, the score adds up
    the weights counted, and the institution's page states both rules. The one inside has
    no such signal, and its page names neither rule."""
    case = CASES[kind]
    key, wkey = threshold_key(kind), weight_key(kind)
    figure, weight, set_by = _figures(kind, where)
    day = timezone.localdate()
    insts = {step: make_institution(admin) for step in STEPS}
    for step, inst in insts.items():
        case.build(inst, day, case.steps(where)[step])
    score_day(day)

    officer = make_user(Role.REGULATOR_OFFICER, department_kind=insts["at"].competent_department.kind)
    api, page = token_client(officer), Client()
    page.force_login(officer)
    for step, inst in insts.items():
        r = api.get(f"/api/risk/institutions/{inst.pk}")
        assert r.status_code == 200, r.content
        risk = r.json()
        html = page.get(reverse("portal:risk_institution", args=[inst.pk])).content.decode()
        fired = [s for s in risk["signals"] if s["kind"] == kind]
        if step == "inside":
            assert not fired, f"{kind} fired short of {figure}"
            assert not RiskSignal.objects.filter(institution=inst, kind=kind).exists()
            assert f"{RULE_MARK}{key}]" not in html and f"{RULE_MARK}{wkey}]" not in html
            continue
        (s,) = fired
        assert s["threshold"] == figure and s["weight"] == weight, s
        assert s["set_in"] == ("" if set_by == "national" else CITY)
        assert (s["value"] == figure) if step == "at" else _beyond(kind, s["value"], figure), s
        latest = risk["history"][0]
        assert latest["day"] == day.isoformat()
        (entry,) = [e for e in latest["explanation"]["signals"] if e["kind"] == kind]
        assert (entry["rule"], entry["threshold"], entry["weight_rule"], entry["weight"]) == (
            key,
            figure,
            wkey,
            weight,
        )
        assert entry["cited"] == _cite(key, figure, set_by)
        assert entry["weight_cited"] == _cite(wkey, weight, set_by)
        assert latest["score"] == sum(e["weight"] for e in latest["explanation"]["signals"])
        assert_cites(html, key, figure, set_by)
        assert_cites(html, wkey, weight, set_by)
