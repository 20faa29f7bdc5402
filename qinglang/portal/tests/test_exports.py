"""Every console export prints names, not codes: divisions by name, departments, statuses
and every other choice by its label, money in yuan, times in Asia/Shanghai; each opens in
openpyxl; the CSV kept for clues starts with a BOM."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from qinglang.clues.models import Clue
from qinglang.core.exports import BOM, xlsx_bytes
from qinglang.core.i18n import chinese_display
from qinglang.core.models import DepartmentKind, Division
from qinglang.enforcement.models import PenaltyCase
from qinglang.funds.models import Bank, CustodyAccount, Order, PrepaidDeclaration
from qinglang.inspections.models import Notice, RectificationItem
from qinglang.portal.exports import EXPORTS
from qinglang.registry.models import Course, Institution
from qinglang.testing import make_institution

pytestmark = pytest.mark.django_db

TOWNSHIP = "510107001"
RECEIVED = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Asia/Shanghai

BASE = {
    "clues": (
        Clue,
        {
            "reference": "XS2026000001",
            "operator_name": "无证培训点",
            "report_count": 2,
            "received_at": RECEIVED,
            "resolve_due": date(2026, 3, 20),
        },
    ),
    "rectifications": (
        RectificationItem,
        {
            "title": "疏散通道堵塞",
            "basis": "《消防法》",
            "requirement": "清理",
            "deadline_on": date(2026, 3, 20),
            "updated_at": RECEIVED,
        },
    ),
    "cases": (
        PenaltyCase,
        {
            "number": "武侯区教罚〔2026〕1号",
            "illegal_gains_fen": 123456,
            "refunded_fen": 50,
            "filed_on": date(2026, 3, 1),
        },
    ),
    "orders": (
        Order,
        {
            "learner_name": "小明",
            "lessons": 10,
            "unit_price_fen": 15000,
            "amount_fen": 150000,
            "paid_fen": 150000,
            "released_fen": 30000,
            "refunded_fen": 0,
            "starts_on": date(2026, 3, 1),
            "created_at": RECEIVED,
        },
    ),
    "accounts": (
        CustodyAccount,
        {
            "account_name": "甲机构监管户",
            "opened_on": date(2026, 1, 5),
            "required_deposit_fen": 1000000,
            "deposit_held_fen": 999999,
            "releases_frozen": True,
        },
    ),
    "declarations": (
        PrepaidDeclaration,
        {"week_start": date(2026, 3, 2), "declared_fen": 88800, "submitted_at": RECEIVED},
    ),
}


def _related():
    inst = Institution(name="甲培训中心", division_code=TOWNSHIP)
    return {
        "institution": inst,
        "notice": Notice(number="武侯区校外整改〔2026〕3号"),
        "course": Course(name="少儿美术"),
        "bank": Bank(name="成都银行武侯支行"),
    }


def _choice_fields(model):
    return [f for f in model._meta.concrete_fields if f.choices and not f.is_relation]


def _instances(model, base):
    """Enough unsaved rows that every choice of every choice field appears once."""
    fields = _choice_fields(model)
    n = max([len(f.choices) for f in fields] or [1])
    related = {k: v for k, v in _related().items() if hasattr(model, k)}
    rows = []
    for i in range(n):
        kw = {f.name: f.choices[i % len(f.choices)][0] for f in fields}
        rows.append(model(division_code=TOWNSHIP, **related, **base, **kw))
    return rows, fields


def _codes(model) -> set[str]:
    codes = {str(v) for f in _choice_fields(model) for v, _ in f.choices}
    codes |= set(DepartmentKind.values) | {TOWNSHIP, TOWNSHIP[:6]}
    return {c for c in codes if not c.isdigit() or len(c) > 2}  # small integers are counts too


@pytest.mark.parametrize("name", list(EXPORTS))
def test_export_prints_names_for_every_code(name):
    model, base = BASE[name]
    rows, fields = _instances(model, base)
    filename, title, columns = EXPORTS[name]
    with translation.override("en"):  # the office's file reads in Chinese whatever the page's language
        wb = load_workbook(io.BytesIO(xlsx_bytes(title, columns, rows)))
    ws = wb.active
    table = [list(r) for r in ws.iter_rows(values_only=True)]
    assert table[0] == [c.header for c in columns]
    assert len(table) == 1 + len(rows) and filename.endswith(".xlsx")
    division = Division.objects.get(code=TOWNSHIP)
    codes = _codes(model)
    for obj, row in zip(rows, table[1:], strict=True):
        texts = [v for v in row if isinstance(v, str)]
        leaked = [v for v in texts if v in codes]
        assert not leaked, (name, leaked)
        assert (division.full_name or division.name) in texts
        names = {f.name for f in fields}
        for col, value in zip(columns, row, strict=True):  # each code-valued field as its Chinese label
            name_ = getattr(col.value, "field_name", None)
            if name_ in names:
                assert value == chinese_display(obj, name_), (name, name_, value)
        for col, value in zip(columns, row, strict=True):
            if col.kind == "yuan":
                assert isinstance(value, float | int | Decimal)
            if col.kind == "time":
                assert value == datetime(2026, 3, 2, 0, 30)  # local time, not UTC
    yuan_cols = [i for i, c in enumerate(columns) if c.kind == "yuan"]
    if name == "cases":
        assert table[1][yuan_cols[0]] == 1234.56


@pytest.mark.parametrize(
    "url",
    [
        "/console/clues/?export=xlsx",
        "/console/inspections/rectifications/?export=xlsx",
        "/console/cases/?export=xlsx",
        "/console/funds/?export=orders",
        "/console/funds/?export=accounts",
        "/console/funds/declarations/?export=xlsx",
    ],
)
def test_console_export_opens_in_excel(leader, url):
    make_institution()
    c = Client()
    c.force_login(leader)
    r = c.get(url)
    assert r.status_code == 200, (url, r.status_code)
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    header = next(ws.iter_rows(values_only=True))
    assert all(isinstance(h, str) and any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header)


def test_clue_csv_has_a_bom_and_chinese_headers(leader):
    c = Client()
    c.force_login(leader)
    r = c.get("/console/clues/?export=csv")
    text = r.content.decode("utf-8")
    assert text.startswith(BOM) and text[1:].startswith("编号,所属区划,问题类别,状态")
