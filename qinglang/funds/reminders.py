"""Daily reminders of the funds app: a parent with lessons waiting for confirmation, and
an institution with refund requests to answer soon, hear it once a day
(``notify_many_once``), set-based."""

from datetime import datetime, time, timedelta

from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone

from qinglang.accounts.notifications import Message, institutions_users, notify_many_once
from qinglang.accounts.permissions import system

from .models import Lesson, LessonStatus, Refund, RefundStatus

REMIND_DAYS = 2


def _day_start(today):
    return timezone.make_aware(datetime.combine(today, time.min))


def funds_send_reminders(*, today=None, actor=system("deadline-reminders")) -> int:
    today = today or timezone.localdate()
    since = _day_start(today)
    waiting = (
        Lesson.objects.filter(status=LessonStatus.RECORDED, order__parent_id__isnull=False)
        .values("order_id", "order__parent_id", "order__learner_name", "division_code")
        .annotate(n=Count("id"), due=Min("confirm_by"))
        .order_by("order_id")
    )
    messages = [
        Message(
            users=[w["order__parent_id"]],
            kind="lesson.to_confirm",
            title=f"{w['order__learner_name']}有{w['n']}节课时待确认",
            body=f"请于{w['due']:%Y-%m-%d}前确认或提出异议，逾期视为确认并向机构拨付。",
            link=reverse("portal:parent_order", args=[w["order_id"]]),
            division_code=w["division_code"],
            about=("funds.order", str(w["order_id"])),
        )
        for w in waiting
    ]
    refunds = list(
        Refund.objects.filter(
            status=RefundStatus.REQUESTED,
            respond_by__gte=today,
            respond_by__lte=today + timedelta(days=REMIND_DAYS),
        ).order_by("id")
    )
    users = institutions_users(r.institution_id for r in refunds)
    messages += [
        Message(
            users=users.get(r.institution_id, []),
            kind="deadline.near.refund",
            title=f"退费申请(订单{r.order_id})须于{r.respond_by:%Y-%m-%d}前答复",
            body="逾期未答复的，视为同意退费。",
            link=reverse("portal:org_refunds", args=[r.institution_id]),
            division_code=r.division_code,
            about=("funds.refund", str(r.pk)),
        )
        for r in refunds
    ]
    # lessons: once a day; refunds: once per request (the link names the institution's
    # refund page, so the day bounds them too)
    return notify_many_once(messages, actor=actor, since=since)
