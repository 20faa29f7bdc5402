"""Inspections API: regulators edit checklist templates (copy a default for their division,
add, edit, retire items) and manage conflicts of interest (回避). Errors are JSON
{code, message, detail}; refused writes change nothing; the draw excludes a conflict
declared through the API until it is withdrawn."""

import json
from datetime import date

import pytest
from django.test import Client

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent
from qinglang.inspections import services
from qinglang.inspections.checklists import default_template
from qinglang.inspections.models import ChecklistItem, ConflictOfInterest, Task
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_institution, make_user

from .helpers import answer_all, campaign_data, inspectors

pytestmark = pytest.mark.django_db

ITEM = {
    "code": "L01",
    "domain": "fire",
    "title": "灭火器在有效期内且摆放到位",
    "basis": "《消防法》第十六条",
    "severity": "major",
    "department_kind": "fire",
}


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _send(c: Client, method: str, url: str, payload=None):
    return getattr(c, method)(url, json.dumps(payload or {}), content_type="application/json")


def _error(resp, status: int, code: str, text: str = "") -> dict:
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code, body
    assert text in body["message"], body
    return body


@pytest.fixture
def copied(officer):
    """The officer's county copy of the national general template, made through the API."""
    src = default_template("general")
    r = _send(
        _client(officer),
        "post",
        f"/api/inspections/checklists/{src.pk}/copy",
        {"division_code": DEMO_COUNTY, "name": "武侯区综合检查清单"},
    )
    assert r.status_code == 201, r.content
    return r.json()


# --- checklist templates ---------------------------------------------------------------------


def test_list_copy_and_read_a_template(officer, copied):
    c = _client(officer)
    src = default_template("general")
    listed = {t["id"]: t for t in c.get("/api/inspections/checklists").json()}
    assert listed[src.pk]["national"] and not listed[src.pk]["editable"]
    assert listed[copied["id"]]["division_code"] == DEMO_COUNTY and listed[copied["id"]]["editable"]
    assert [i["code"] for i in copied["items"]] == list(
        src.items.order_by("position", "id").values_list("code", flat=True)
    )
    first = copied["items"][0]
    assert first["basis"] and first["severity"] in {"minor", "major", "serious"} and first["department_kind"]
    assert AuditEvent.objects.filter(action="checklist.copy", object_id=str(copied["id"])).exists()
    # another county's officer does not see the copy, and gets a 404 like for a missing id
    other = _client(make_user(Role.REGULATOR_OFFICER, prefixes=[OTHER_COUNTY]))
    assert copied["id"] not in {t["id"] for t in other.get("/api/inspections/checklists").json()}
    _error(other.get(f"/api/inspections/checklists/{copied['id']}"), 404, "not_found")
    _error(other.get("/api/inspections/checklists/987654"), 404, "not_found")


def test_copy_for_a_division_outside_scope_is_refused(officer):
    src = default_template("general")
    before = AuditEvent.objects.count()
    r = _send(
        _client(officer),
        "post",
        f"/api/inspections/checklists/{src.pk}/copy",
        {"division_code": OTHER_COUNTY, "name": "越权清单"},
    )
    _error(r, 403, "forbidden", "无权")
    assert AuditEvent.objects.count() == before


def test_add_edit_and_retire_items(officer, copied):
    c = _client(officer)
    base = f"/api/inspections/checklists/{copied['id']}/items"
    r = _send(c, "post", base, ITEM)
    assert r.status_code == 201, r.content
    added = r.json()
    assert added["domain"] == "fire" and added["domain_label"] == "消防安全" and not added["retired"]
    # edit: only the fields sent change
    r = _send(c, "patch", f"{base}/{added['id']}", {"severity": "serious", "basis": "《消防法》第二十八条"})
    assert r.status_code == 200, r.content
    item = ChecklistItem.objects.get(pk=added["id"])
    assert (item.severity, item.basis, item.title) == ("serious", "《消防法》第二十八条", ITEM["title"])
    ev = AuditEvent.objects.filter(action="checklist.item_update").latest("seq")
    assert ev.changes["severity"] == ["major", "serious"]
    # retire: stays in the template, no longer asked
    r = _send(c, "post", f"{base}/{added['id']}/retire")
    assert r.status_code == 200 and r.json()["retired"]
    detail = c.get(f"/api/inspections/checklists/{copied['id']}").json()
    assert detail["active_items"] == len(copied["items"])
    assert {i["id"]: i["retired"] for i in detail["items"]}[added["id"]] is True
    _error(_send(c, "post", f"{base}/{added['id']}/retire"), 409, "item_already_retired", "已停用")
    r = _send(c, "post", f"{base}/{added['id']}/reinstate")
    assert r.status_code == 200 and not r.json()["retired"]
    assert AuditEvent.objects.filter(action="checklist.item_retire").count() == 1
    assert AuditEvent.objects.filter(action="checklist.item_reinstate").count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"domain": "astrology"}, "请选择检查领域"),
        ({"severity": "fatal"}, "请选择严重程度"),
        ({"department_kind": "army"}, "请选择责任部门"),
        ({"basis": "  "}, "请填写法律依据"),
        ({"title": ""}, "请填写检查事项"),
        ({"code": "Q01"}, "已存在"),
    ],
)
def test_bad_item_refused_with_chinese_error_and_nothing_written(officer, copied, change, message):
    before_items, before_audit = ChecklistItem.objects.count(), AuditEvent.objects.count()
    r = _send(
        _client(officer), "post", f"/api/inspections/checklists/{copied['id']}/items", {**ITEM, **change}
    )
    body = _error(r, 422, "invalid", message)
    assert body["detail"]
    assert ChecklistItem.objects.count() == before_items and AuditEvent.objects.count() == before_audit


def test_bad_edit_refused_and_item_unchanged(officer, copied):
    item_id = copied["items"][0]["id"]
    before = ChecklistItem.objects.get(pk=item_id)
    r = _send(
        _client(officer),
        "patch",
        f"/api/inspections/checklists/{copied['id']}/items/{item_id}",
        {"title": "新标题", "domain": "nonsense"},
    )
    _error(r, 422, "invalid", "请选择检查领域")
    after = ChecklistItem.objects.get(pk=item_id)
    assert (after.title, after.domain) == (before.title, before.domain)
    r = _send(
        _client(officer), "patch", f"/api/inspections/checklists/{copied['id']}/items/1", {"title": "x"}
    )
    _error(r, 404, "not_found")  # an item of another template (the national default)


def test_national_template_read_only_and_inspector_cannot_edit(officer, copied):
    src = default_template("general")
    item = src.items.first()
    c = _client(officer)
    _error(_send(c, "post", f"/api/inspections/checklists/{src.pk}/items", ITEM), 400, "template_national")
    _error(
        _send(c, "post", f"/api/inspections/checklists/{src.pk}/items/{item.pk}/retire"),
        400,
        "template_national",
    )
    inspector = _client(make_user(Role.INSPECTOR))
    assert inspector.get(f"/api/inspections/checklists/{copied['id']}").status_code == 200
    first = copied["items"][0]["id"]
    _error(
        _send(inspector, "post", f"/api/inspections/checklists/{copied['id']}/items/{first}/retire"),
        403,
        "forbidden",
    )
    assert ChecklistItem.objects.get(pk=first).retired_at is None


def test_template_in_use_edit_refused_but_retire_allowed(admin, leader):
    make_institution(admin)
    inspectors(2)
    src = default_template("general")
    t = services.checklist_template_copy(
        actor=leader, template_id=src.pk, division_code=DEMO_COUNTY, name="本地"
    )
    c = services.campaign_create(actor=leader, data=campaign_data(template_id=t.pk))
    services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, team_size=1, seed="s", today=date(2026, 3, 1)
    )
    api = _client(leader)
    n01 = t.items.get(code="N01")
    r = _send(api, "patch", f"/api/inspections/checklists/{t.pk}/items/{n01.pk}", {"title": "改变含义"})
    _error(r, 400, "template_in_use", "不能修改")
    r = _send(api, "post", f"/api/inspections/checklists/{t.pk}/items/{n01.pk}/retire")
    assert r.status_code == 200
    # the inspection form no longer asks N01; an answer to it is refused
    task = Task.objects.get(campaign=c)
    results = answer_all(task)
    assert n01.pk not in {r["item_id"] for r in results}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="不在本次检查清单中"):
        services.inspection_record_submit(
            actor=leader,
            task_id=task.pk,
            inspected_on=date(2026, 3, 2),
            results=[*results, {"item_id": n01.pk, "outcome": "compliant"}],
        )
    rec = services.inspection_record_submit(
        actor=leader, task_id=task.pk, inspected_on=date(2026, 3, 2), results=results
    )
    assert rec.results.count() == len(results)


def test_last_active_item_cannot_be_retired(officer):
    t = services.checklist_template_copy(
        actor=officer, template_id=default_template("safety").pk, division_code=DEMO_COUNTY, name="安全"
    )
    api = _client(officer)
    items = list(t.items.all())
    for i in items[:-1]:
        assert (
            _send(api, "post", f"/api/inspections/checklists/{t.pk}/items/{i.pk}/retire").status_code == 200
        )
    r = _send(api, "post", f"/api/inspections/checklists/{t.pk}/items/{items[-1].pk}/retire")
    _error(r, 400, "template_empty", "至少要保留")
    assert t.active_items().count() == 1


# --- conflicts of interest ---------------------------------------------------------------------


def test_inspector_declares_and_regulators_list_in_scope(admin, leader):
    inst = make_institution(admin, name="望江书画院")
    far = make_institution(admin, division_code=OTHER_COUNTY)
    me, other = inspectors(2)
    r = _send(
        _client(me),
        "post",
        "/api/inspections/conflicts",
        {"institution_id": inst.pk, "reason": "配偶在该机构任教"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["inspector_id"], body["institution_name"], body["withdrawn_at"]) == (
        me.pk,
        "望江书画院",
        None,
    )
    assert AuditEvent.objects.filter(action="conflict.declare", object_id=str(body["id"])).exists()
    # declaring it again returns the standing declaration
    r = _send(
        _client(me), "post", "/api/inspections/conflicts", {"institution_id": inst.pk, "reason": "再次"}
    )
    assert r.status_code == 201 and r.json()["id"] == body["id"] and r.json()["reason"] == "配偶在该机构任教"
    assert [c["id"] for c in _client(leader).get("/api/inspections/conflicts").json()] == [body["id"]]
    assert _client(other).get("/api/inspections/conflicts").json() == []
    outsider = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    assert _client(outsider).get("/api/inspections/conflicts").json() == []
    # an institution outside the inspector's area is a 404, like one that does not exist
    before = ConflictOfInterest.objects.count()
    r = _send(_client(me), "post", "/api/inspections/conflicts", {"institution_id": far.pk, "reason": "亲属"})
    _error(r, 404, "not_found")
    r = _send(_client(me), "post", "/api/inspections/conflicts", {"institution_id": 987654, "reason": "亲属"})
    _error(r, 404, "not_found")
    _error(
        _send(_client(me), "post", "/api/inspections/conflicts", {"institution_id": inst.pk, "reason": " "}),
        422,
        "invalid",
        "请说明回避理由",
    )
    _error(_send(_client(me), "post", "/api/inspections/conflicts", {"reason": "x"}), 422, "invalid_request")
    assert ConflictOfInterest.objects.count() == before


def test_officer_records_for_an_inspector_of_the_area_only(admin, officer):
    inst = make_institution(admin)
    (ins,) = inspectors(1)
    far_inspector = make_user(Role.INSPECTOR, prefixes=[OTHER_COUNTY])
    api = _client(officer)
    r = _send(
        api,
        "post",
        "/api/inspections/conflicts",
        {"institution_id": inst.pk, "reason": "曾在该机构兼职", "inspector_id": ins.pk},
    )
    assert r.status_code == 201 and r.json()["inspector_id"] == ins.pk
    for bad in (far_inspector.pk, 987654):
        r = _send(
            api,
            "post",
            "/api/inspections/conflicts",
            {"institution_id": inst.pk, "reason": "x", "inspector_id": bad},
        )
        _error(r, 422, "invalid", "不是该机构所在区划的执法检查人员")
    # an inspector cannot record a conflict for a colleague
    r = _send(
        _client(ins),
        "post",
        "/api/inspections/conflicts",
        {"institution_id": inst.pk, "reason": "x", "inspector_id": far_inspector.pk},
    )
    _error(r, 403, "forbidden")
    assert ConflictOfInterest.objects.count() == 1


def test_draw_excludes_a_conflict_declared_through_the_api_until_withdrawn(admin, leader):
    inst = make_institution(admin)
    a_ins, b_ins = inspectors(2, depts=("education",))
    r = _send(
        _client(a_ins),
        "post",
        "/api/inspections/conflicts",
        {"institution_id": inst.pk, "reason": "亲属在该机构任职"},
    )
    conflict_id = r.json()["id"]

    def draw(name, day):
        c = services.campaign_create(
            actor=leader, data=campaign_data(name=name, starts_on=day, ends_on=date(2026, 6, 30))
        )
        d = services.campaign_draw(actor=leader, campaign_id=c.pk, count=1, team_size=1, seed=name, today=day)
        task = Task.objects.get(campaign=c, institution=inst)
        members = list(task.team.members.values_list("user_id", flat=True)) if task.team_id else []
        return d, task, members

    # 1: only b may go
    _, _, members = draw("一", date(2026, 3, 2))
    assert members == [b_ins.pk]
    # 2: b inspected it recently (gap), a declared a conflict → nobody; a cannot be assigned
    d2, t2, members = draw("二", date(2026, 3, 9))
    assert members == [] and {"conflict", "random_inspection.same_inspector_gap_days", "unstaffed"} <= {
        e["rule"] for e in d2.exclusions
    }
    with pytest.raises(Exception, match="应当回避"):
        services.task_assign(actor=leader, task_id=t2.pk, inspector_ids=[a_ins.pk])
    # the inspector cannot withdraw their own declaration; the leader can, with a reason
    url = f"/api/inspections/conflicts/{conflict_id}/withdraw"
    _error(_send(_client(a_ins), "post", url, {"reason": "不再回避"}), 403, "forbidden")
    _error(_send(_client(leader), "post", url, {"reason": ""}), 422, "invalid", "请说明撤销理由")
    assert ConflictOfInterest.objects.get(pk=conflict_id).withdrawn_at is None
    r = _send(_client(leader), "post", url, {"reason": "亲属已离职"})
    assert r.status_code == 200 and r.json()["withdrawn_at"] and r.json()["withdraw_reason"] == "亲属已离职"
    _error(_send(_client(leader), "post", url, {"reason": "再次"}), 409, "conflict_withdrawn")
    assert AuditEvent.objects.filter(action="conflict.withdraw", object_id=str(conflict_id)).count() == 1
    assert _client(leader).get("/api/inspections/conflicts").json() == []
    listed = _client(leader).get("/api/inspections/conflicts", {"include_withdrawn": True}).json()
    assert [c["id"] for c in listed] == [conflict_id]
    # 3: withdrawn → a is drawn again; and may be assigned by hand
    _, _, members = draw("三", date(2026, 3, 16))
    assert members == [a_ins.pk]
    services.task_assign(actor=leader, task_id=t2.pk, inspector_ids=[a_ins.pk])
    # a new declaration is a new row
    r = _send(
        _client(a_ins),
        "post",
        "/api/inspections/conflicts",
        {"institution_id": inst.pk, "reason": "又有亲属入职"},
    )
    assert r.status_code == 201 and r.json()["id"] != conflict_id


def test_withdraw_out_of_scope_is_404(admin, leader):
    inst = make_institution(admin)
    (ins,) = inspectors(1)
    coi = services.conflict_declare(actor=ins, institution_id=inst.pk, reason="亲属")
    outsider = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    _error(
        _send(_client(outsider), "post", f"/api/inspections/conflicts/{coi.pk}/withdraw", {"reason": "越权"}),
        404,
        "not_found",
    )
    assert ConflictOfInterest.objects.get(pk=coi.pk).withdrawn_at is None
