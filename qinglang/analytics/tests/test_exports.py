"""Every analytics table as .xlsx, a county's figures in one file for the city, and a
city or province user over their whole prefix."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.analytics.refresh import refresh, week_start
from qinglang.core.xlsx import iter_rows
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

pytestmark = pytest.mark.django_db


def _rows(resp):
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxml")
    return [r for r in iter_rows(io.BytesIO(resp.content)) if r]


@pytest.fixture
def world():
    make_institution(division_code=TOWNSHIP)
    make_institution(division_code="510107004", licensed=False, name='=HYPERLINK("x")')
    make_institution(division_code=OTHER_COUNTY)
    refresh(today=timezone.localdate(), full=True)


def test_dashboard_ranking_and_figures_export(world):
    today = timezone.localdate()
    c = Client()
    c.force_login(make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]))
    rows = _rows(
        c.get(
            reverse("portal:analytics_dashboard"),
            {"division": DEMO_COUNTY, "period": "day", "start": today, "format": "xlsx"},
        )
    )
    lic = next(r for r in rows if r[0] == "证照齐全率")
    assert float(lic[2]) == 50.0 and int(float(lic[3])) == 1 and int(float(lic[4])) == 2
    rows = _rows(
        c.get(reverse("portal:analytics_ranking"), {"division": DEMO_COUNTY, "week": today, "format": "xlsx"})
    )
    assert any(r[0] == "证照齐全率" and r[3] == "望江路街道" and float(r[4]) == 0.0 for r in rows)
    rows = _rows(
        c.get(
            reverse("portal:analytics_figures_xlsx"),
            {"division": DEMO_COUNTY, "period": "week", "start": week_start(today)},
        )
    )
    codes = {r[0] for r in rows[2:]}
    assert DEMO_COUNTY in codes and TOWNSHIP in codes and OTHER_COUNTY not in codes
    assert any(r[1].endswith("浆洗街街道") for r in rows[2:])
    assert c.get(reverse("portal:analytics_figures_xlsx"), {"division": OTHER_COUNTY}).status_code == 404


def test_a_city_user_sees_the_same_indicators_over_the_city(world):
    today = timezone.localdate()
    c = Client()
    c.force_login(make_user(Role.REGULATOR_LEADER, prefixes=["5101"]))
    r = c.get(reverse("portal:analytics_dashboard"), {"period": "day", "start": today})
    body = r.content.decode()
    assert r.status_code == 200 and "武侯区" in body and "锦江区" in body
    rows = _rows(
        c.get(reverse("portal:analytics_figures_xlsx"), {"division": "5101", "period": "day", "start": today})
    )
    codes = {r[0] for r in rows[2:]}
    assert {"5101", DEMO_COUNTY, OTHER_COUNTY} <= codes
    lic = next(r for r in rows if r[0] == "5101" and r[2] == "全部部门" and r[3] == "证照齐全率")
    assert (int(float(lic[4])), int(float(lic[5]))) == (2, 3)
