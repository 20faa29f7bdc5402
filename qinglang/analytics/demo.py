"""Demo data of the analytics app: the roll-ups of the demo county, with a year of
history so that trends, rankings and week-on-week changes show.

The deadline indicators (clues, rectification) are computed from the demo's own rows
over their whole history. The snapshot indicators only know the register as it stands,
so their past is simulated: one recorded day per week for a year, the campaign's
progress rising towards today's actual figures (each township at its own pace)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

WEEKS = 52


def seed_district(*, county: str, rng, log) -> dict[str, int]:
    from .indicators import INDICATORS
    from .models import IndicatorValue, Period
    from .refresh import compute_period, month_start, refresh, roll_up, week_start

    today = timezone.localdate()
    if IndicatorValue.objects.filter(period=Period.DAY, period_start__lt=today - timedelta(days=30)).exists():
        return {"indicator_values": 0}
    schools = _school_reports(county, today, rng)
    summary = refresh(today=today, full=True)
    pace: dict[str, float] = {}
    rows = []
    with transaction.atomic():
        for ind in INDICATORS.values():
            if ind.kind != "snapshot":
                continue
            base = [b for b in ind.base(today) if (b[0] or "").startswith(county)]
            for w in range(1, WEEKS + 1):
                day = week_start(today) - timedelta(days=7 * w - 6)  # the Sunday of week -w
                past = []
                for div, dept, num, den in base:
                    p = pace.setdefault(div[:9], rng.uniform(0.6, 1.4))
                    share = max(0.0, 1 - (w / WEEKS) * 0.45 * p + rng.uniform(-0.02, 0.02))
                    past.append((div, dept, min(den, round(num * share)), den))
                for (div, dept), (num, den) in roll_up(past).items():
                    rows.append(
                        IndicatorValue(
                            indicator=ind.key,
                            period=Period.DAY,
                            period_start=day,
                            division_code=div,
                            department_kind=dept,
                            numerator=num,
                            denominator=den,
                        )
                    )
        IndicatorValue.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        periods = 0
        for ind in INDICATORS.values():
            if ind.kind != "snapshot":
                continue
            days = [week_start(today) - timedelta(days=7 * w - 6) for w in range(1, WEEKS + 1)]
            for s in sorted({week_start(d) for d in days}):
                compute_period(ind, Period.WEEK, s)
                periods += 1
            for s in sorted({month_start(d) for d in days}):
                compute_period(ind, Period.MONTH, s)
                periods += 1
    log(f"analytics: {summary['days']} days recomputed, {len(rows)} simulated history rows")
    issued = _notices(county, today)
    reports = _daily_reports(county, today, rng)
    ledger_rows = _work_ledger(county, today)
    return {
        "work_ledger": ledger_rows,
        "indicator_values": IndicatorValue.objects.count(),
        "periods": periods,
        "school_reports": schools,
        "notices": issued,
        "daily_reports": reports,
    }


def _school_reports(county: str, today, rng) -> int:
    """Each township's compulsory schools, reported monthly for a year, after-school
    service and homework compliance rising towards today."""
    from qinglang.core.models import Division

    from .models import SchoolReport

    rows = []
    for code in Division.objects.filter(parent_id=county).values_list("code", flat=True):
        n = rng.randint(4, 18)
        for m in range(12, -1, -1):
            share = min(1.0, 1 - m * rng.uniform(0.01, 0.04))
            rows.append(
                SchoolReport(
                    division_code=code,
                    report_on=today - timedelta(days=30 * m),
                    schools=n,
                    after_school=round(n * share),
                    homework_ok=round(n * min(1.0, share + rng.uniform(-0.05, 0.03))),
                )
            )
    SchoolReport.objects.bulk_create(rows)
    return len(rows)


def _notices(county: str, today) -> int:
    """The last two weeks' notices, as the Monday job would have issued them."""
    from qinglang.accounts.permissions import system

    from .notices import notice_issue
    from .refresh import week_start

    actor = system("weekly-notice")
    n = 0
    for w in range(2, 0, -1):
        week = week_start(today) - timedelta(days=7 * w)
        n += notice_issue(actor=actor, county=county, week=week, today=week + timedelta(days=7)) is not None
    return n


def _daily_reports(county: str, today, rng) -> int:
    """A week of daily reports: most units on time, some late, some missing."""
    from datetime import datetime

    from qinglang.core.calendar import is_working_day

    from .daily import auto_figures, deadline, units
    from .models import DailyReport

    rows = []
    days = [today - timedelta(days=k) for k in range(1, 8)]
    for u in units(county):
        for day in (d for d in days if is_working_day(d)):
            roll = rng.random()
            if roll < 0.1:
                continue  # not reported
            at = deadline(day) + (timedelta(hours=3) if roll < 0.2 else -timedelta(hours=rng.randint(1, 14)))
            rows.append(
                DailyReport(
                    division_code=u["division"],
                    department_kind=u["department"],
                    unit_name=u["name"],
                    report_on=day,
                    figures=auto_figures(u["division"], u["department"], day),
                    notable_events=rng.choice(["", "开展校外培训机构联合检查", "约谈预收费超标机构负责人"]),
                    measures=rng.choice(["", "对无证机构下达责令停止办学通知", "督促机构开通资金监管账户"]),
                    problems=rng.choice(["", "", "无证机构取缔需市场监管部门牵头"]),
                    submitted_at=min(at, timezone.make_aware(datetime.combine(today, datetime.min.time()))),
                )
            )
    DailyReport.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _work_ledger(county: str, today) -> int:
    """The task force's ledger and a superior's problem list, through the services: tasks
    at various progress, problems open, overdue (reminded and escalated by the job),
    awaiting close-out and closed."""
    from qinglang.accounts.permissions import system

    from . import ledger
    from .models import SupervisionProblem

    if SupervisionProblem.objects.filter(division_code=county).exists():
        return 0
    office = system("seed_demo")
    tasks = [
        ("education", "校外培训机构预收费资金监管全覆盖", "monthly", 30, 85),
        ("market_regulation", "无证校外培训机构排查整治", "weekly", -3, 60),
        ("education", "学科类培训机构“营转非”后续监管", "standing", None, 40),
        ("public_security", "校外培训场所安全隐患排查", "staged", 20, 100),
    ]
    for dept, title, cadence, due, progress in tasks:
        t = ledger.work_task_create(
            actor=office,
            county=county,
            department_kind=dept,
            title=title,
            lead_leader="分管副区长",
            cadence=cadence,
            due_on=None if due is None else today + timedelta(days=due),
            requirement="按专班统一部署推进，每周五前报送进展。",
        )
        ledger.work_task_progress(actor=office, task_id=t.pk, text="按计划推进", progress=progress)
    problems = [
        ("education", "部分机构预收费未纳入资金监管", -10, "逐一约谈，限期开立监管账户"),
        ("market_regulation", "无证机构“回潮”，以托管名义开展学科培训", -2, "联合执法，依法取缔"),
        ("education", "学科类培训机构超时培训", 15, "开展夜查，约谈负责人"),
        ("culture_tourism", "非学科类培训机构审批登记不规范", 25, "梳理存量，补办手续"),
    ]
    made = []
    for n, (dept, text, due, measures) in enumerate(problems, start=1):
        made.append(
            ledger.problem_create(
                actor=office,
                county=county,
                department_kind=dept,
                source="superior",
                source_ref="市“双减”工作督查反馈问题清单(第3批)",
                number=str(n),
                description=text,
                lead_leader="分管副区长",
                deadline=today + timedelta(days=due),
                measures=measures,
            )
        )
    ledger.problem_note(actor=office, problem_id=made[2].pk, text="已开展夜查2次，约谈机构3家")
    ledger.overdue_sweep(today=today, actor=system("work-overdue"))
    return len(tasks) + len(problems)
