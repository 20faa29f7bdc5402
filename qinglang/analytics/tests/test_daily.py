"""信息日报 and 调度意见: the platform's own figures, reporting and on-time rates with
DHIS2's semantics, the county's report as .docx and .xlsx, a dispatch note the named
units see and acknowledge once."""

import io
import zipfile
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Notification, Role
from qinglang.analytics import daily
from qinglang.analytics.models import DailyReport, DispatchTarget
from qinglang.core.calendar import is_working_day
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.core.xlsx import iter_rows
from qinglang.risk.tests.factories import clue
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

pytestmark = pytest.mark.django_db
T2 = "510107004"


@pytest.fixture
def people():
    return {
        "leader": make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]),
        "t1": make_user(Role.REGULATOR_OFFICER, prefixes=[TOWNSHIP]),
        "t2": make_user(Role.REGULATOR_OFFICER, prefixes=[T2]),
        "edu": make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="education"),
        "outsider": make_user(Role.REGULATOR_OFFICER, prefixes=[OTHER_COUNTY]),
    }


def _working_days_back(n):
    d, out = timezone.localdate() - timedelta(days=1), []
    while len(out) < n:
        if is_working_day(d):
            out.append(d)
        d -= timedelta(days=1)
    return out


def test_figures_are_the_platforms_and_the_text_the_units(people):
    today = timezone.localdate()
    inst = make_institution(division_code=TOWNSHIP)
    clue(inst, day=today)
    clue(make_institution(division_code=T2), day=today)
    r = daily.daily_report_submit(
        actor=people["t1"],
        division=TOWNSHIP,
        day=today,
        notable_events="联合检查3家",
        problems="场地认定需协调",
    )
    assert r.figures["clues_received"] == 1 and r.unit_name == "浆洗街街道"
    first = r.submitted_at
    r = daily.daily_report_submit(actor=people["t1"], division=TOWNSHIP, day=today, measures="约谈")
    assert r.submitted_at == first and r.measures == "约谈" and r.notable_events == ""
    assert daily.auto_figures(DEMO_COUNTY, "", today)["clues_received"] == 2
    with pytest.raises(PermissionDeniedError):  # the county's leader does not report for the township
        daily.daily_report_submit(actor=people["leader"], division=TOWNSHIP, day=today)
    with pytest.raises(NotFound):
        daily.daily_report_submit(actor=people["outsider"], division=TOWNSHIP, day=today)
    with pytest.raises(ValidationError):
        daily.daily_report_submit(actor=people["t1"], division=TOWNSHIP, day=today + timedelta(days=1))
    with pytest.raises(ValidationError):
        daily.daily_report_submit(actor=people["t1"], division=TOWNSHIP, day=today, measures="字" * 5000)
    assert DailyReport.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="analytics.daily_report").count() == 2


def test_reporting_and_on_time_rates(people):
    days = _working_days_back(4)
    for n, d in enumerate(days):
        late = n == 0
        at = daily.deadline(d) + (timedelta(hours=2) if late else -timedelta(hours=12))
        DailyReport.objects.create(
            division_code=TOWNSHIP, unit_name="浆洗街街道", report_on=d, submitted_at=at
        )
    DailyReport.objects.create(
        division_code=DEMO_COUNTY,
        department_kind="education",
        unit_name="教育局",
        report_on=days[0],
        submitted_at=daily.deadline(days[0]) - timedelta(hours=1),
    )
    rates = {
        (r["division"], r["department"]): r for r in daily.reporting_rates(DEMO_COUNTY, days[-1], days[0])
    }
    t1 = rates[(TOWNSHIP, "")]
    assert (t1["expected"], t1["actual"], t1["on_time"]) == (4, 4, 3)
    assert t1["reporting_rate"] == 1.0 and t1["on_time_rate"] == 0.75
    assert (rates[(T2, "")]["actual"], rates[(T2, "")]["reporting_rate"]) == (0, 0.0)
    edu = rates[(DEMO_COUNTY, "education")]
    assert (edu["expected"], edu["actual"], edu["on_time"]) == (4, 1, 1)


def test_county_report_docx_xlsx_and_a_dispatch_acknowledged_once(people):
    today = timezone.localdate()
    daily.daily_report_submit(
        actor=people["t1"], division=TOWNSHIP, day=today, problems="需明确无证机构取缔牵头部门"
    )
    c = Client()
    c.force_login(people["leader"])
    page = c.get(reverse("portal:analytics_daily"), {"division": DEMO_COUNTY, "day": today.isoformat()})
    assert page.status_code == 200 and "需明确无证机构取缔牵头部门" in page.content.decode()
    x = c.get(reverse("portal:analytics_daily_xlsx"), {"division": DEMO_COUNTY, "day": today.isoformat()})
    rows = list(iter_rows(io.BytesIO(x.content)))
    named = {r[0]: r for r in rows if r}
    assert named["浆洗街街道"][1] == "已报" and named["望江路街道"][1] == "未报"
    d = c.get(reverse("portal:analytics_daily_docx"), {"division": DEMO_COUNTY, "day": today.isoformat()})
    xml = zipfile.ZipFile(io.BytesIO(d.content)).read("word/document.xml").decode()
    assert "信息日报" in xml and "未报送单位" in xml and "望江路街道" in xml
    assert c.get(reverse("portal:analytics_daily"), {"division": OTHER_COUNTY}).status_code == 404

    r = c.post(
        reverse("portal:analytics_dispatch_issue"),
        {
            "division": DEMO_COUNTY,
            "day": today.isoformat(),
            "text": "望江路街道今日须补报",
            "target": [f"{T2}:"],
        },
    )
    t = DispatchTarget.objects.get()
    assert r.status_code == 302 and t.unit_name == "望江路街道"
    assert Notification.objects.filter(recipient=people["t2"], kind="analytics.dispatch").count() == 1
    assert not Notification.objects.filter(recipient=people["t1"], kind="analytics.dispatch").exists()
    with pytest.raises(NotFound):  # not addressed to 浆洗街街道: not even seen
        daily.dispatch_acknowledge(actor=people["t1"], target_id=t.pk)
    with pytest.raises(PermissionDeniedError):  # the leader sees it but does not sign for the unit
        daily.dispatch_acknowledge(actor=people["leader"], target_id=t.pk)
    daily.dispatch_acknowledge(actor=people["t2"], target_id=t.pk)
    with pytest.raises(ValidationError):
        daily.dispatch_acknowledge(actor=people["t2"], target_id=t.pk)
    t2 = Client()
    t2.force_login(people["t2"])
    assert "已签收" in t2.get(reverse("portal:analytics_dispatch", args=[t.dispatch_id])).content.decode()
    # bad input: no unit, another county's unit — refused, nothing written
    with pytest.raises(ValidationError):
        daily.dispatch_issue(actor=people["leader"], county=DEMO_COUNTY, day=today, text="x", targets=[])
    with pytest.raises(ValidationError):
        daily.dispatch_issue(
            actor=people["leader"], county=DEMO_COUNTY, day=today, text="x", targets=[("510104020", "")]
        )
    with pytest.raises(PermissionDeniedError):
        daily.dispatch_issue(actor=people["t1"], county=DEMO_COUNTY, day=today, text="x", targets=[(T2, "")])
    assert DispatchTarget.objects.count() == 1


def test_a_unit_submits_on_its_page(people):
    c = Client()
    c.force_login(people["edu"])
    url = reverse("portal:analytics_daily_submit")
    assert c.get(url).status_code == 200
    r = c.post(url, {"division": DEMO_COUNTY, "department": "education", "measures": "开展专项检查"})
    assert r.status_code == 302
    rep = DailyReport.objects.get()
    assert rep.department_kind == "education" and rep.measures == "开展专项检查"
    assert isinstance(rep.submitted_at, datetime)


def test_county_report_prints_the_last_signed_audit_checkpoint(people):
    """The daily report carries the audit chain's last signed head (page, .docx, .xlsx),
    so a paper copy exists outside the machine; before any checkpoint it says so."""
    from qinglang.core.audit import read_head, write_checkpoint

    c = Client()
    c.force_login(people["leader"])
    q = {"division": DEMO_COUNTY, "day": timezone.localdate().isoformat()}
    assert "审计链检查点：尚未写入" in c.get(reverse("portal:analytics_daily"), q).content.decode()
    cp = write_checkpoint()
    assert cp.seq == read_head()[0] > 0
    line = f"审计链检查点：第{cp.seq}条，摘要 {cp.hash[:16]}"
    assert line in c.get(reverse("portal:analytics_daily"), q).content.decode()
    xml = zipfile.ZipFile(io.BytesIO(c.get(reverse("portal:analytics_daily_docx"), q).content)).read(
        "word/document.xml"
    )
    assert line in xml.decode()
    rows = list(iter_rows(io.BytesIO(c.get(reverse("portal:analytics_daily_xlsx"), q).content)))
    assert any(r and str(r[0]).startswith(line) for r in rows)


def test_malformed_page_input_says_why_and_writes_nothing(people):
    """Every analytics page action parses its input with a form: a bad date, an unknown
    action, an over-long text or a malformed addressee is refused in Chinese, naming the
    field, and leaves no row and no audit event."""
    c = Client()
    c.force_login(people["leader"])
    audits = AuditEvent.objects.count()

    def flashed(resp):
        return " ".join(str(m) for m in resp.context["messages"]) if resp.context else ""

    r = c.post(
        reverse("portal:analytics_ranking_issue"),
        {"division": DEMO_COUNTY, "week": "2026-13-01"},
        follow=True,
    )
    assert "通报周格式不正确" in flashed(r)
    r = c.post(reverse("portal:analytics_ranking_issue"), {"division": "51'0107", "week": ""}, follow=True)
    assert "区划无效" in flashed(r)
    r = c.post(
        reverse("portal:analytics_dispatch_issue"),
        {
            "division": DEMO_COUNTY,
            "day": timezone.localdate().isoformat(),
            "text": "补报",
            "target": ["510107004"],
        },
        follow=True,
    )
    assert "报送单位无效" in flashed(r)
    r = c.post(
        reverse("portal:analytics_dispatch_issue"),
        {"division": DEMO_COUNTY, "text": "长" * (daily.MAX_TEXT + 1), "target": [f"{T2}:"]},
        follow=True,
    )
    assert "调度意见不超过" in flashed(r)
    c.force_login(people["edu"])
    url = reverse("portal:analytics_daily_submit")
    r = c.post(
        url,
        {"division": DEMO_COUNTY, "department": "education", "measures": "长" * (daily.MAX_TEXT + 1)},
        follow=True,
    )
    assert "工作措施不超过" in flashed(r)
    r = c.post(url, {"division": DEMO_COUNTY, "department": "education", "day": "yesterday"}, follow=True)
    assert "日期格式不正确" in flashed(r)
    assert c.get(url, {"day": "2026-02-30"}).status_code == 400
    assert not DailyReport.objects.exists() and not DispatchTarget.objects.exists()
    assert AuditEvent.objects.count() == audits
