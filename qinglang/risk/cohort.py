"""A demo cohort for validating the early warning: institutions over a year in which a few
fail step by step (price rise → refund complaints → wage arrears → head unreachable →
runaway) and most stay healthy, with the everyday noise healthy institutions also make.

Everything the signals read is written up front, dated across the year (orders, refunds,
complaints, staff departures, township reports, licences); then ``replay`` scores every
day of the year in turn, as the nightly job would have, and ``evaluate`` measures how
early the failures were flagged and how often healthy institutions were.

The parameters (``Params``) are documented in docs/risk.md; the benchmark runs five seeds
so that the figures are not those of one lucky draw."""

import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

CATEGORIES_NOISE = ["price", "fire_safety", "staff_conduct", "advertising", "other", "refund_difficulty"]


@dataclass
class Params:
    institutions: int = 400
    failing_share: float = 0.08
    days: int = 365
    # healthy institutions, per month
    orders_per_month: float = 6.0
    refunds_per_month: float = 0.4
    complaints_per_month: float = 0.25
    staff_leaving_per_year: float = 1.5
    three_month_share: float = 0.15
    price_drift: float = 0.05  # ± yearly drift of a healthy institution's price
    bad_month_share: float = 0.05  # healthy institutions that have one bad month (complaint and refund burst)
    # failing institutions: days before the runaway each stage starts (uniform ranges)
    price_stage: tuple[int, int] = (50, 80)
    refund_stage: tuple[int, int] = (25, 45)
    wage_stage: tuple[int, int] = (10, 25)
    head_stage: tuple[int, int] = (0, 10)
    skip_stage: float = 0.10  # each of the first three stages is skipped with this probability
    sudden_share: float = 0.05  # failures that show only the last two stages
    runaway_window: tuple[int, int] = (120, 360)  # day of the year the runaway happens

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Cohort:
    start: date
    county: str
    healthy: list[int] = field(default_factory=list)
    runaway_on: dict[int, date] = field(default_factory=dict)


@contextmanager
def _dated(*models):
    """Let the generator write ``created_at`` itself (the models stamp it on insert)."""
    fields = [m._meta.get_field("created_at") for m in models]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _at(day: date, rng: random.Random) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(8 + rng.randrange(12), rng.randrange(60))))


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, 1.0, pow(2.718281828459045, -lam)
    while True:
        p *= rng.random()
        if p < limit:
            return n
        n += 1


def build(
    *, seed: int, params: Params | None = None, county: str = "510107", start: date | None = None
) -> Cohort:
    """Write the cohort (institutions in ``county``'s townships) and return who fails when."""
    from qinglang.clues.models import Clue
    from qinglang.core.models import Department, Division
    from qinglang.funds.models import Order, Refund
    from qinglang.registry.models import Course, Institution, Licence, Staff

    from .models import RiskReport

    p = params or Params()
    rng = random.Random(seed)
    start = start or (timezone.localdate() - timedelta(days=p.days))
    townships = list(
        Division.objects.filter(code__startswith=county, code__regex=r"^[0-9]{9}$").values_list(
            "code", flat=True
        )
    ) or [county]
    dept = Department.objects.filter(division_id=county, kind="culture_tourism").first()
    cohort = Cohort(start=start, county=county)
    with transaction.atomic():
        insts = Institution.objects.bulk_create(
            [
                Institution(
                    name=f"队列机构{seed}-{i}",
                    category="non_subject",
                    kind="arts",
                    division_code=rng.choice(townships),
                    competent_department=dept,
                    licence_status="fully_licensed",
                    status="active",
                )
                for i in range(p.institutions)
            ]
        )
        courses = Course.objects.bulk_create(
            [
                Course(
                    institution=inst,
                    name="美术基础班",
                    kind="arts",
                    stage="primary",
                    lessons=40,
                    unit_price_fen=rng.randrange(60, 200) * 100,
                    approval_status="approved",
                )
                for inst in insts
            ]
        )
        failing = set(rng.sample(range(p.institutions), round(p.institutions * p.failing_share)))
        orders, refunds, clues, staff, reports, licences = [], [], [], [], [], []
        n = 0

        def order(i, day, price, months):
            nonlocal n
            n += 1
            lessons = rng.choice([8, 12, 16, 24]) * months
            orders.append(
                Order(
                    institution=insts[i],
                    course=courses[i],
                    learner_name=f"学员{n}",
                    lessons=lessons,
                    unit_price_fen=price,
                    amount_fen=lessons * price,
                    months=months,
                    starts_on=day,
                    contract_text="合同",
                    status="paid",
                    division_code=insts[i].division_code,
                    paid_fen=lessons * price,
                    created_at=_at(day, rng),
                )
            )

        def refund(i, day, answered):
            refunds.append((i, day, answered))

        def clue(i, day, category, summary):
            nonlocal n
            n += 1
            clues.append(
                Clue(
                    reference=f"Q{seed}{n:08d}",
                    division_code=insts[i].division_code,
                    institution=insts[i],
                    category=category,
                    category_source="reporter",
                    summary=summary,
                    first_channel=rng.choice(["web", "hotline", "parent"]),
                    received_at=_at(day, rng),
                    last_reported_at=_at(day, rng),
                )
            )

        for i, inst in enumerate(insts):
            base = courses[i].unit_price_fen
            drift = 1 + rng.uniform(-p.price_drift, p.price_drift)
            runaway = None
            stages = {}
            if i in failing:
                runaway = start + timedelta(days=rng.randrange(*p.runaway_window))
                cohort.runaway_on[inst.pk] = runaway
                sudden = rng.random() < p.sudden_share
                for name, rng_days in (
                    ("price", p.price_stage),
                    ("refund", p.refund_stage),
                    ("wage", p.wage_stage),
                    ("head", p.head_stage),
                ):
                    skip = (name in ("price", "refund") and sudden) or (
                        name != "head" and rng.random() < p.skip_stage
                    )
                    if not skip:
                        stages[name] = runaway - timedelta(days=rng.randrange(*rng_days))
            else:
                cohort.healthy.append(inst.pk)
            bad_month = None
            if runaway is None and rng.random() < p.bad_month_share:
                bad_month = start + timedelta(days=rng.randrange(p.days - 30))
            end = runaway or (start + timedelta(days=p.days))
            day = start - timedelta(days=120)  # a sales history before the year
            while day < end:
                price_up = "price" in stages and day >= stages["price"]
                t = (day - start).days / p.days
                price = round(base * (1 + (drift - 1) * t) * (rng.uniform(1.25, 1.4) if price_up else 1))
                rate = p.orders_per_month / 30 * (2.5 if price_up else 1)
                for _ in range(_poisson(rng, rate)):
                    long = rng.random() < (0.7 if price_up else p.three_month_share)
                    order(i, day, price, 3 if long else rng.choice([1, 2]))
                if day >= start:
                    if rng.random() < p.refunds_per_month / 30:
                        refund(i, day, True)
                    if rng.random() < p.complaints_per_month / 30:
                        clue(i, day, rng.choice(CATEGORIES_NOISE), "家长反映上课时间经常调整，沟通不及时")
                    if rng.random() < p.staff_leaving_per_year / 365:
                        staff.append(
                            Staff(
                                institution=inst,
                                name="教师",
                                hired_on=start - timedelta(days=400),
                                left_on=day,
                            )
                        )
                    if bad_month and bad_month <= day < bad_month + timedelta(days=10) and rng.random() < 0.3:
                        clue(
                            i,
                            day,
                            rng.choice(["refund_difficulty", "price", "other"]),
                            "家长集中反映课程质量下降，要求退费",
                        )
                        refund(i, day, True)
                    if "refund" in stages and day >= stages["refund"]:
                        if rng.random() < 0.45:
                            refund(i, day, False)
                        if rng.random() < 0.2:
                            clue(i, day, "refund_difficulty", "申请退费两周没有答复，机构推脱")
                    if "wage" in stages and day >= stages["wage"]:
                        if rng.random() < 0.15:
                            clue(i, day, "other", "老师反映机构拖欠工资两个月")
                        if rng.random() < 0.12:
                            staff.append(
                                Staff(
                                    institution=inst,
                                    name="教师",
                                    hired_on=start - timedelta(days=400),
                                    left_on=day,
                                )
                            )
                    if "head" in stages and day == stages["head"]:
                        clue(i, day, "runaway", "机构负责人联系不上，门店关门")
                        if rng.random() < 0.6:
                            reports.append(
                                RiskReport(
                                    institution=inst,
                                    kind="head_unreachable",
                                    source="township",
                                    reporter_unit="街道办",
                                    observed_on=day,
                                    evidence="走访发现门店关闭，负责人电话关机",
                                    division_code=inst.division_code,
                                )
                            )
                day += timedelta(days=1)
            until = start + timedelta(days=rng.randrange(60, 1100))
            licences.append(
                Licence(institution=inst, kind="school_permit", number=f"教民{seed}{i}", valid_until=until)
            )
        with _dated(Order, Refund):
            Order.objects.bulk_create(orders, batch_size=2000)
            by_inst = defaultdict(list)
            for o in orders:
                by_inst[o.institution_id].append(o)
            rows, used = [], set()
            for i, day, answered in refunds:
                own = [o for o in by_inst[insts[i].pk] if o.created_at.date() <= day and o.pk not in used]
                if not own:
                    continue
                o = rng.choice(own)
                used.add(o.pk)  # one refund per order
                rows.append(
                    Refund(
                        order=o,
                        institution=insts[i],
                        status="agreed" if answered else "requested",
                        reason="退费",
                        respond_by=day + timedelta(days=7),
                        division_code=o.division_code,
                        created_at=_at(day, rng),
                        decided_at=_at(day + timedelta(days=rng.randrange(1, 5)), rng) if answered else None,
                    )
                )
            Refund.objects.bulk_create(rows, batch_size=2000)
        Clue.objects.bulk_create(clues, batch_size=2000)
        Staff.objects.bulk_create(staff, batch_size=2000)
        RiskReport.objects.bulk_create(reports)
        Licence.objects.bulk_create(licences)
    return cohort


def replay(cohort: Cohort, *, days: int | None = None, progress=None) -> None:
    """Score every day of the cohort's year, as the nightly job would have."""
    from .scoring import score_day

    n = days or (max(cohort.runaway_on.values(), default=cohort.start) - cohort.start).days + 1
    n = max(n, days or 0)
    for k in range(n):
        score_day(cohort.start + timedelta(days=k), after_change=False)
        if progress and k % 60 == 0:
            progress(k)


@dataclass
class Outcome:
    failures: int
    caught_14: int
    caught_any: int
    healthy_months: int
    alarmed_months: int
    lead_days: list[int]

    @property
    def share_caught(self) -> float:
        return self.caught_14 / self.failures if self.failures else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.alarmed_months / self.healthy_months if self.healthy_months else 0.0


def evaluate(cohort: Cohort, *, days: int) -> Outcome:
    """Caught: orange or red on some day at least 14 days before the runaway. False alarm:
    a healthy institution orange or red on any day of a 30-day month of the year."""
    from .models import RiskScore

    alarmed = defaultdict(list)
    for inst, day in RiskScore.objects.filter(
        institution_id__in=[*cohort.healthy, *cohort.runaway_on], level__in=["orange", "red"]
    ).values_list("institution_id", "day"):
        alarmed[inst].append(day)
    caught_14 = caught_any = 0
    leads = []
    for inst, r in cohort.runaway_on.items():
        before = [d for d in alarmed.get(inst, []) if d <= r]
        if before:
            caught_any += 1
            lead = (r - min(before)).days
            leads.append(lead)
            if lead >= 14:
                caught_14 += 1
    months = days // 30
    alarmed_months = sum(
        len(
            {
                (d - cohort.start).days // 30
                for d in alarmed.get(inst, [])
                if (d - cohort.start).days // 30 < months
            }
        )
        for inst in cohort.healthy
    )
    return Outcome(
        len(cohort.runaway_on),
        caught_14,
        caught_any,
        len(cohort.healthy) * months,
        alarmed_months,
        sorted(leads),
    )
