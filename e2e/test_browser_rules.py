"""Browser scenario (rules in force): an institution applies for a change of name with
its documents, the competent department asks for one correction, the institution uploads
it and the department approves, the register then carrying the new name; a subject-type
course timetabled on a Saturday is refused on the page, naming the rule."""

import pytest

from e2e.test_browser import ARGS, CHROMIUM, PASSWORD, pytestmark  # noqa: F401  (same browser, same marks)
from qinglang.accounts.permissions import system
from qinglang.core.services import department_ensure_for_division
from qinglang.registry import services as registry
from qinglang.registry.models import Application, CourseSlot, Institution
from qinglang.testing import DEMO_COUNTY, make_institution, make_user

PDF = b"%PDF-1.4\n% change of name\n"


@pytest.fixture
def browser(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b, live_server.url
        b.close()


def signed_in(browser, username):
    """A page of a new browser context, signed in as ``username``."""
    b, url = browser
    pg = b.new_context(base_url=url, locale="zh-CN").new_page()
    pg.set_default_timeout(20_000)
    pg.goto("/accounts/login/")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(lambda u: "/accounts/login/" not in u)
    return pg


@pytest.fixture
def world(transactional_db):
    department_ensure_for_division(actor=system("test"), division_code=DEMO_COUNTY)
    admin = make_user("platform_admin")
    sports = make_institution(admin, name="武侯飞跃体育", category="non_subject", kind="sports")
    subject = make_institution(admin, name="武侯启明学科辅导", category="subject", kind="subject")
    course = registry.course_create(
        actor=admin,
        institution_id=subject.pk,
        data={"name": "初中数学", "kind": "subject", "stage": "junior", "lessons": 10, "unit_price_fen": 100},
    )
    return {
        "sports": sports,
        "subject": subject,
        "course": course,
        "org": make_user("institution_admin", institution_id=sports.pk, username="feiyue-admin"),
        "subject_org": make_user("institution_admin", institution_id=subject.pk, username="qiming-admin"),
        "officer": make_user("regulator_officer", department_kind="sports", username="sports-officer"),
    }


def test_a_change_corrected_once_then_approved_and_a_saturday_subject_lesson_refused(
    browser, world, tmp_path
):
    sports = world["sports"]
    form, proof, fixed = (tmp_path / n for n in ("form.pdf", "proof.pdf", "proof-v2.pdf"))
    form.write_bytes(PDF)
    proof.write_bytes(PDF + b"1")
    fixed.write_bytes(PDF + b"2")

    # the institution applies for its new name with the two documents
    org = signed_in(browser, "feiyue-admin")
    org.goto(f"/org/{sports.pk}/applications/")
    org.click("summary:has-text('变更')")
    org.fill("#c-name", "武侯飞跃青少年体育")
    org.set_input_files("#f-change-application_form", str(form))
    org.set_input_files("#f-change-change_proof", str(proof))
    org.click("button:has-text('提交变更申请')")
    org.wait_for_selector("text=申请已提交")
    app = Application.objects.get(institution=sports)
    assert app.status == "submitted" and app.department.kind == "sports"

    # the competent department asks for one correction
    officer = signed_in(browser, "sports-officer")
    officer.goto("/console/applications/")
    officer.click(f"text={app.number}")
    officer.fill("input[name=note]", "变更事项证明须加盖公章")
    officer.click("button:has-text('要求补正')")
    officer.wait_for_selector("text=已通知申请人补正")
    assert Application.objects.get(pk=app.pk).status == "correcting"

    # the institution sees what to correct and uploads it
    org.goto(f"/org/{sports.pk}/applications/")
    assert "变更事项证明须加盖公章" in org.locator("#applications").inner_text()
    org.select_option("select[name=doc_type]", "change_proof")
    org.set_input_files("#applications input[name=file]", str(fixed))
    org.click("button:has-text('提交补正')")
    org.wait_for_selector("text=补正材料已提交")
    assert Application.objects.get(pk=app.pk).status == "submitted"

    # approving without the reviewer's item is refused; with it, approved and applied
    officer.goto(f"/console/applications/{app.pk}/")
    officer.fill("#d-reason", "变更材料齐全")
    officer.click("button:has-text('准予许可')")
    officer.wait_for_selector(".alert-danger, .alert-warning")
    assert Application.objects.get(pk=app.pk).status == "submitted"
    officer.check("input[name=check_change_lawful]")
    officer.fill("#d-reason", "变更材料齐全")
    officer.click("button:has-text('准予许可')")
    officer.wait_for_selector("text=已作出准予许可决定")
    assert Application.objects.get(pk=app.pk).status == "approved"
    assert Institution.objects.get(pk=sports.pk).name == "武侯飞跃青少年体育"
    assert "准予许可" in officer.locator("h1").inner_text()

    # a subject-type course on a Saturday: refused on the page, naming the rule
    sub = signed_in(browser, "qiming-admin")
    sub.goto(f"/org/{world['subject'].pk}/courses/{world['course'].pk}/slots/")
    sub.select_option("#s-wd", "6")
    sub.fill("#s-st", "09:00")
    sub.fill("#s-en", "10:00")
    sub.fill("#s-ts", "2026-09-07")
    sub.fill("#s-te", "2026-12-31")
    sub.click("button:has-text('添加课表')")
    sub.wait_for_selector("text=subject.no_training_on_rest_days")
    assert "全国" in sub.content()
    assert not CourseSlot.objects.filter(course=world["course"]).exists()
    assert "尚无课表" in sub.locator("#slots").inner_text()


def test_a_tutoring_business_scope_is_held_when_the_officer_enters_the_licence(browser, world):
    """The officer enters a licence whose business scope reads as subject tutoring for a
    non-subject institution: the licence is kept, a warning says it went to review, and the
    licences tab fits a phone."""
    import os
    from pathlib import Path

    from qinglang.screening.models import TextHold

    sports = world["sports"]
    shots = Path(__file__).resolve().parent.parent / os.environ.get("QINGLANG_SCREENSHOTS", "var/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    officer = signed_in(browser, "sports-officer")
    officer.goto(f"/console/institutions/{sports.pk}/?tab=licences")
    officer.select_option("#licence-form select[name=kind]", "business_license")
    officer.fill("#licence-form input[name=number]", "91510107MA0000009Z")
    officer.fill("#licence-form textarea[name=business_scope]", "体育培训；小学数学同步辅导、初中英语提分")
    officer.click("button:has-text('保存证照')")
    officer.wait_for_selector("text=证照已登记")
    assert "已转监管人员复核" in officer.locator(".alert-warning").inner_text()
    assert "小学数学同步辅导" in officer.locator("table").first.inner_text()
    assert TextHold.objects.filter(source="business_scope").count() == 1
    officer.screenshot(path=str(shots / "licences-desktop.png"), full_page=True)
    officer.set_viewport_size({"width": 390, "height": 844})
    officer.reload()
    wide = officer.evaluate("document.scrollingElement.scrollWidth")
    assert wide <= 390, f"the licences tab is {wide}px wide on a phone"
    officer.screenshot(path=str(shots / "licences-phone.png"), full_page=True)
