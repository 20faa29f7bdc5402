"""Public site: whitelist search, disclosure board and blacklist; no personal data leaks."""

import re

import pytest
from django.urls import reverse

from qinglang.registry import services
from qinglang.testing import OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db

RID = "11010519491231002X"
PHONE = "13912345678"


@pytest.fixture
def listed(db):
    admin = make_user("platform_admin")
    white = make_institution(
        admin, name="武侯晨曦书法", whitelisted=True, contact_phone=PHONE, division_code="510107004"
    )
    plain = make_institution(admin, name="武侯未入名单机构")
    black = make_institution(admin, name="武侯跑路培训", contact_phone=PHONE)
    services.blacklist_add(actor=admin, institution_id=black.pk, reason="卷款跑路，拒不退费")
    services.staff_create(
        actor=admin,
        institution_id=white.pk,
        data={
            "name": "王小明",
            "resident_id": RID,
            "role": "teacher",
            "subjects": "书法",
            "teacher_qualification_no": "20215100012345",
        },
    )
    c = services.course_create(
        actor=admin,
        institution_id=white.pk,
        data={"name": "硬笔书法", "kind": "arts", "stage": "primary", "lessons": 20, "unit_price_fen": 12345},
    )
    services.course_review(actor=admin, course_id=c.pk, approve=True)
    m = services.material_submit(actor=admin, institution_id=white.pk, data={"title": "楷书字帖"})
    services.material_review(actor=admin, material_id=m.pk, approve=True)
    services.material_submit(actor=admin, institution_id=white.pk, data={"title": "未审核讲义"})
    return white, plain, black


def _no_personal_data(html: str) -> None:
    assert RID not in html
    assert PHONE not in html
    assert not re.search(r"\b1[3-9]\d{9}\b", html), "a mobile number is on a public page"


def test_search_shows_whitelist_only(client, listed):
    white, plain, black = listed
    html = client.get(reverse("portal:public_home")).content.decode()
    assert white.name in html and plain.name not in html and black.name not in html
    _no_personal_data(html)


def test_search_by_name_area_category(client, listed):
    white, _, _ = listed
    url = reverse("portal:public_home")
    assert white.name in client.get(url, {"q": "晨曦"}).content.decode()
    assert white.name not in client.get(url, {"q": "不存在的名字"}).content.decode()
    html = client.get(url, {"division": "510107004"}).content.decode()
    assert white.name in html and "望江路街道" in html  # the township select is filled
    assert white.name not in client.get(url, {"division": "510107001"}).content.decode()
    assert white.name not in client.get(url, {"category": "subject"}).content.decode()


def test_the_search_row_names_what_each_picker_leaves_open(client, listed):
    """The category picker is as large as the township picker beside it and says which
    "all" it means."""
    html = client.get(reverse("portal:public_home")).content.decode()
    category = re.search(r'<select name="category"[^>]*>.*?</select>', html, re.S).group(0)
    assert 'class="form-select"' in category and '<option value="" selected>全部类别</option>' in category


def test_disclosure_board(client, listed):
    white, _, _ = listed
    html = client.get(reverse("portal:public_institution", args=[white.pk])).content.decode()
    assert "办学信息公示" in html
    assert "王**" in html and "王小明" not in html
    assert "20215100012345" not in html and "2021********45" in html
    assert "¥123.45" in html and "硬笔书法" in html
    assert "楷书字帖" in html and "未审核讲义" not in html
    assert "资金监管：该机构的预收费未纳入资金监管" in html and "not-custodied" in html
    assert "未登记消防验收" in html
    _no_personal_data(html)


def test_unlisted_institution_is_404(client, listed):
    _, plain, _ = listed
    other = make_institution(division_code=OTHER_COUNTY)
    assert client.get(reverse("portal:public_institution", args=[plain.pk])).status_code == 404
    assert client.get(reverse("portal:public_institution", args=[other.pk])).status_code == 404
    assert client.get(reverse("portal:public_institution", args=[999999])).status_code == 404


def test_blacklist_page_and_blacklisted_institution_page(client, listed):
    _, _, black = listed
    html = client.get(reverse("portal:public_blacklist")).content.decode()
    assert black.name in html and "卷款跑路，拒不退费" in html
    _no_personal_data(html)
    html = client.get(reverse("portal:public_institution", args=[black.pk])).content.decode()
    assert "该机构已被列入黑名单" in html
    _no_personal_data(html)


def test_public_pages_load_no_external_assets(client, listed):
    html = client.get(reverse("portal:public_home")).content.decode()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
