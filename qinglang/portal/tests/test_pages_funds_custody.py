"""Funds pages for banks and reviews: instruction files per bank (a bank operator sees
only its bank), statement import with differences resolved by a regulator, disputes
upheld or rejected with a reason, weekly declarations and the coverage rate, risk-deposit
top-ups. Bad input shows a Chinese reason and changes nothing."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import system
from qinglang.core.models import AuditEvent
from qinglang.core.services import policy_set
from qinglang.funds import services
from qinglang.funds.models import (
    CustodyAccount,
    CustodyMode,
    InstructionKind,
    InstructionLine,
    Lesson,
    LessonStatus,
    PrepaidDeclaration,
    ReconciliationDifference,
)
from qinglang.funds.testing import funds_world, paid_order
from qinglang.testing import make_user

from .test_pages_funds import _follow, _html

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    return funds_world()


PAYER = {"payer_account": "6217000055556666", "payer_account_name": "陈静", "payer_bank": "成都农商银行"}


def _refund_paid(w):
    order = paid_order(w, lessons=4, payer=PAYER)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="p1"
    )
    services.lesson_confirm(actor=w.parent, lesson_id=lesson.pk)  # paid out only once confirmed
    r = services.refund_request(actor=w.parent, order_id=order.pk, reason="搬家")
    services.refund_answer(actor=w.org_user, refund_id=r.pk, agree=True)
    services.instructions_generate(day=timezone.localdate())
    return order


# --- instruction files ----------------------------------------------------------------


def test_bank_operator_downloads_its_instruction_file_only(client, w):
    other = funds_world()
    _refund_paid(w)
    _refund_paid(other)
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    client.force_login(op)
    resp = client.get(reverse("portal:bank_list"))
    assert resp.status_code == 302 and resp["Location"] == reverse(
        "portal:bank_instructions", args=[w.bank.pk]
    )
    html = _html(client.get(reverse("portal:bank_instructions", args=[w.bank.pk])))
    assert "6217000055556666" in html and "陈静" in html and "退费指令" in html
    day = timezone.localdate().isoformat()
    resp = client.get(reverse("portal:bank_instruction_file", args=[w.bank.pk]) + f"?day={day}")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    text = resp.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    refund = next(r for r in rows if r["kind"] == "refund")
    assert (
        refund["destination_account"] == PAYER["payer_account"]
        and refund["destination_bank"] == "成都农商银行"
    )
    assert {r["kind"] for r in rows} == {"refund", "release"}
    # another bank's pages and file are a 404 for this operator
    assert client.get(reverse("portal:bank_instructions", args=[other.bank.pk])).status_code == 404
    assert client.get(reverse("portal:bank_instruction_file", args=[other.bank.pk])).status_code == 404
    assert client.get(reverse("portal:bank_statements", args=[other.bank.pk])).status_code == 404
    # institutions and parents do not see bank pages
    client.force_login(w.org_user)
    assert client.get(reverse("portal:bank_instructions", args=[w.bank.pk])).status_code == 403


def test_regulator_sees_banks_in_scope(client, w, officer):
    _refund_paid(w)
    client.force_login(officer)
    html = _html(client.get(reverse("portal:bank_list")))
    assert w.bank.name in html
    assert InstructionLine.objects.filter(kind=InstructionKind.REFUND).count() == 1
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    client.force_login(outsider)
    assert w.bank.name not in _html(client.get(reverse("portal:bank_list")))
    assert client.get(reverse("portal:bank_instructions", args=[w.bank.pk])).status_code == 404


# --- statements and differences -----------------------------------------------------------


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_statement_upload_shows_differences_and_regulator_resolves(client, w, officer):
    order = paid_order(w, lessons=2, txn="TXS-1")
    day = timezone.localdate()
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    client.force_login(op)
    url = reverse("portal:bank_statements", args=[w.bank.pk])
    html = _follow(
        client, url, {"day": day.isoformat(), "file": SimpleUploadedFile("s.csv", b"txn_id,amount\nT1,5\n")}
    )
    assert "缺少流水号或方向" in html and not ReconciliationDifference.objects.exists()
    data = _xlsx(
        [
            ["txn_id", "direction", "amount_fen"],
            ["TXS-1", "in", order.amount_fen - 100],
            ["BANK-ONLY", "in", 700],
        ]
    )
    html = _follow(client, url, {"day": day.isoformat(), "file": SimpleUploadedFile("s.xlsx", data)})
    assert "对账差异 2 条" in html and "金额不符" in html and "银行多出流水" in html
    assert "待监管部门处理" in html  # the bank operator cannot resolve
    mismatch = ReconciliationDifference.objects.get(kind="amount_mismatch")
    resolve = reverse("portal:funds_difference_resolve", args=[mismatch.pk])
    assert client.post(resolve, {"resolution": "x"}).status_code == 403
    client.force_login(officer)
    html = _html(client.get(url + f"?day={day.isoformat()}"))
    assert "TXS-1" in html and "BANK-ONLY" in html
    back = f"{url}?day={day.isoformat()}"
    html = _follow(client, resolve, {"resolution": "", "correction": "-1.00", "next": back})
    assert "操作未完成" in html
    resp = client.post(
        resolve, {"resolution": "银行少记 1 元，挂账更正", "correction": "-1.00", "next": back}
    )
    assert resp.status_code == 302 and resp["Location"] == back
    mismatch.refresh_from_db()
    assert mismatch.resolved and mismatch.correcting_posting_id
    # an outside redirect target is ignored
    extra = ReconciliationDifference.objects.get(kind="extra")
    resp = client.post(
        reverse("portal:funds_difference_resolve", args=[extra.pk]),
        {"resolution": "非本平台交易", "next": "https://evil.example/"},
    )
    assert resp["Location"] == reverse("portal:funds_differences")


# --- disputes ------------------------------------------------------------------------------


def test_regulator_upholds_and_rejects_disputes_with_reason(client, w, officer):
    order = paid_order(w, lessons=5)
    lessons = []
    for e in ("x1", "x2"):
        lesson, _ = services.lesson_record(
            actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id=e
        )
        services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason=f"{e}当天停课")
        lessons.append(lesson)
    client.force_login(officer)
    html = _html(client.get(reverse("portal:funds_disputes")))
    assert "x1当天停课" in html and "x2当天停课" in html
    url = reverse("portal:funds_dispute_decide", args=[lessons[0].pk])
    html = _follow(client, url, {"upheld": "1", "reason": ""})
    assert "操作未完成" in html and "裁决理由" in html
    assert Lesson.objects.get(pk=lessons[0].pk).status == LessonStatus.DISPUTED
    html = _follow(client, url, {"upheld": "1", "reason": "机构无法提供签到记录"})
    assert "异议成立" in html
    _follow(
        client,
        reverse("portal:funds_dispute_decide", args=[lessons[1].pk]),
        {"upheld": "0", "reason": "有签到"},
    )
    order.refresh_from_db()
    assert order.lessons_consumed == 1 and order.released_fen == order.unit_price_fen
    assert "机构无法提供签到记录" in _html(client.get(reverse("portal:funds_disputes") + "?show=upheld"))
    assert "有签到" in _html(client.get(reverse("portal:funds_disputes") + "?show=rejected"))
    # out of scope: not listed, and deciding is a 404
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    client.force_login(outsider)
    assert "当天停课" not in _html(client.get(reverse("portal:funds_disputes") + "?show=upheld"))
    assert client.post(url, {"upheld": "0", "reason": "x"}).status_code == 404


def test_inspector_sees_disputes_but_cannot_decide(client, w):
    order = paid_order(w, lessons=2)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=order.pk, event_id="i1"
    )
    services.lesson_dispute(actor=w.parent, lesson_id=lesson.pk, reason="没上")
    inspector = make_user(Role.INSPECTOR, prefixes=["510107"])
    client.force_login(inspector)
    assert "由监管科室裁决" in _html(client.get(reverse("portal:funds_disputes")))
    html = _follow(
        client, reverse("portal:funds_dispute_decide", args=[lesson.pk]), {"upheld": "1", "reason": "x"}
    )
    assert "操作未完成" in html
    assert Lesson.objects.get(pk=lesson.pk).status == LessonStatus.DISPUTED


# --- declarations and coverage -------------------------------------------------------------


def test_institution_declares_and_regulator_sees_coverage(client, w, officer):
    paid_order(w, lessons=10)  # 50,000 fen under custody
    other = funds_world()
    client.force_login(w.org_user)
    url = reverse("portal:org_declarations", args=[w.institution.pk])
    today = timezone.localdate()
    html = _follow(client, url, {"week": today.isoformat(), "declared": "1000.005"})
    assert "最多两位小数" in html or "小数" in html
    html = _follow(client, url, {"week": (today + timedelta(days=14)).isoformat(), "declared": "1000"})
    assert "不能申报尚未开始的周" in html
    assert not PrepaidDeclaration.objects.exists()
    html = _follow(client, url, {"week": today.isoformat(), "declared": "1000.00"})
    assert "已申报" in html
    assert PrepaidDeclaration.objects.get().declared_fen == 100_000
    assert client.get(reverse("portal:org_declarations", args=[other.institution.pk])).status_code == 404
    client.force_login(officer)
    html = _html(client.get(reverse("portal:funds_declarations") + f"?week={today.isoformat()}"))
    assert "50%" in html and w.institution.name in html
    assert "未申报的监管机构" in html and other.institution.name in html
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    client.force_login(outsider)
    assert w.institution.name not in _html(client.get(reverse("portal:funds_declarations")))


# --- risk deposit -------------------------------------------------------------------------


def test_deposit_required_vs_held_and_top_up(client, w, officer):
    CustodyAccount.objects.filter(pk=w.custody.pk).update(mode=CustodyMode.RISK_DEPOSIT)
    paid_order(w, lessons=10)
    policy_set(
        actor=system("test"),
        key="custody.risk_deposit_ratio",
        division_code="5101",
        value=0.2,
        basis="市规则",
    )
    client.force_login(officer)
    page = reverse("portal:funds_institution", args=[w.institution.pk])
    html = _html(client.get(page))
    assert "风险保证金" in html and "¥100.00" in html and "补足前不得收取新的预收费" in html
    url = reverse("portal:funds_deposit", args=[w.institution.pk])
    html = _follow(client, url, {"amount": "-5", "token": "t1"})
    assert "操作未完成" in html
    for _ in range(2):  # a double submission records once
        _follow(client, url, {"amount": "100.00", "note": "回单 001", "token": "t1"})
    acc = CustodyAccount.objects.get(pk=w.custody.pk)
    assert acc.deposit_held_fen == 10_000
    assert AuditEvent.objects.filter(action="funds.deposit_record").count() == 1
    assert "足额" in _html(client.get(page))
    client.force_login(w.org_user)
    assert "足额" in _html(client.get(reverse("portal:org_declarations", args=[w.institution.pk])))
    assert client.post(url, {"amount": "1", "token": "t2"}).status_code == 403


def test_nav_links_for_bank_operator_and_regulator(client, w, officer):
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    client.force_login(op)
    assert reverse("portal:bank_list") in _html(client.get(reverse("portal:home"), follow=True))
    client.force_login(officer)
    html = _html(client.get(reverse("portal:home"), follow=True))
    for name in ("funds_declarations", "funds_disputes", "bank_list"):
        assert reverse(f"portal:{name}") in html


def test_parent_sees_where_the_refund_goes(client, w):
    order = paid_order(w, lessons=3, payer=PAYER)
    services.refund_request(actor=w.parent, order_id=order.pk, reason="不学了")
    client.force_login(w.parent)
    html = _html(client.get(reverse("portal:parent_order", args=[order.pk])))
    assert "原路退回至" in html and "成都农商银行" in html and "****6666" in html
    assert "6217000055556666" not in html
