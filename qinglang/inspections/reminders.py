"""Daily reminders of the rectification register: an institution whose open items fall due
within ``REMIND_DAYS`` days hears it once per item (``notify_many_once``)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.notifications import Message, institutions_users, notify_many_once
from qinglang.accounts.permissions import system

from .models import OPEN_STATUSES, RectificationItem

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
