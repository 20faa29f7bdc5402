"""Browser walk of every demo role on the seeded district, at 1366×768 and at 390×844:
each role signs in and lands on its to-do list, every entry of its menu opens without a
refusal, the text shows names and not codes, and the phone pages of the parent, the grid
worker, the inspector and the public have no horizontal overflow. Each role's landing
page is saved, desktop and phone, as <role>-<device>.png into var/screenshots/ (not
tracked), or into the folder QINGLANG_SCREENSHOTS names: ``QINGLANG_SCREENSHOTS=docs/screenshots``
refreshes the pictures the documentation shows."""

import os
from io import StringIO
from pathlib import Path

import pytest

from e2e.test_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / os.environ.get("QINGLANG_SCREENSHOTS", "var/screenshots")
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
# the people who work on a phone: their pages must fit 390 px
PHONE_ROLES = {"parent", "grid", "inspector", None}
# a role's main flow: the page its work starts from (after the landing page)
MAIN_FLOW = {
    "leader": "/console/clues/",
    "officer": "/console/clues/",
    "inspector": "/console/inspections/tasks/",
    "grid": "/grid/report/",
    "inst-admin": "/org/rectification/",
    "inst-staff": "/org/rectification/",
    "bank": "/funds/banks/",
    "parent": "/parent/funds/",
    "admin": "/console/admin/",
    None: "/clues/report/",
}


@pytest.fixture
def demo(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", "--scale", "district", "--institutions", "60", stdout=StringIO())


def _overflow(pg) -> str | None:
    wide = pg.evaluate("document.scrollingElement.scrollWidth")
    inner = pg.evaluate("window.innerWidth")
    return None if wide <= inner else f"{pg.url}: {wide}px wide in {inner}px"


def test_every_role_in_the_browser(live_server, demo):
    sync_api = pytest.importorskip("playwright.sync_api")
    from qinglang.accounts.models import User
    from qinglang.portal.demo import DEMO_PASSWORD, DEMO_USERS
    from qinglang.portal.menu import entries_for
    from qinglang.portal.tests.test_menu import CODE_PAGES, _leaks, _raw_codes

    divisions, pattern = _raw_codes()
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    roles = [u for u, _, _ in DEMO_USERS] + [None]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for device, (width, height) in VIEWPORTS.items():
            phone = device == "phone"
            for username in roles:
                context = browser.new_context(
                    base_url=live_server.url,
                    locale="zh-CN",
                    viewport={"width": width, "height": height},
                    is_mobile=phone,
                    has_touch=phone,
                )
                pg = context.new_page()
                pg.set_default_timeout(20_000)
                who = username or "public"
                if username:
                    pg.goto("/accounts/login/")
                    pg.fill("input[name=username]", username)
                    pg.fill("input[name=password]", DEMO_PASSWORD)
                    pg.click("button[type=submit]")
                    pg.wait_for_load_state()
                    pg.goto("/home/")
                else:
                    pg.goto("/")
                pg.wait_for_load_state()
                pg.screenshot(path=str(SHOTS / f"{who}-{device}.png"))
                if username and username != "admin" and not pg.locator("#todo-title").count():
                    failures.append(f"{who} {device}: the landing page {pg.url} has no to-do list")
                user = User.objects.get(username=username) if username else None
                hrefs = [href for _, href in entries_for(user)]
                if phone and username not in PHONE_ROLES:
                    hrefs = []  # desk roles: the menu was walked on the desktop
                for href in dict.fromkeys([*hrefs, MAIN_FLOW[username]]):
                    resp = pg.goto(href)
                    pg.wait_for_load_state()
                    if resp is None or resp.status >= 400:
                        failures.append(f"{who} {device}: {href} → {resp.status if resp else 'no response'}")
                        continue
                    bad = (
                        []
                        if href.startswith(CODE_PAGES)
                        else _leaks(" ".join(pg.locator("body").inner_text().split()), divisions, pattern)
                    )
                    if bad:
                        failures.append(f"{who} {device}: {href} shows codes {bad[:5]}")
                    if phone and (msg := _overflow(pg)):
                        failures.append(f"{who} phone: {msg}")
                context.close()
        browser.close()
    assert not failures, "\n".join(failures)
