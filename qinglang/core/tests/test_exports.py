"""The one export writer: no cell a user typed becomes a formula, in CSV or .xlsx."""

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from qinglang.core.exports import BOM, FORMULA_PREFIXES, csv_text, xlsx_row

PAYLOADS = ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_csv_neutralises_every_formula_prefix_and_starts_with_a_bom():
    text = csv_text(["名称", "金额"], [[p, 100] for p in PAYLOADS] + [["正常名称", -5]])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert [r[0] for r in rows[1:-1]] == ["'" + p for p in PAYLOADS]
    assert rows[-1] == ["正常名称", "-5"]  # numbers are written as numbers
    assert all(not r[0].startswith(FORMULA_PREFIXES) for r in rows)


def test_xlsx_cells_are_typed_text_never_formulas():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("x")
    ws.append(xlsx_row(ws, [*PAYLOADS, 42]))
    out = io.BytesIO()
    wb.save(out)
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    values = [c.value for c in next(load_workbook(out).active.iter_rows())]
    assert values[:-1] == PAYLOADS and values[-1] == 42


@pytest.mark.django_db
def test_console_clue_export_keeps_a_public_reports_institution_name_inert(client):
    from qinglang.accounts.permissions import system
    from qinglang.clues import services
    from qinglang.core.services import department_ensure_for_division
    from qinglang.testing import DEMO_COUNTY, TOWNSHIP, make_user

    for code in (DEMO_COUNTY, TOWNSHIP):
        department_ensure_for_division(actor=system("test"), division_code=code)
    services.clue_report_submit(
        actor=None,
        submission=services.Submission(
            channel="web",
            content="这家机构收费很高而且拒绝退费，已经两个月",
            division_code=TOWNSHIP,
            institution_name='=HYPERLINK("http://evil.example","点击查看")',
            anonymous=True,
        ),
    )
    client.force_login(make_user("regulator_leader"))
    r = client.get("/console/clues/?export=csv")
    body = r.content.decode("utf-8")
    assert r.status_code == 200 and body.startswith(BOM)
    rows = list(csv.reader(io.StringIO(body[1:])))
    col = rows[0].index("涉及机构")
    names = [row[col] for row in rows[1:]]
    assert names and all(not n.startswith(FORMULA_PREFIXES) for n in names)
    assert "'=HYPERLINK" in names[0]
