"""Matching, classification (with corrections), routing, transfers/returns, time limits and
the escalation job, whistles, trends."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from qinglang.clues import services
from qinglang.clues.classify import classify, core_text, rule_hits
from qinglang.clues.matching import Matcher
from qinglang.clues.models import Clue, ClueEscalation, ClueStatus, InstitutionSignal
from qinglang.clues.routing import department_kinds
from qinglang.core.errors import DomainError, IllegalTransition, NotFound
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_user

from .conftest import education_and_fire_whistle

pytestmark = pytest.mark.django_db


def _lead(officer, content, **kw):
    return services.clue_lead_create(
        actor=officer,
        submission=services.Submission(channel="covert_visit", content=content, division_code=TOWNSHIP, **kw),
    ).clue


def test_match_by_uscc_then_fuzzy_name_and_unknown(institution):
    m = Matcher()
    assert m.match(division_code=TOWNSHIP, uscc=institution.uscc).method == "uscc"
    hit = m.match(division_code=TOWNSHIP, name="星辰艺术")
    assert hit.institution_id == institution.pk and hit.method == "name"
    hit = m.match(division_code=TOWNSHIP, name="星辰艺术培训")
    assert hit.institution_id == institution.pk and hit.method == "fuzzy"
    assert m.match(division_code=TOWNSHIP, name="星晨艺术培训中心").institution_id is None  # look-alike
    assert m.match(division_code=TOWNSHIP, name="星晨艺术培训中心", address="浆洗街88号").method == "fuzzy"
    assert m.match(division_code=TOWNSHIP, name="完全不同的武术馆").institution_id is None
    assert (
        m.match(division_code=OTHER_COUNTY + "001", name="星辰艺术培训中心").institution_id is None
    )  # other county


def test_classifier_rules_model_and_corrections(officer, institution):
    assert "fire_safety" in rule_hits("教室没有灭火器")
    assert classify("要求孩子一次交一年学费，附加费用很多").category == "price"
    # the caller's introduction and a passing mention do not decide the category
    assert core_text("我是孩子妈妈，老师打孩子。另外门口停车也乱。谢谢。") == "老师打孩子"
    p = classify("我是孩子妈妈，也没签合同，主要是退费的事，交了八千块上了两节课想退一直不给退")
    assert p.category == "refund_difficulty" and 0 < p.confidence <= 1
    text = "星辰的前台小姐姐说话很冲，每次问课表都不耐烦"
    before = classify(text).category
    c = _lead(officer, text, institution_name="星辰艺术培训中心")
    target = "other" if before != "other" else "staff_conduct"
    services.clue_reclassify(actor=officer, clue_id=c.pk, category=target)
    assert classify(text).category == target  # the correction is learnt


def test_routing_table():
    assert department_kinds("fire_safety", "arts") == ["fire"]
    assert department_kinds("refund_difficulty", "sports") == ["education", "market_regulation"]
    assert department_kinds("staff_conduct", "sports") == ["education", "sports"]
    assert department_kinds("staff_conduct", "subject") == ["education"]
    assert department_kinds("unlicensed") == ["education", "township"]
    assert department_kinds("advertising", "arts", unregistered=True) == ["market_regulation", "township"]
    assert department_kinds("fire_safety", matrix={"fire_safety": ["fire", "township"]}) == [
        "fire",
        "township",
    ]


def test_dedupe_window(officer, institution):
    a = _lead(officer, "二楼教室的安全出口被杂物堵住了", uscc=institution.uscc)
    b = _lead(officer, "安全出口被杂物堵住，二楼教室", uscc=institution.uscc)
    assert a.pk == b.pk
    Clue.objects.filter(pk=a.pk).update(received_at=timezone.now() - timedelta(days=31))
    c = _lead(officer, "二楼教室安全出口被杂物堵住", uscc=institution.uscc)
    assert c.pk != a.pk


def test_transfer_return_route_and_illegal(officer, institution):
    c = _lead(officer, "机构拒绝退费", uscc=institution.uscc)
    assert c.routed_kind_list == ["education", "market_regulation"]
    services.clue_transfer(actor=officer, clue_id=c.pk, department_kind="fire", reason="实为消防问题")
    services.clue_return(actor=officer, clue_id=c.pk, reason="不属本部门")
    c.refresh_from_db()
    assert c.status == ClueStatus.RECEIVED and c.routed_kinds == ""
    services.clue_route(actor=officer, clue_id=c.pk, department_kinds_=["education"], reason="重新分办")
    assert list(c.routings.values_list("action", flat=True)) == [
        "assign",
        "assign",
        "transfer",
        "return",
        "assign",
    ]
    with pytest.raises(IllegalTransition):
        services.clue_feedback(actor=officer, clue_id=c.pk, feedback="没办就反馈")
    outsider = make_user("regulator_officer", prefixes=[OTHER_COUNTY])
    with pytest.raises(NotFound):
        services.clue_accept(actor=outsider, clue_id=c.pk)
    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    with pytest.raises(DomainError):
        services.clue_accept(actor=grid, clue_id=c.pk)


def test_escalation_catches_up(officer, institution):
    c = _lead(officer, "机构拒绝退费", uscc=institution.uscc)
    Clue.objects.filter(pk=c.pk).update(acknowledge_due=date(2026, 3, 2), resolve_due=date(2026, 3, 20))
    assert services.clue_escalate_overdue(today=date(2026, 3, 3)) == {"leader": 1, "task_force": 0}
    assert services.clue_escalate_overdue(today=date(2026, 3, 4)) == {"leader": 0, "task_force": 0}
    # the worker was down for weeks: the next run goes straight to the task force
    assert services.clue_escalate_overdue(today=date(2026, 4, 20)) == {"leader": 0, "task_force": 1}
    c.refresh_from_db()
    assert c.escalation_level == 2 and ClueEscalation.objects.filter(clue=c).count() == 2


def test_whistle_late_departments(officer, county):
    from qinglang.clues import selectors
    from qinglang.clues.models import Whistle

    w = education_and_fire_whistle(officer)
    services.whistle_report(actor=officer, whistle_id=w.pk, department_kind="education", action="已派员到场")
    Whistle.objects.filter(pk=w.pk).update(due_at=timezone.now() - timedelta(hours=1))
    late = selectors.late_departments(actor=officer)
    assert [d["department"].department_kind for d in late] == ["education", "fire"]
    assert late[1]["pending"]
    with pytest.raises(DomainError, match="已报到"):
        services.whistle_report(actor=officer, whistle_id=w.pk, department_kind="education", action="再报")


def test_trends_and_rising_signals(officer, institution):
    for t in ("拒绝退还剩余课时费", "剩余课时费拒绝退还", "消防通道被堵"):  # two problems, two cases
        _lead(officer, f"星辰艺术培训中心{t}", uscc=institution.uscc)
    out = services.clue_trends_refresh()
    assert out["signals"] == 1
    s = InstitutionSignal.objects.get()
    assert s.institution_id == institution.pk and s.count == 2 and s.previous == 0


def test_trends_page_charts_this_week_against_the_last(officer, institution):
    import json
    import re

    from django.contrib.staticfiles import finders
    from django.test import Client

    from qinglang.clues.models import ClueCategory

    for t in (
        "拒绝退还剩余课时费",
        "剩余课时费拒绝退还",
        "消防通道被堵",
    ):  # two cases: the refund reports merge
        _lead(officer, f"星辰艺术培训中心{t}", uscc=institution.uscc)
    last_week = timezone.now() - timedelta(days=7)
    old = _lead(officer, "机构乱收费，收费标准不公示", uscc=institution.uscc)
    Clue.objects.filter(pk=old.pk).update(received_at=last_week, last_reported_at=last_week)
    services.clue_trends_refresh()
    c = Client()
    c.force_login(officer)
    html = c.get("/console/clues/trends/").content.decode()
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer>' in html  # local, no CDN
    assert finders.find("vendor/echarts/echarts.min.js"), "echarts comes from node_modules (make install)"
    data = json.loads(re.search(r'id="trend-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    cat = data["category"]
    by = dict(
        zip(
            cat["labels"],
            zip(cat["this_week"], cat["previous_week"], cat["change"], strict=True),
            strict=True,
        )
    )
    label = dict(ClueCategory.choices)
    assert by == {
        label["refund_difficulty"]: (1, 0, 1),
        label["fire_safety"]: (1, 0, 1),
        label["price"]: (0, 1, -1),
    }
    assert data["area"]["labels"] == ["武侯区"] and data["area"]["this_week"] == [2]
    table = c.get("/console/clues/trends/?dimension=area").content.decode()
    assert "<td>武侯区(510107)</td>" in table  # the area table names the county too
    assert data["area"]["previous_week"] == [1] and data["area"]["change"] == [1]
    assert 'id="trend-category"' in html and "<table" in html  # the chart beside the table


def test_township_raises_the_whistle(county):
    """街乡吹哨、部门报到: the township's own grid worker raises a whistle for its township;
    not for another township, and an inspector of the county (no township role) may not."""
    from qinglang.clues.models import Whistle
    from qinglang.core.errors import PermissionDeniedError
    from qinglang.testing import make_user

    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    assert services.may_raise_whistle(grid) and services.may_raise_whistle(grid, TOWNSHIP)
    w = services.whistle_raise(
        actor=grid,
        division_code=TOWNSHIP,
        title="无证培训点",
        problem="请消防到场",
        department_kinds=["fire"],
    )
    assert w.division_code == TOWNSHIP and w.departments.count() == 1
    other = TOWNSHIP[:6] + "999"
    with pytest.raises(PermissionDeniedError):
        services.whistle_raise(
            actor=grid, division_code=other, title="别处", problem="别处的事", department_kinds=["fire"]
        )
    from qinglang.core.models import Division

    community = Division.objects.filter(code__startswith=TOWNSHIP, code__regex=r"^\d{12}$").first()
    if community is not None:  # a community's grid worker raises for its township
        assert services.whistle_townships(make_user("grid_worker", prefixes=[community.code])) == [TOWNSHIP]
    inspector = make_user("inspector", prefixes=[DEMO_COUNTY])
    assert not services.may_raise_whistle(inspector)
    with pytest.raises(PermissionDeniedError):
        services.whistle_raise(
            actor=inspector,
            division_code=TOWNSHIP,
            title="检查员",
            problem="不能吹哨",
            department_kinds=["fire"],
        )
    assert Whistle.objects.count() == 1


def test_transferred_clue_tells_where_it_went(client, officer, institution):
    """The education officer who transfers a clue to fire no longer handles it, but their
    link opens a read-only page naming the department it went to (not a bare 404)."""
    from qinglang.clues import selectors

    edu = make_user("regulator_officer", prefixes=[DEMO_COUNTY], department_kind="education")
    c = _lead(officer, "机构拒绝退费", uscc=institution.uscc)
    services.clue_transfer(actor=edu, clue_id=c.pk, department_kind="fire", reason="实为消防问题")
    with pytest.raises(NotFound):
        selectors.clue_get(actor=edu, clue_id=c.pk)
    gone = selectors.handed_over(actor=edu, clue_id=c.pk)
    assert gone is not None and "消防" in gone.to_department
    client.force_login(edu)
    r = client.get(f"/console/clues/{c.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "data-handed-over" in body and gone.to_department in body
    # someone who never handled it still gets the 404, in Chinese
    stranger = make_user("regulator_officer", prefixes=[DEMO_COUNTY], department_kind="public_security")
    client.force_login(stranger)
    r = client.get(f"/console/clues/{c.pk}/")
    assert r.status_code == 404 and "页面不存在" in r.content.decode()
