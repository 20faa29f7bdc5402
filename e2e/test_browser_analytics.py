"""Browser scenario (weekly ranking): the county leader opens the week's ranking, drills
into the lowest township's dashboard, comes back, opens the issued notice and downloads
its .docx."""

import io
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone

from e2e.test_browser import PASSWORD, page, pytestmark  # noqa: F401  (same browser, same marks)
from qinglang.accounts.permissions import system
from qinglang.analytics.notices import notice_issue
from qinglang.analytics.refresh import refresh, week_start
from qinglang.testing import DEMO_COUNTY, make_institution, make_user


@pytest.fixture
def county(transactional_db):
    make_institution(division_code="510107001")
    make_institution(division_code="510107004")
    make_institution(division_code="510107005", licensed=False)  # 玉林街道: lowest on 证照齐全率
    make_institution(division_code="510107005")
    refresh(full=True)
    make_user("regulator_leader", prefixes=[DEMO_COUNTY], username="wuhou-leader")
    week = week_start(timezone.localdate())
    return notice_issue(actor=system("weekly-notice"), county=DEMO_COUNTY, week=week)


def test_leader_ranks_drills_into_the_lowest_township_and_downloads_the_notice(page, county):  # noqa: F811
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "wuhou-leader")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")
    week = week_start(timezone.localdate()).isoformat()
    page.goto(f"/console/analytics/ranking/?division={DEMO_COUNTY}&week={week}")
    table = page.locator('table[data-indicator="indicator.licensed_rate"][data-kind="township"]')
    rows = table.locator("tbody tr")
    lowest = rows.nth(rows.count() - 1)
    for i in range(rows.count()):  # the last ranked row (units without figures come after)
        if rows.nth(i).locator("td").first.inner_text() != "—":
            lowest = rows.nth(i)
    assert "玉林街道" in lowest.inner_text() and "50.0%" in lowest.inner_text()
    lowest.locator("a").click()
    page.wait_for_url("**/console/analytics/?division=510107005*")
    assert "玉林街道" in page.locator("h1").inner_text()
    assert "50.0%" in page.locator("#indicator-table").inner_text()
    page.go_back()
    page.click("#issued-notice")
    page.wait_for_url(f"**/console/analytics/notices/{county.pk}/")
    assert "玉林街道" in page.locator("#lagging-units").inner_text()
    with page.expect_download() as dl:
        page.click("#notice-docx")
    data = Path(dl.value.path()).read_bytes()
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert county.number in xml and "玉林街道" in xml
    assert dl.value.suggested_filename.endswith(".docx")
