"""Rows that give each risk signal a chosen value, and for each kind the figures to try it
at: the national threshold and 成都市's own, each just inside it (the signal does not
fire), at it and just beyond it. Shared by the risk app's tests and the portal's matrix of
the rules in force."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from qinglang.inspections.models import Notice, RectificationItem, Task
from qinglang.registry.models import Licence

from . import factories as f

STEPS = ("inside", "at", "beyond")


def _reports(n, inst, day, kind):
    for _ in range(n):
        f.report(inst, kind=kind, observed_on=day - timedelta(days=2), evidence="现场看到大门紧锁，家长聚集")


def custody_shortfall(inst, day, share):
    """Obligations of 100,000 fen against a balance short of them by ``share``."""
    f.order(inst, day=day - timedelta(days=40), lessons=10, price=10000)
    f.custody(inst, round(100000 * (1 - share)))


def large_movement(inst, day, ratio):
    f.large_movement(inst, day=day, ratio=ratio)


def refunds_overdue(inst, day, n):
    for _ in range(n):
        f.refund(inst, day=day - timedelta(days=9), respond_by=day - timedelta(days=2))


def refunds_rising(inst, day, n):
    """``n`` requests in the last 7 days, none in the 7 before."""
    for _ in range(n):
        f.refund(inst, day=day - timedelta(days=1), respond_by=day + timedelta(days=5))


def sales_surge(inst, day, lessons):
    """30,000 fen a month in the 90 days before; ``lessons`` × 10,000 fen in the last 30
    (the multiple is ``lessons`` / 3)."""
    f.order(inst, day=day - timedelta(days=60), lessons=9)
    f.order(inst, day=day - timedelta(days=3), lessons=lessons)


def price_rise(inst, day, price):
    """A lesson at 10,000 fen before, at ``price`` fen in the last 30 days."""
    f.order(inst, day=day - timedelta(days=60), lessons=10, price=10000)
    f.order(inst, day=day - timedelta(days=3), lessons=10, price=price)


def long_packages(inst, day, counts):
    """(orders of three months, orders of one month) in the last 30 days."""
    n_long, n_short = counts
    for months, n in ((3, n_long), (1, n_short)):
        for _ in range(n):
            f.order(inst, day=day - timedelta(days=2), months=months)


def _clues(n, inst, day, **kw):
    for _ in range(n):
        f.clue(inst, day=day - timedelta(days=1), **kw)


def complaints_rising(inst, day, n):
    _clues(n, inst, day)


def complaints_runaway(inst, day, n):
    _clues(n, inst, day, category="runaway")


def wage_arrears(inst, day, n):
    _clues(n, inst, day, summary="机构拖欠工资三个月，老师们都走了")


def staff_leaving(inst, day, n):
    for _ in range(n):
        f.staff_left(inst, day=day - timedelta(days=5))


def rectification_overdue(inst, day, n):
    """``n`` open items of one notice, three days past their deadline."""
    if not n:
        return
    task = Task.objects.create(
        institution=inst,
        division_code=inst.division_code,
        scheduled_on=day - timedelta(days=30),
        due_on=day - timedelta(days=29),
        origin="adhoc",
        reason="检查",
    )
    notice = Notice.objects.create(
        number=f"N{task.pk}",
        task=task,
        institution=inst,
        division_code=inst.division_code,
        issued_on=day - timedelta(days=30),
        deadline_days=10,
        deadline_on=day - timedelta(days=3),
    )
    for i in range(n):
        RectificationItem.objects.create(
            notice=notice,
            institution=inst,
            division_code=inst.division_code,
            department_kind="education",
            title=f"问题{i}",
            deadline_on=day - timedelta(days=3),
        )


def licence_expiring(inst, day, days):
    Licence.objects.create(
        institution=inst, kind="food_licence", number="JY1", valid_until=day + timedelta(days=days)
    )


def site_change(inst, day, n):
    _reports(n, inst, day, "site_change")


def head_unreachable(inst, day, n):
    """A clue that the head cannot be reached, and ``n`` − 1 township reports of it."""
    if n:
        f.clue(inst, day=day - timedelta(days=1), summary="机构负责人联系不上，电话一直关机")
        _reports(n - 1, inst, day, "head_unreachable")


@dataclass(frozen=True)
class Case:
    """A signal kind's data (``build(inst, day, arg)``) and the ``arg`` of each step
    (inside, at, beyond) against the national figure and against 成都市's."""

    build: Callable[[Any, Any, Any], None]
    national_figure: Any
    national: tuple
    city_figure: Any
    city: tuple

    def steps(self, where: str) -> dict:
        return dict(zip(STEPS, self.national if where == "national" else self.city, strict=True))


CASES: dict[str, Case] = {
    "custody_shortfall": Case(custody_shortfall, 0.1, (0.09, 0.1, 0.11), 0.25, (0.24, 0.25, 0.26)),
    "large_movement": Case(large_movement, 0.1, (0.09, 0.1, 0.11), 0.2, (0.19, 0.2, 0.21)),
    "refunds_overdue": Case(refunds_overdue, 1, (0, 1, 2), 2, (1, 2, 3)),
    "refunds_rising": Case(refunds_rising, 3, (2, 3, 4), 2, (1, 2, 3)),
    "sales_surge": Case(sales_surge, 2.0, (5, 6, 7), 3.0, (8, 9, 10)),
    "price_rise": Case(price_rise, 1.2, (11900, 12000, 12100), 1.5, (14900, 15000, 15100)),
    "long_packages": Case(long_packages, 0.5, ((4, 5), (1, 1), (5, 4)), 0.6, ((4, 3), (3, 2), (2, 1))),
    "complaints_rising": Case(complaints_rising, 3, (2, 3, 4), 2, (1, 2, 3)),
    "complaints_runaway": Case(complaints_runaway, 2, (1, 2, 3), 3, (2, 3, 4)),
    "wage_arrears": Case(wage_arrears, 1, (0, 1, 2), 2, (1, 2, 3)),
    "staff_leaving": Case(staff_leaving, 3, (2, 3, 4), 2, (1, 2, 3)),
    "rectification_overdue": Case(rectification_overdue, 1, (0, 1, 2), 2, (1, 2, 3)),
    # fires at or *below* the days left: inside is a day more
    "licence_expiring": Case(licence_expiring, 30, (31, 30, 29), 10, (11, 10, 9)),
    "site_change": Case(site_change, 1, (0, 1, 2), 2, (1, 2, 3)),
    "head_unreachable": Case(head_unreachable, 1, (0, 1, 2), 2, (1, 2, 3)),
}
