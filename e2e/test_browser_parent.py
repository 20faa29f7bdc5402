"""Browser scenario, the parent's money path: open an unpaid order and see where to pay
with the QR code; confirm a lesson of a paid order; open the receipt it gave; check it on
the public /verify/<code> page. On a desktop (1366×768) and a phone (390×844, no
horizontal overflow). Screenshots go to var/screenshots/ (not tracked)."""

from pathlib import Path

import pytest

from e2e.test_browser import ARGS, CHROMIUM, PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def world(transactional_db):
    from qinglang.funds import services
    from qinglang.funds.testing import funds_world, paid_order, term_input

    w = funds_world()
    unpaid = services.order_create(
        actor=w.parent, data=term_input(w.course, learner_name="张小明", lessons=8)
    )
    paid = paid_order(w, lessons=10)
    lesson, _ = services.lesson_record(
        actor=w.org_user, institution_id=w.institution.pk, order_id=paid.pk, event_id="browser-1"
    )
    return w, unpaid, paid, lesson


def _no_overflow(pg) -> None:
    width = pg.evaluate("document.documentElement.scrollWidth")
    client = pg.evaluate("document.documentElement.clientWidth")
    assert width <= client, f"{pg.url}: page is {width}px wide in a {client}px viewport"


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_parent_pays_confirms_and_verifies(live_server, world, device):
    sync_api = pytest.importorskip("playwright.sync_api")
    w, unpaid, paid, lesson = world
    width, height = VIEWPORTS[device]
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone = device == "phone"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            viewport={"width": width, "height": height},
            is_mobile=phone,
            has_touch=phone,
        )
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        errors: list[str] = []  # responses of 400 and above
        # the page's own requests only (the browser's favicon probe is not one of them)
        pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        pg.goto("/accounts/login/")
        pg.fill("input[name=username]", w.parent.username)
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_load_state()

        # the unpaid order: where to pay, with the QR code carrying it
        pg.goto("/parent/funds/")
        pg.locator(f"a[href='/parent/funds/orders/{unpaid.pk}/']").first.click()
        pg.wait_for_selector("#paying-in")
        assert pg.locator("#pay-bank").inner_text() == w.bank.name
        assert pg.locator("#pay-account").inner_text() == w.custody.account_number
        from qinglang.funds.services.paying_in import payment_reference

        assert pg.locator("#pay-reference").inner_text() == payment_reference(unpaid.pk)
        qr = pg.locator("#pay-qr svg.qr-code")
        assert qr.is_visible()
        box = qr.bounding_box()
        assert box["width"] >= 100 and box["x"] + box["width"] <= width  # big enough to scan, on screen
        _no_overflow(pg)
        pg.screenshot(path=str(SHOTS / f"parent-pay-{device}.png"), full_page=True)

        # the paid order: confirm the lesson
        pg.goto(f"/parent/funds/orders/{paid.pk}/")
        pg.locator("#lessons").get_by_role("button", name="确认").click()
        pg.wait_for_selector("text=已确认该课时")
        pg.goto(f"/parent/funds/orders/{paid.pk}/")
        assert "已确认" in pg.locator("#lessons").inner_text()
        _no_overflow(pg)
        pg.screenshot(path=str(SHOTS / f"parent-order-{device}.png"), full_page=True)

        # its receipt
        row = pg.locator("#receipts tr", has_text="消课拨付凭证")
        row.get_by_role("link", name="查看").click()
        pg.wait_for_selector("#receipt")
        code = pg.locator("#receipt-code").inner_text()
        assert len(code.replace("-", "")) == 16
        from qinglang.funds.models import Lesson

        assert pg.locator("#receipt-posting").inner_text() == str(
            Lesson.objects.get(pk=lesson.pk).settled_posting_id
        )
        _no_overflow(pg)
        pg.screenshot(path=str(SHOTS / f"parent-receipt-{device}.png"), full_page=True)

        # checked by anyone on /verify/<code>
        pg.click("#receipt-verify")
        pg.wait_for_url("**/verify/**")
        assert "凭证真实有效" in pg.locator("#verified").inner_text()
        assert pg.locator("#verified-institution").inner_text() == w.institution.name
        assert pg.locator("#verified-amount").inner_text().startswith("¥50.00")
        assert "张小明" not in pg.content() and w.parent.username not in pg.content()
        _no_overflow(pg)
        pg.screenshot(path=str(SHOTS / f"parent-verify-{device}.png"), full_page=True)
        assert not errors, errors
        context.close()
        browser.close()
