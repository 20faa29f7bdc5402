"""Case page: evidence upload, the decision form with penalty kinds and amounts — in
scope works, out of scope is 404, bad input gets a Chinese error and changes nothing."""

import re

import pytest
from django.urls import reverse

from qinglang.enforcement import services
from qinglang.enforcement.models import CaseEvidence, CaseStatus, Decision, PenaltyCase
from qinglang.inspections.tests.helpers import fake_jpg, png
from qinglang.registry.models import InstitutionStatus
from qinglang.testing import OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _messages(resp) -> str:
    return " ".join(str(m) for m in resp.context["messages"]) if resp.context else ""


def _case(actor, *, case_type="disguised_training", gains=0, inst=None) -> PenaltyCase:
    inst = inst or make_institution(name="武侯隐形培训点")
    return services.case_file(
        actor=actor,
        institution_id=inst.pk,
        case_type=case_type,
        origin="inspection",
        facts="以“托管”名义开展学科类培训",
        illegal_gains_fen=gains,
    )


def test_case_page_shows_amounts_and_forms(client, officer):
    case = _case(officer, case_type="unauthorized_operation", gains=1_234_500)
    client.force_login(officer)
    html = client.get(reverse("portal:case_detail", args=[case.pk])).content.decode()
    assert "12,345.00 元" in html and 'name="amount_fine"' in html and 'name="amount_confiscation"' in html
    assert "第十七条" in html and 'enctype="multipart/form-data"' in html


def test_evidence_upload_in_scope(client, officer):
    case = _case(officer)
    client.force_login(officer)
    url = reverse("portal:case_detail", args=[case.pk])
    resp = client.post(url, {"action": "evidence", "description": "现场照片", "file": png()}, follow=True)
    assert "证据已登记" in _messages(resp)
    ev = CaseEvidence.objects.get(case=case)
    assert ev.file and ev.file.sha256 and ev.file.sha256[:12] in resp.content.decode()


def test_evidence_with_a_disguised_file_refused_nothing_changed(client, officer):
    case = _case(officer)
    client.force_login(officer)
    resp = client.post(
        reverse("portal:case_detail", args=[case.pk]),
        {"action": "evidence", "description": "照片", "file": fake_jpg()},
        follow=True,
    )
    assert "操作未完成" in _messages(resp)
    assert not CaseEvidence.objects.filter(case=case).exists()


def test_decision_with_penalties_and_amounts(client, officer):
    case = _case(officer, case_type="unauthorized_operation", gains=1_000_000)
    client.force_login(officer)
    resp = client.post(
        reverse("portal:case_detail", args=[case.pk]),
        {
            "action": "decide",
            "penalties": ["stop_operation", "fine", "confiscation"],
            "amount_fine": "20000",
            "amount_confiscation": "10,000.00",
            "gravity": "ordinary",
            "reasoning": "擅自举办，责令停止举办并处罚款",
        },
        follow=True,
    )
    assert "处罚决定已作出并生效" in _messages(resp)
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    amounts = dict(case.decision.penalties.values_list("kind", "amount_fen"))
    assert amounts == {"stop_operation": 0, "fine": 2_000_000, "confiscation": 1_000_000}
    assert case.institution.status in (InstitutionStatus.BANNED, InstitutionStatus.CLOSED)
    # the effects read as measures, not as the decision's codes
    html = client.get(reverse("portal:case_detail", args=[case.pk])).content.decode()
    effects = re.search(r'<p[^>]*id="effects">(.*?)</p>', html, re.S)[1]
    assert "机构状态：正常办学 → " in effects and "已列入黑名单" in effects
    assert "资金拨付" in effects
    for code in ("status", "blacklist_add", "funds_freeze", "banned", "closed"):
        assert code not in effects


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"penalties": ["fine"], "amount_fine": "abc"}, "罚款金额格式不正确"),
        ({"penalties": ["fine"], "amount_fine": "-5"}, "罚款金额格式不正确"),
        ({"penalties": ["fine"], "amount_fine": "1.005"}, "罚款金额格式不正确"),
        ({"penalties": ["fine"], "amount_fine": ""}, "罚款须填写金额"),
        ({"penalties": []}, "请至少选择一种处罚"),
        ({"penalties": ["fine"], "amount_fine": "60000", "gravity": "serious"}, "第十八条"),
        ({"penalties": ["confiscation"], "amount_confiscation": "1"}, "没收金额超过违法所得"),
        ({"penalties": ["warning"], "refunded_yuan": "x"}, "已退费金额格式不正确"),
        ({"penalties": ["warning"], "gravity": "apocalyptic"}, "请选择情节"),
    ],
)
def test_bad_decision_refused_in_chinese_nothing_changed(client, officer, post, message):
    case = _case(officer)
    inst_status = case.institution.status
    client.force_login(officer)
    resp = client.post(
        reverse("portal:case_detail", args=[case.pk]),
        {"action": "decide", "reasoning": "理由", "gravity": "ordinary", **post},
        follow=True,
    )
    assert message in _messages(resp), _messages(resp)
    case.refresh_from_db()
    assert case.status == CaseStatus.FILED and not Decision.objects.filter(case=case).exists()
    case.institution.refresh_from_db()
    assert case.institution.status == inst_status


def test_case_out_of_scope_is_404(client, officer):
    case = _case(officer)
    other = make_user("regulator_officer", prefixes=[OTHER_COUNTY])
    client.force_login(other)
    url = reverse("portal:case_detail", args=[case.pk])
    assert client.get(url).status_code == 404
    resp = client.post(url, {"action": "decide", "penalties": ["warning"], "reasoning": "x"})
    assert resp.status_code == 404
    assert client.post(url, {"action": "evidence", "description": "x", "file": png()}).status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.FILED and not CaseEvidence.objects.filter(case=case).exists()


def test_a_practice_ban_names_its_staff_on_the_page_and_bites(client, officer):
    from datetime import date

    from qinglang.registry import services as registry
    from qinglang.registry.models import PracticeBan

    admin = make_user("platform_admin")
    inst = make_institution(name="武侯违规托管点")
    person = registry.staff_create(
        actor=admin,
        institution_id=inst.pk,
        data={"name": "周伟", "resident_id": "11010519491231002X", "background_check_on": date(2026, 1, 5)},
    )
    case = _case(officer, inst=inst)
    client.force_login(officer)
    url = reverse("portal:case_detail", args=[case.pk])
    html = client.get(url).content.decode()
    assert f'name="banned_staff" value="{person.pk}"' in html and "周伟" in html
    base = {
        "action": "decide",
        "penalties": ["practice_ban"],
        "reasoning": "以托管名义开展学科类培训，限制从业",
    }
    resp = client.post(url, base, follow=True)
    assert "限制从业须指明" in _messages(resp) and not PracticeBan.objects.exists()
    resp = client.post(url, {**base, "banned_staff": ["x"]}, follow=True)
    assert "编号无效" in _messages(resp) and not PracticeBan.objects.exists()
    resp = client.post(url, {**base, "banned_staff": [person.pk], "ban_ends_on": "2031-12-31"}, follow=True)
    assert "处罚决定已作出并生效" in _messages(resp), _messages(resp)
    ban = PracticeBan.objects.get()
    assert ban.resident_id_digest == person.resident_id_digest and ban.ends_on == date(2031, 12, 31)
    html = client.get(url).content.decode()
    effects = re.search(r'<p[^>]*id="effects">(.*?)</p>', html, re.S)[1]
    assert "已列入限制从业名单" in effects and "practice_ban" not in effects


def test_filing_takes_the_credit_code_and_refuses_what_it_cannot_find(client, officer):
    inst = make_institution(name="武侯立案机构")
    client.force_login(officer)
    url = reverse("portal:case_list")
    post = {"case_type": "disguised_training", "origin": "inspection", "facts": "隐形变异培训"}
    resp = client.post(url, {**post, "institution": inst.uscc, "illegal_gains_yuan": "1,234.50"})
    case = PenaltyCase.objects.get(institution=inst)
    assert resp.status_code == 302 and case.illegal_gains_fen == 123_450
    assert client.post(url, {**post, "institution": "999999999"}).status_code == 404
    resp = client.post(url, {**post, "institution": inst.pk, "illegal_gains_yuan": "1.005"}, follow=True)
    assert "违法所得格式不正确" in _messages(resp)
    resp = client.post(url, {**post, "institution": ""}, follow=True)
    assert "请填写机构编号或统一社会信用代码" in _messages(resp)
    assert PenaltyCase.objects.filter(institution=inst).count() == 1
