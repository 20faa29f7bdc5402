"""Through the API: an inspector sees only their tasks, an institution only its own rectification
items and notices; illegal rectification transitions and bad evidence are refused with JSON
{code, message, detail} and change nothing."""

import json
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from qinglang.accounts.models import Role
from qinglang.core.models import AuditEvent
from qinglang.inspections import services
from qinglang.inspections.models import (
    Notice,
    Record,
    RectificationItem,
    RectificationItemTransition,
    RectificationStatus,
    Task,
    TaskStatus,
)
from qinglang.testing import make_institution, make_user

from .helpers import answer_all, campaign_data, fake_jpg, inspectors

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _member(task):
    return get_user_model().objects.get(pk=task.team.members.first().user_id)


@pytest.fixture
def inspected(admin, leader):
    """Two institutions drawn to different one-person teams; the first inspected with a
    rectification finding (a notice and a rectification item)."""
    a, b = make_institution(admin, name="甲机构"), make_institution(admin, name="乙机构")
    inspectors(2, depts=("education",))
    c = services.campaign_create(actor=leader, data=campaign_data())
    services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, team_size=1, seed="s", today=date(2026, 3, 1)
    )
    ta, tb = Task.objects.get(campaign=c, institution=a), Task.objects.get(campaign=c, institution=b)
    assert _member(ta) != _member(tb)
    services.inspection_record_submit(
        actor=_member(ta),
        task_id=ta.pk,
        inspected_on=date(2026, 3, 2),
        results=answer_all(ta, findings={"F01": "rectification"}),
    )
    return {"a": a, "b": b, "ta": ta, "tb": tb, "item": RectificationItem.objects.get(institution=a)}


def test_inspector_sees_only_their_tasks_through_the_api(inspected):
    ta, tb = inspected["ta"], inspected["tb"]
    api = _client(_member(tb))
    assert [t["id"] for t in api.get("/api/inspections/tasks", {"status": ""}).json()] == [tb.pk]
    assert api.get(f"/api/inspections/tasks/{tb.pk}").json()["institution_name"] == "乙机构"
    r = api.get(f"/api/inspections/tasks/{ta.pk}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # and cannot record the other team's inspection on the page either
    page = _client(_member(tb)).get(reverse("portal:task_detail", args=[ta.pk]))
    assert page.status_code == 404


def test_institution_sees_only_its_own_items_and_notices(inspected):
    a, b, item = inspected["a"], inspected["b"], inspected["item"]
    own = _client(make_user(Role.INSTITUTION_ADMIN, institution_id=a.pk))
    other = _client(make_user(Role.INSTITUTION_ADMIN, institution_id=b.pk))
    assert [i["id"] for i in own.get("/api/inspections/rectifications").json()] == [item.pk]
    assert other.get("/api/inspections/rectifications").json() == []
    notice = Notice.objects.get(institution=a)
    url = reverse("portal:notice_download", args=[notice.pk])
    r = own.get(url)
    assert r.status_code == 200 and r["Content-Type"].endswith("wordprocessingml.document")
    assert other.get(url).status_code == 404
    assert "甲机构" not in other.get(reverse("portal:org_rectification")).content.decode()
    assert other.get(reverse("portal:org_item", args=[item.pk])).status_code == 404


def test_illegal_transition_is_409_and_changes_nothing(inspected, leader):
    item = inspected["item"]
    api = _client(leader)
    before_tr, before_audit = RectificationItemTransition.objects.count(), AuditEvent.objects.count()
    for action in ("verify", "close-out"):
        r = api.post(
            f"/api/inspections/rectifications/{item.pk}/{action}",
            json.dumps({}),
            content_type="application/json",
        )
        assert r.status_code == 409, r.content
        body = r.json()
        assert body["code"] == "illegal_transition" and "不允许的状态变更：待整改 →" in body["message"]
        assert body["detail"]["from"] == "issued"  # codes for machines, labels for people
    r = api.post(
        f"/api/inspections/rectifications/{item.pk}/return", json.dumps({}), content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    item.refresh_from_db()
    assert item.status == RectificationStatus.ISSUED
    assert (
        RectificationItemTransition.objects.count() == before_tr
        and AuditEvent.objects.count() == before_audit
    )


def test_wrong_evidence_on_the_phone_form_refused_in_chinese_nothing_written(inspected, media_root):
    tb = inspected["tb"]
    member = _member(tb)
    items = list(tb.campaign.template.active_items())
    data = {"inspected_on": "2026-03-02"}
    for i in items:
        data[f"outcome_{i.pk}"] = "compliant"
    f01 = next(i for i in items if i.code == "F01")
    data[f"outcome_{f01.pk}"] = "rectification"
    data[f"desc_{f01.pk}"] = "安全出口堵塞"
    data[f"files_{f01.pk}"] = fake_jpg("现场.jpg")
    before = AuditEvent.objects.count()
    resp = _client(member).post(reverse("portal:task_detail", args=[tb.pk]), data)
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "操作未完成" in page and "现场.jpg" in page and "不是允许的类型" in page
    tb.refresh_from_db()
    assert tb.status == TaskStatus.PLANNED and not Record.objects.filter(task=tb).exists()
    assert not Notice.objects.filter(task=tb).exists() and AuditEvent.objects.count() == before
    evidence_dir = media_root / "evidence"
    assert not evidence_dir.exists() or not any(p.is_file() for p in evidence_dir.rglob("*"))


def test_wrong_evidence_on_the_institution_end_refused_in_chinese(inspected):
    a, item = inspected["a"], inspected["item"]
    org = _client(make_user(Role.INSTITUTION_ADMIN, institution_id=a.pk))
    resp = org.post(
        reverse("portal:org_item", args=[item.pk]), {"measures": "已清理", "files": fake_jpg("整改照片.jpg")}
    )
    assert resp.status_code == 200 and "不是允许的类型" in resp.content.decode()
    item.refresh_from_db()
    assert item.status == RectificationStatus.ISSUED and not item.evidence.exists() and item.measures == ""


def _answers(task, findings: dict) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "files"} for r in answer_all(task, findings=findings)]


def test_record_through_the_api_issues_the_notice_or_defers_it(inspected, admin, leader):
    tb = inspected["tb"]
    member = _member(tb)
    url = f"/api/inspections/tasks/{tb.pk}/record"
    # another inspector: the task is not theirs (404, as for a missing one)
    r = _client(_member(inspected["ta"])).post(
        url, json.dumps({"inspected_on": "2025-09-26", "results": []}), content_type="application/json"
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # a missing answer: a Chinese message, nothing written
    answers = _answers(tb, {"F01": "rectification"})
    r = _client(member).post(
        url,
        json.dumps({"inspected_on": "2025-09-26", "results": answers[1:]}),
        content_type="application/json",
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid" and "未填写" in r.json()["message"]
    assert not Record.objects.filter(task=tb).exists()
    # deferred: the record now, the notice from the batch job
    r = _client(member).post(
        url,
        json.dumps(
            {"inspected_on": "2025-09-26", "results": answers, "deadline_days": 10, "defer_notice": True}
        ),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["notice_pending"] and body["notice_id"] is None and body["findings"] == 1
    org = _client(make_user(Role.INSTITUTION_ADMIN, institution_id=inspected["b"].pk))
    assert org.get("/api/inspections/notices").json() == []
    assert services.notices_issue_pending() == 1
    (n,) = org.get("/api/inspections/notices").json()
    assert n["deadline_on"] == "2025-10-16" and n["items"] == 1 and n["institution_name"] == "乙机构"
    assert org.get(f"/api/inspections/notices/{n['id']}").json()["number"] == n["number"]
    # the other institution does not see it
    other = _client(make_user(Role.INSTITUTION_ADMIN, institution_id=inspected["a"].pk))
    assert n["id"] not in {x["id"] for x in other.get("/api/inspections/notices").json()}
    assert other.get(f"/api/inspections/notices/{n['id']}").status_code == 404
    # submitting again is an illegal transition
    r = _client(member).post(
        url, json.dumps({"inspected_on": "2025-09-26", "results": answers}), content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"


def test_record_through_the_api_issues_the_notice_at_once(admin, leader):
    inst = make_institution(admin, name="丙机构")
    inspectors(1)
    c = services.campaign_create(actor=leader, data=campaign_data())
    services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, team_size=1, seed="t", today=date(2026, 3, 1)
    )
    task = Task.objects.get(campaign=c, institution=inst)
    r = _client(_member(task)).post(
        f"/api/inspections/tasks/{task.pk}/record",
        json.dumps({"inspected_on": "2025-09-26", "results": _answers(task, {"F01": "rectification"})}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert not body["notice_pending"] and body["notice_number"] and body["deadline_on"]
    assert Notice.objects.get(pk=body["notice_id"]).path


def test_reinspection_belongs_to_the_issuing_department_and_the_team(inspected):
    """A department-scoped officer of another department cannot verify or return the item
    (before: the write was committed and audited, then the API answered 404)."""
    from .helpers import png

    item, ta = inspected["item"], inspected["ta"]
    org = make_user(Role.INSTITUTION_ADMIN, institution_id=inspected["a"].pk)
    services.rectification_submit(actor=org, item_id=item.pk, measures="已整改", uploads=[png()])
    other_kind = "housing" if item.department_kind != "housing" else "urban_management"
    for role in (Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.REGULATOR_LEADER):
        outsider = _client(make_user(role, department_kind=other_kind))
        for action, body in (("verify", {"note": "越权复查"}), ("return", {"reason": "越权退回"})):
            seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
            r = outsider.post(
                f"/api/inspections/rectifications/{item.pk}/{action}",
                json.dumps(body),
                content_type="application/json",
            )
            assert r.status_code == 403, (role, action, r.status_code, r.content[:200])
            assert r.json()["code"] == "forbidden" and "复查" in r.json()["message"]
            assert not AuditEvent.objects.filter(seq__gt=seq).exists()
            assert RectificationItem.objects.get(pk=item.pk).status == RectificationStatus.SUBMITTED
            assert RectificationItemTransition.objects.filter(item=item).count() == 2
    # the issuing department reinspects; so does the joint team's member of another department
    same_dept = _client(make_user(Role.INSPECTOR, department_kind=item.department_kind))
    r = same_dept.post(
        f"/api/inspections/rectifications/{item.pk}/return",
        json.dumps({"reason": "仍有隐患"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == RectificationStatus.RETURNED
    services.rectification_submit(actor=org, item_id=item.pk, measures="再次整改", uploads=[png()])
    member = _member(ta)
    assert membership_kind(member) != item.department_kind
    r = _client(member).post(
        f"/api/inspections/rectifications/{item.pk}/verify",
        json.dumps({"note": "复查合格"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == RectificationStatus.VERIFIED


def membership_kind(user) -> str:
    from qinglang.accounts.models import Membership

    return Membership.objects.get(user=user).department_kind
