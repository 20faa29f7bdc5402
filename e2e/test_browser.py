"""Browser scenario: a county regulator logs in, filters the institution list and opens a
detail page; a visitor searches the public whitelist and opens an institution's page."""

import os
from pathlib import Path

import pytest

from qinglang.testing import OTHER_COUNTY, make_institution, make_user

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Qinglang-test-2026"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def page(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=live_server.url, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()


@pytest.fixture
def data(transactional_db):
    admin = make_user("platform_admin")
    arts = make_institution(admin, name="武侯青竹书画院", whitelisted=True, division_code="510107004")
    subject = make_institution(admin, name="武侯启明学科辅导", category="subject", kind="subject")
    other = make_institution(admin, name="锦江远方舞蹈", division_code=OTHER_COUNTY, whitelisted=True)
    officer = make_user("regulator_officer", username="wuhou-officer")
    return {"arts": arts, "subject": subject, "other": other, "officer": officer}


def test_regulator_filters_and_opens_detail(page, data):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "wuhou-officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")
    assert page.locator("[data-count=total]").inner_text() == "2"
    # CSS is served locally and applied
    display = page.evaluate("getComputedStyle(document.querySelector('.navbar')).display")
    assert display == "flex"

    page.goto("/console/institutions/")
    table = page.locator("#institution-table")
    assert "武侯青竹书画院" in table.inner_text()
    assert "锦江远方舞蹈" not in table.inner_text()
    page.select_option("#id_category", "subject")
    page.click("#filter-form button[type=submit]")
    page.wait_for_url("**category=subject**")
    text = page.locator("#institution-table").inner_text()
    assert "武侯启明学科辅导" in text and "武侯青竹书画院" not in text
    assert "category=subject" in page.locator("#export-xlsx").get_attribute("href")

    page.click("text=武侯启明学科辅导")
    page.wait_for_url(f"**/console/institutions/{data['subject'].pk}/")
    assert "武侯启明学科辅导" in page.locator("h1").inner_text()
    # tabs load through htmx, and the loaded tab becomes active (portal/ui.js, no hx-on)
    page.click("#detail-tabs >> text=证照")
    page.wait_for_selector("#licence-form")
    assert "办学许可证" in page.locator("#tab-body").inner_text()
    page.wait_for_function(
        "document.querySelector('#detail-tabs .nav-link.active').textContent.includes('证照')"
    )


def test_pages_hold_under_the_content_security_policy(page, data):
    """Under the CSP (scripts from this site only) nothing is refused and the ECharts
    chart of the funds overview draws from the static chart script."""
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "wuhou-officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")
    response = page.goto("/console/funds/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#funds-chart canvas")
    page.goto("/console/clues/trends/")
    page.goto("/")
    assert violations == []


def test_visitor_searches_whitelist(page, data):
    page.goto("/")
    results = page.locator("#public-results")
    assert "武侯青竹书画院" in results.inner_text()
    assert "武侯启明学科辅导" not in results.inner_text()  # not whitelisted
    page.fill("#q", "青竹")
    page.select_option("#division", "510107004")
    page.click("#public-search button[type=submit]")
    page.wait_for_url("**q=**")
    page.click("#public-results >> text=武侯青竹书画院")
    page.wait_for_url(f"**/public/institutions/{data['arts'].pk}/")
    board = page.locator("#disclosure").inner_text()
    assert "办学许可证" in board or "证照信息" in board
    assert "资金监管：该机构的预收费未纳入资金监管" in board  # no custody account
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == "true"
