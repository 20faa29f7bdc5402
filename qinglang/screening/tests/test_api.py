"""The classify API: one call of 1–1,000 texts, the file upload and its result file, and
the limit errors as ``{code, message, detail}``; a refused request changes nothing."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qinglang.accounts.services import api_token_create
from qinglang.screening.models import PatrolPost
from qinglang.testing import TOWNSHIP, make_user

from .conftest import table_bytes

pytestmark = pytest.mark.django_db

URL = "/api/risk/texts/classify"


@pytest.fixture
def client(officer, admin):
    _, key = api_token_create(actor=admin, user=officer, name="screening")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def test_classify_many_returns_label_confidence_pattern_and_evidence(client):
    r = post(client, {"texts": ["暑期S学Y语小班，新学期内容提前讲", "周末少儿街舞体验课，专业老师带领"]})
    assert r.status_code == 200, r.content
    a, b = r.json()["results"]
    assert a["label"] == "disguised_subject" and a["pattern"] == "relabelled" and a["pattern_name"]
    assert any(e["text"] == "S学" and e["kind"] == "obfuscated" for e in a["evidence"])
    assert b["label"] == "non_subject" and b["pattern"] == ""
    assert 0 < a["confidence"] <= 1 and abs(sum(a["probabilities"].values()) - 1) < 1e-3


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        ([], "no_texts"),
        (["正常文本", "   "], "empty_text"),
        (["字" * 100_000], "text_too_long"),
        (["周末美术课"] * 1001, "too_many_texts"),
    ],
)
def test_limit_errors_are_clear(client, texts, code):
    r = post(client, {"texts": texts})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == code and body["message"] and "detail" in body
    if code == "too_many_texts":
        assert body["detail"] == {"max": 1000, "got": 1001}
    if code == "text_too_long":
        assert body["detail"]["length"] == 100_000


def test_anonymous_and_non_regulators_are_refused(admin):
    assert Client().post(URL, {"texts": ["x"]}, content_type="application/json").status_code == 401
    parent = make_user("parent")
    _, key = api_token_create(actor=admin, user=parent, name="p")
    r = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        URL, {"texts": ["数学"]}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_file_upload_returns_a_result_file_of_the_same_kind(client, kind):
    data = table_bytes(["id", "text"], [["a1", "托管班同步拔高，讲练结合"], ["a2", "少儿游泳暑期班"]], kind)
    r = client.post("/api/risk/texts/classify-file", {"file": SimpleUploadedFile(f"t.{kind}", data)})
    assert r.status_code == 200, r.content
    assert "attachment" in r["Content-Disposition"] and r["X-Rows"] == "2"
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    else:
        from openpyxl import load_workbook

        rows = [
            [c if c is not None else "" for c in row]
            for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
        ]
    assert rows[0][:4] == ["id", "text", "研判结果", "label"]
    assert rows[1][0] == "a1" and rows[1][3] == "disguised_subject"
    assert rows[2][3] == "non_subject"


def test_file_with_a_missing_column_or_empty_text_is_refused(client):
    r = client.post(
        "/api/risk/texts/classify-file",
        {"file": SimpleUploadedFile("t.xlsx", table_bytes(["id", "内容"], [["1", "数学"]], "xlsx"))},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid" and "text" in r.json()["message"]
    r = client.post(
        "/api/risk/texts/classify-file",
        {"file": SimpleUploadedFile("t.csv", table_bytes(["id", "text"], [["1", "数学"], ["2", ""]]))},
    )
    assert r.status_code == 422 and r.json()["code"] == "empty_text" and r.json()["detail"]["rows"] == [3]
    r = client.post("/api/risk/texts/classify-file", {"file": SimpleUploadedFile("t.csv", b"")})
    assert r.status_code == 422


def test_patrol_api_records_a_hit_and_refuses_bad_rows_whole(client):
    r = client.post(
        "/api/screening/patrol",
        {
            "platform": "moments",
            "text": "朋友圈：小区家中开班，初二数学几何小班，私信报名",
            "seen_on": "2026-01-05",
            "division_code": TOWNSHIP,
            "operator_name": "王老师",
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["hit"] and r.json()["clue_reference"]
    header = ["平台", "内容", "发现日期", "区划代码"]
    bad = table_bytes(
        header, [["抖音", "S学提前学", "2026-01-05", TOWNSHIP], ["抖音", "", "2026-01-05", TOWNSHIP]]
    )
    r = client.post("/api/screening/patrol/import", {"file": SimpleUploadedFile("p.csv", bad)})
    assert r.status_code == 422 and r.json()["code"] == "bad_rows"
    assert PatrolPost.objects.count() == 1
    counts = client.get("/api/screening/patrol/counts").json()
    assert counts == [
        {
            "platform": "moments",
            "platform_name": "朋友圈",
            "month": "2026-01",
            "posts": 1,
            "hits": 1,
            "takedowns": 0,
            "removed": 0,
        }
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_result_file_never_carries_a_live_formula(client, kind):
    """The result file goes through the one export writer: text that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return stays text (CSV: a leading apostrophe;
    .xlsx: a typed string cell)."""
    texts = ['=HYPERLINK("http://x","点此")托管班同步拔高', "\t=1+1 少儿游泳暑期班"]
    if kind == "xlsx":  # a typed ``=`` in the upload would itself be a formula cell
        texts = ["+86 托管班同步拔高", "@少儿游泳暑期班"]
    data = table_bytes(["id", "text"], [["@a1", texts[0]], ["-a2", texts[1]]], kind)
    r = client.post("/api/risk/texts/classify-file", {"file": SimpleUploadedFile(f"t.{kind}", data)})
    assert r.status_code == 200, r.content
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [rows[1][0], rows[1][1]] == ["'@a1", "'" + texts[0]]
        assert [rows[2][0], rows[2][1]] == ["'-a2", "'" + texts[1]]
    else:
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(r.content)).active
        row1, row2 = list(ws.iter_rows(min_row=2, max_row=3))
        assert [row1[0].value, row1[1].value, row2[0].value] == ["@a1", texts[0], "-a2"]
        assert all(c.data_type == "s" for c in (row1[0], row1[1], row2[0], row2[1]))
