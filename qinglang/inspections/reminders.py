"""Daily reminders: an institution whose open rectification items fall due within
``REMIND_DAYS`` days hears it once per item; an inspector whose team's planned tasks fall
due within ``REMIND_DAYS`` days hears it once a day, one notification for all of them
(``notify_many_once``)."""

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.notifications import Message, institutions_users, notify_many_once
from qinglang.accounts.permissions import system

from .models import OPEN_STATUSES, RectificationItem, Task, TaskStatus, TeamMember

REMIND_DAYS = 3


def rectification_remind_deadlines(*, today=None, actor=system("deadline-reminders")) -> int:
    today = today or timezone.localdate()
    items = list(
        RectificationItem.objects.filter(
            status__in=OPEN_STATUSES,
            deadline_on__gte=today,
            deadline_on__lte=today + timedelta(days=REMIND_DAYS),
        )
        .select_related("notice")
        .order_by("id")
    )
    users = institutions_users(i.institution_id for i in items)
    return notify_many_once(
        [
            Message(
                users=users.get(i.institution_id, []),
                kind="deadline.near.rectification",
                title=f"整改期限将至：{i.title}",
                body=f"整改通知书{i.notice.number}所列问题须于{i.deadline_on:%Y-%m-%d}前整改并提交材料。",
                link=reverse("portal:org_item", args=[i.pk]),
                division_code=i.division_code,
                about=("inspections.rectificationitem", str(i.pk)),
            )
            for i in items
        ],
        actor=actor,
    )


def task_remind_deadlines(*, today=None, actor=system("deadline-reminders")) -> int:
    """Each member of a team with planned tasks due within ``REMIND_DAYS`` days: how many
    and the first deadline, once a day (set-based: two queries and one batch)."""
    today = today or timezone.localdate()
    due: dict[int, list] = {}  # team id -> [tasks, first deadline, division]
    for team_id, due_on, division in (
        Task.objects.filter(
            status=TaskStatus.PLANNED,
            team__isnull=False,
            due_on__gte=today,
            due_on__lte=today + timedelta(days=REMIND_DAYS),
        )
        .order_by("due_on")
        .values_list("team_id", "due_on", "division_code")
    ):
        due.setdefault(team_id, [0, due_on, division])[0] += 1
    mine: dict[int, list] = {}  # user id -> [tasks, first deadline, division]
    for team_id, user_id in TeamMember.objects.filter(team_id__in=list(due)).values_list(
        "team_id", "user_id"
    ):
        n, first, division = due[team_id]
        had = mine.setdefault(user_id, [0, first, division])
        had[0] += n
        had[1] = min(had[1], first)
    link = reverse("portal:inspection_tasks")
    return notify_many_once(
        [
            Message(
                users=[user_id],
                kind="deadline.near.task",
                title=f"{n}项检查任务将于{first:%Y-%m-%d}前到期",
                body="请在完成期限前完成检查并提交检查记录。",
                link=link,
                division_code=division,
                about=("accounts.user", str(user_id)),
            )
            for user_id, (n, first, division) in sorted(mine.items())
        ],
        actor=actor,
        since=timezone.make_aware(datetime.combine(today, time.min)),
    )
