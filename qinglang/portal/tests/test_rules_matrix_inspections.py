"""The random inspections' rules. The annual share (``random_inspection.annual_share``)
on the campaign page: a draw given neither a share nor a count draws what the year still
needs to reach the lower bound, and is refused once the year has reached it; the year's
draws beyond the upper bound are flagged. The inspector's gap
(``random_inspection.same_inspector_gap_days``): an inspector is not drawn again to an
institution inspected within it. Each at, just inside and just beyond its figure, with the
city's own; the refusal or the draw's record names the key, the value, the division and
the basis."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from qinglang.core.models import AuditEvent
from qinglang.core.policy import policy_resolve
from qinglang.inspections import services
from qinglang.inspections.models import Draw, Task
from qinglang.inspections.tests.helpers import campaign_data, inspectors
from qinglang.testing import make_institution

from .rule_checks import CITY, CITY_BASIS, assert_cites, city_sets

pytestmark = pytest.mark.django_db
KEY = "random_inspection.annual_share"
COUNTY = "510107"


@pytest.fixture
def county(admin):
    """Twenty operating institutions in the county (national share 10–20%: 2 to 4 a year)
    and four inspectors."""
    insts = [make_institution(admin) for _ in range(20)]
    inspectors(4)
    return insts


def _campaign(leader, n: int):
    return services.campaign_create(actor=leader, data=campaign_data(name=f"抽查{n}"))


def _drawn_this_year(leader, count: int) -> None:
    """A draw of ``count`` institutions today (a count given: the annual share does not
    decide it)."""
    c = _campaign(leader, 100 + count)
    services.campaign_draw(actor=leader, campaign_id=c.pk, count=count, seed="s", today=timezone.localdate())


def _annual_draw_on_the_page(client, leader, n: int):
    """The leader draws on the campaign page leaving share and count empty."""
    c = _campaign(leader, n)
    client.force_login(leader)
    url = reverse("portal:campaign_detail", args=[c.pk])
    html = client.post(url, {"action": "draw", "team_size": "2"}, follow=True).content.decode()
    return c, html


@pytest.mark.parametrize(("before", "drawn"), [(0, 2), (1, 1)], ids=["none_yet", "inside"])
def test_an_annual_draw_below_the_lower_bound_draws_what_the_year_needs(
    client, leader, county, before, drawn
):
    if before:
        _drawn_this_year(leader, before)
    c, html = _annual_draw_on_the_page(client, leader, 1)
    assert "已完成随机抽取" in html and "在规定范围内" in html
    assert Draw.objects.get(campaign=c).target_count == drawn
    st = services.annual_share_status(division_code=COUNTY, year=timezone.localdate().year)
    assert (st["drawn"], st["short_of_min"], st["over_max"]) == (2, 0, 0)


def test_an_annual_draw_at_the_lower_bound_is_refused_naming_the_rule(client, leader, county):
    _drawn_this_year(leader, 2)
    c, html = _annual_draw_on_the_page(client, leader, 1)
    assert "本年度已抽查2/20家，已达到年度抽查比例下限" in html and "已完成随机抽取" not in html
    assert_cites(html, KEY, [0.1, 0.2])
    assert not Draw.objects.filter(campaign=c).exists()


@pytest.mark.parametrize(
    ("count", "says"),
    [(3, "在规定范围内"), (4, "在规定范围内"), (5, "超出上限1家")],
    ids=["inside", "at", "beyond"],
)
def test_the_upper_bound_flags_a_year_beyond_it(client, leader, county, count, says):
    """Three or four of twenty drawn (at most 20%) are within the range; five are one
    over it: the campaign page and the draw's audit record say so, naming the rule."""
    _drawn_this_year(leader, count)
    st = services.annual_share_status(division_code=COUNTY, year=timezone.localdate().year)
    assert (st["drawn"], st["over_max"]) == (count, max(0, count - 4))
    text = AuditEvent.objects.filter(action="campaign.draw").latest("seq").changes["annual_share"]["text"]
    assert text.endswith(says) and f"规则 {KEY}，由全国设定" in text
    client.force_login(leader)
    draw = Draw.objects.get()
    html = client.get(reverse("portal:campaign_detail", args=[draw.campaign_id])).content.decode()
    assert f"已抽查{count}/20家" in html and says in html


def test_the_citys_range_decides_the_annual_draw(client, leader, county):
    """成都市 samples 25–50% a year: the annual draw takes five of twenty; the next is
    refused naming the city's range, the city and its basis."""
    city_sets(KEY, [0.25, 0.5])
    c, html = _annual_draw_on_the_page(client, leader, 1)
    assert Draw.objects.get(campaign=c).target_count == 5
    c2, html = _annual_draw_on_the_page(client, leader, 2)
    assert "本年度已抽查5/20家" in html and not Draw.objects.filter(campaign=c2).exists()
    assert_cites(html, KEY, [0.25, 0.5], CITY)
    st = services.annual_share_status(division_code=COUNTY, year=timezone.localdate().year)
    assert st["rule"].division_code == CITY and (st["min"], st["max"]) == (0.25, 0.5)


# --- random_inspection.same_inspector_gap_days ------------------------------------------

GAP = "random_inspection.same_inspector_gap_days"
GAPS = {"national": 365, "city": 180}
STEPS = {"inside": -1, "at": 0, "beyond": 1}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("where", GAPS)
def test_an_inspector_is_drawn_again_only_beyond_the_gap(admin, leader, where, step):
    """One institution and one inspector: drawn together once, the inspector is not drawn
    to it again on a day within the gap (the day before its last day, its last day), and
    is the day after; the draw's record cites the gap with its figure, division and basis."""
    days = GAPS[where]
    if where == "city":
        city_sets(GAP, days)
    inst = make_institution(admin)
    (inspector,) = inspectors(1, depts=("education",))
    first = services.campaign_create(actor=leader, data=campaign_data(name="首次"))
    services.campaign_draw(
        actor=leader, campaign_id=first.pk, count=1, team_size=1, seed="g", today=date(2026, 3, 1)
    )
    inspected_on = Task.objects.get(campaign=first).scheduled_on
    today = inspected_on + timedelta(days=days + STEPS[step])
    again = services.campaign_create(
        actor=leader,
        data=campaign_data(
            name="再次", starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=30)
        ),
    )
    draw = services.campaign_draw(
        actor=leader, campaign_id=again.pk, count=1, team_size=1, seed="g", today=today
    )
    task = Task.objects.get(campaign=again, institution=inst)
    rules = {e["rule"] for e in draw.exclusions}
    if step == "beyond":
        assert list(task.team.members.values_list("user_id", flat=True)) == [inspector.pk]
        assert GAP not in rules
    else:
        assert task.team_id is None and {GAP, "unstaffed"} <= rules
    cited = (
        AuditEvent.objects.filter(action="campaign.draw", object_id=str(again.pk)).get().changes["gap_rule"]
    )
    set_by, basis = (CITY, CITY_BASIS) if where == "city" else ("national", policy_resolve(GAP, "").basis)
    assert (cited["rule"], cited["value"], cited["set_by"], cited["basis"]) == (GAP, days, set_by, basis)
