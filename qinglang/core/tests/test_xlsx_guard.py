"""The one guarded .xlsx reader: zip bombs are refused from the zip directory before
anything expands, the sheet is streamed with rows and columns bounded, and every import
(registry ledger, hotline work orders, bank statements) goes through it."""

import io
import tracemalloc
from datetime import date

import pytest
from openpyxl import Workbook

from qinglang.core.xlsx import MAX_UNZIPPED_BYTES, XlsxRefused, check_xlsx, iter_rows
from qinglang.testing import TOWNSHIP, xlsx_bomb

BIG = 320 * 1024 * 1024  # what the hotline import accepted before


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return xlsx_bomb(BIG)


@pytest.fixture(scope="module")
def small_bomb() -> bytes:
    return xlsx_bomb(40 * 1024 * 1024)  # under the size limit, refused by its ratio


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_bomb_refused_from_the_directory_with_flat_memory(bomb):
    assert len(bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    with pytest.raises(XlsxRefused) as exc:
        list(iter_rows(bomb))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exc.value.status == 422 and "过大" in exc.value.message
    assert exc.value.detail["unzipped_bytes"] > MAX_UNZIPPED_BYTES
    assert peak < 8 * 1024 * 1024, peak  # the refusal reads the directory, not the sheet


def test_ratio_bomb_refused_though_under_the_size_limit(small_bomb):
    with pytest.raises(XlsxRefused) as exc:
        check_xlsx(small_bomb)
    assert "压缩比" in exc.value.message and exc.value.detail["ratio"] > 100


def test_rows_and_columns_bounded_while_streaming():
    data = _xlsx([[i, "x"] for i in range(300)])
    assert len(list(iter_rows(data))) == 300
    with pytest.raises(XlsxRefused, match="超过100行"):
        list(iter_rows(data, max_rows=100))
    wide = _xlsx([list(range(60))])
    with pytest.raises(XlsxRefused, match="列数超过50列"):
        list(iter_rows(wide, max_columns=50))


def test_not_a_workbook_is_refused_in_chinese():
    for data, words in (
        (b"", "为空"),
        (b"\xd0\xcf\x11\xe0rest", ".xls"),
        (b"hello", "不是有效"),
        (b"PK\x03\x04junk", "损坏"),
    ):
        with pytest.raises(XlsxRefused, match=words):
            list(iter_rows(data))


@pytest.mark.django_db
def test_hotline_import_refuses_the_bomb(bomb):
    from qinglang.clues.models import Clue, ClueImport
    from qinglang.clues.services import clue_import_hotline
    from qinglang.core.services import department_ensure_for_division
    from qinglang.testing import make_user

    department_ensure_for_division(actor="system:test", division_code=TOWNSHIP[:6])
    with pytest.raises(XlsxRefused):
        clue_import_hotline(
            actor=make_user("regulator_leader"), division_code=TOWNSHIP[:6], filename="x.xlsx", data=bomb
        )
    assert not ClueImport.objects.exists() and not Clue.objects.exists()


@pytest.mark.django_db
def test_bank_statement_import_refuses_the_bomb_through_the_api(bomb, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qinglang.funds.testing import make_bank
    from qinglang.testing import make_user

    admin = make_user("platform_admin")
    bank, _ = make_bank(admin, division_code=TOWNSHIP[:6])
    client.force_login(admin)
    r = client.post(
        f"/api/funds/banks/{bank.pk}/statements",
        {"day": date.today().isoformat(), "file": SimpleUploadedFile("statement.xlsx", bomb)},
    )
    assert r.status_code == 422, r.content[:300]
    assert r.json()["code"] == "bad_file" and "过大" in r.json()["message"]


def test_registry_import_refuses_a_ratio_bomb(small_bomb):
    from qinglang.registry.xlsx import XlsxFormatError, parse_institution_xlsx

    with pytest.raises(XlsxFormatError, match="压缩比"):
        parse_institution_xlsx(io.BytesIO(small_bomb))
