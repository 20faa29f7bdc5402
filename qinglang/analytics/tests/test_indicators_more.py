"""The indicators over funds, materials, campaigns, disguised-training clues and school
reports: each stored value equals a direct computation over the raw rows for several
divisions, departments and periods, through changes, deletions and back-dated reports;
资金纳管率 and 账户开通率 agree with the funds coverage page."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.analytics.models import IndicatorValue, SchoolReport
from qinglang.analytics.refresh import month_start, refresh, week_start
from qinglang.analytics.services import school_report_submit
from qinglang.clues.models import OPEN_STATUSES, Clue
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.funds import services as funds
from qinglang.funds.models import CustodyAccount, Entry, Order, PrepaidDeclaration
from qinglang.funds.selectors_coverage import coverage_of_all
from qinglang.funds.services.indicators import week_monday
from qinglang.funds.testing import funds_world, make_course, paid_order
from qinglang.inspections.models import Campaign, ChecklistTemplate, Task
from qinglang.registry.models import Course, Institution, TrainingMaterial
from qinglang.risk.tests.factories import clue
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

pytestmark = pytest.mark.django_db

TOWNSHIP_2 = "510107004"
DIVISIONS = ["", "51", DEMO_COUNTY, TOWNSHIP, TOWNSHIP_2, TOWNSHIP_2 + "001", OTHER_COUNTY]
KEYS = [
    "indicator.custody_coverage",
    "indicator.custody_account_rate",
    "indicator.materials_reviewed_rate",
    "indicator.inspection_coverage",
    "indicator.disguised_open",
    "indicator.after_school_coverage",
    "indicator.homework_compliance",
]


def _dept(inst) -> str:
    return inst.competent_department.kind if inst and inst.competent_department_id else ""


def _within(inst_or_code, division, dept, kind=None) -> bool:
    code = inst_or_code if isinstance(inst_or_code, str) else inst_or_code.division_code
    if not code.startswith(division):
        return False
    return not dept or (kind if kind is not None else _dept(inst_or_code)) == dept


def _held(inst, end) -> int:
    return -sum(
        e.amount_fen
        for e in Entry.objects.filter(
            account__institution=inst, account__kind__in=["prepaid", "pending_release"]
        ).select_related("posting")
        if e.posting.created_at < end
    )


def direct(key, division, dept, today):
    """The indicator computed row by row, without the roll-up's queries."""
    num = den = 0
    monday = week_monday(today)
    end = timezone.make_aware(
        timezone.datetime.combine(monday + timedelta(days=7), timezone.datetime.min.time())
    )
    if key in ("indicator.custody_coverage", "indicator.custody_account_rate"):
        for i in Institution.objects.select_related("competent_department"):
            charging = (
                Course.objects.filter(institution=i, unit_price_fen__gt=0).exists()
                or Order.objects.filter(institution=i).exists()
            )
            if i.status != "active" or not charging or not _within(i, division, dept):
                continue
            if key == "indicator.custody_account_rate":
                den += 1
                num += CustodyAccount.objects.filter(institution=i, opened_on__lt=end.date()).exists()
            else:
                held = _held(i, end)
                decl = PrepaidDeclaration.objects.filter(institution=i, week_start=monday).first()
                num += held
                den += max(held, decl.declared_fen if decl else 0)
    elif key == "indicator.materials_reviewed_rate":
        for m in TrainingMaterial.objects.select_related("institution__competent_department"):
            if m.institution.status == "active" and _within(m.institution, division, dept):
                den += 1
                num += m.status != "submitted"
    elif key == "indicator.inspection_coverage":
        for t in Task.objects.select_related("campaign", "institution__competent_department"):
            c = t.campaign
            if not c or c.status != "drawn" or not (c.starts_on <= today <= c.ends_on):
                continue
            if t.status == "cancelled" or not _within(t.division_code, division, dept, _dept(t.institution)):
                continue
            den += 1
            num += t.status == "completed"
    elif key == "indicator.disguised_open":
        for c in Clue.objects.select_related("institution__competent_department"):
            if c.category != "disguised_training" or c.status not in OPEN_STATUSES:
                continue
            if not _within(c.division_code, division, dept, _dept(c.institution)):
                continue
            den += 1
            num += bool(c.resolve_due and c.resolve_due < today)
    else:
        latest = {}
        for r in SchoolReport.objects.order_by("report_on", "id"):
            if r.report_on <= today:
                latest[r.division_code] = r
        for r in latest.values():
            if _within(r.division_code, division, dept, r.department_kind):
                den += r.schools
                num += r.after_school if key == "indicator.after_school_coverage" else r.homework_ok
    return num, den


def _stored(key, period, start, division, dept=""):
    row = IndicatorValue.objects.filter(
        indicator=key, period=period, period_start=start, division_code=division, department_kind=dept
    ).first()
    return (row.numerator, row.denominator) if row else (0, 0)


def _check_all(today) -> int:
    depts = ["", "education", "sports", "culture_tourism", "science_tech"]
    n = 0
    for key in KEYS:
        for division in DIVISIONS:
            for dept in depts:
                want = direct(key, division, dept, today)
                for period, start in (
                    ("day", today),
                    ("week", week_start(today)),
                    ("month", month_start(today)),
                ):
                    assert _stored(key, period, start, division, dept) == want, (key, period, division, dept)
                    n += 1
    return n


@pytest.fixture
def area():
    w = funds_world()  # 510107001 arts, custody opened 30 days ago
    admin = w.admin
    today = timezone.localdate()
    sports = make_institution(admin, kind="sports", whitelisted=True)
    make_course(admin, sports, kind="sports")
    funds.custody_account_open(
        actor=admin,
        institution_id=sports.pk,
        bank_id=w.bank.pk,
        mode="risk_deposit",
        account_number="6222000099990001",
        opened_on=today,
    )
    uncovered = make_institution(admin, kind="arts", division_code=TOWNSHIP_2, whitelisted=True)
    make_course(admin, uncovered, kind="arts")
    tech = make_institution(admin, kind="science_tech", division_code=TOWNSHIP_2 + "001")
    other = make_institution(admin, kind="arts", division_code=OTHER_COUNTY)
    make_institution(admin, name="不收费的机构")
    order = paid_order(w, lessons=10)
    funds.declaration_submit(
        actor=w.org_user, institution_id=w.institution.pk, week_start=today, declared_fen=3 * order.amount_fen
    )
    for inst, status in ((w.institution, "approved"), (w.institution, "submitted"), (tech, "rejected")):
        TrainingMaterial.objects.create(
            institution=inst,
            title="教材",
            status=status,
            reject_reason="超纲" if status == "rejected" else "",
        )
    TrainingMaterial.objects.create(institution=other, title="教材")
    tpl = ChecklistTemplate.objects.create(name="清单", campaign_type="routine")
    camp = Campaign.objects.create(
        name="春季专项",
        campaign_type="routine",
        division_code=DEMO_COUNTY,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=10),
        template=tpl,
        status="drawn",
    )
    old = Campaign.objects.create(
        name="去年专项",
        campaign_type="routine",
        division_code=DEMO_COUNTY,
        starts_on=today - timedelta(days=400),
        ends_on=today - timedelta(days=300),
        template=tpl,
        status="drawn",
    )
    for c, inst, status in (
        (camp, w.institution, "completed"),
        (camp, uncovered, "planned"),
        (camp, tech, "planned"),
        (camp, sports, "cancelled"),
        (old, tech, "completed"),
    ):
        Task.objects.create(
            campaign=c,
            institution=inst,
            division_code=inst.division_code,
            scheduled_on=today,
            due_on=today,
            status=status,
        )
    for inst, due, status in (
        (w.institution, today - timedelta(days=3), "accepted"),
        (tech, today + timedelta(days=3), "investigating"),
        (tech, today - timedelta(days=5), "closed"),
        (other, today - timedelta(days=1), "routed"),
    ):
        c = clue(inst, day=today - timedelta(days=20))
        Clue.objects.filter(pk=c.pk).update(category="disguised_training", resolve_due=due, status=status)
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="education")
    school_report_submit(
        actor=officer,
        division_code=TOWNSHIP,
        schools=10,
        after_school=9,
        homework_ok=10,
        report_on=today - timedelta(days=20),
    )
    school_report_submit(actor=officer, division_code=TOWNSHIP_2, schools=6, after_school=6, homework_ok=4)
    return w, officer, uncovered, tech


def test_values_equal_direct_computation_through_changes(area):
    w, officer, uncovered, tech = area
    today = timezone.localdate()
    refresh(today=today, full=True)
    assert _check_all(today) > 500
    assert _stored("indicator.after_school_coverage", "day", today, DEMO_COUNTY) == (15, 16)
    assert _stored("indicator.disguised_open", "day", today, DEMO_COUNTY) == (1, 2)
    assert _stored("indicator.inspection_coverage", "day", today, DEMO_COUNTY) == (1, 3)

    # changes: a later school report replaces the earlier, a back-dated one does not;
    # a material reviewed and one deleted; a task done; a clue concluded; money paid in
    school_report_submit(actor=officer, division_code=TOWNSHIP, schools=10, after_school=10, homework_ok=8)
    school_report_submit(
        actor=officer,
        division_code=TOWNSHIP_2,
        schools=9,
        after_school=1,
        homework_ok=1,
        report_on=today - timedelta(days=30),
    )
    TrainingMaterial.objects.filter(status="submitted", institution=w.institution).update(status="approved")
    TrainingMaterial.objects.filter(institution=tech).delete()
    Task.objects.filter(institution=uncovered).update(status="completed")
    Clue.objects.filter(institution=w.institution).update(status="concluded")
    paid_order(w, lessons=5)
    refresh(today=today)
    _check_all(today)
    assert _stored("indicator.after_school_coverage", "day", today, DEMO_COUNTY) == (16, 16)
    assert _stored("indicator.homework_compliance", "day", today, TOWNSHIP) == (8, 10)
    assert _stored("indicator.disguised_open", "day", today, DEMO_COUNTY) == (0, 1)

    # a deleted school report: the division falls back on its earlier one
    SchoolReport.objects.filter(division_code=TOWNSHIP).order_by("-report_on").first().delete()
    refresh(today=today)
    _check_all(today)
    assert _stored("indicator.after_school_coverage", "day", today, TOWNSHIP) == (9, 10)


def test_custody_indicators_agree_with_the_coverage_page(area):
    today = timezone.localdate()
    refresh(today=today, full=True)
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    cov = coverage_of_all(
        actor=leader, week_start=week_monday(today), township_label=str, department_label=str
    )
    for r in cov["by_township"]:
        assert _stored("indicator.custody_account_rate", "week", week_start(today), r.group) == (
            r.with_account,
            r.institutions,
        )
        assert _stored("indicator.custody_coverage", "week", week_start(today), r.group) == (
            r.held_fen,
            r.known_fen,
        )
    t = cov["total"]
    assert _stored("indicator.custody_coverage", "week", week_start(today), DEMO_COUNTY) == (
        t.held_fen,
        t.known_fen,
    )
    assert t.known_fen > t.held_fen > 0


def test_school_report_is_checked_and_audited(area):
    _w, officer, *_ = area
    n = SchoolReport.objects.count()
    with pytest.raises(ValidationError):
        school_report_submit(actor=officer, division_code=TOWNSHIP, schools=3, after_school=4, homework_ok=0)
    with pytest.raises(ValidationError):
        school_report_submit(
            actor=officer, division_code=TOWNSHIP, schools="3", after_school=1, homework_ok=0
        )
    market = make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="market_regulation")
    with pytest.raises(PermissionDeniedError):
        school_report_submit(actor=market, division_code=TOWNSHIP, schools=3, after_school=1, homework_ok=0)
    assert SchoolReport.objects.count() == n
    assert AuditEvent.objects.filter(action="analytics.school_report").count() == n


def test_drill_through_lists_the_rows_behind_each_new_value(area):
    from qinglang.analytics.selectors import drill

    today = timezone.localdate()
    refresh(today=today, full=True)
    leader = make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY])
    for key in KEYS:
        r = drill(leader, key=key, division=DEMO_COUNTY, period="week", start=today)
        num, den = _stored(key, "week", week_start(today), DEMO_COUNTY)
        if key in (
            "indicator.custody_coverage",
            "indicator.after_school_coverage",
            "indicator.homework_compliance",
        ):
            assert r["items"], key  # rows are institutions / reports, the figures are sums
            continue
        assert len(r["items"]) == den, key
        assert sum(bool(i.meets_target) for i in r["items"]) == num, key
    r = drill(
        leader,
        key="indicator.materials_reviewed_rate",
        division=TOWNSHIP_2,
        period="day",
        start=today,
        department="science_tech",
    )
    assert [i.title for i in r["items"]] == ["教材"]
