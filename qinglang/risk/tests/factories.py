"""Rows the risk signals read, written directly (the signals read state; how the state
came about is each lower app's own tested business)."""

import itertools
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from qinglang.clues.models import Clue
from qinglang.funds.models import AccountKind, LedgerAccount, Order, Refund, Signal
from qinglang.registry.models import Course, Staff

_seq = itertools.count(1)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def course(inst, price: int = 10000) -> Course:
    return Course.objects.create(
        institution=inst,
        name=f"课程{next(_seq)}",
        kind=inst.kind,
        stage="primary",
        lessons=40,
        unit_price_fen=price,
        approval_status="approved",
    )


def order(
    inst,
    *,
    day: date,
    lessons: int = 10,
    price: int = 10000,
    months: int = 1,
    status="paid",
    consumed=0,
    c=None,
):
    c = c or course(inst, price)
    o = Order.objects.create(
        institution=inst,
        course=c,
        learner_name=f"学员{next(_seq)}",
        lessons=lessons,
        unit_price_fen=price,
        amount_fen=lessons * price,
        months=months,
        starts_on=day,
        contract_text="合同",
        status=status,
        division_code=inst.division_code,
        paid_fen=lessons * price,
        lessons_consumed=consumed,
    )
    Order.objects.filter(pk=o.pk).update(created_at=at(day))
    return o


def custody(inst, balance: int) -> LedgerAccount:
    return LedgerAccount.objects.create(
        kind=AccountKind.CUSTODY, institution=inst, division_code=inst.division_code, balance_fen=balance
    )


def refund(inst, *, day: date, status="requested", respond_by=None, decided=None) -> Refund:
    o = order(inst, day=day - timedelta(days=20))
    r = Refund.objects.create(
        order=o,
        institution=inst,
        status=status,
        reason="搬家",
        respond_by=respond_by,
        division_code=inst.division_code,
        decided_at=at(decided) if decided else None,
    )
    Refund.objects.filter(pk=r.pk).update(created_at=at(day))
    return r


def clue(inst, *, day: date, category="other", summary="机构上课时间安排不合理，家长反映较多") -> Clue:
    n = next(_seq)
    return Clue.objects.create(
        reference=f"R{n:08d}",
        division_code=inst.division_code,
        institution=inst,
        category=category,
        category_source="reporter",
        summary=summary,
        first_channel="web",
        received_at=at(day),
        last_reported_at=at(day),
    )


def staff_left(inst, *, day: date) -> Staff:
    return Staff.objects.create(
        institution=inst, name=f"教师{next(_seq)}", hired_on=day - timedelta(days=400), left_on=day
    )


def large_movement(inst, *, day: date, ratio: float) -> Signal:
    s = Signal.objects.create(
        institution=inst,
        kind="large_movement",
        value=ratio,
        detail={"posting_id": 1},
        division_code=inst.division_code,
    )
    Signal.objects.filter(pk=s.pk).update(created_at=at(day))
    return s


def report(inst, *, kind: str, observed_on: date, evidence: str, unit: str = "浆洗街街道"):
    """A township's report of a manual signal about ``inst``."""
    from qinglang.risk.models import RiskReport

    return RiskReport.objects.create(
        institution=inst,
        kind=kind,
        source="township",
        reporter_unit=unit,
        observed_on=observed_on,
        evidence=evidence,
        division_code=inst.division_code,
    )
