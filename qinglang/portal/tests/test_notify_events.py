"""Everyone hears of their own events, once the service's transaction commits: the right
person gets one notification of the event's kind, nobody else — in particular nobody in
another county or another institution. The daily reminders are idempotent. The inbox
groups by kind, counts unread and filters."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Notification, Role
from qinglang.accounts.permissions import system
from qinglang.clues import services as clues
from qinglang.core.services import department_ensure_for_division
from qinglang.funds import services as funds
from qinglang.funds.models import Lesson, LessonStatus
from qinglang.funds.reminders import funds_send_reminders
from qinglang.funds.testing import funds_world, paid_order
from qinglang.registry import services as registry
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, TOWNSHIP, make_institution, make_user

pytestmark = pytest.mark.django_db


def _kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def _only(kind: str, user) -> None:
    """``user`` got exactly one notification of ``kind`` and nobody else got one."""
    got = list(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))
    assert got == [user.pk], (kind, got, user.pk)


@pytest.fixture
def county(db):
    department_ensure_for_division(actor=system("test"), division_code=DEMO_COUNTY)
    department_ensure_for_division(actor=system("test"), division_code=OTHER_COUNTY)


def test_order_paid_reaches_the_parent_only(django_capture_on_commit_callbacks):
    w = funds_world()
    other_parent = make_user(Role.PARENT)
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order(w)
    _only("order.paid", w.parent)
    n = Notification.objects.get(kind="order.paid")
    assert str(order.pk) in n.title and f"/parent/funds/orders/{order.pk}/" == n.link
    assert _kinds(other_parent) == [] and _kinds(w.org_user) == []


def test_refund_requested_reaches_the_institution_answered_the_parent(django_capture_on_commit_callbacks):
    w = funds_world()
    other = funds_world()  # another institution with its own account
    order = paid_order(w)
    with django_capture_on_commit_callbacks(execute=True):
        refund = funds.refund_request(actor=w.parent, order_id=order.pk, reason="孩子不想学了")
    _only("refund.requested", w.org_user)
    assert _kinds(other.org_user) == []
    with django_capture_on_commit_callbacks(execute=True):
        funds.refund_answer(actor=w.org_user, refund_id=refund.pk, agree=False, answer="课程已过半")
    _only("refund.answered", w.parent)
    n = Notification.objects.get(kind="refund.answered")
    assert "机构不同意" in n.title and "课程已过半" in n.body


def test_a_refused_refund_request_notifies_nobody(django_capture_on_commit_callbacks):
    w = funds_world()
    order = paid_order(w)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):
        funds.refund_request(actor=w.parent, order_id=order.pk, reason="")
    assert not Notification.objects.filter(kind="refund.requested").exists()


def test_clue_transfer_and_assignment_reach_the_named_department(county, django_capture_on_commit_callbacks):
    officer = make_user("regulator_officer")
    fire = make_user("regulator_officer", department_kind="fire")
    fire_elsewhere = make_user("regulator_officer", prefixes=[OTHER_COUNTY], department_kind="fire")
    education = make_user("regulator_officer", department_kind="education")
    inst = make_institution()
    clue = clues.clue_lead_create(
        actor=officer,
        submission=clues.Submission(
            channel="covert_visit", content="机构消防通道堵塞", division_code=TOWNSHIP, uscc=inst.uscc
        ),
    ).clue
    with django_capture_on_commit_callbacks(execute=True):
        clues.clue_transfer(actor=officer, clue_id=clue.pk, department_kind="fire", reason="属消防职责")
    _only("clue.transferred", fire)
    assert _kinds(fire_elsewhere) == [] and "clue.transferred" not in _kinds(education)
    clues.clue_return(actor=fire, clue_id=clue.pk, reason="请重新分办")
    with django_capture_on_commit_callbacks(execute=True):
        clues.clue_route(actor=officer, clue_id=clue.pk, department_kinds_=["education"], reason="教育牵头")
    _only("clue.assigned", education)


def test_whistle_names_reach_each_named_department(county, django_capture_on_commit_callbacks):
    officer = make_user("regulator_officer")
    fire = make_user("regulator_officer", department_kind="fire")
    market = make_user("regulator_officer", department_kind="market_regulation")
    fire_elsewhere = make_user("regulator_officer", prefixes=[OTHER_COUNTY], department_kind="fire")
    with django_capture_on_commit_callbacks(execute=True):
        clues.whistle_raise(
            actor=officer,
            division_code=TOWNSHIP,
            title="无证培训点",
            problem="多部门联合处置",
            department_kinds=["fire"],
        )
    _only("whistle.named", fire)
    assert _kinds(market) == [] and _kinds(fire_elsewhere) == []
    assert "消防" in Notification.objects.get(kind="whistle.named").title


def test_approval_decision_reaches_the_applicant(django_capture_on_commit_callbacks):
    from qinglang.registry.tests.test_applications import DAY, _establish, _files

    admin = make_user(Role.PLATFORM_ADMIN)
    sports = make_user("regulator_officer", department_kind="sports")
    organiser = make_user("institution_admin", institution_id=make_institution(admin).pk)
    bystander = make_user("institution_admin", institution_id=make_institution(admin).pk)
    draft = registry.application_draft_save(
        actor=organiser, kind="establish", data=_establish(), files=_files()
    )
    app = registry.application_submit(actor=organiser, draft_id=draft.pk, today=DAY)
    with django_capture_on_commit_callbacks(execute=True):
        registry.application_decide(
            actor=sports, application_id=app.pk, approve=False, reason="场所不符合要求"
        )
    _only("approval.rejected", organiser)
    assert _kinds(bystander) == []
    assert "不予许可" in Notification.objects.get(kind="approval.rejected").title


def test_daily_reminders_are_sent_once(django_capture_on_commit_callbacks):
    w = funds_world()
    order = paid_order(w)
    lesson, _ = funds.lesson_record(
        actor=w.org_user,
        institution_id=w.institution.pk,
        event_id="E1",
        order_id=order.pk,
        given_at=timezone.now(),
    )
    assert Lesson.objects.get(pk=lesson.pk).status == LessonStatus.RECORDED
    other_parent = make_user(Role.PARENT)
    paid_order(w, parent=other_parent)  # no lesson yet: nothing to confirm
    assert funds_send_reminders() == 1
    assert funds_send_reminders() == 0  # the same day again: nothing twice
    _only("lesson.to_confirm", w.parent)
    assert "1节课时待确认" in Notification.objects.get(kind="lesson.to_confirm").title
    # the next day the parent is reminded again, once
    assert funds_send_reminders(today=timezone.localdate() + timedelta(days=1)) == 1


def test_inbox_groups_counts_and_filters(client):
    from qinglang.accounts.notifications import notify

    user = make_user(Role.PARENT)
    notify([user], kind="order.paid", title="订单1已缴费")
    notify([user], kind="refund.answered", title="退费申请已同意")
    notify([user], kind="refund.answered", title="退费申请机构不同意")
    Notification.objects.filter(title="退费申请已同意").update(read_at=timezone.now())
    c = Client()
    c.force_login(user)
    html = c.get("/inbox/").content.decode()
    assert "订单缴费" in html and "退费答复" in html and "1/2" in html
    html = c.get("/inbox/?kind=refund.answered&show=unread").content.decode()
    assert "退费申请机构不同意" in html and "退费申请已同意" not in html and "订单1已缴费" not in html
