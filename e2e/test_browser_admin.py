"""Browser scenario (county administration): after ``qinglang setup``, the administrator
adds a township, creates an officer's account and grants a further role; the new officer
logs in with the initial password, must choose their own, and sees their county."""

from io import StringIO

import pytest
from django.core.management import call_command

from e2e.test_browser import ARGS, CHROMIUM, pytestmark  # noqa: F401  (same browser, same marks)
from qinglang.accounts.models import Role, User

ADMIN_PASSWORD = "Qinglang-first-2026"


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
def county(transactional_db, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PASSWORD)
    call_command(
        "setup",
        "--county", "469099", "--name", "示范县",
        "--township", "469099100=城关镇",
        "--admin-password-file", str(pw), "--no-migrate",
        stdout=StringIO(),
    )  # fmt: skip


def login(page, username, password):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_admin_adds_township_and_grants_role_then_officer_sees_county(page, county):
    login(page, "admin", ADMIN_PASSWORD)
    page.wait_for_url("**/home/")
    page.click("#nav-admin")
    page.click("text=乡镇与社区")
    page.wait_for_url("**/console/admin/divisions/")
    page.fill("#division-add-form input[name=code]", "469099101")
    page.fill("#division-add-form input[name=name]", "河西街道")
    page.click("#division-add-form button[type=submit]")
    page.wait_for_selector("text=已添加：469099101 河西街道")
    assert "河西街道" in page.locator("#division-table").inner_text()
    # a bad code is refused in Chinese and nothing is added
    page.fill("#division-add-form input[name=code]", "469099101")
    page.fill("#division-add-form input[name=name]", "重复")
    page.click("#division-add-form button[type=submit]")
    page.wait_for_selector("text=区划代码已存在：469099101")

    # the officer's account: initial password shown once
    page.goto("/console/admin/users/new/")
    page.fill("input[name=display_name]", "李明")
    page.fill("input[name=phone]", "13900000011")
    page.select_option("select[name=role]", Role.REGULATOR_OFFICER)
    page.select_option("select[name=department_kind]", "education")
    page.select_option("select[name=township]", "469099101")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#initial-passwords")
    initial = page.locator(".initial-password").inner_text().strip()
    # grant a further role: inspector for the whole county
    page.select_option("#grant-form select[name=role]", Role.INSPECTOR)
    page.fill("#grant-form input[name=division_code]", "469099")
    page.click("#grant-form button")
    page.wait_for_selector("text=已授权")
    table = page.locator("#membership-table").inner_text()
    assert "监管人员" in table and "执法检查人员" in table and "示范县" in table
    page.reload()
    assert page.locator("#initial-passwords").count() == 0  # shown once only
    page.click("text=退出")

    # the new officer: initial password, forced change, then their county
    login(page, "13900000011", initial)
    page.wait_for_url("**/accounts/password/")
    assert page.locator("#must-change").is_visible()
    page.fill("input[name=old_password]", initial)
    page.fill("input[name=new_password1]", "Li-Ming-own-2026")
    page.fill("input[name=new_password2]", "Li-Ming-own-2026")
    page.click("#password-form button[type=submit]")
    page.wait_for_url("**/home/")
    scope = page.locator("#scope-names").inner_text()
    assert "示范县" in scope and "河西街道" in scope
    assert page.locator("#nav-admin").count() == 0  # an officer administers nothing
    assert not User.objects.get(username="13900000011").must_change_password
