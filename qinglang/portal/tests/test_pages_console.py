"""Regulator console pages: scope, detail, actions and their errors, export, policy."""

import importlib.util
import io

import pytest
from django.urls import reverse

from qinglang.core.models import AuditEvent, PolicyParameter
from qinglang.registry import services
from qinglang.registry.models import Institution, InstitutionStatus, MaterialStatus, TrainingMaterial
from qinglang.testing import DEMO_COUNTY, FULL_DISCLOSURE, OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db

RID = "11010519491231002X"


@pytest.fixture
def county(db):
    """One institution in the officer's county, one in the neighbouring county."""
    mine = make_institution(name="武侯阳光艺术培训")
    other = make_institution(division_code=OTHER_COUNTY, name="锦江星辰艺术培训")
    return mine, other


def test_anonymous_is_sent_to_login(client):
    resp = client.get(reverse("portal:institution_list"))
    assert resp.status_code == 302 and reverse("accounts:login") in resp["Location"]


def test_institution_user_cannot_open_console(client, county):
    mine, _ = county
    client.force_login(make_user("institution_admin", institution_id=mine.pk))
    assert client.get(reverse("portal:institution_list")).status_code == 403
    assert client.get(reverse("portal:home")).status_code == 302


def test_home_counts_only_scope(client, officer, county):
    client.force_login(officer)
    resp = client.get(reverse("portal:home"))
    assert resp.status_code == 200
    assert resp.context["counts"]["total"] == 1


def test_list_shows_scope_only(client, officer, county):
    mine, other = county
    client.force_login(officer)
    html = client.get(reverse("portal:institution_list")).content.decode()
    assert mine.name in html
    assert other.name not in html


def test_list_filters(client, officer, county):
    mine, _ = county
    extra = make_institution(name="武侯博学学科辅导", category="subject", kind="subject")
    client.force_login(officer)
    html = client.get(reverse("portal:institution_list"), {"category": "subject"}).content.decode()
    assert extra.name in html and mine.name not in html
    html = client.get(reverse("portal:institution_list"), {"q": "阳光"}).content.decode()
    assert mine.name in html and extra.name not in html
    # a filter cannot widen scope
    html = client.get(reverse("portal:institution_list"), {"division": OTHER_COUNTY}).content.decode()
    assert "锦江星辰艺术培训" not in html


def test_detail_in_scope_and_out_of_scope(client, officer, county):
    mine, other = county
    client.force_login(officer)
    assert client.get(reverse("portal:institution_detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("portal:institution_detail", args=[other.pk])).status_code == 404
    for tab in ("licences", "sites", "staff", "courses", "materials", "history"):
        resp = client.get(reverse("portal:institution_detail", args=[mine.pk]), {"tab": tab})
        assert resp.status_code == 200, tab
    # htmx asks for the tab body only
    resp = client.get(
        reverse("portal:institution_detail", args=[mine.pk]), {"tab": "licences"}, HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in resp.content and "教民".encode() in resp.content


def test_staff_ids_masked_for_inspector_full_for_officer(client, officer, county):
    mine, _ = county
    services.staff_create(
        actor=officer,
        institution_id=mine.pk,
        data={"name": "王老师", "resident_id": RID, "teaches_subject": True},
    )
    url = reverse("portal:institution_detail", args=[mine.pk])
    client.force_login(make_user("inspector"))
    html = client.get(url, {"tab": "staff"}).content.decode()
    assert RID not in html and "110105********002X" in html
    assert "学科类教师无教师资格证" in html
    client.force_login(officer)
    assert RID in client.get(url, {"tab": "staff"}).content.decode()


def test_transition_changes_status(client, officer, county):
    mine, _ = county
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_transition", args=[mine.pk]),
        {"to_status": "suspended", "reason": "消防检查不合格"},
        follow=True,
    )
    mine.refresh_from_db()
    assert mine.status == InstitutionStatus.SUSPENDED
    assert "办学状态已变更" in resp.content.decode()
    assert AuditEvent.objects.filter(action__startswith="institution.", object_id=str(mine.pk)).exists()


def test_transition_illegal_shows_chinese_error_nothing_changed(client, officer, county):
    mine, _ = county
    services.institution_transition(actor=officer, institution_id=mine.pk, to_status="closed", reason="注销")
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_transition", args=[mine.pk]),
        {"to_status": "active", "reason": "恢复"},
        follow=True,
    )
    html = resp.content.decode()
    assert "操作未完成" in html and "不允许的状态变更" in html
    mine.refresh_from_db()
    assert mine.status == InstitutionStatus.CLOSED


def test_transition_without_reason_is_refused(client, officer, county):
    mine, _ = county
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_transition", args=[mine.pk]), {"to_status": "suspended"}, follow=True
    )
    assert "操作未完成" in resp.content.decode()
    mine.refresh_from_db()
    assert mine.status == InstitutionStatus.ACTIVE


def test_transition_out_of_scope_is_404(client, officer, county):
    _, other = county
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_transition", args=[other.pk]), {"to_status": "suspended", "reason": "x"}
    )
    assert resp.status_code == 404
    other.refresh_from_db()
    assert other.status == InstitutionStatus.ACTIVE


def test_inspector_cannot_act(client, county):
    mine, _ = county
    client.force_login(make_user("inspector"))
    resp = client.post(
        reverse("portal:institution_transition", args=[mine.pk]),
        {"to_status": "suspended", "reason": "检查"},
        follow=True,
    )
    assert "无权执行此操作" in resp.content.decode()
    mine.refresh_from_db()
    assert mine.status == InstitutionStatus.ACTIVE


def test_whitelist_add_and_remove(client, officer, county):
    from qinglang.registry.services import disclosure_publish

    mine, _ = county
    disclosure_publish(actor=officer, institution_id=mine.pk, items=FULL_DISCLOSURE)
    client.force_login(officer)
    client.post(
        reverse("portal:institution_list_action", args=[mine.pk, "white", "add"]), {"reason": "证照齐全"}
    )
    mine.refresh_from_db()
    assert mine.whitelisted
    html = client.get(reverse("portal:list_white")).content.decode()
    assert mine.name in html
    resp = client.post(
        reverse("portal:institution_list_action", args=[mine.pk, "white", "remove"]),
        {"reason": "复查", "next": reverse("portal:list_white")},
    )
    assert resp["Location"] == reverse("portal:list_white")
    mine.refresh_from_db()
    assert not mine.whitelisted


def test_whitelist_unlicensed_refused_in_chinese(client, officer):
    inst = make_institution(licensed=False)
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_list_action", args=[inst.pk, "white", "add"]),
        {"reason": "申请"},
        follow=True,
    )
    assert "证照不全" in resp.content.decode()
    inst.refresh_from_db()
    assert not inst.whitelisted


def test_blacklist_add(client, officer, county):
    mine, _ = county
    client.force_login(officer)
    client.post(
        reverse("portal:institution_list_action", args=[mine.pk, "black", "add"]), {"reason": "卷款跑路"}
    )
    mine.refresh_from_db()
    assert mine.blacklisted
    assert mine.name in client.get(reverse("portal:list_black")).content.decode()


def test_licence_set_bad_dates_refused(client, officer):
    inst = make_institution(licensed=False)
    client.force_login(officer)
    url = reverse("portal:licence_set", args=[inst.pk])
    resp = client.post(
        url,
        {"kind": "fire_acceptance", "number": "X1", "valid_from": "2025-05-01", "valid_until": "2025-01-01"},
        follow=True,
    )
    assert "有效期至不能早于有效期起" in resp.content.decode()
    assert not inst.licences.exists()
    client.post(url, {"kind": "fire_acceptance", "number": "消备2025-01"})
    assert inst.licences.filter(kind="fire_acceptance", number="消备2025-01").exists()


def test_material_reject_needs_reason_then_works(client, officer, county):
    mine, _ = county
    m = services.material_submit(actor=officer, institution_id=mine.pk, data={"title": "少儿美术基础"})
    client.force_login(officer)
    url = reverse("portal:material_review", args=[mine.pk, m.pk])
    resp = client.post(url, {"decision": "reject", "reason": ""}, follow=True)
    assert "审核不通过须说明理由" in resp.content.decode()
    assert TrainingMaterial.objects.get(pk=m.pk).status == MaterialStatus.SUBMITTED
    client.post(url, {"decision": "reject", "reason": "内容超纲"})
    m.refresh_from_db()
    assert m.status == MaterialStatus.REJECTED and m.reject_reason == "内容超纲"


def test_material_of_other_institution_is_404(client, officer, county):
    mine, other = county
    m = services.material_submit(
        actor=make_user("platform_admin"), institution_id=other.pk, data={"title": "x"}
    )
    client.force_login(officer)
    resp = client.post(reverse("portal:material_review", args=[mine.pk, m.pk]), {"decision": "approve"})
    assert resp.status_code == 404
    m.refresh_from_db()
    assert m.status == MaterialStatus.SUBMITTED


def test_course_review(client, officer, county):
    mine, _ = county
    c = services.course_create(
        actor=officer,
        institution_id=mine.pk,
        data={"name": "素描", "kind": "arts", "stage": "primary", "lessons": 10, "unit_price_fen": 8000},
    )
    client.force_login(officer)
    client.post(reverse("portal:course_review", args=[mine.pk, c.pk]), {"decision": "approve"})
    c.refresh_from_db()
    assert c.approval_status == "approved"


def test_create_institution(client, officer):
    client.force_login(officer)
    resp = client.post(
        reverse("portal:institution_create"),
        {
            "name": "武侯新登记美术",
            "category": "non_subject",
            "kind": "arts",
            "mode": "offline",
            "nature": "for_profit",
            "nonprofit_conversion": "not_applicable",
            "division_code": "510107001",
            "stages": ["primary"],
        },
    )
    inst = Institution.objects.get(name="武侯新登记美术")
    assert resp.status_code == 302 and resp["Location"].endswith(f"/console/institutions/{inst.pk}/")


def test_create_institution_errors_in_chinese(client, officer):
    client.force_login(officer)
    base = {
        "name": "越界机构",
        "category": "non_subject",
        "kind": "subject",
        "mode": "offline",
        "nature": "for_profit",
        "nonprofit_conversion": "not_applicable",
        "division_code": "510107001",
    }
    html = client.post(reverse("portal:institution_create"), base).content.decode()
    assert "培训类型与类别不符" in html
    html = client.post(
        reverse("portal:institution_create"), {**base, "kind": "arts", "division_code": OTHER_COUNTY + "001"}
    ).content.decode()
    assert "无权在该区划登记机构" in html or "区划代码不存在" in html
    html = client.post(
        reverse("portal:institution_create"), {**base, "kind": "arts", "uscc": "123"}
    ).content.decode()
    assert "统一社会信用代码无效" in html
    assert not Institution.objects.filter(name="越界机构").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("qinglang.registry.xlsx") is None, reason="xlsx module not yet written"
)
def test_export_contains_only_filtered_scope(client, officer, county):
    openpyxl = pytest.importorskip("openpyxl")
    mine, other = county
    extra = make_institution(name="武侯博学学科辅导", category="subject", kind="subject")
    client.force_login(officer)
    resp = client.get(reverse("portal:institution_export"), {"category": "non_subject"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(resp.content))
    text = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert mine.name in text
    assert other.name not in text
    assert extra.name not in text


HEADERS = ["机构名称", "统一社会信用代码", "法定代表人", "类别", "培训类型", "办学许可证号"]
HEADERS += ["营业执照或登记证号", "地址", "所属乡镇(街道)", "联系电话"]


def _upload(rows: list[list]):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(HEADERS)
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile("机构台账.xlsx", out.getvalue())


@pytest.mark.skipif(
    importlib.util.find_spec("qinglang.registry.xlsx") is None, reason="xlsx module not yet written"
)
def test_import_success_and_per_row_report(client, officer):
    from qinglang.testing import valid_uscc

    client.force_login(officer)
    resp = client.get(reverse("portal:import_template"))
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    good = [
        "导入页测试甲",
        valid_uscc(800001),
        "张三",
        "非学科类",
        "文化艺术类",
        "",
        "",
        "测试路1号",
        "510107001",
        "",
    ]
    bad = ["导入页测试乙", "123", "李四", "非学科类", "文化艺术类", "", "", "测试路2号", "510107001", ""]
    html = client.post(reverse("portal:institution_import"), {"file": _upload([good, bad])}).content.decode()
    assert 'id="import-errors"' in html and "统一社会信用代码" in html
    assert not Institution.objects.filter(name__startswith="导入页测试").exists()
    html = client.post(reverse("portal:institution_import"), {"file": _upload([good])}).content.decode()
    assert "导入成功：共登记 1 家机构" in html
    assert Institution.objects.filter(name="导入页测试甲", division_code="510107001").exists()


def test_import_rejects_non_xlsx(client, officer):
    client.force_login(officer)
    f = io.BytesIO(b"a,b,c")
    f.name = "list.csv"
    html = client.post(reverse("portal:institution_import"), {"file": f}).content.decode()
    assert "请上传 .xlsx 格式的 Excel 文件" in html


def test_policy_page_shows_sources_and_leader_may_override(client, leader):
    client.force_login(leader)
    url = reverse("portal:policy")
    resp = client.get(url, {"division": DEMO_COUNTY})
    html = resp.content.decode()
    assert "fees.max_lessons_per_charge" in html and "全国" in html
    assert 'id="policy-form"' in html
    resp = client.post(
        url + f"?division={DEMO_COUNTY}",
        {"key": "fees.max_lessons_per_charge", "value": "abc", "basis": "区教育局通知"},
    )
    assert "请填写整数" in resp.content.decode()
    assert not PolicyParameter.objects.filter(division_code=DEMO_COUNTY).exists()
    client.post(
        url + f"?division={DEMO_COUNTY}",
        {"key": "fees.max_lessons_per_charge", "value": "40", "basis": "区教育局通知"},
    )
    p = PolicyParameter.objects.get(division_code=DEMO_COUNTY, key="fees.max_lessons_per_charge")
    assert p.value == 40


def test_policy_form_hidden_from_officer(client, officer):
    client.force_login(officer)
    resp = client.get(reverse("portal:policy"), {"division": DEMO_COUNTY})
    assert 'id="policy-form"' not in resp.content.decode()
    client.post(
        reverse("portal:policy") + f"?division={DEMO_COUNTY}",
        {"key": "fees.max_lessons_per_charge", "value": "40", "basis": "x"},
    )
    assert not PolicyParameter.objects.filter(division_code=DEMO_COUNTY).exists()


def test_english_navigation(client, officer):
    client.force_login(officer)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("portal:home")).content.decode()
    assert "Institutions" in html and "Dashboard" in html
