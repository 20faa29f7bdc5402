"""工作台账 and 督查反馈问题清单: who may create, report and close; the close-out with
evidence; the import of a superior's list (all rows or none); overdue reminders and
escalation sent once; the pages and their exports."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from qinglang.accounts.models import Notification, Role
from qinglang.analytics import ledger
from qinglang.analytics.models import (
    ProblemSource,
    ProblemStatus,
    SupervisionProblem,
    WorkTask,
    WorkTaskStatus,
)
from qinglang.core.errors import IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.core.xlsx import iter_rows
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_user

pytestmark = pytest.mark.django_db
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def people():
    return {
        "leader": make_user(Role.REGULATOR_LEADER, prefixes=[DEMO_COUNTY]),
        "office": make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY]),
        "edu": make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="education"),
        "market": make_user(
            Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind="market_regulation"
        ),
        "outsider": make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY]),
    }


def _problem(actor, **kw):
    args = {
        "county": DEMO_COUNTY,
        "department_kind": "education",
        "source": ProblemSource.SUPERIOR,
        "source_ref": "市双减督查反馈问题清单(第3批)",
        "description": "部分机构预收费未纳入监管",
        "lead_leader": "张副区长",
        "deadline": timezone.localdate() + timedelta(days=10),
        **kw,
    }
    return ledger.problem_create(actor=actor, **args)


def _png(name="整改照片.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def test_problem_followed_to_close_out_with_evidence(people):
    p = _problem(people["leader"], number="1", measures="逐一约谈")
    assert (
        Notification.objects.filter(recipient=people["edu"], kind="analytics.problem.assigned").count() == 1
    )
    assert not Notification.objects.filter(recipient=people["market"]).exists()
    ledger.problem_note(actor=people["edu"], problem_id=p.pk, text="已约谈12家")
    # a refused close-out (no evidence) changes nothing
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="佐证材料"):
        ledger.problem_submit(actor=people["edu"], problem_id=p.pk, summary="已全部开户", uploads=[])
    assert AuditEvent.objects.count() == events
    p.refresh_from_db()
    assert p.status == ProblemStatus.OPEN
    ledger.problem_submit(actor=people["edu"], problem_id=p.pk, summary="已全部开户", uploads=[_png()])
    p.refresh_from_db()
    assert p.status == ProblemStatus.SUBMITTED and p.evidence.count() == 1
    # the department cannot close its own problem; the task force can send it back
    with pytest.raises(PermissionDeniedError):
        ledger.problem_decide(actor=people["edu"], problem_id=p.pk, close=True)
    with pytest.raises(ValidationError, match="审核意见"):
        ledger.problem_decide(actor=people["leader"], problem_id=p.pk, close=False, reason="")
    ledger.problem_decide(actor=people["leader"], problem_id=p.pk, close=False, reason="佐证不足")
    assert Notification.objects.filter(recipient=people["edu"], kind="analytics.problem.returned").exists()
    ledger.problem_submit(
        actor=people["edu"], problem_id=p.pk, summary="补充开户回单", uploads=[_png("回单.png")]
    )
    ledger.problem_decide(actor=people["office"], problem_id=p.pk, close=True)
    p.refresh_from_db()
    assert p.status == ProblemStatus.CLOSED and p.closed_on == timezone.localdate()
    assert [(t.from_status, t.to_status) for t in p.transitions.all()] == [
        ("open", "open"),
        ("open", "submitted"),
        ("submitted", "open"),
        ("open", "submitted"),
        ("submitted", "closed"),
    ]
    with pytest.raises(IllegalTransition, match="已销号"):
        ledger.problem_decide(actor=people["leader"], problem_id=p.pk, close=True)
    with pytest.raises(ValidationError):
        ledger.problem_note(actor=people["edu"], problem_id=p.pk, text="再补充")


def test_who_may_create_and_see(people):
    with pytest.raises(PermissionDeniedError, match="专班"):
        _problem(people["edu"])
    with pytest.raises(NotFound):
        _problem(people["outsider"])
    p = _problem(people["leader"])
    assert not SupervisionProblem.objects.exclude(pk=p.pk).exists()
    # another department neither sees nor writes it; the outsider county neither
    for who in ("market", "outsider"):
        assert not ledger.visible_problems(people[who]).filter(pk=p.pk).exists()
        with pytest.raises(NotFound):
            ledger.problem_note(actor=people[who], problem_id=p.pk, text="x")
    with pytest.raises(ValidationError, match="已登记"):
        _problem(people["leader"], number="7")
        _problem(people["leader"], number="7")


def _sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "问题描述", "责任部门", "牵头领导", "整改时限", "整改措施(选填)"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_import_all_rows_or_none(people):
    bad = _sheet(
        [
            ["1", "无证机构反弹", "市场监督管理局", "李副区长", "2026-12-31", ""],
            ["2", "资金监管覆盖不足", "不存在局", "李副区长", "2026-12-31", ""],
            ["1", "重复序号", "教育局", "李副区长", "明天", ""],
        ]
    )
    r = ledger.problem_import_xlsx(
        actor=people["leader"], county=DEMO_COUNTY, source="superior", source_ref="省督查清单", file_obj=bad
    )
    assert not r.ok and not SupervisionProblem.objects.exists()
    assert {(e.row, e.column) for e in r.errors} == {(3, "责任部门"), (4, "整改时限"), (4, "序号")}
    good = _sheet(
        [
            ["1", "无证机构反弹", "市场监督管理局", "李副区长", "2026-12-31", "联合执法"],
            ["2", "资金监管覆盖不足", "教育局", "李副区长", "2027年1月15日", ""],
        ]
    )
    r = ledger.problem_import_xlsx(
        actor=people["leader"], county=DEMO_COUNTY, source="superior", source_ref="省督查清单", file_obj=good
    )
    assert r.ok and len(r.created) == 2
    got = {p.number: (p.department_kind, p.deadline.isoformat()) for p in SupervisionProblem.objects.all()}
    assert got == {"1": ("market_regulation", "2026-12-31"), "2": ("education", "2027-01-15")}
    assert (
        Notification.objects.filter(recipient=people["market"], kind="analytics.problem.assigned").count()
        == 1
    )
    # the same list again: every row is already registered, nothing is added
    good.seek(0)
    r = ledger.problem_import_xlsx(
        actor=people["leader"], county=DEMO_COUNTY, source="superior", source_ref="省督查清单", file_obj=good
    )
    assert not r.ok and SupervisionProblem.objects.count() == 2


def test_overdue_reminded_then_escalated_once(people):
    today = timezone.localdate()
    p = _problem(people["leader"], deadline=today - timedelta(days=1))
    t = ledger.work_task_create(
        actor=people["leader"],
        county=DEMO_COUNTY,
        department_kind="market_regulation",
        title="无证机构排查",
        due_on=today - timedelta(days=2),
    )
    done = _problem(people["leader"], deadline=today + timedelta(days=3))
    assert ledger.overdue_sweep(today=today) == {"reminded": 2, "escalated": 0}
    assert ledger.overdue_sweep(today=today) == {"reminded": 0, "escalated": 0}
    assert Notification.objects.filter(recipient=people["edu"], kind="analytics.problem.overdue").count() == 1
    assert (
        Notification.objects.filter(recipient=people["market"], kind="analytics.work_task.overdue").count()
        == 1
    )
    later = today + timedelta(days=ledger.ESCALATE_AFTER_DAYS + 1)
    assert ledger.overdue_sweep(today=later) == {"reminded": 1, "escalated": 2}  # `done` is now overdue too
    assert ledger.overdue_sweep(today=later) == {"reminded": 0, "escalated": 0}
    esc = Notification.objects.filter(kind__endswith=".escalated")
    assert set(esc.values_list("recipient_id", flat=True)) == {people["leader"].pk}
    p.refresh_from_db()
    t.refresh_from_db()
    done.refresh_from_db()
    assert p.escalated_on == later and t.escalated_on == later and done.escalated_on is None


def test_work_task_progress(people):
    t = ledger.work_task_create(
        actor=people["leader"], county=DEMO_COUNTY, department_kind="education", title="资金监管全覆盖"
    )
    with pytest.raises(ValidationError, match="0至100"):
        ledger.work_task_progress(actor=people["edu"], task_id=t.pk, text="x", progress=101)
    with pytest.raises(NotFound):
        ledger.work_task_progress(actor=people["market"], task_id=t.pk, text="x", progress=10)
    ledger.work_task_progress(actor=people["edu"], task_id=t.pk, text="已开户80家", progress=60)
    ledger.work_task_progress(actor=people["edu"], task_id=t.pk, text="全部开户", progress=100)
    t.refresh_from_db()
    assert t.status == WorkTaskStatus.DONE and list(t.notes.values_list("progress", flat=True)) == [60, 100]


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_pages_and_exports(people):
    lc, ec = _client(people["leader"]), _client(people["edu"])
    url = reverse("portal:analytics_problems")
    r = lc.post(
        url,
        {
            "department_kind": "education",
            "source": "task_force",
            "source_ref": "专班自查",
            "description": "校外培训广告未清理",
            "lead_leader": "王主任",
            "deadline": "2020-01-01",
        },
    )
    p = SupervisionProblem.objects.get()
    assert r.status_code == 302 and r.url == reverse("portal:analytics_problem", args=[p.pk])
    # a bad form changes nothing and says why in Chinese
    r = lc.post(url, {"department_kind": "nope", "source": "task_force"}, follow=True)
    assert "责任部门无效" in r.content.decode() and SupervisionProblem.objects.count() == 1
    page = ec.get(url).content.decode()
    assert "校外培训广告未清理" in page and "教育局" in page and "已逾期" in page
    assert "登记问题" not in page  # the department does not manage the list
    assert "校外培训广告未清理" not in _client(people["market"]).get(url).content.decode()
    assert _client(people["market"]).get(reverse("portal:analytics_problem", args=[p.pk])).status_code == 404
    detail = reverse("portal:analytics_problem", args=[p.pk])
    ec.post(detail, {"action": "submit", "summary": "已清理", "evidence": [_png()]})
    p.refresh_from_db()
    assert p.status == ProblemStatus.SUBMITTED
    e = p.evidence.get()
    r = ec.get(reverse("portal:analytics_problem_evidence", args=[p.pk, e.pk]))
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    r = lc.post(detail, {"action": "bogus"}, follow=True)
    assert "未知操作" in r.content.decode()
    lc.post(detail, {"action": "decide", "decision": "close"})
    p.refresh_from_db()
    assert p.status == ProblemStatus.CLOSED
    rows = list(iter_rows(io.BytesIO(lc.get(reverse("portal:analytics_problems_xlsx")).content)))
    assert rows[0][0] == "区县" and rows[1][5] == "教育局" and rows[1][9] == "已销号"
    tpl = lc.get(reverse("portal:analytics_problem_template"))
    assert next(iter_rows(io.BytesIO(tpl.content)))[1] == "问题描述"
    # the import page lists each refused row
    bad = _sheet([["1", "x", "不存在局", "李", "2026-12-31", ""]])
    r = lc.post(
        url,
        {
            "action": "import",
            "source": "superior",
            "source_ref": "市清单",
            "file": SimpleUploadedFile("a.xlsx", bad.read()),
        },
    )
    assert r.status_code == 400 and "第2行" in r.content.decode() and "部门不存在" in r.content.decode()
    # the ledger
    lurl = reverse("portal:analytics_work_ledger")
    lc.post(lurl, {"department_kind": "education", "title": "课后服务全覆盖", "cadence": "monthly"})
    t = WorkTask.objects.get()
    ec.post(reverse("portal:analytics_work_task", args=[t.pk]), {"text": "已覆盖90%学校", "progress": "90"})
    r = ec.post(
        reverse("portal:analytics_work_task", args=[t.pk]), {"text": "x", "progress": "150"}, follow=True
    )
    assert "完成进度须为0至100的整数" in r.content.decode()
    t.refresh_from_db()
    assert t.progress == 90
    page = lc.get(lurl).content.decode()
    assert "课后服务全覆盖" in page and "90%" in page and "每月" in page
    rows = list(iter_rows(io.BytesIO(lc.get(reverse("portal:analytics_work_ledger_xlsx")).content)))
    assert rows[1][1] == "教育局" and rows[1][7] == 90
