"""每周一通报: the ranking from the roll-ups, the Monday job (catches up after downtime,
never issues a week twice, also under two runs at once on PostgreSQL), the official
.docx, the inbox, and the 督办提醒 acknowledged once with its follow-up."""

import io
import threading
import zipfile
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Notification, Role
from qinglang.analytics import notices
from qinglang.analytics.models import IndicatorValue, NoticeSeries, RankingNotice, Reminder
from qinglang.analytics.refresh import refresh, week_start
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

T2, T3 = "510107004", "510107005"
KEY = "indicator.licensed_rate"


def _monday_at(week, hour):
    d = week + timedelta(days=7)
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour))


def _week_rows(week, figures: dict):
    """Roll-up rows of one week: {division or (division, dept): (num, den)}."""
    rows = []
    for where, (n, d) in figures.items():
        div, dept = where if isinstance(where, tuple) else (where, "")
        rows.append(
            IndicatorValue(
                indicator=KEY,
                period="week",
                period_start=week,
                division_code=div,
                department_kind=dept,
                numerator=n,
                denominator=d,
            )
        )
    IndicatorValue.objects.bulk_create(rows)


def _figures(k=0):
    return {
        DEMO_COUNTY: (8 + k, 10),
        TOWNSHIP: (4, 4),
        T2: (3 + k, 4),
        T3: (1, 2),
        (DEMO_COUNTY, "education"): (5, 5),
        (DEMO_COUNTY, "sports"): (3 + k, 5),
    }


@pytest.fixture
def people(db):
    return {
        "leader": make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]),
        "t3": make_user(Role.REGULATOR_OFFICER, prefixes=[T3]),
        "t1": make_user(Role.REGULATOR_OFFICER, prefixes=[TOWNSHIP]),
        "sports": make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="sports"),
        "outsider": make_user(Role.REGULATOR_OFFICER, prefixes=[OTHER_COUNTY]),
    }


@pytest.mark.django_db
def test_ranking_orders_units_with_the_change_and_names_the_lagging(people):
    week = week_start(timezone.localdate()) - timedelta(days=7)
    _week_rows(week - timedelta(days=7), _figures(0))
    _week_rows(week, _figures(1))
    data = notices.ranking(DEMO_COUNTY, week)
    ind = next(i for i in data["indicators"] if i["key"] == KEY)
    towns = [(u["division"], u["rank"], u["value"]) for u in ind["townships"]]
    assert towns[:3] == [(TOWNSHIP, 1, 1.0), (T2, 1, 1.0), (T3, 3, 0.5)]
    assert ind["townships"][1]["change"] == pytest.approx(0.25)
    assert [u["department"] for u in ind["departments"]] == ["education", "sports"]
    lagging = {(lag["division"], lag["department"]) for lag in data["lagging"]}
    assert lagging == {(T3, ""), (DEMO_COUNTY, "sports")}


@pytest.mark.django_db
def test_the_job_issues_once_and_catches_up_after_downtime(people):
    w0 = week_start(timezone.localdate()) - timedelta(days=35)
    for k in range(5):
        _week_rows(w0 + timedelta(days=7 * k), _figures(k % 2))
    # Monday 07:00: last week's notice is not yet due
    assert notices.target_week(_monday_at(w0, 7)) == w0 - timedelta(days=7)
    assert notices.weekly_notices(now=_monday_at(w0, 7))["issued"] == []
    assert notices.target_week(_monday_at(w0, 9)) == w0
    r = notices.weekly_notices(now=_monday_at(w0, 9))
    assert len(r["issued"]) == 1 and r["issued"][0].endswith(
        f"〔{timezone.localtime(_monday_at(w0, 9)).year}〕1号"
    )
    assert notices.weekly_notices(now=_monday_at(w0, 10))["issued"] == []  # the same week: never twice
    # down for three Mondays: the next run issues each missed week, in order
    r = notices.weekly_notices(now=_monday_at(w0 + timedelta(days=21), 11))
    assert len(r["issued"]) == 3
    weeks = list(RankingNotice.objects.order_by("week_start").values_list("week_start", flat=True))
    assert weeks == [w0 + timedelta(days=7 * k) for k in range(4)]
    assert RankingNotice.objects.filter(division_code=DEMO_COUNTY).count() == 4
    assert AuditEvent.objects.filter(action="analytics.notice_issue").count() == 4
    # every unit's inbox has each notice; the lagging units have their reminders
    assert Notification.objects.filter(recipient=people["t1"], kind="analytics.notice").count() == 4
    assert Notification.objects.filter(recipient=people["outsider"]).count() == 0
    assert Notification.objects.filter(recipient=people["t3"], kind="analytics.reminder").count() == 4
    assert Notification.objects.filter(recipient=people["t1"], kind="analytics.reminder").count() == 0
    assert Reminder.objects.filter(department_kind="sports").count() == 4


@pytest.mark.django_db
def test_a_reminder_is_acknowledged_once_by_its_unit(people):
    week = week_start(timezone.localdate()) - timedelta(days=7)
    _week_rows(week, _figures())
    notice = notices.notice_issue(actor=people["leader"], county=DEMO_COUNTY, week=week)
    r = Reminder.objects.get(notice=notice, division_code=T3)
    with pytest.raises(PermissionDeniedError):  # the task force does not sign for the township
        notices.reminder_acknowledge(actor=people["leader"], reminder_id=r.pk)
    with pytest.raises(NotFound):
        notices.reminder_acknowledge(actor=people["t1"], reminder_id=r.pk)
    with pytest.raises(ValidationError):
        notices.reminder_follow_up(actor=people["t3"], reminder_id=r.pk, text="已整改")
    notices.reminder_acknowledge(actor=people["t3"], reminder_id=r.pk)
    r.refresh_from_db()
    first = r.acknowledged_at
    with pytest.raises(ValidationError):
        notices.reminder_acknowledge(actor=people["t3"], reminder_id=r.pk)
    r.refresh_from_db()
    assert r.acknowledged_at == first and r.acknowledged_by_id == people["t3"].pk
    notices.reminder_follow_up(actor=people["t3"], reminder_id=r.pk, text="已约谈3家无证机构，下周完成整改")
    assert AuditEvent.objects.filter(action="analytics.reminder_acknowledge").count() == 1
    dept = Reminder.objects.get(notice=notice, department_kind="sports")
    notices.reminder_acknowledge(actor=people["sports"], reminder_id=dept.pk)
    # the leader sees the state of every reminder on the notice page
    c = Client()
    c.force_login(people["leader"])
    body = c.get(reverse("portal:analytics_notice", args=[notice.pk])).content.decode()
    assert "已约谈3家无证机构" in body
    assert body.count("未签收") == 1  # 望江路街道 (75%) has not signed yet


@pytest.mark.django_db
def test_the_notice_is_an_official_docx_and_the_leader_issues_on_demand(people):
    week = week_start(timezone.localdate())
    _week_rows(week, _figures())
    c = Client()
    c.force_login(people["leader"])
    r = c.post(reverse("portal:analytics_ranking_issue"), {"division": DEMO_COUNTY, "week": week.isoformat()})
    n = RankingNotice.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("portal:analytics_notice", args=[n.pk])
    again = c.post(
        reverse("portal:analytics_ranking_issue"), {"division": DEMO_COUNTY, "week": week.isoformat()}
    )
    assert again.status_code == 302 and RankingNotice.objects.count() == 1  # refused, nothing changed
    assert NoticeSeries.objects.get().last_number == 1
    officer = Client()
    officer.force_login(people["t3"])
    assert (
        officer.post(
            reverse("portal:analytics_ranking_issue"), {"division": DEMO_COUNTY, "week": week.isoformat()}
        ).status_code
        == 302
    )
    assert RankingNotice.objects.count() == 1
    doc = officer.get(reverse("portal:analytics_notice_docx", args=[n.pk]))
    assert doc.status_code == 200 and doc["Content-Type"].startswith("application/vnd.openxml")
    xml = zipfile.ZipFile(io.BytesIO(b"".join(doc.streaming_content))).read("word/document.xml").decode()
    assert n.number in xml and "玉林街道" in xml and "工作要求" in xml
    assert 'w:eastAsia="仿宋"' in xml and 'w:w="11906"' in xml  # 仿宋 for Chinese text; A4 (21 cm)
    assert f"{n.issued_on.year}年{n.issued_on.month}月{n.issued_on.day}日" in xml
    outsider = Client()
    outsider.force_login(people["outsider"])
    assert outsider.get(reverse("portal:analytics_notice_docx", args=[n.pk])).status_code == 404


@pytest.mark.django_db
def test_ranking_page_query_count_does_not_grow_with_institutions(people):
    today = timezone.localdate()
    c = Client()
    c.force_login(people["leader"])
    url = reverse("portal:analytics_ranking")
    params = {"division": DEMO_COUNTY, "week": today.isoformat()}

    def count():
        refresh(today=today, full=True)
        with CaptureQueriesContext(connection) as q:
            r = c.get(url, params)
        assert r.status_code == 200
        return len(q)

    make_institution(division_code=TOWNSHIP)
    c.get(url, params)  # the session's last-seen stamp is set once, then kept for a minute
    small = count()
    assert small <= 11, small
    for code in (T2, T3, T3, TOWNSHIP):
        make_institution(division_code=code, licensed=False)
    assert count() == small
    body = c.get(url, params).content.decode()
    licensed = body[body.index(f'data-indicator="{KEY}" data-kind="township"') :]
    assert licensed.index("浆洗街街道") < licensed.index("玉林街道")  # best first, the lowest last
    assert c.get(url, {"division": OTHER_COUNTY}).status_code == 404
    assert c.get(url, {"division": DEMO_COUNTY, "week": "下周"}).status_code == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_two_runs_at_once_issue_the_week_once(people):
    week = week_start(timezone.localdate()) - timedelta(days=7)
    _week_rows(week, _figures())
    now = _monday_at(week, 9)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(notices.weekly_notices(now=now)["issued"])
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(len(r) for r in results) == [0, 1]
    assert RankingNotice.objects.count() == 1 and NoticeSeries.objects.get().last_number == 1
    assert Notification.objects.filter(recipient=people["t1"], kind="analytics.notice").count() == 1
