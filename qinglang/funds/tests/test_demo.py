"""The funds part of the demo seed: declarations give the console a real coverage rate,
there are disputes to answer and a statement difference to resolve, and lessons in every
state of their release: pending, confirmed, deemed, disputed, upheld and rejected."""

import pytest
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.funds import selectors
from qinglang.funds.models import (
    CustodyAccount,
    CustodyMode,
    InstructionLine,
    Lesson,
    LessonStatus,
    Order,
    Refund,
)
from qinglang.funds.services.indicators import week_monday
from qinglang.funds.verify import ledger_verify
from qinglang.testing import built_once, make_user, seed_district_demo

# one worker seeds the demo for all of this module's tests (with `--dist loadgroup`, as `make test`
# runs), instead of each worker that gets some of them seeding its own
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("funds-demo")]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The district demo, seeded once for the module's tests."""
    yield from built_once(django_db_blocker, seed_district_demo)


def test_demo_funds_figures(seeded):
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    ov = selectors.custody_overview(actor=officer, week_start=week_monday(timezone.localdate()))
    rates = [r["rate"] for r in ov["by_township"] if r["rate"] is not None]
    assert rates and all(0 < r <= 1 for r in rates)
    assert [r for r in ov["by_department"] if r["rate"]]
    assert len(selectors.dispute_list(actor=officer)) >= 1
    assert selectors.difference_list(actor=officer).filter(kind="amount_mismatch").exists()
    assert InstructionLine.objects.exists()
    assert Refund.objects.exclude(payer_account="").exists()
    risk = CustodyAccount.objects.filter(mode=CustodyMode.RISK_DEPOSIT).order_by("id")
    assert any(a.deposit_held_fen > 0 for a in risk)
    # every outcome of a lesson's two-phase release is there to see
    statuses = set(Lesson.objects.values_list("status", flat=True))
    assert set(LessonStatus.values) <= statuses, set(LessonStatus.values) - statuses
    assert Order.objects.filter(pending_fen__gt=0).exists()
    assert ledger_verify().ok


def test_demo_parent_orders_in_every_state_receipts_and_uncovered_institutions(seeded):
    from qinglang.accounts.models import User
    from qinglang.funds.models import ContractAcceptance, OrderStatus, Payment, Receipt, ReceiptKind
    from qinglang.funds.selectors_coverage import coverage_of_all

    parent = User.objects.get(username="parent")  # the demo login
    states = set(Order.objects.filter(parent=parent).values_list("status", flat=True))
    assert set(OrderStatus.values) <= states, set(OrderStatus.values) - states
    assert set(Receipt.objects.values_list("kind", flat=True)) == set(ReceiptKind.values)
    assert Payment.objects.filter(entered_by_id__isnull=False).exists()
    assert ContractAcceptance.objects.filter(order__parent=parent).exists()
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    cov = coverage_of_all(
        actor=officer,
        week_start=week_monday(timezone.localdate()),
        township_label=str,
        department_label=str,
    )
    assert cov["total"].with_account < cov["total"].institutions
    assert cov["without_account"].count() == cov["total"].without_account > 0
    assert len(cov["by_township"]) > 1 and len(cov["by_department"]) > 1
    assert ledger_verify().ok
