"""Issue #13 item 10 (last part): list and status decisions belong to the institution's
competent department and the county's task force; other departments record findings.
A refused decision changes nothing and leaves no audit event."""

import pytest

from qinglang.accounts.models import Role
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.registry import services
from qinglang.registry.models import Institution
from qinglang.testing import DEMO_COUNTY, admin_user, make_institution, make_user


@pytest.fixture
def arts(db):
    inst = make_institution(admin_user(), kind="arts", whitelisted=True)  # 文化和旅游局 supervises
    assert inst.competent_department.kind == "culture_tourism"
    return inst


def _officer(dept: str = ""):
    return make_user(Role.REGULATOR_OFFICER, prefixes=[DEMO_COUNTY], department_kind=dept)


DECISIONS = [
    lambda a, i: services.institution_suspend(actor=a, institution_id=i, reason="消防检查不合格"),
    lambda a, i: services.institution_stop_enrollment(actor=a, institution_id=i, reason="超前培训"),
    lambda a, i: services.blacklist_add(actor=a, institution_id=i, reason="严重违规"),
    lambda a, i: services.whitelist_remove(actor=a, institution_id=i, reason="严重违规"),
]


@pytest.mark.parametrize(
    "decide", DECISIONS, ids=["suspend", "stop_enrollment", "blacklist", "whitelist_remove"]
)
def test_another_department_may_not_decide_and_nothing_changes(arts, decide):
    fire = _officer("fire")
    before = Institution.objects.filter(pk=arts.pk).values().get()
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDeniedError) as exc:
        decide(fire, arts.pk)
    assert "主管部门或双减工作专班" in exc.value.message
    assert Institution.objects.filter(pk=arts.pk).values().get() == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("dept", ["culture_tourism", ""], ids=["competent", "task_force"])
def test_competent_department_and_task_force_decide(arts, dept):
    actor = _officer(dept)
    services.institution_suspend(actor=actor, institution_id=arts.pk, reason="消防检查不合格")
    services.blacklist_add(actor=actor, institution_id=arts.pk, reason="严重违规")
    arts.refresh_from_db()
    assert arts.status == "suspended" and arts.blacklisted


def test_the_api_answers_403_to_another_department(arts, client):
    client.force_login(_officer("market_regulation"))
    r = client.post(
        f"/api/registry/institutions/{arts.pk}/transitions",
        {"to_status": "suspended", "reason": "价格违规"},
        content_type="application/json",
    )
    assert r.status_code == 403 and r.json()["code"]
    assert Institution.objects.get(pk=arts.pk).status == "active"
