"""Factories for funds tests, benchmarks and demo data (through the real services)."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from qinglang.accounts.models import Role
from qinglang.registry import services as reg
from qinglang.testing import TOWNSHIP, admin_user, make_institution, make_user

from . import services
from .models import Bank, CustodyAccount, Order
from .services.orders import latest_end_in_semester

_seq = itertools.count(1)


@dataclass
class FundsWorld:
    admin: object
    bank: Bank
    secret: str
    institution: object
    course: object
    custody: CustodyAccount
    parent: object
    org_user: object


def make_bank(
    admin, *, division_code: str = "510107", code: str | None = None, secret: str = ""
) -> tuple[Bank, str]:
    return services.bank_create(
        actor=admin,
        code=code or f"B{next(_seq):05d}",
        name=f"测试托管银行{next(_seq)}",
        division_code=division_code,
        secret=secret,
    )


def make_course(
    admin, institution, *, lessons: int = 40, unit_price_fen: int = 5000, kind: str = "arts", approve=True
):
    course = reg.course_create(
        actor=admin,
        institution_id=institution.pk,
        data={
            "name": f"课程{next(_seq)}",
            "kind": kind,
            "stage": "primary",
            "lessons": lessons,
            "unit_price_fen": unit_price_fen,
        },
    )
    if approve:
        course = reg.course_review(actor=admin, course_id=course.pk, approve=True)
    return course


def funds_world(
    *, admin=None, division_code: str = TOWNSHIP, bank=None, unit_price_fen: int = 5000, **inst_kw
) -> FundsWorld:
    admin = admin or admin_user()
    secret = ""
    if bank is None:
        bank, secret = make_bank(admin, division_code=division_code[:6])
    inst = make_institution(admin, division_code=division_code, whitelisted=True, **inst_kw)
    course = make_course(admin, inst, unit_price_fen=unit_price_fen, kind=inst.kind)
    custody = services.custody_account_open(
        actor=admin,
        institution_id=inst.pk,
        bank_id=bank.pk,
        mode="bank_custody",
        account_number=f"6222{next(_seq):012d}",
        opened_on=date.today() - timedelta(days=30),
    )
    parent = make_user(Role.PARENT)
    org_user = make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk)
    return FundsWorld(admin, bank, secret, inst, course, custody, parent, org_user)


def term_input(course, *, lessons: int, learner_name: str = "小明", **kw) -> services.OrderInput:
    """An order starting today whose charge period ends before the next semester begins
    (so ``fees.cross_semester_allowed`` = false never refuses it, whatever the date)."""
    today = date.today()
    ends_on = latest_end_in_semester(div=course.institution.division_code, starts_on=today, months=1)
    return services.OrderInput(
        course_id=course.pk,
        learner_name=learner_name,
        lessons=lessons,
        starts_on=today,
        ends_on=ends_on,
        **kw,
    )


def paid_order(
    w: FundsWorld, *, lessons: int = 20, parent=None, txn: str | None = None, payer: dict | None = None
) -> Order:
    order = services.order_create(actor=parent or w.parent, data=term_input(w.course, lessons=lessons))
    services.payment_record(
        actor=w.admin,
        bank_id=w.bank.pk,
        txn_id=txn or f"T{order.pk}-{next(_seq)}",
        order_id=order.pk,
        amount_fen=order.amount_fen,
        **(payer or {}),
    )
    order.refresh_from_db()
    return order
