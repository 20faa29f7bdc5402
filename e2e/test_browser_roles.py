"""Browser walk of every demo role on the seeded district, at 1366×768 and at 390×844:
each role signs in and lands on its to-do list, every entry of its menu opens without a
refusal (no status of 400 or more, no refusal page), the text shows names and not codes,
the role does its main work in the browser (the leader decides a lesson dispute, the
officer takes on a clue, the inspector records an inspection, the township's officer
raises a whistle, the grid worker reports from the street, the institution answers a
refund, the bank reads its instructions, the parent confirms a lesson, the public reports
and tracks a clue), no phone page overflows its 390 px and no tab bar wraps onto a second
line there. Each role's landing
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
# the text of a page that refuses (403/404 pages, an account without pages, the login form)
REFUSALS = ("无权访问", "页面不存在", "尚未分配可使用的页面")


@pytest.fixture
def demo(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", "--scale", "district", "--institutions", "60", stdout=StringIO())


TABBED = {"bank", "inst-admin", "inst-staff"}  # roles whose pages carry a tab bar
TABS_SEEN: set[str] = set()


def _wrapped_tabs(pg, who: str) -> str | None:
    """A tab bar ([data-tabs]) whose items sit on more than one line."""
    tops = pg.evaluate(
        "() => [...document.querySelectorAll('[data-tabs]')].map(u => "
        "new Set([...u.children].map(li => Math.round(li.getBoundingClientRect().top))).size)"
    )
    if tops:
        TABS_SEEN.add(who)
    return None if all(n <= 1 for n in tops) else f"{pg.url}: a tab bar on {max(tops)} lines"


def _overflow(pg) -> str | None:
    wide = pg.evaluate("document.scrollingElement.scrollWidth")
    inner = pg.evaluate("window.innerWidth")
    return None if wide <= inner else f"{pg.url}: {wide}px wide in {inner}px"


# --- each role's main flow, done in the browser ---------------------------------------


def _said(pg, success: str) -> None:
    """The page reports ``success`` (the action's message), not a refusal."""
    pg.wait_for_load_state()
    refused = pg.locator(".alert-danger")
    if refused.count():
        raise AssertionError(f"refused: {refused.first.inner_text()}")
    alert = pg.locator(".alert-success", has_text=success)
    alert.first.wait_for()


def _first_link(pg, pattern: str) -> str:
    href = pg.evaluate(
        "p => [...document.querySelectorAll('main a[href]')].map(a => a.getAttribute('href'))"
        ".find(h => new RegExp(p).test(h)) || null",
        pattern,
    )
    assert href, f"{pg.url}: no link matching {pattern}"
    return href


def _leader(pg) -> None:
    """The leader decides a parent's dispute of a lesson."""
    pg.goto("/console/funds/disputes/")
    form = pg.locator("form[action*='/decide/']").first
    form.locator("select[name=upheld]").select_option("0")
    form.locator("input[name=reason]").fill("经核实课时已上，异议不成立")
    form.locator("button").click()
    _said(pg, "")


def _officer(pg) -> None:
    """The officer takes on a clue routed to the bureau."""
    pg.goto("/console/clues/?status=routed")
    pg.goto(_first_link(pg, r"^/console/clues/\d+/$"))
    pg.select_option("select[name=op]", "accept")
    pg.locator("form:has(select[name=op]) button").click()
    _said(pg, "已受理")
    assert "已受理" in pg.locator("h1").inner_text()


def _inspector(pg) -> None:
    """The inspector records the inspection of a planned task, every item compliant."""
    pg.goto("/console/inspections/tasks/?status=planned")
    pg.goto(_first_link(pg, r"^/console/inspections/tasks/\d+/$"))
    pg.fill("textarea[name=summary]", "现场检查，各项符合要求")
    pg.get_by_role("button", name="提交检查记录").click()
    pg.wait_for_load_state()
    refused = pg.locator(".alert-danger")
    assert not refused.count(), refused.first.inner_text() if refused.count() else ""
    pg.get_by_text("检查结果").first.wait_for()


def _grid(pg) -> None:
    """The grid worker reports an unlicensed training point from the street."""
    pg.goto("/grid/report/")
    pg.fill("textarea[name=content]", "小区内发现无牌培训点，晚间有学生进出")
    pg.fill("input[name=institution_name]", "某托管点")
    pg.fill("input[name=address]", "浆洗街街道某小区3栋")
    pg.get_by_role("button", name="上报").click()
    _said(pg, "已上报")


def _township(pg) -> None:
    """The township's officer raises a whistle (吹哨), naming the fire department."""
    pg.goto("/console/whistles/")
    pg.fill("input[name=title]", "居民楼内托管点消防隐患")
    pg.fill("textarea[name=problem]", "托管点安全出口堵塞，请消防部门到场")
    pg.check("input[name=department_kinds][value=fire]")
    pg.get_by_role("button", name="吹哨").click()
    _said(pg, "已吹哨")


def _org_answer(pg, *, agree: bool) -> None:
    """The institution answers a parent's refund request (made here if none waits)."""
    from django.db.models import Count

    from qinglang.accounts.models import User
    from qinglang.funds import services
    from qinglang.funds.models import Order, OrderStatus, Refund, RefundStatus

    iid = User.objects.get(username="inst-admin").memberships.get().institution_id
    if not Refund.objects.filter(order__institution_id=iid, status=RefundStatus.REQUESTED).exists():
        order = (
            Order.objects.filter(institution_id=iid, parent__username="parent", status=OrderStatus.PAID)
            .annotate(asked=Count("refunds"))
            .order_by("asked", "pk")
            .first()
        )
        assert order is not None, "the demo institution has no order in progress of the demo parent"
        services.refund_request(actor=order.parent, order_id=order.pk, reason="孩子时间冲突，申请退费")
    pg.goto(f"/org/{iid}/funds/refunds/")
    form = pg.locator("form[action*='/answer/']").first
    form.locator("select[name=agree]").select_option("1" if agree else "0")
    form.locator("input[name=answer]").fill("同意退费" if agree else "课程已过半，按合同不予全额退费")
    form.locator("button").click()
    _said(pg, "已答复退费申请")


def _bank(pg) -> None:
    """The bank's operator reads today's instructions to carry out."""
    pg.goto("/funds/banks/")
    rows = pg.locator("main table").last.locator("tbody tr")
    assert rows.count() and "拨付指令" in rows.first.inner_text(), "the bank has no instructions to read"


def _parent(pg) -> None:
    """The parent confirms a lesson the institution recorded."""
    pg.goto("/parent/funds/")
    pg.locator("form[action*='/confirm/'] button").first.click()
    _said(pg, "已确认该课时")


def _admin(pg) -> None:
    """The platform administrator reads the accounts, named and with their roles."""
    pg.goto("/console/admin/users/")
    table = pg.locator("#user-table").inner_text()
    assert "武侯区教育局 监管领导" in table and "监管领导" in table


def _public(pg) -> None:
    """A visitor reports a clue and follows it with the tracking code."""
    pg.goto("/clues/report/")
    pg.fill("textarea[name=content]", "某培训机构周末组织学科类培训")
    pg.fill("input[name=institution_name]", "某学科培训点")
    pg.check("input[name=anonymous]")
    pg.get_by_role("button", name="提交举报").click()
    code = pg.locator("[data-tracking-code]").inner_text().strip()
    assert code
    pg.get_by_role("link", name="查看进度").click()
    pg.locator("[data-stage]").wait_for()
    assert pg.locator("[data-stage]").inner_text().strip()


FLOWS = {
    "admin": _admin,
    "leader": _leader,
    "officer": _officer,
    "inspector": _inspector,
    "township": _township,
    "grid": _grid,
    "inst-admin": lambda pg: _org_answer(pg, agree=True),
    "inst-staff": lambda pg: _org_answer(pg, agree=False),
    "bank": _bank,
    "parent": _parent,
    None: _public,
}


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
                for href in [href for _, href in entries_for(user)]:
                    resp = pg.goto(href)
                    pg.wait_for_load_state()
                    if resp is None or resp.status >= 400:
                        failures.append(f"{who} {device}: {href} → {resp.status if resp else 'no response'}")
                        continue
                    text = " ".join(pg.locator("body").inner_text().split())
                    if refused := [r for r in REFUSALS if r in text] or pg.locator("[data-error]").count():
                        failures.append(f"{who} {device}: {href} refuses ({refused})")
                    if "/accounts/login/" in pg.url:
                        failures.append(f"{who} {device}: {href} sends to the login page")
                    bad = [] if href.startswith(CODE_PAGES) else _leaks(text, divisions, pattern)
                    if bad:
                        failures.append(f"{who} {device}: {href} shows codes {bad[:5]}")
                    if phone and (msg := _overflow(pg) or _wrapped_tabs(pg, who)):
                        failures.append(f"{who} phone: {msg}")
                try:
                    FLOWS[username](pg)
                except Exception as exc:  # every role's failure is reported
                    failures.append(f"{who} {device}: main flow at {pg.url}: {str(exc).splitlines()[0]}")
                else:
                    text = " ".join(pg.locator("body").inner_text().split())
                    if bad := _leaks(text, divisions, pattern):
                        failures.append(f"{who} {device}: after the main flow {pg.url} shows codes {bad[:5]}")
                    if phone and (msg := _overflow(pg) or _wrapped_tabs(pg, who)):
                        failures.append(f"{who} phone: main flow: {msg}")
                context.close()
        browser.close()
    failures += [f"{who} phone: no tab bar was measured" for who in sorted(TABBED - TABS_SEEN)]
    assert not failures, "\n".join(failures)
