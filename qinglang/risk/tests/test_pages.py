"""The pages as people use them: a department handles an alert, a township reports, the
guardian checks in from a phone with a photo, the task force reads its board."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.risk import services
from qinglang.risk.models import Alert, AlertAction, CheckIn, RiskReport
from qinglang.risk.scoring import score_day
from qinglang.testing import make_institution, make_user

from .test_workflow import _orange

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_alert_handling_report_checkin_and_board_pages(admin, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    inst = make_institution(admin)
    day = timezone.localdate()
    _orange(inst, day)
    score_day(day)
    alert = Alert.objects.get(institution=inst)
    officer = make_user(Role.REGULATOR_OFFICER, department_kind=inst.competent_department.kind)
    c = _client(officer)
    assert inst.name in c.get("/console/risk/alerts/").content.decode()
    page = c.get(f"/console/risk/alerts/{alert.pk}/").content.decode()
    assert "负责人失联" in page and "处置时限" in page
    r = c.post(
        f"/console/risk/alerts/{alert.pk}/", {"kind": "interview", "note": "约谈法定代表人"}, follow=True
    )
    assert (
        "处置措施已记录" in r.content.decode()
        and AlertAction.objects.filter(alert=alert, kind="interview").exists()
    )
    r = c.post(f"/console/risk/alerts/{alert.pk}/", {"kind": "interview", "note": " "}, follow=True)
    assert "操作未完成" in r.content.decode() and AlertAction.objects.filter(alert=alert).count() == 1

    grid = make_user(Role.GRID_WORKER)
    g = _client(grid)
    r = g.post(
        f"/console/risk/institutions/{inst.pk}/",
        {"kind": "wage_arrears", "reporter_unit": "浆洗街街道", "observed_on": str(day), "evidence": ""},
        follow=True,
    )
    assert "证据" in r.content.decode() and not RiskReport.objects.filter(kind="wage_arrears").exists()
    r = g.post(
        f"/console/risk/institutions/{inst.pk}/",
        {
            "kind": "wage_arrears",
            "reporter_unit": "浆洗街街道",
            "observed_on": str(day),
            "evidence": "三名教师反映两个月未发工资",
        },
        follow=True,
    )
    assert "已报送" in r.content.decode() and RiskReport.objects.get(kind="wage_arrears").source == "township"

    task_force = make_user(Role.REGULATOR_LEADER)
    guardian = services.guardian_assign(
        actor=task_force, institution_id=inst.pk, unit="浆洗街街道办", user_id=grid.pk
    )
    assert inst.name in g.get("/risk/guardian/").content.decode()
    r = g.post(
        f"/risk/guardian/{guardian.pk}/",
        {"visited_on": str(day), "seen": "门店正常上课", "photos": [SimpleUploadedFile("a.png", PNG)]},
        follow=True,
    )
    assert "走访已记录" in r.content.decode()
    assert CheckIn.objects.get(guardian=guardian).photos[0]["content_type"] == "image/png"
    r = g.post(
        f"/risk/guardian/{guardian.pk}/",
        {"visited_on": str(day), "seen": "x", "photos": [SimpleUploadedFile("a.png", b"MZ not an image")]},
        follow=True,
    )
    assert "不是有效的图片" in r.content.decode() and CheckIn.objects.count() == 1
    assert _client(officer).get(f"/risk/guardian/{guardian.pk}/").status_code == 404  # only the guardian

    board = _client(task_force).get("/console/risk/board/").content.decode()
    assert inst.name in board and "浆洗街街道办" in board
    assert _client(officer).get("/console/risk/board/").status_code == 403


def test_board_export_writes_a_formula_looking_name_as_text(admin):
    """The board's .xlsx goes through the one export writer: a name a person typed that
    starts with ``=`` is a text cell, not a live formula."""
    import io

    from openpyxl import load_workbook

    inst = make_institution(admin, name='=HYPERLINK("http://x","点此")培训')
    day = timezone.localdate()
    _orange(inst, day)
    score_day(day)
    r = _client(make_user(Role.REGULATOR_LEADER)).get("/console/risk/board/export/")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content))[
        "橙红色预警机构"
    ]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == inst.name]
    assert cells and all(c.data_type == "s" for c in cells)
