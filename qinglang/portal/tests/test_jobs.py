"""Long work runs as a background job with a progress page and a result page: a large
export, a large institution import (all or nothing, the refused rows listed), a large
hotline import. Only the owner sees a job; a job runs once."""

import io
import uuid

import pytest
from django.test import Client
from openpyxl import load_workbook

from qinglang.core import jobs
from qinglang.core.models import Job, JobStatus
from qinglang.registry.models import Institution
from qinglang.testing import make_user, valid_uscc

from .test_pages_console import _upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(monkeypatch, settings, tmp_path):
    """Make a handful of rows "large", so the background path runs in a test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(jobs, "BACKGROUND_ROWS", 0)
    monkeypatch.setattr(jobs, "BACKGROUND_UPLOAD_BYTES", 10)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_large_export_runs_as_a_job_with_progress_and_a_download(
    small_limits, leader, django_capture_on_commit_callbacks
):
    from qinglang.testing import make_institution

    admin = make_user("platform_admin")
    insts = [make_institution(admin) for _ in range(3)]
    from qinglang.funds.testing import funds_world

    funds_world(admin=admin)
    c = _client(leader)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.get("/console/funds/?export=accounts")
    assert r.status_code == 302 and r.url.startswith("/jobs/")
    job = Job.objects.get()
    assert job.status == JobStatus.DONE and job.kind == "export" and job.owner_id == leader.pk
    page = c.get(r.url).content.decode()
    assert "已完成" in page and "已导出 1 行" in page and 'id="job-download"' in page
    assert "hx-get" not in page  # a finished job stops polling
    dl = c.get(f"/jobs/{job.pk}/download/")
    ws = load_workbook(io.BytesIO(b"".join(dl.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "机构" and len(rows) == 2
    assert len(insts) == 3
    # someone else's job is not found
    other = _client(make_user("regulator_leader"))
    assert other.get(r.url).status_code == 404
    assert other.get(f"/jobs/{job.pk}/download/").status_code == 404
    # a job runs once
    assert jobs.job_run(job.pk) is None


def test_a_large_import_with_errors_imports_nothing_and_lists_rows(
    small_limits, officer, django_capture_on_commit_callbacks
):
    good = [
        "后台导入甲",
        valid_uscc(800101),
        "张三",
        "非学科类",
        "文化艺术类",
        "",
        "",
        "测试路1号",
        "510107001",
        "",
    ]
    bad = ["后台导入乙", "123", "李四", "非学科类", "文化艺术类", "", "", "测试路2号", "510107001", ""]
    c = _client(officer)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/console/import/", {"file": _upload([good, bad])})
    assert r.status_code == 302
    page = c.get(r.url).content.decode()
    assert "未完成" in page and 'id="job-errors"' in page and "统一社会信用代码" in page
    assert not Institution.objects.filter(name__startswith="后台导入").exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/console/import/", {"file": _upload([good])})
    assert "导入成功：共登记 1 家机构" in c.get(r.url).content.decode()
    assert Institution.objects.filter(name="后台导入甲").exists()


def test_the_progress_page_polls_while_running(leader):
    job = Job.objects.create(
        kind="export",
        title="导出线索",
        handler="x",
        owner_id=leader.pk,
        status=JobStatus.RUNNING,
        total=4000,
        done=1000,
    )
    c = _client(leader)
    html = c.get(f"/jobs/{job.pk}/").content.decode()
    assert f'hx-get="/jobs/{job.pk}/progress/"' in html and 'value="25"' in html and "1000 / 4000" in html
    assert "<script>" not in html  # CSP: no inline script
    part = c.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert part.startswith('<div id="job-progress"') and "处理中" in part
    assert c.get(f"/jobs/{uuid.uuid4()}/").status_code == 404


def test_small_work_stays_synchronous(leader, settings, tmp_path):
    c = _client(leader)
    r = c.get("/console/funds/?export=accounts")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert not Job.objects.exists()
