"""Bad input: empty or oversized text, bad phone, a burst from one source, a disguised
executable as a photo — refused with clear errors; nothing lost (the form comes back
filled in; nothing half-written)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qinglang.clues import services
from qinglang.clues.models import Clue, ClueReport
from qinglang.clues.services.intake import MAX_TEXT, RATE_LIMITS
from qinglang.testing import TOWNSHIP, make_user

from .conftest import JPEG, xlsx_bytes

pytestmark = pytest.mark.django_db


def _form(**kw):
    return {
        "content": "这家机构没有办学许可证却在招生上课",
        "division_code": TOWNSHIP,
        "reporter_name": "张三",
        "reporter_phone": "13812345678",
        **kw,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_form(content=""), "请填写举报内容"),
        (_form(content="   "), "请填写举报内容"),
        (_form(content="字" * (MAX_TEXT + 1)), str(MAX_TEXT)),
        (_form(reporter_phone="12345"), "联系电话格式不正确"),
        (_form(reporter_phone=""), "联系电话格式不正确"),
    ],
)
def test_web_form_refuses_bad_input_and_keeps_it(county, data, message):
    r = Client().post("/clues/report/", data)
    body = r.content.decode()
    assert r.status_code == 200 and message in body
    assert 'value="张三"' in body  # what was typed comes back
    assert Clue.objects.count() == 0 and ClueReport.objects.count() == 0


def test_anonymous_needs_no_phone(county):
    r = Client().post("/clues/report/", _form(reporter_phone="", reporter_name="", anonymous="on"))
    assert r.status_code == 302
    assert ClueReport.objects.get().anonymous


def test_burst_from_one_ip_is_rate_limited(county):
    c = Client()
    limit = RATE_LIMITS["web"][0]
    statuses = [
        c.post("/clues/report/", _form(content=f"第{i}次：这家机构没有办学许可证")).status_code
        for i in range(limit + 2)
    ]
    assert statuses[:limit] == [302] * limit
    r = c.post("/clues/report/", _form())
    assert r.status_code == 200 and "提交过于频繁" in r.content.decode()
    assert ClueReport.objects.count() == limit
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/clues/report/", _form()).status_code == 302  # another source is not affected


def test_report_is_taken_when_the_cache_server_fails(county, monkeypatch):
    """The rate limiter's counters live in the cache server (outside the project): when it
    fails, reports are still taken rather than lost."""
    from qinglang.core import ratelimit

    def down(*args, **kwargs):
        raise ConnectionError("cache server unreachable")

    monkeypatch.setattr(ratelimit, "count", down)
    c = Client()
    limit = RATE_LIMITS["web"][0]
    for i in range(limit + 1):
        assert c.post("/clues/report/", _form(content=f"第{i}次：这家机构没有办学许可证")).status_code == 302
    assert ClueReport.objects.count() == limit + 1


def test_tracking_lookups_are_rate_limited_on_get_too(county):
    """Looking codes up by GET (the link a reporter bookmarks) counts like POST: a source
    that keeps guessing gets a Chinese 429 page that shows no progress."""
    c = Client(REMOTE_ADDR="10.9.9.9")
    r = c.post("/clues/report/", _form())
    code = ClueReport.objects.get().tracking_code
    limit = RATE_LIMITS["web"][0]
    for i in range(limit - 1):
        r = c.get("/clues/track/", {"code": code if i % 2 else f"WRONG{i}"})
        assert r.status_code == 200
    r = c.post("/clues/track/", {"code": code})  # GET and POST share one counter
    assert r.status_code == 200 and "当前进度" in r.content.decode()
    r = c.get("/clues/track/", {"code": code})
    body = r.content.decode()
    assert r.status_code == 429 and "查询过于频繁，请10分钟后再试" in body and "当前进度" not in body
    assert c.post("/clues/track/", {"code": code, "op": "reopen", "reason": "再试"}).status_code == 429
    assert c.get("/clues/track/").status_code == 200  # the empty form is not a lookup
    other = Client(REMOTE_ADDR="10.9.9.10").get("/clues/track/", {"code": code})
    assert other.status_code == 200 and "当前进度" in other.content.decode()


def test_disguised_executable_photo_refused(county):
    grid = make_user("grid_worker", prefixes=[TOWNSHIP])
    c = Client()
    c.force_login(grid)
    exe = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 500, content_type="image/jpeg")
    r = c.post(
        "/grid/report/", {"content": "门店无证经营，现场有学生上课", "division_code": TOWNSHIP, "photos": exe}
    )
    assert r.status_code == 200 and "不是有效的图片" in r.content.decode()
    assert ClueReport.objects.count() == 0
    big = SimpleUploadedFile("big.jpg", JPEG + b"\x00" * (5 * 1024 * 1024), content_type="image/jpeg")
    r = c.post(
        "/grid/report/", {"content": "门店无证经营，现场有学生上课", "division_code": TOWNSHIP, "photos": big}
    )
    assert "超过5MB" in r.content.decode()
    ok = SimpleUploadedFile("ok.jpg", JPEG, content_type="image/jpeg")
    assert (
        c.post(
            "/grid/report/",
            {"content": "门店无证经营，现场有学生上课", "division_code": TOWNSHIP, "photos": ok},
        ).status_code
        == 302
    )
    photo = ClueReport.objects.get().photos.get()
    import hashlib

    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest() and photo.content_type == "image/jpeg"


def test_hotline_bad_rows_listed_good_rows_kept(county, officer):
    data = xlsx_bytes(
        [
            [
                "H1",
                "2026-03-02 09:00",
                "甲",
                "13812345678",
                "机构拒绝退费，已经两个月了",
                "某培训学校",
                "",
                "510107001",
            ],
            ["H2", "2026-03-02 09:00", "乙", "123", "机构拒绝退费", "某培训学校", "", "510107001"],
            ["H3", "2026-03-02 09:00", "丙", "", "", "某培训学校", "", "510107001"],
            ["H4", "not a date", "丁", "", "机构拒绝退费，已经两个月了", "某培训学校", "", "510104"],
        ]
    )
    b = services.clue_import_hotline(actor=officer, division_code="510107", filename="x.xlsx", data=data)
    assert b.rows == 4 and b.created == 1
    errs = {e["work_order"]: e["errors"] for e in b.errors}
    assert errs["H2"] == ["联系电话格式不正确"] and "诉求内容为空或过短" in errs["H3"]
    assert "受理时间无法识别" in errs["H4"] and any("不在本辖区" in e for e in errs["H4"])


def test_hotline_wrong_file_and_columns(county, officer):
    from qinglang.core.errors import DomainError

    with pytest.raises(DomainError, match=r"无法读取文件|不是有效的 Excel"):
        services.clue_import_hotline(
            actor=officer, division_code="510107", filename="x.xlsx", data=b"MZ not xlsx"
        )
    with pytest.raises(DomainError, match="缺少列"):
        services.clue_import_hotline(
            actor=officer, division_code="510107", filename="x.xlsx", data=xlsx_bytes([], header=["工单编号"])
        )
