"""random_inspection.annual_share: a draw without a share or count draws what the year
still needs; every draw says how far the year's draws are from the bounds."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from qinglang.core.errors import DomainError
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.inspections import services
from qinglang.inspections.models import Draw
from qinglang.testing import ROOT, make_institution

from .helpers import campaign_data, inspectors

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 1)


@pytest.fixture
def county(admin):
    insts = [make_institution(admin) for _ in range(20)]
    inspectors(4)
    return insts


def _draw(leader, today=DAY, **kw):
    c = services.campaign_create(actor=leader, data=campaign_data(name=f"抽查{kw}{today}"))
    return services.campaign_draw(actor=leader, campaign_id=c.pk, seed="s", today=today, **kw)


def test_annual_mode_draws_up_to_the_minimum(leader, county):
    # 20 institutions, 10%: the year needs 2
    d = _draw(leader)
    assert d.target_count == 2
    st = services.annual_share_status(division_code="510107", year=DAY.year)
    assert st["drawn"] == 2 and st["short_of_min"] == 0 and st["over_max"] == 0
    ev = AuditEvent.objects.filter(action="campaign.draw").latest("seq")
    assert ev.changes["annual_share"]["drawn"] == 2 and "在规定范围内" in ev.changes["annual_share"]["text"]
    # the minimum is met: another annual draw is refused, naming the rule
    with pytest.raises(DomainError) as e:
        _draw(leader)
    assert e.value.detail["rule"] == "random_inspection.annual_share"


def test_just_short_and_over_the_bounds_are_reported(leader, county):
    _draw(leader, count=1)
    st = services.annual_share_status(division_code="510107", year=DAY.year)
    assert st["short_of_min"] == 1 and "还差1家" in services.annual_share_text(st)
    _draw(leader, count=4)  # 5 distinct at most: at or over 20 %
    st = services.annual_share_status(division_code="510107", year=DAY.year)
    assert st["drawn"] <= 5 and st["over_max"] == max(0, st["drawn"] - 4)


def test_city_override_raises_the_minimum(leader, county):
    policy_set(
        actor=ROOT,
        key="random_inspection.annual_share",
        division_code="5101",
        value=[0.25, 0.5],
        basis="成都市规定(测试)",
        effective_from=date(2025, 1, 1),
    )
    assert _draw(leader).target_count == 5
    st = services.annual_share_status(division_code="510107", year=DAY.year)
    assert st["rule"].division_code == "5101" and st["short_of_min"] == 0


def test_bad_share_range_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        policy_set(
            actor=ROOT, key="random_inspection.annual_share", division_code="", value=[0.3, 0.1], basis="x"
        )


def test_campaign_page_shows_the_year(client, leader, county):
    d = _draw(leader, count=1)
    client.force_login(leader)
    html = client.get(reverse("portal:campaign_detail", args=[d.campaign_id])).content.decode()
    assert "年度随机抽查" in html and "距下限还差1家" in html


def test_a_draw_counts_in_the_year_of_its_day(client, leader, county):
    """The year's draws are those dated in it: a draw on 30 December of last year counts
    towards last year's share, not this year's (which still needs its minimum), and its
    campaign page speaks of last year."""
    this_year = timezone.localdate().year
    last = date(this_year - 1, 12, 30)
    old = _draw(leader, today=last, count=1)
    assert old.drawn_on == last
    assert services.annual_share_status(division_code="510107", year=last.year)["drawn"] == 1
    assert services.annual_share_status(division_code="510107", year=this_year)["drawn"] == 0
    assert _draw(leader, today=date(this_year, 1, 2)).target_count == 2  # this year needs 2 of 20
    client.force_login(leader)
    html = client.get(reverse("portal:campaign_detail", args=[old.campaign_id])).content.decode()
    assert f"{last.year}年度已抽查1/20家" in html and "距下限还差1家" in html


@pytest.mark.django_db(transaction=True)
def test_the_page_draws_in_the_services_own_transaction(client, leader, county):
    """Outside any test transaction, as in production: the draw from the campaign page
    opens its own transaction, and the page then says how far the year is from the share."""
    c = services.campaign_create(actor=leader, data=campaign_data(name="页面抽取"))
    client.force_login(leader)
    url = reverse("portal:campaign_detail", args=[c.pk])
    html = client.post(url, {"action": "draw", "count": "1", "team_size": "2"}, follow=True).content.decode()
    assert "已完成随机抽取" in html and "距下限还差1家" in html
    assert Draw.objects.get(campaign=c).drawn_on == timezone.localdate()


@pytest.mark.django_db(transaction=True)
def test_the_migration_dates_earlier_draws_by_their_timestamp(leader, county):
    """inspections 0009: a draw made before ``drawn_on`` existed gets the local date of
    its ``drawn_at``."""
    from datetime import datetime

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    d = _draw(leader, count=1)
    at = timezone.make_aware(datetime(2026, 1, 1, 0, 30))  # local time; still 2025 in UTC
    Draw.objects.filter(pk=d.pk).update(drawn_at=at)
    executor = MigrationExecutor(connection)
    executor.migrate([("inspections", "0008_merge_letter_number_rectification_names")])
    executor.loader.build_graph()
    executor.migrate([("inspections", "0009_draw_drawn_on")])
    d.refresh_from_db()
    assert d.drawn_on == date(2026, 1, 1)
    assert services.annual_share_status(division_code="510107", year=2026)["drawn"] == 1
