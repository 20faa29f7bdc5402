"""Refunds go back to the payer's own account (``refund.destination``); daily release and
refund instructions per bank; regulator decisions on disputes; weekly declarations and
the coverage rate for a chosen week."""

import csv
import io
import json
import time
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.funds import selectors, services
from qinglang.funds.api import sign
from qinglang.funds.models import (
    InstructionKind,
    InstructionLine,
    LessonStatus,
    Order,
    Posting,
    PostingCode,
    PrepaidDeclaration,
    Refund,
)
from qinglang.funds.testing import funds_world, paid_order, term_input
from qinglang.funds.verify import ledger_verify
from qinglang.registry import services as reg
from qinglang.testing import make_user

pytestmark = pytest.mark.django_db

PAYER = {
    "payer_account": "6217000011112222",
    "payer_account_name": "张丽",
    "payer_bank": "中国建设银行成都分行",
}


def _payer_order(w, lessons=10, payer=PAYER):
    return paid_order(w, lessons=lessons, payer=payer)


def test_refund_names_the_payers_account_in_posting_instruction_and_file():
    w = funds_world()
    order = _payer_order(w)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="e1"
    )
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="搬家")
    assert (refund.payer_account, refund.payer_account_name, refund.payer_bank) == tuple(PAYER.values())
    refund = services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    posting = Posting.objects.get(pk=refund.posting_id)
    assert (
        posting.code == PostingCode.REFUND
        and PAYER["payer_account"] in posting.memo
        and "张丽" in posting.memo
    )

    day = timezone.localdate()
    assert services.instructions_generate(day=day) == 2  # the refund, and the release of lesson e1
    assert services.instructions_generate(day=day) == 0  # idempotent
    line = InstructionLine.objects.get(kind=InstructionKind.REFUND)
    assert line.refund_id == refund.pk and line.amount_fen == refund.amount_fen == 9 * order.unit_price_fen
    assert line.destination == PAYER["payer_account"] and line.destination_name == "张丽"
    assert line.destination_bank == PAYER["payer_bank"]
    assert line.original_txn_id == order.payments.get().txn_id
    payout = Posting.objects.get(pk=line.posting_id)
    assert payout.code == PostingCode.REFUND_PAYOUT and PAYER["payer_account"] in payout.memo
    release = InstructionLine.objects.get(kind=InstructionKind.RELEASE)
    assert release.amount_fen == order.unit_price_fen and release.destination == "settlement_account"

    rows = list(csv.DictReader(io.StringIO(services.instruction_file([line]))))
    assert rows[0]["destination_account"] == PAYER["payer_account"]
    assert rows[0]["destination_name"] == "张丽" and rows[0]["destination_bank"] == PAYER["payer_bank"]
    assert rows[0]["original_txn_id"] == line.original_txn_id
    assert ledger_verify().ok


def test_each_refund_gets_its_own_line_and_pro_rata_refunds_name_their_payers():
    w = funds_world()
    o1 = _payer_order(w)
    o2 = _payer_order(w, payer={**PAYER, "payer_account": "6217000099990000", "payer_account_name": "李强"})
    reg.institution_mark_runaway(actor=w.admin, institution_id=w.institution.pk, reason="跑路")
    services.refund_pro_rata(actor=w.admin, institution_id=w.institution.pk, reason="统一清退")
    day = timezone.localdate()
    services.instructions_generate(day=day)
    lines = {ln.refund.order_id: ln for ln in InstructionLine.objects.filter(kind=InstructionKind.REFUND)}
    assert lines[o1.pk].destination == PAYER["payer_account"]
    assert lines[o2.pk].destination == "6217000099990000" and lines[o2.pk].destination_name == "李强"
    assert sum(ln.amount_fen for ln in lines.values()) == o1.amount_fen + o2.amount_fen


def test_refund_without_a_known_account_goes_back_by_the_original_transaction():
    w = funds_world()
    order = paid_order(w, lessons=4, txn="TX-ORIG-1")
    refund = services.refund_request(actor=w.parent, order_id=order.pk, reason="不上了")
    services.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=True)
    services.instructions_generate(day=timezone.localdate())
    line = InstructionLine.objects.get(kind=InstructionKind.REFUND)
    assert line.destination == "" and line.original_txn_id == "TX-ORIG-1"
    assert "TX-ORIG-1" in Posting.objects.get(pk=line.posting_id).memo


def test_signed_notification_carries_the_payer_account_and_altering_it_is_refused():
    w = funds_world()
    order = services.order_create(actor=w.parent, data=term_input(w.course, lessons=2))
    body = {"txn_id": "BKP1", "order_id": order.pk, "amount_fen": order.amount_fen, **PAYER}

    def notify(b):
        raw = json.dumps(b).encode()
        ts = str(int(time.time()))
        return Client().post(
            f"/api/funds/banks/{w.bank.pk}/notifications",
            raw,
            content_type="application/json",
            HTTP_X_QINGLANG_SIGNATURE=sign(w.secret, ts, raw),
            HTTP_X_QINGLANG_TIMESTAMP=ts,
        )

    assert notify(body).status_code == 201
    assert notify(body).status_code == 200
    r = notify({**body, "payer_account_name": "王五"})
    assert r.status_code == 409 and r.json()["code"] == "notification_altered"
    p = Order.objects.get(pk=order.pk).payments.get()
    assert (p.payer_account, p.payer_account_name, p.payer_bank) == tuple(PAYER.values())


def test_bank_operator_sees_only_its_banks_instructions():
    w = funds_world()
    other = funds_world()
    for x in (w, other):
        o = _payer_order(x, lessons=3)
        r = services.refund_request(actor=x.parent, order_id=o.pk, reason="x")
        services.refund_answer(actor=x.org_user, refund_id=r.pk, agree=True)
    day = timezone.localdate()
    services.instructions_generate(day=day)
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    assert [b.pk for b in selectors.bank_list(actor=op)] == [w.bank.pk]
    days = selectors.instruction_days(actor=op, bank_id=w.bank.pk)
    assert days[0]["day"] == day and days[0]["refunds"] == 1
    with pytest.raises(NotFound):
        selectors.instruction_days(actor=op, bank_id=other.bank.pk)


# --- disputes ---------------------------------------------------------------------------


def _disputed(w, order, event_id):
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=event_id
    )
    return services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason=f"{event_id}没有上课")


def test_regulator_upholds_or_rejects_a_dispute_with_a_reason():
    w = funds_world()
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    order = paid_order(w, lessons=5)
    a, b = _disputed(w, order, "d1"), _disputed(w, order, "d2")
    listed = selectors.dispute_list(actor=officer)
    assert [x.pk for x in listed] == [a.pk, b.pk] and listed[0].dispute_reason == "d1没有上课"
    with pytest.raises(ValidationError):
        services.dispute_decide(actor=officer, lesson_id=a.pk, upheld=True, reason="  ")
    services.dispute_decide(actor=officer, lesson_id=a.pk, upheld=True, reason="考勤记录显示缺课")
    services.dispute_decide(actor=officer, lesson_id=b.pk, upheld=False, reason="有签到照片")
    order.refresh_from_db()
    assert order.lessons_consumed == 1 and order.released_fen == order.unit_price_fen
    upheld = selectors.dispute_list(actor=officer, status=LessonStatus.DISPUTE_UPHELD)
    assert upheld[0].decision_note == "考勤记录显示缺课"
    with pytest.raises(DomainError):  # decided once
        services.dispute_decide(actor=officer, lesson_id=a.pk, upheld=False, reason="再议")
    assert ledger_verify().ok


def test_dispute_decision_is_for_regulators_in_scope_only():
    w = funds_world()
    order = paid_order(w, lessons=3)
    lesson = _disputed(w, order, "d9")
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    inspector = make_user(Role.INSPECTOR, prefixes=["510107"])
    with pytest.raises(NotFound):
        services.dispute_decide(actor=outsider, lesson_id=lesson.pk, upheld=True, reason="越权")
    assert selectors.dispute_list(actor=outsider) == []
    with pytest.raises(PermissionDeniedError):
        services.dispute_decide(actor=inspector, lesson_id=lesson.pk, upheld=True, reason="无权")
    with pytest.raises(PermissionDeniedError):
        services.dispute_decide(actor=w.org_user, lesson_id=lesson.pk, upheld=False, reason="机构不能驳回")
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.DISPUTED
    assert not AuditEvent.objects.filter(action="funds.lesson_dispute_resolve").exists()


# --- declarations and coverage ------------------------------------------------------------


def test_declaration_is_stored_per_week_and_refused_for_the_future():
    w = funds_world()
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    d = services.declaration_submit(
        actor=w.org_user, institution_id=w.institution.pk, week_start=today, declared_fen=12345
    )
    assert d.week_start == monday
    services.declaration_submit(
        actor=w.org_user, institution_id=w.institution.pk, week_start=monday, declared_fen=200
    )
    assert PrepaidDeclaration.objects.get().declared_fen == 200
    with pytest.raises(ValidationError):
        services.declaration_submit(
            actor=w.org_user,
            institution_id=w.institution.pk,
            week_start=monday + timedelta(days=7),
            declared_fen=1,
        )
    with pytest.raises(ValidationError):
        services.declaration_submit(
            actor=w.org_user, institution_id=w.institution.pk, week_start=monday, declared_fen=-1
        )
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    with pytest.raises(PermissionDeniedError):
        services.declaration_submit(
            actor=officer, institution_id=w.institution.pk, week_start=monday, declared_fen=1
        )
    assert PrepaidDeclaration.objects.get().declared_fen == 200


def test_coverage_rate_for_a_past_week_uses_the_ledger_as_it_was():
    w = funds_world()
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    order = paid_order(w, lessons=10)  # 50,000 fen under custody now
    today = timezone.localdate()
    this_week = today - timedelta(days=today.weekday())
    last_week = this_week - timedelta(days=7)
    # the payment was posted this week: last week custody held nothing
    for week, declared in ((last_week, 40000), (this_week, 100000)):
        PrepaidDeclaration.objects.create(
            institution=w.institution,
            week_start=week,
            declared_fen=declared,
            division_code=w.institution.division_code,
        )
    now = selectors.custody_overview(actor=officer, week_start=this_week)
    row = now["by_township"][0]
    assert (row["held_fen"], row["declared_fen"], row["rate"]) == (order.amount_fen, 100000, 0.5)
    dept = now["by_department"][0]
    assert dept["held_fen"] == order.amount_fen and dept["rate"] == 0.5
    before = selectors.custody_overview(actor=officer, week_start=last_week)
    assert (before["by_township"][0]["held_fen"], before["by_township"][0]["rate"]) == (0, 0.0)
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    assert selectors.custody_overview(actor=outsider, week_start=this_week)["by_township"] == []


def test_declarations_missing_lists_institutions_that_did_not_declare():
    w = funds_world()
    other = funds_world(bank=w.bank)
    officer = make_user(Role.REGULATOR_OFFICER, prefixes=["510107"])
    week = date.today() - timedelta(days=date.today().weekday())
    services.declaration_submit(
        actor=w.org_user, institution_id=w.institution.pk, week_start=week, declared_fen=1
    )
    missing = [a.institution_id for a in selectors.declarations_missing(actor=officer, week_start=week)]
    assert missing == [other.institution.pk]
    assert Refund.objects.count() == 0
