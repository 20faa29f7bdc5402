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
    return {"indicator_values": IndicatorValue.objects.count(), "periods": periods}
