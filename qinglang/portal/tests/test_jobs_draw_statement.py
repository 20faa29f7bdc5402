"""A campaign's random draw over a large population and a large bank statement run as
background jobs from their pages: the job runs the same service as the owner, reports
progress while the service loops over the drawn institutions or the statement's rows, its
page says in Chinese what happened, and the data are what the synchronous path writes.
A statement with bad rows writes nothing and lists every bad row by number."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.core import jobs
from qinglang.core.models import Job, JobStatus
from qinglang.funds import services as funds
from qinglang.funds.models import ReconciliationDifference, StatementLine
from qinglang.funds.testing import funds_world, paid_order
from qinglang.inspections import services as inspections
from qinglang.inspections.models import Campaign, CampaignStatus, Draw, Task, Team
from qinglang.inspections.tests.helpers import campaign_data, inspectors
from qinglang.registry import services as registry
from qinglang.testing import TOWNSHIP, make_institution, make_user

from .test_jobs import (
    _client,
    small_limits,  # noqa: F401 -- the fixture: a handful of rows are "large"
)

pytestmark = pytest.mark.django_db


# --- the draw ------------------------------------------------------------------------------


def _campaign(leader, admin, n: int = 5) -> Campaign:
    for i in range(n):
        inst = make_institution(admin, name=f"抽查对象{i}")
        for s in range(i % 3):  # none, one or two sites each
            registry.site_create(
                actor=admin,
                institution_id=inst.pk,
                data={"name": f"教学点{i}-{s}", "address": f"测试街{i}-{s}号", "division_code": TOWNSHIP},
            )
    inspectors(4)
    today = timezone.localdate()
    return inspections.campaign_create(
        actor=leader, data=campaign_data(starts_on=today, ends_on=today + timedelta(days=20))
    )


def _drawn(c: Campaign) -> dict:
    """What a draw wrote, independent of row ids: targets, exclusions, teams by their
    members, and every task by institution, site, day and team."""
    draw = Draw.objects.get(campaign=c)
    members = {t.pk: tuple(sorted(t.members.values_list("user_id", flat=True))) for t in c.teams.all()}
    return {
        "targets": draw.targets,
        "exclusions": draw.exclusions,
        "teams": sorted(members.values()),
        "tasks": sorted(
            (t.institution_id, t.site_id or 0, t.scheduled_on, members.get(t.team_id, ()))
            for t in Task.objects.filter(campaign=c)
        ),
    }


@pytest.mark.usefixtures("small_limits")
def test_a_large_draw_runs_as_a_job_and_draws_what_the_page_would(
    leader, admin, django_capture_on_commit_callbacks
):
    c = _campaign(leader, admin)
    page = _client(leader)
    url = reverse("portal:campaign_detail", args=[c.pk])
    with django_capture_on_commit_callbacks(execute=True):
        r = page.post(url, {"action": "draw", "share": "100", "team_size": "2"})
    assert r.status_code == 302 and r.url.startswith("/jobs/")
    job = Job.objects.get()
    assert job.kind == "inspections.draw" and job.owner_id == leader.pk and job.status == JobStatus.DONE
    html = page.get(r.url).content.decode()
    tasks = Task.objects.filter(campaign=c).count()
    teams = Team.objects.filter(campaign=c).count()
    assert tasks == 4 + 2  # four sites, and two institutions without one at their own place
    assert "已完成" in html and "随机抽取完成：检查对象 5 家，抽中 5 家机构" in html
    assert f"共 {tasks} 个检查场所" in html and f"组成检查组 {teams} 个" in html
    assert f'href="{url}"' in html  # back to the campaign
    c.refresh_from_db()
    assert c.status == CampaignStatus.DRAWN
    job_draw = _drawn(c)
    # the synchronous path with the same seed writes the same draw (tried, then undone)
    seed = Draw.objects.get(campaign=c).seed
    with transaction.atomic():
        Task.objects.filter(campaign=c).delete()
        Team.objects.filter(campaign=c).delete()
        Draw.objects.filter(campaign=c).delete()
        Campaign.objects.filter(pk=c.pk).update(status=CampaignStatus.DRAFT)
        inspections.campaign_draw(actor=leader, campaign_id=c.pk, share=1.0, team_size=2, seed=seed)
        assert _drawn(c) == job_draw
        transaction.set_rollback(True)
    # a second draw of the same campaign is refused by the job, in Chinese, and changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        Campaign.objects.filter(pk=c.pk).update(status=CampaignStatus.DRAFT)
        r = page.post(url, {"action": "draw", "share": "50"})
    failed = Job.objects.exclude(pk=job.pk).get()
    assert failed.status == JobStatus.FAILED and failed.error
    assert _drawn(c) == job_draw


def test_a_small_draw_stays_on_the_page(leader, admin):
    c = _campaign(leader, admin, n=2)
    r = _client(leader).post(
        reverse("portal:campaign_detail", args=[c.pk]), {"action": "draw", "share": "100"}, follow=True
    )
    assert "已完成随机抽取" in r.content.decode()
    assert Draw.objects.filter(campaign=c).exists() and not Job.objects.exists()


def test_the_draw_reports_progress_by_drawn_institution(leader, admin):
    c = _campaign(leader, admin, n=3)
    seen = []
    inspections.campaign_draw(
        actor=leader,
        campaign_id=c.pk,
        share=1.0,
        progress=lambda done, total=None: seen.append((done, total)),
    )
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# --- the bank statement ------------------------------------------------------------------


def _statement(*rows) -> SimpleUploadedFile:
    text = "txn_id,direction,amount_fen\n" + "".join(f"{t},{d},{a}\n" for t, d, a in rows)
    return SimpleUploadedFile("statement.csv", text.encode())


def _written(bank, day) -> tuple[list, list]:
    lines = sorted(
        StatementLine.objects.filter(bank=bank, day=day).values_list("txn_id", "direction", "amount_fen")
    )
    diffs = sorted(
        ReconciliationDifference.objects.filter(bank_id=bank.pk, day=day).values_list(
            "kind", "txn_id", "ledger_amount_fen", "bank_amount_fen", "institution_id"
        )
    )
    return lines, diffs


@pytest.mark.usefixtures("small_limits")
def test_a_large_statement_runs_as_a_job_and_reconciles_as_the_page_would(
    monkeypatch, django_capture_on_commit_callbacks
):
    w = funds_world()
    matched = paid_order(w, lessons=2, txn="TXJ-1")
    short = paid_order(w, lessons=2, txn="TXJ-2")
    day = timezone.localdate()
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    page = _client(op)
    url = reverse("portal:bank_statements", args=[w.bank.pk])
    rows = [
        ("TXJ-1", "in", matched.amount_fen),
        ("TXJ-2", "in", short.amount_fen - 100),
        ("BANK-9", "in", 700),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        r = page.post(url, {"day": day.isoformat(), "file": _statement(*rows)})
    assert r.status_code == 302 and r.url.startswith("/jobs/")
    job = Job.objects.get()
    assert job.kind == "funds.statement" and job.status == JobStatus.DONE, job.error
    html = page.get(r.url).content.decode()
    assert f"{day.isoformat()} 对账单已导入：共 3 条流水，与台账一致 1 条" in html
    assert "对账差异 2 条(金额不符 1 条，银行多出流水 1 条，银行流水缺失 0 条)" in html
    assert f'href="{url}?day={day.isoformat()}"' in html
    by_job = _written(w.bank, day)
    assert len(by_job[0]) == 3 and len(by_job[1]) == 2
    # the same file imported on the page (small again) writes the same lines and differences
    monkeypatch.setattr(jobs, "BACKGROUND_UPLOAD_BYTES", 256 * 1024)
    r = page.post(url, {"day": day.isoformat(), "file": _statement(*rows)}, follow=True)
    assert "与台账一致 1 条" in r.content.decode() and Job.objects.count() == 1
    assert _written(w.bank, day) == by_job


@pytest.mark.usefixtures("small_limits")
def test_a_statement_with_bad_rows_writes_nothing_and_names_each_row(django_capture_on_commit_callbacks):
    w = funds_world()
    order = paid_order(w, lessons=2, txn="TXF-1")
    day = timezone.localdate()
    funds.statement_import(
        actor=w.admin,
        bank_id=w.bank.pk,
        day=day - timedelta(days=1),
        text="txn_id,direction,amount_fen\nOLD-1,in,5\n",
    )
    funds.statement_import(
        actor=w.admin,
        bank_id=w.bank.pk,
        day=day,
        text=f"txn_id,direction,amount_fen\nTXF-1,in,{order.amount_fen}\n",
    )
    before = _written(w.bank, day)
    page = _client(make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk))
    url = reverse("portal:bank_statements", args=[w.bank.pk])
    bad = _statement(
        ("TXF-1", "in", order.amount_fen), ("TXF-2", "in", "12.5"), ("TXF-1", "in", 5), ("", "in", 5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = page.post(url, {"day": day.isoformat(), "file": bad})
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    html = page.get(r.url).content.decode()
    assert (
        "未完成" in html
        and "对账单未导入：发现 3 处错误，未写入任何数据" in html
        and 'id="job-errors"' in html
    )
    assert [e["row"] for e in job.result["errors"]] == [3, 4, 5]
    assert (
        "金额不是整数(分)：12.5" in html
        and "流水号 TXF-1 与第 2 行重复" in html
        and "缺少流水号或方向" in html
    )
    assert _written(w.bank, day) == before
    # a transaction id of another day's statement: refused after the day's lines were
    # replaced inside the transaction, which is rolled back whole
    with django_capture_on_commit_callbacks(execute=True):
        r = page.post(url, {"day": day.isoformat(), "file": _statement(("OLD-1", "in", 5))})
    assert "流水号 OLD-1 已在" in page.get(r.url).content.decode()
    assert _written(w.bank, day) == before


def test_the_statement_import_reports_progress_over_its_rows():
    w = funds_world()
    seen = []
    text = "txn_id,direction,amount_fen\n" + "".join(f"P-{i},in,{i + 1}\n" for i in range(2500))
    out = funds.statement_import(
        actor=w.admin,
        bank_id=w.bank.pk,
        day=timezone.localdate(),
        text=text,
        progress=lambda done, total=None: seen.append((done, total)),
    )
    assert out["lines"] == 2500 and out["extra"] == 2500 and out["matched"] == 0
    assert len(seen) > 4 and seen[-1] == (5000, 5000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
