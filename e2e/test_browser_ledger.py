"""Browser scenario, the task force's work ledger (工作台账) and a superior's feedback list
(督查反馈问题清单): the task force (a county leader) lists a task and a problem for the
education bureau on a desktop; the bureau's officer, on a phone (390×844, no horizontal
overflow), reports the task done and applies to close the problem with a photo; the
task force closes it and downloads both ledgers as .xlsx. Screenshots go to
var/screenshots/ (or the folder QINGLANG_SCREENSHOTS names)."""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from e2e.test_browser import ARGS, CHROMIUM, PASSWORD
from qinglang.testing import DEMO_COUNTY, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / os.environ.get("QINGLANG_SCREENSHOTS", "var/screenshots")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
TASK = "学科类机构预收费资金全部纳入监管"
PROBLEM = "部分机构预收费未纳入监管"


@pytest.fixture
def people(transactional_db):
    make_user("regulator_leader", prefixes=[DEMO_COUNTY], username="wuhou-taskforce")
    make_user("regulator_officer", prefixes=[DEMO_COUNTY], department_kind="education", username="wuhou-edu")


def _context(p, live_server, phone: bool):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    width, height = (390, 844) if phone else (1366, 768)
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": width, "height": height},
        is_mobile=phone,
        has_touch=phone,
        accept_downloads=True,
    )
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    return browser, pg


def _login(pg, username):
    pg.goto("/accounts/login/")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/home/")


def _no_overflow(pg) -> None:
    width = pg.evaluate("document.scrollingElement.scrollWidth")
    client = pg.evaluate("document.documentElement.clientWidth")
    assert width <= client, f"{pg.url}: page is {width}px wide in a {client}px viewport"


def _sheet(download) -> list[list]:
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def test_task_force_and_bureau_work_the_ledger_to_close_out(live_server, people):
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    due = (timezone.localdate() + timedelta(days=20)).isoformat()
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        # the task force lists a task and a problem (desktop)
        browser, lead = _context(p, live_server, phone=False)
        lead.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        _login(lead, "wuhou-taskforce")
        lead.goto(f"/console/analytics/ledger/?division={DEMO_COUNTY}")
        lead.select_option("#t-dept", "education")
        lead.fill("#t-title", TASK)
        lead.fill("#t-lead", "张副区长")
        lead.select_option("#t-cadence", "weekly")
        lead.fill("#t-due", due)
        lead.click("#task-create button")
        lead.wait_for_selector("text=任务已列入工作台账")  # the new task's page
        assert lead.locator("h1").inner_text() == TASK and "0%" in lead.locator("#task-progress").inner_text()
        lead.goto(f"/console/analytics/ledger/?division={DEMO_COUNTY}")
        row = lead.locator("table.work-ledger tr", has_text=TASK).inner_text()
        assert "张副区长" in row and "每周" in row and "0%" in row and "education" not in row

        lead.goto(f"/console/analytics/problems/?division={DEMO_COUNTY}")
        lead.select_option("#c-dept", "education")
        lead.fill("#c-ref", "市双减督查反馈问题清单(第3批)")
        lead.fill("#c-number", "1")
        lead.fill("#c-desc", PROBLEM)
        lead.fill("#c-lead", "张副区长")
        lead.fill("#c-deadline", due)
        lead.click("#problem-create button")
        lead.wait_for_selector("#problem-status")  # the new problem's page
        assert "整改中" in lead.locator("#problem-status").inner_text()
        assert PROBLEM in lead.locator("#problem-facts").inner_text()
        lead.goto(f"/console/analytics/problems/?division={DEMO_COUNTY}")
        assert "整改中" in lead.locator("#problem-table tr", has_text=PROBLEM).inner_text()
        lead.screenshot(path=str(SHOTS / "problems-desktop.png"), full_page=True)

        # the education bureau's officer works both from a phone
        phone_browser, edu = _context(p, live_server, phone=True)
        edu.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        _login(edu, "wuhou-edu")
        edu.goto(f"/console/analytics/ledger/?division={DEMO_COUNTY}")
        _no_overflow(edu)
        edu.click(f"text={TASK}")
        edu.wait_for_selector("#progress-form")
        _no_overflow(edu)
        edu.fill("#f-text", "全区32家学科类机构已全部开立监管账户")
        edu.fill("#f-progress", "100")
        edu.click("#progress-form button")
        edu.wait_for_selector("#task-notes >> text=全区32家学科类机构")
        assert "100%" in edu.locator("#task-progress").inner_text()
        assert "已完成" in edu.locator("#task-progress").inner_text()
        edu.screenshot(path=str(SHOTS / "work-task-phone.png"), full_page=True)

        edu.goto(f"/console/analytics/problems/?division={DEMO_COUNTY}")
        _no_overflow(edu)
        edu.click(f"#problem-table >> text={PROBLEM}")
        edu.wait_for_selector("#submit-form")
        _no_overflow(edu)
        edu.fill("#f-summary", "已约谈相关机构，全部开立监管账户")
        edu.set_input_files(
            "#f-evidence", files=[{"name": "整改照片.png", "mimeType": "image/png", "buffer": PNG}]
        )
        edu.click("#submit-form button")
        edu.wait_for_selector("#problem-evidence >> text=整改照片.png")
        assert "待销号审核" in edu.locator("#problem-status").inner_text()
        assert edu.locator("#decide-form").count() == 0  # the bureau does not close its own item
        edu.screenshot(path=str(SHOTS / "problem-phone.png"), full_page=True)
        phone_browser.close()

        # the task force closes the problem and downloads both ledgers
        lead.goto(f"/console/analytics/problems/?division={DEMO_COUNTY}")
        lead.click(f"#problem-table >> text={PROBLEM}")
        lead.click("#close-problem")
        lead.wait_for_selector("#problem-status >> text=已销号")
        history = lead.locator("#problem-history").inner_text()
        assert "已销号" in history and "待销号审核" in history

        lead.goto(f"/console/analytics/ledger/?division={DEMO_COUNTY}")
        with lead.expect_download() as dl:
            lead.click("#ledger-export")
        rows = _sheet(dl.value)
        task_row = next(r for r in rows if TASK in r)
        assert "教育" in " ".join(str(c) for c in rows[0] + task_row if c) and "已完成" in task_row
        lead.goto(f"/console/analytics/problems/?division={DEMO_COUNTY}")
        with lead.expect_download() as dl:
            lead.click("#problems-export")
        rows = _sheet(dl.value)
        problem_row = next(r for r in rows if PROBLEM in r)
        assert "已销号" in problem_row
        browser.close()
    assert errors == []
