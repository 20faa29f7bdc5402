"""Institution end: an institution's users see and edit their own institution only."""

import pytest
from django.urls import reverse

from qinglang.registry import services
from qinglang.registry.models import Course, Institution, Site, Staff, TrainingMaterial
from qinglang.testing import make_institution, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(db):
    inst = make_institution(name="武侯小画家美术")
    other = make_institution(name="武侯隔壁舞蹈")
    user = make_user("institution_admin", institution_id=inst.pk)
    return inst, other, user


def test_home_redirects_institution_user(client, own):
    inst, _, user = own
    client.force_login(user)
    resp = client.get(reverse("portal:home"))
    assert resp["Location"] == reverse("portal:org_home")
    resp = client.get(reverse("portal:org_home"))
    assert resp["Location"] == reverse("portal:org_dashboard", args=[inst.pk])
    assert inst.name in client.get(resp["Location"]).content.decode()


def test_other_institution_is_404_everywhere(client, own):
    _, other, user = own
    client.force_login(user)
    for name in ("org_dashboard", "org_profile", "org_sites", "org_staff", "org_courses", "org_materials"):
        assert client.get(reverse(f"portal:{name}", args=[other.pk])).status_code == 404, name
    resp = client.post(reverse("portal:org_sites", args=[other.pk]), {"name": "x", "address": "y"})
    assert resp.status_code == 404
    assert not Site.objects.filter(institution=other).exists()


def test_regulator_cannot_use_org_end(client, officer, own):
    inst, _, _ = own
    client.force_login(officer)
    assert client.get(reverse("portal:org_dashboard", args=[inst.pk])).status_code == 403


def test_profile_edit(client, own):
    inst, _, user = own
    client.force_login(user)
    url = reverse("portal:org_profile", args=[inst.pk])
    resp = client.post(
        url, {"contact_name": "李老师", "contact_phone": "13800138000", "address": "新地址8号"}
    )
    assert resp.status_code == 302
    inst.refresh_from_db()
    assert inst.contact_phone == "13800138000" and inst.address == "新地址8号"


def test_profile_bad_phone_shows_error_nothing_changed(client, own):
    inst, _, user = own
    client.force_login(user)
    html = client.post(
        reverse("portal:org_profile", args=[inst.pk]), {"contact_phone": "12345", "address": "改了"}
    ).content.decode()
    assert "手机号码无效" in html
    inst.refresh_from_db()
    assert inst.address == "测试路1号"


def test_site_create_and_bad_division(client, own):
    inst, _, user = own
    client.force_login(user)
    url = reverse("portal:org_sites", args=[inst.pk])
    html = client.post(
        url, {"name": "二号教学点", "address": "锦江路1号", "division_code": "510104001"}
    ).content.decode()
    assert "场所须位于机构登记所在区县" in html or "区划代码不存在" in html
    assert not Site.objects.filter(institution=inst).exists()
    resp = client.post(url, {"name": "二号教学点", "address": "浆洗街2号", "division_code": "510107001"})
    assert resp.status_code == 302
    assert Site.objects.filter(institution=inst, name="二号教学点").exists()


def test_staff_create_masks_id_and_rejects_bad_id(client, own):
    inst, _, user = own
    client.force_login(user)
    url = reverse("portal:org_staff", args=[inst.pk])
    html = client.post(url, {"name": "张三", "role": "teacher", "resident_id": "123"}).content.decode()
    assert "公民身份号码无效" in html
    assert not Staff.objects.filter(institution=inst).exists()
    client.post(url, {"name": "张三", "role": "teacher", "resident_id": "11010519491231002X"})
    html = client.get(url).content.decode()
    assert "110105********002X" in html and "11010519491231002X" not in html


def test_course_create_price_in_yuan(client, own):
    inst, _, user = own
    client.force_login(user)
    url = reverse("portal:org_courses", args=[inst.pk])
    data = {"name": "水彩", "kind": "arts", "stage": "primary", "lessons": "12", "lesson_minutes": "45"}
    html = client.post(url, {**data, "unit_price": "1.234"}).content.decode()
    assert "金额最多两位小数" in html
    assert not Course.objects.filter(institution=inst).exists()
    client.post(url, {**data, "unit_price": "120.50"})
    c = Course.objects.get(institution=inst)
    assert c.unit_price_fen == 12050 and c.approval_status == "pending"
    assert "¥120.50" in client.get(url).content.decode()
    # a subject course in a non-subject institution is refused by the service
    html = client.post(url, {**data, "kind": "subject", "unit_price": "50"}).content.decode()
    assert "非学科类机构不得开设学科类课程" in html
    assert Course.objects.filter(institution=inst).count() == 1


def test_material_submit_and_resubmit(client, own, officer):
    inst, _, user = own
    client.force_login(user)
    url = reverse("portal:org_materials", args=[inst.pk])
    client.post(url, {"title": "色彩入门"})
    m = TrainingMaterial.objects.get(institution=inst)
    services.material_review(actor=officer, material_id=m.pk, approve=False, reason="需补充出版信息")
    html = client.get(url).content.decode()
    assert "需补充出版信息" in html
    client.post(reverse("portal:org_material_resubmit", args=[inst.pk, m.pk]))
    m.refresh_from_db()
    assert m.status == "submitted"


def test_staff_user_cannot_edit_profile(client, own):
    inst, _, _ = own
    client.force_login(make_user("institution_staff", institution_id=inst.pk))
    html = client.post(
        reverse("portal:org_profile", args=[inst.pk]), {"contact_phone": "13800138000"}
    ).content.decode()
    assert "无权执行此操作" in html
    assert Institution.objects.get(pk=inst.pk).contact_phone == ""


def test_parent_goes_to_parent_page(client):
    client.force_login(make_user("parent"))
    resp = client.get(reverse("portal:home"))
    assert resp["Location"] == reverse("portal:parent_home")
    assert client.get(resp["Location"]).status_code == 200
