"""Custody bank operators and inspectors hear of their own events, once the service's
transaction commits, and see them in their inbox: a bank's operators the payout
instructions for their bank, a freeze or resumption on an account at their bank, a
statement that left differences; an inspector being drawn or assigned to a task, an item
of their inspection awaiting reinspection, a task's deadline near. Nobody of another bank,
team, department or county does."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Notification, Role, User
from qinglang.core.models import Division
from qinglang.funds import services as funds
from qinglang.funds.services.payout_hold import payout_hold
from qinglang.funds.testing import funds_world, paid_order
from qinglang.inspections import services as inspections
from qinglang.inspections.models import RectificationItem, Task
from qinglang.inspections.reminders import task_remind_deadlines
from qinglang.inspections.tests.helpers import answer_all, campaign_data, inspectors, png
from qinglang.testing import DEMO_COUNTY, OTHER_COUNTY, make_institution, make_user

pytestmark = pytest.mark.django_db
OTHER_TOWNSHIP = "510104020"  # a township of the other county, created for the test


def _inbox(user, group: str = "") -> str:
    c = Client()
    c.force_login(user)
    return c.get("/inbox/" + (f"?kind={group}" if group else "")).content.decode()


def _titles(user, kind: str) -> list[str]:
    return list(Notification.objects.filter(recipient=user, kind=kind).values_list("title", flat=True))


# --- custody banks -------------------------------------------------------------------------


@pytest.fixture
def banks(db):
    """Two institutions at two banks of two counties, each bank with an operator, and a
    release due at each."""
    Division.objects.get_or_create(
        code=OTHER_TOWNSHIP,
        defaults={"name": "测试街道", "level": 4, "parent_id": OTHER_COUNTY, "full_name": "锦江区测试街道"},
    )
    w, other = funds_world(), funds_world(division_code=OTHER_TOWNSHIP)
    for world in (w, other):
        order = paid_order(world, lessons=4)
        lesson, _ = funds.lesson_record(
            actor=world.org_user, institution_id=world.institution.pk, order_id=order.pk, event_id="L1"
        )
        funds.lesson_confirm(actor=world.parent, lesson_id=lesson.pk)
    op = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    other_op = make_user(Role.BANK_OPERATOR, bank_id=other.bank.pk)
    return w, other, op, other_op


def test_payout_instructions_reach_each_banks_own_operators(banks, django_capture_on_commit_callbacks):
    w, other, op, other_op = banks
    day = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        assert funds.instructions_generate(day=day) == 2
    mine = Notification.objects.get(recipient=op, kind="bank.payout.issued")
    theirs = Notification.objects.get(recipient=other_op, kind="bank.payout.issued")
    assert mine.link == f"/funds/banks/{w.bank.pk}/instructions/?day={day.isoformat()}"
    assert theirs.link == f"/funds/banks/{other.bank.pk}/instructions/?day={day.isoformat()}"
    assert "新增 1 笔" in mine.title and "当日指令共 1 笔" in mine.body
    assert Notification.objects.filter(kind="bank.payout.issued").count() == 2
    html = _inbox(op, "bank.payout")
    assert "拨付指令" in html and mine.title in html and f"/funds/banks/{other.bank.pk}/" not in html
    assert mine.title not in _inbox(w.org_user) and not _titles(w.parent, "bank.payout.issued")
    with django_capture_on_commit_callbacks(execute=True):
        assert funds.instructions_generate(day=day) == 0  # nothing new: nobody hears again
    assert Notification.objects.filter(kind="bank.payout.issued").count() == 2


def test_a_freeze_and_a_withdrawn_line_reach_the_accounts_bank_only(
    banks, django_capture_on_commit_callbacks
):
    w, _, op, other_op = banks
    day = timezone.localdate()
    funds.instructions_generate(day=day)
    with django_capture_on_commit_callbacks(execute=True):
        refs = payout_hold(actor=w.admin, institution_id=w.institution.pk, day=day, reason="机构负责人失联")
    assert refs
    assert _titles(op, "bank.freeze.on") == [f"暂停拨付：{w.institution.name}"]
    withdrawn = Notification.objects.get(recipient=op, kind="bank.payout.withdrawn")
    assert refs[0] in withdrawn.body and "请勿办理" in withdrawn.body
    html = _inbox(op)
    assert "暂停与恢复拨付" in html and f"暂停拨付：{w.institution.name}" in html and "机构负责人失联" in html
    assert not Notification.objects.filter(recipient=other_op, kind__startswith="bank.").exists()
    assert w.institution.name not in _inbox(other_op)
    with django_capture_on_commit_callbacks(execute=True):
        funds.releases_freeze(actor=w.admin, institution_id=w.institution.pk, reason="再次确认")
    assert len(_titles(op, "bank.freeze.on")) == 1  # already frozen: no change, no notice
    with django_capture_on_commit_callbacks(execute=True):
        funds.releases_unfreeze(actor=w.admin, institution_id=w.institution.pk, reason="已恢复经营")
    assert _titles(op, "bank.freeze.off") == [f"恢复拨付：{w.institution.name}"]
    assert f"恢复拨付：{w.institution.name}" in _inbox(op, "bank.freeze")
    assert not Notification.objects.filter(recipient=other_op).exists()


def test_statement_differences_reach_the_banks_other_operators(banks, django_capture_on_commit_callbacks):
    w, _, op, other_op = banks
    colleague = make_user(Role.BANK_OPERATOR, bank_id=w.bank.pk)
    day = timezone.localdate()
    text = "txn_id,direction,amount_fen\nBANK-ONLY,in,700\n"
    with django_capture_on_commit_callbacks(execute=True):
        funds.statement_import(actor=op, bank_id=w.bank.pk, day=day, text=text)
    n = Notification.objects.get(kind="bank.recon.differences")
    assert n.recipient_id == colleague.pk  # the importing operator read the result already
    assert "对账发现差异 2 条" in n.title and "银行多出流水 1 条" in n.body and "银行流水缺失 1 条" in n.body
    assert n.title in _inbox(colleague, "bank.recon") and n.title not in _inbox(other_op)
    with django_capture_on_commit_callbacks(execute=True):  # a regulator's import: every operator
        funds.statement_import(actor=w.admin, bank_id=w.bank.pk, day=day, text=text)
    got = set(
        Notification.objects.filter(kind="bank.recon.differences").values_list("recipient_id", flat=True)
    )
    assert got == {op.pk, colleague.pk}
    with pytest.raises(Exception), django_capture_on_commit_callbacks(execute=True):
        funds.statement_import(actor=w.admin, bank_id=w.bank.pk, day=day, text=text + "X,in,abc\n")
    assert Notification.objects.filter(kind="bank.recon.differences").count() == 3  # refused: nothing


# --- inspectors ------------------------------------------------------------------------------


def _draw(leader, admin, django_capture_on_commit_callbacks, **kw):
    insts = [make_institution(admin) for _ in range(3)]
    today = timezone.localdate()
    c = inspections.campaign_create(
        actor=leader,
        data=campaign_data(
            starts_on=today, ends_on=today + timedelta(days=2), departments=["education", "fire"]
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        inspections.campaign_draw(actor=leader, campaign_id=c.pk, share=1.0, team_size=2, seed="n", **kw)
    return c, insts


def test_drawn_inspectors_hear_of_their_team_and_nobody_else(
    leader, admin, django_capture_on_commit_callbacks
):
    pool = inspectors(4, depts=("education", "fire"))
    market = make_user(Role.INSPECTOR, prefixes=[DEMO_COUNTY], department_kind="market_regulation")
    elsewhere = make_user(Role.INSPECTOR, prefixes=[OTHER_COUNTY], department_kind="education")
    c, _ = _draw(leader, admin, django_capture_on_commit_callbacks)
    for ins in pool:
        team = c.teams.get(members__user=ins)
        tasks = Task.objects.filter(team=team).count()
        [title] = _titles(ins, "inspection.assigned.draw")
        assert title == f"随机抽取：您被选入{c.name}{team.name}"
        html = _inbox(ins, "inspection.assigned")
        assert "检查任务" in html and title in html and f"本组检查任务 {tasks} 项" in html
    for outsider in (market, elsewhere, leader):
        assert c.name not in _inbox(outsider)
        assert not Notification.objects.filter(recipient=outsider).exists()


def test_an_assigned_task_reaches_the_assigned_inspector_only(officer, django_capture_on_commit_callbacks):
    chosen, passed_over = inspectors(2)
    inst = make_institution(name="指派检查对象")
    task = inspections.inspection_task_create_adhoc(
        actor=officer,
        institution_id=inst.pk,
        due_on=timezone.localdate() + timedelta(days=5),
        reason="群众举报核查",
    )
    with django_capture_on_commit_callbacks(execute=True):
        inspections.task_assign(actor=officer, task_id=task.pk, inspector_ids=[chosen.pk])
    assert _titles(chosen, "inspection.assigned.task") == ["检查任务：指派检查对象"]
    html = _inbox(chosen)
    assert "指派检查对象" in html and "群众举报核查" in html
    assert (
        "指派检查对象" not in _inbox(passed_over)
        and not Notification.objects.filter(recipient=passed_over).exists()
    )


def test_a_submitted_rectification_awaits_the_teams_reinspection(
    leader, admin, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    inspectors(4, depts=("education", "fire"))
    c, insts = _draw(leader, admin, django_capture_on_commit_callbacks)
    task = Task.objects.filter(campaign=c, institution=insts[0]).first()
    team = list(task.team.members.values_list("user_id", flat=True))
    others = set(
        Task.objects.filter(campaign=c)
        .exclude(team=task.team)
        .values_list("team__members__user_id", flat=True)
    )
    member = task.team.members.first().user
    inspections.inspection_record_submit(
        actor=member,
        task_id=task.pk,
        inspected_on=timezone.localdate(),
        results=answer_all(task, findings={"F01": "rectification"}, files=[png()]),
        deadline_days=10,
    )
    item = RectificationItem.objects.get(institution=insts[0])
    org = make_user(Role.INSTITUTION_ADMIN, institution_id=insts[0].pk)
    with django_capture_on_commit_callbacks(execute=True):
        inspections.rectification_submit(actor=org, item_id=item.pk, measures="已整改", uploads=[png()])
    got = sorted(
        Notification.objects.filter(kind="rectification.reinspect").values_list("recipient_id", flat=True)
    )
    assert got == sorted(team) and not set(got) & (others - set(team))
    n = Notification.objects.filter(kind="rectification.reinspect").first()
    assert n.link == f"/console/inspections/rectifications/{item.pk}/" and item.title in n.title
    assert "待复查" in _inbox(member, "rectification.reinspect") and n.title in _inbox(member)
    for uid in others - set(team):
        assert n.title not in _inbox(User.objects.get(pk=uid))
    assert not _titles(org, "rectification.reinspect")


def test_a_tasks_deadline_near_reminds_its_team_once_a_day(leader, admin, django_capture_on_commit_callbacks):
    pool = inspectors(2, depts=("education", "fire"))
    elsewhere = make_user(Role.INSPECTOR, prefixes=[OTHER_COUNTY])
    c, _ = _draw(leader, admin, django_capture_on_commit_callbacks)
    today = timezone.localdate()
    assert task_remind_deadlines(today=today - timedelta(days=5)) == 0  # not near yet
    assert task_remind_deadlines(today=today) == 2  # one per member of the one team
    assert task_remind_deadlines(today=today) == 0  # the same day again: nothing twice
    for ins in pool:
        [title] = _titles(ins, "deadline.near.task")
        assert title == f"3项检查任务将于{c.ends_on:%Y-%m-%d}前到期"
        assert title in _inbox(ins, "deadline.near")
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    assert "检查任务将于" not in _inbox(elsewhere)
    Task.objects.filter(campaign=c).update(status="completed")  # done: no more reminders
    assert task_remind_deadlines(today=today + timedelta(days=1)) == 0
