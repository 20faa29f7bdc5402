"""Inspections pages: editing checklist templates and declaring conflicts of interest —
in scope works, out of scope is 404, bad input gets a Chinese error and changes nothing."""

import pytest
from django.urls import reverse

from qinglang.core.models import AuditEvent
from qinglang.inspections import services
from qinglang.inspections.checklists import default_template
from qinglang.inspections.models import ChecklistItem, ChecklistTemplate, ConflictOfInterest
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db


def _messages(resp) -> str:
    return " ".join(str(m) for m in resp.context["messages"]) if resp.context else ""


@pytest.fixture
def local(officer):
    """A county copy of the national general template."""
    src = default_template("general")
    return services.checklist_template_copy(
        actor=officer, template_id=src.pk, division_code=DEMO_COUNTY, name="武侯区检查清单"
    )


def test_checklist_list_and_copy(client, officer):
    src = default_template("general")
    client.force_login(officer)
    resp = client.get(reverse("portal:checklist_list"))
    assert resp.status_code == 200 and src.name in resp.content.decode()
    resp = client.post(
        reverse("portal:checklist_list"),
        {"template_id": src.pk, "name": "本区清单", "division_code": DEMO_COUNTY},
    )
    t = ChecklistTemplate.objects.get(name="本区清单")
    assert resp.status_code == 302 and resp["Location"] == reverse("portal:checklist_detail", args=[t.pk])
    assert t.items.count() == src.items.count()


def test_copy_outside_scope_refused_in_chinese(client, officer):
    src = default_template("general")
    client.force_login(officer)
    resp = client.post(
        reverse("portal:checklist_list"),
        {"template_id": src.pk, "name": "越权清单", "division_code": OTHER_COUNTY},
        follow=True,
    )
    assert "无权" in _messages(resp)
    assert not ChecklistTemplate.objects.filter(name="越权清单").exists()


def test_edit_item_in_scope(client, officer, local):
    item = local.items.order_by("position", "id").first()
    client.force_login(officer)
    url = reverse("portal:checklist_detail", args=[local.pk])
    assert client.get(url).status_code == 200
    resp = client.post(
        url,
        {
            "action": "update",
            "item_id": item.pk,
            "domain": "fire",
            "title": "疏散通道畅通、安全出口不少于两个",
            "basis": "《消防法》第十六条",
            "severity": "serious",
            "department_kind": "fire",
        },
        follow=True,
    )
    item.refresh_from_db()
    assert "已保存" in _messages(resp)
    assert (item.domain, item.title, item.basis, item.severity, item.department_kind) == (
        "fire",
        "疏散通道畅通、安全出口不少于两个",
        "《消防法》第十六条",
        "serious",
        "fire",
    )
    assert AuditEvent.objects.filter(action="checklist.item_update").exists()


def test_add_and_remove_item(client, officer, local):
    client.force_login(officer)
    url = reverse("portal:checklist_detail", args=[local.pk])
    n = local.items.count()
    client.post(
        url,
        {
            "action": "add",
            "code": "X01",
            "domain": "fire",
            "title": "灭火器在有效期内",
            "basis": "《消防法》",
            "severity": "minor",
            "department_kind": "fire",
        },
    )
    added = local.items.get(code="X01")
    assert local.items.count() == n + 1
    client.post(url, {"action": "remove", "item_id": added.pk})
    assert local.items.count() == n


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("domain", "nonsense", "请选择检查领域"),
        ("title", "  ", "请填写检查事项"),
        ("severity", "fatal", "请选择严重程度"),
        ("department_kind", "army", "请选择责任部门"),
        ("basis", "", "请填写法律依据"),
    ],
)
def test_bad_item_input_refused_nothing_changed(client, officer, local, field, value, message):
    item = local.items.order_by("position", "id").first()
    before = ChecklistItem.objects.filter(pk=item.pk).values().get()
    audits = AuditEvent.objects.count()
    data = {
        "action": "update",
        "item_id": item.pk,
        "domain": item.domain,
        "title": "改过的内容",
        "basis": item.basis,
        "severity": item.severity,
        "department_kind": item.department_kind,
        field: value,
    }
    client.force_login(officer)
    resp = client.post(reverse("portal:checklist_detail", args=[local.pk]), data, follow=True)
    assert message in _messages(resp)
    assert ChecklistItem.objects.filter(pk=item.pk).values().get() == before
    assert AuditEvent.objects.count() == audits


def test_national_template_is_read_only(client, officer):
    src = default_template("general")
    item = src.items.first()
    client.force_login(officer)
    url = reverse("portal:checklist_detail", args=[src.pk])
    assert 'value="update"' not in client.get(url).content.decode()
    resp = client.post(
        url,
        {
            "action": "update",
            "item_id": item.pk,
            "domain": item.domain,
            "title": "改",
            "basis": "x",
            "severity": "minor",
            "department_kind": "education",
        },
        follow=True,
    )
    assert "全国默认模板不能直接修改" in _messages(resp)
    item.refresh_from_db()
    assert item.title != "改"


def test_template_of_other_county_is_404(client, local):
    other = make_user("regulator_officer", prefixes=[OTHER_COUNTY])
    client.force_login(other)
    url = reverse("portal:checklist_detail", args=[local.pk])
    assert client.get(url).status_code == 404
    item = local.items.first()
    resp = client.post(url, {"action": "remove", "item_id": item.pk})
    assert resp.status_code == 404 and ChecklistItem.objects.filter(pk=item.pk).exists()


def test_inspector_cannot_edit(client, local):
    client.force_login(make_user("inspector"))
    item = local.items.first()
    resp = client.post(
        reverse("portal:checklist_detail", args=[local.pk]), {"action": "remove", "item_id": item.pk}
    )
    assert resp.status_code == 403 and ChecklistItem.objects.filter(pk=item.pk).exists()


def test_inspector_declares_conflict(client):
    inst = make_institution(name="武侯阳光艺术培训")
    ins = make_user("inspector", department_kind="education")
    client.force_login(ins)
    assert client.get(reverse("portal:conflicts")).status_code == 200
    resp = client.post(
        reverse("portal:conflicts"),
        {"institution": str(inst.pk), "reason": "近亲属在该机构任职"},
        follow=True,
    )
    assert "回避申报已登记" in _messages(resp)
    assert ConflictOfInterest.objects.filter(inspector=ins, institution=inst).exists()
    assert "武侯阳光艺术培训" in resp.content.decode()


def test_conflict_by_credit_code_and_for_an_inspector(client, officer):
    inst = make_institution(name="武侯星光培训")
    ins = make_user("inspector")
    client.force_login(officer)
    client.post(
        reverse("portal:conflicts"),
        {"institution": inst.uscc or str(inst.pk), "reason": "曾在该机构兼职", "inspector_id": str(ins.pk)},
    )
    assert ConflictOfInterest.objects.filter(inspector=ins, institution=inst).exists()


def test_conflict_without_reason_refused_nothing_changed(client):
    inst = make_institution()
    client.force_login(make_user("inspector"))
    resp = client.post(reverse("portal:conflicts"), {"institution": str(inst.pk), "reason": " "}, follow=True)
    assert "请说明回避理由" in _messages(resp)
    assert not ConflictOfInterest.objects.exists()


def test_conflict_with_institution_out_of_scope_is_404(client):
    other = make_institution(division_code=OTHER_COUNTY)
    client.force_login(make_user("inspector"))
    resp = client.post(reverse("portal:conflicts"), {"institution": str(other.pk), "reason": "亲属"})
    assert resp.status_code == 404 and not ConflictOfInterest.objects.exists()


def test_conflict_list_shows_only_own(client):
    inst = make_institution()
    a, b = make_user("inspector"), make_user("inspector")
    services.conflict_declare(actor=a, institution_id=inst.pk, reason="甲的理由")
    client.force_login(b)
    assert "甲的理由" not in client.get(reverse("portal:conflicts")).content.decode()


def test_retire_and_reinstate_item_on_the_console(client, officer, local):
    item = local.items.get(code="N01")
    client.force_login(officer)
    url = reverse("portal:checklist_detail", args=[local.pk])
    resp = client.post(url, {"action": "retire", "item_id": item.pk}, follow=True)
    assert "检查事项已停用" in _messages(resp) and "已停用" in resp.content.decode()
    item.refresh_from_db()
    assert item.retired_at is not None and item not in local.active_items()
    resp = client.post(url, {"action": "retire", "item_id": item.pk}, follow=True)
    assert "该检查事项已停用" in _messages(resp)
    resp = client.post(url, {"action": "reinstate", "item_id": item.pk}, follow=True)
    assert "已恢复启用" in _messages(resp)
    item.refresh_from_db()
    assert item.retired_at is None


def _planned_task(admin, leader, inst):
    from datetime import date

    from qinglang.inspections.models import Task
    from qinglang.inspections.tests.helpers import campaign_data, inspectors

    inspectors(2)
    c = services.campaign_create(actor=leader, data=campaign_data())
    services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, team_size=1, seed="p", today=date(2026, 3, 1)
    )
    task = Task.objects.get(campaign=c, institution=inst)
    from django.contrib.auth import get_user_model

    return task, get_user_model().objects.get(pk=task.team.members.get().user_id)


def test_inspector_declares_conflict_from_the_task_page(client, admin, leader):
    inst = make_institution(admin, name="玉林小饭桌")
    task, member = _planned_task(admin, leader, inst)
    client.force_login(member)
    url = reverse("portal:task_detail", args=[task.pk])
    assert "申报回避" in client.get(url).content.decode()
    resp = client.post(
        reverse("portal:conflicts"),
        {"institution": str(inst.pk), "reason": "表姐是该机构负责人", "task_id": str(task.pk)},
    )
    assert resp.status_code == 302 and resp["Location"] == url
    assert ConflictOfInterest.objects.filter(inspector=member, institution=inst, withdrawn_at=None).exists()
    page = client.get(url).content.decode()
    assert "您已申报与该机构存在利害关系" in page and "表姐是该机构负责人" in page


def test_officer_withdraws_a_conflict_with_a_reason(client, officer):
    inst = make_institution(name="武侯星空美术")
    ins = make_user("inspector")
    coi = services.conflict_declare(actor=ins, institution_id=inst.pk, reason="亲属任职")
    url = reverse("portal:conflict_withdraw", args=[coi.pk])
    client.force_login(ins)
    assert client.post(url, {"reason": "自行撤销"}).status_code == 403
    client.force_login(officer)
    assert "撤销" in client.get(reverse("portal:conflicts")).content.decode()
    resp = client.post(url, {"reason": " "}, follow=True)
    assert "请说明撤销理由" in _messages(resp)
    coi.refresh_from_db()
    assert coi.withdrawn_at is None
    resp = client.post(url, {"reason": "亲属已离职"}, follow=True)
    assert "回避申报已撤销" in _messages(resp)
    coi.refresh_from_db()
    assert coi.withdrawn_at and coi.withdraw_reason == "亲属已离职"
    assert "武侯星空美术" not in client.get(reverse("portal:conflicts")).content.decode()
    assert "亲属已离职" in client.get(reverse("portal:conflicts"), {"withdrawn": "1"}).content.decode()


def test_withdraw_other_county_conflict_is_404(client):
    other = make_institution(division_code=OTHER_COUNTY)
    ins = make_user("inspector", prefixes=[OTHER_COUNTY])
    coi = services.conflict_declare(actor=ins, institution_id=other.pk, reason="亲属")
    client.force_login(make_user("regulator_leader"))
    resp = client.post(reverse("portal:conflict_withdraw", args=[coi.pk]), {"reason": "越权"})
    assert resp.status_code == 404
    coi.refresh_from_db()
    assert coi.withdrawn_at is None


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"item_id": "99999999999999999999", "action": "retire"}, "检查事项无效"),
        ({"item_id": "abc", "action": "remove"}, "检查事项无效"),
        ({"action": "add", "code": "X" * 17, "title": "过长编号"}, "编号"),
    ],
)
def test_a_malformed_checklist_action_says_why_and_changes_nothing(client, officer, local, post, message):
    client.force_login(officer)
    before = list(local.items.values_list("id", "code", "retired_at"))
    events = AuditEvent.objects.count()
    resp = client.post(reverse("portal:checklist_detail", args=[local.pk]), post, follow=True)
    assert resp.status_code == 200 and message in _messages(resp), _messages(resp)
    assert list(local.items.values_list("id", "code", "retired_at")) == before
    assert AuditEvent.objects.count() == events


def test_the_campaign_form_offers_divisions_by_name_and_refuses_a_bad_draw(client, officer):
    from datetime import timedelta

    from django.utils import timezone

    from qinglang.inspections.models import Campaign, Draw

    make_institution(name="抽查对象一")
    client.force_login(officer)
    html = client.get(reverse("portal:campaign_board")).content.decode()
    assert f'<option value="{DEMO_COUNTY}">' in html and "区划代码" not in html
    today = timezone.localdate()
    resp = client.post(
        reverse("portal:campaign_board"),
        {
            "name": "暑期专项",
            "division_code": DEMO_COUNTY,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
            "coverage_goal": "100",
        },
    )
    c = Campaign.objects.get(name="暑期专项")
    assert resp.status_code == 302
    resp = client.post(
        reverse("portal:campaign_board"),
        {"name": "坏日期", "division_code": DEMO_COUNTY, "starts_on": "2026-13-01"},
    )
    assert not Campaign.objects.filter(name="坏日期").exists()
    url = reverse("portal:campaign_detail", args=[c.pk])
    for share, msg in (("abc", "抽取比例格式不正确"), ("150", "抽取比例应在0到100之间")):
        resp = client.post(url, {"action": "draw", "share": share}, follow=True)
        assert msg in _messages(resp), _messages(resp)
    assert not Draw.objects.filter(campaign=c).exists()
