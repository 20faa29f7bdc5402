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


class _Rows:
    """The rows of one cohort, gathered in memory (in the order the generator draws them)
    and written in bulk at the end."""

    def __init__(self, *, seed: int, rng: random.Random, insts: list, courses: list):
        self.seed, self.rng, self.insts, self.courses = seed, rng, insts, courses
        self.orders, self.refunds, self.clues, self.staff, self.reports, self.licences = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        self.n = 0

    def order(self, i: int, day: date, price: int, months: int) -> None:
        from qinglang.funds.models import Order

        rng, inst = self.rng, self.insts[i]
        self.n += 1
        lessons = rng.choice([8, 12, 16, 24]) * months
        self.orders.append(
            Order(
                institution=inst,
                course=self.courses[i],
                learner_name=f"学员{self.n}",
                lessons=lessons,
                unit_price_fen=price,
                amount_fen=lessons * price,
                months=months,
                starts_on=day,
                contract_text="合同",
                status="paid",
                division_code=inst.division_code,
                paid_fen=lessons * price,
                created_at=_at(day, rng),
            )
        )

    def refund(self, i: int, day: date, answered: bool) -> None:
        self.refunds.append((i, day, answered))

    def clue(self, i: int, day: date, category: str, summary: str) -> None:
        from qinglang.clues.models import Clue

        rng, inst = self.rng, self.insts[i]
        self.n += 1
        self.clues.append(
            Clue(
                reference=f"Q{self.seed}{self.n:08d}",
                division_code=inst.division_code,
                institution=inst,
                category=category,
                category_source="reporter",
                summary=summary,
                first_channel=rng.choice(["web", "hotline", "parent"]),
                received_at=_at(day, rng),
                last_reported_at=_at(day, rng),
            )
        )

    def leaver(self, i: int, start: date, day: date) -> None:
        from qinglang.registry.models import Staff

        self.staff.append(
            Staff(institution=self.insts[i], name="教师", hired_on=start - timedelta(days=400), left_on=day)
        )

    def head_unreachable(self, i: int, day: date) -> None:
        from .models import RiskReport

        inst = self.insts[i]
        self.reports.append(
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

    def write(self) -> None:
        """Everything in bulk; each refund goes to one of its institution's orders made
        by then (one refund per order)."""
        from qinglang.clues.models import Clue
        from qinglang.funds.models import Order, Refund
        from qinglang.registry.models import Licence, Staff

        from .models import RiskReport

        rng = self.rng
        with _dated(Order, Refund):
            Order.objects.bulk_create(self.orders, batch_size=2000)
            by_inst = defaultdict(list)
            for o in self.orders:
                by_inst[o.institution_id].append(o)
            rows, used = [], set()
            for i, day, answered in self.refunds:
                inst = self.insts[i]
                own = [o for o in by_inst[inst.pk] if o.created_at.date() <= day and o.pk not in used]
                if not own:
                    continue
                o = rng.choice(own)
                used.add(o.pk)
                rows.append(
                    Refund(
                        order=o,
                        institution=inst,
                        status="agreed" if answered else "requested",
                        reason="退费",
                        respond_by=day + timedelta(days=7),
                        division_code=o.division_code,
                        created_at=_at(day, rng),
                        decided_at=_at(day + timedelta(days=rng.randrange(1, 5)), rng) if answered else None,
                    )
                )
            Refund.objects.bulk_create(rows, batch_size=2000)
        Clue.objects.bulk_create(self.clues, batch_size=2000)
        Staff.objects.bulk_create(self.staff, batch_size=2000)
        RiskReport.objects.bulk_create(self.reports)
        Licence.objects.bulk_create(self.licences)


def _institutions(*, seed: int, p: Params, rng: random.Random, county: str) -> tuple[list, list]:
    """``p.institutions`` arts institutions in ``county``'s townships, one course each."""
    from qinglang.core.models import Department, Division
    from qinglang.registry.models import Course, Institution

    townships = list(
        Division.objects.filter(code__startswith=county, code__regex=r"^[0-9]{9}$").values_list(
            "code", flat=True
        )
    ) or [county]
    dept = Department.objects.filter(division_id=county, kind="culture_tourism").first()
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
    return insts, courses


def _failure(p: Params, rng: random.Random, start: date) -> tuple[date, dict[str, date]]:
    """A failing institution's runaway day and the day each of its stages starts."""
    runaway = start + timedelta(days=rng.randrange(*p.runaway_window))
    sudden = rng.random() < p.sudden_share
    stages = {}
    for name, rng_days in (
        ("price", p.price_stage),
        ("refund", p.refund_stage),
        ("wage", p.wage_stage),
        ("head", p.head_stage),
    ):
        skip = (name in ("price", "refund") and sudden) or (name != "head" and rng.random() < p.skip_stage)
        if not skip:
            stages[name] = runaway - timedelta(days=rng.randrange(*rng_days))
    return runaway, stages


def _live(
    rows: _Rows,
    i: int,
    *,
    p: Params,
    start: date,
    drift: float,
    stages: dict[str, date],
    end: date,
    bad_month: date | None,
) -> None:
    """One institution's days, from a sales history before the year to ``end``: orders
    every day, and from the year's start the everyday noise and the stages of a failure."""
    rng = rows.rng
    base = rows.courses[i].unit_price_fen
    day = start - timedelta(days=120)
    while day < end:
        price_up = "price" in stages and day >= stages["price"]
        t = (day - start).days / p.days
        price = round(base * (1 + (drift - 1) * t) * (rng.uniform(1.25, 1.4) if price_up else 1))
        rate = p.orders_per_month / 30 * (2.5 if price_up else 1)
        for _ in range(_poisson(rng, rate)):
            long = rng.random() < (0.7 if price_up else p.three_month_share)
            rows.order(i, day, price, 3 if long else rng.choice([1, 2]))
        if day >= start:
            _noise(rows, i, p=p, start=start, day=day, bad_month=bad_month)
            _stages_of_failure(rows, i, start=start, day=day, stages=stages)
        day += timedelta(days=1)


def _noise(rows: _Rows, i: int, *, p: Params, start: date, day: date, bad_month: date | None) -> None:
    """What healthy institutions do too: refunds, complaints, staff leaving, a bad month."""
    rng = rows.rng
    if rng.random() < p.refunds_per_month / 30:
        rows.refund(i, day, True)
    if rng.random() < p.complaints_per_month / 30:
        rows.clue(i, day, rng.choice(CATEGORIES_NOISE), "家长反映上课时间经常调整，沟通不及时")
    if rng.random() < p.staff_leaving_per_year / 365:
        rows.leaver(i, start, day)
    if bad_month and bad_month <= day < bad_month + timedelta(days=10) and rng.random() < 0.3:
        rows.clue(
            i, day, rng.choice(["refund_difficulty", "price", "other"]), "家长集中反映课程质量下降，要求退费"
        )
        rows.refund(i, day, True)


def _stages_of_failure(rows: _Rows, i: int, *, start: date, day: date, stages: dict[str, date]) -> None:
    """Refunds left unanswered, wage arrears, and the head unreachable, each from its day."""
    rng = rows.rng
    if "refund" in stages and day >= stages["refund"]:
        if rng.random() < 0.45:
            rows.refund(i, day, False)
        if rng.random() < 0.2:
            rows.clue(i, day, "refund_difficulty", "申请退费两周没有答复，机构推脱")
    if "wage" in stages and day >= stages["wage"]:
        if rng.random() < 0.15:
            rows.clue(i, day, "other", "老师反映机构拖欠工资两个月")
        if rng.random() < 0.12:
            rows.leaver(i, start, day)
    if "head" in stages and day == stages["head"]:
        rows.clue(i, day, "runaway", "机构负责人联系不上，门店关门")
        if rng.random() < 0.6:
            rows.head_unreachable(i, day)


def build(
    *, seed: int, params: Params | None = None, county: str = "510107", start: date | None = None
) -> Cohort:
    """Write the cohort (institutions in ``county``'s townships) and return who fails when."""
    from qinglang.registry.models import Licence

    p = params or Params()
    rng = random.Random(seed)
    start = start or (timezone.localdate() - timedelta(days=p.days))
    cohort = Cohort(start=start, county=county)
    with transaction.atomic():
        insts, courses = _institutions(seed=seed, p=p, rng=rng, county=county)
        failing = set(rng.sample(range(p.institutions), round(p.institutions * p.failing_share)))
        rows = _Rows(seed=seed, rng=rng, insts=insts, courses=courses)
        for i, inst in enumerate(insts):
            drift = 1 + rng.uniform(-p.price_drift, p.price_drift)
            runaway, stages = None, {}
            if i in failing:
                runaway, stages = _failure(p, rng, start)
                cohort.runaway_on[inst.pk] = runaway
            else:
                cohort.healthy.append(inst.pk)
            bad_month = None
            if runaway is None and rng.random() < p.bad_month_share:
                bad_month = start + timedelta(days=rng.randrange(p.days - 30))
            end = runaway or (start + timedelta(days=p.days))
            _live(rows, i, p=p, start=start, drift=drift, stages=stages, end=end, bad_month=bad_month)
            until = start + timedelta(days=rng.randrange(60, 1100))
            rows.licences.append(
                Licence(institution=inst, kind="school_permit", number=f"教民{seed}{i}", valid_until=until)
            )
        rows.write()
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
