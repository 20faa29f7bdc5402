"""A notice reaches the inspected institution's accounts (and no other institution's)
once it is issued; open items falling due soon remind it once."""

from datetime import date

import pytest

from qinglang.accounts.models import Notification, Role
from qinglang.inspections import services
from qinglang.inspections.reminders import rectification_remind_deadlines
from qinglang.testing import make_user

from .helpers import answer_all, png
from .test_services import _member, _task_of, world  # noqa: F401 -- the fixture

pytestmark = pytest.mark.django_db


def test_notice_issued_then_deadline_near(world, media_root, django_capture_on_commit_callbacks):  # noqa: F811
    inst, other = world["insts"][0], world["insts"][1]
    own = make_user(Role.INSTITUTION_STAFF, institution_id=inst.pk)
    bystander = make_user(Role.INSTITUTION_ADMIN, institution_id=other.pk)
    t = _task_of(world, inst)
    with django_capture_on_commit_callbacks(execute=True):
        services.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2025, 9, 26),
            results=answer_all(t, findings={"F01": "rectification"}, files=[png()]),
            deadline_days=10,
        )
    notice = t.notices.get()
    got = list(Notification.objects.filter(kind="notice.issued").values_list("recipient_id", "title"))
    assert got == [(own.pk, f"收到整改通知书{notice.number}")]
    assert not Notification.objects.filter(recipient=bystander).exists()
    # three days before the deadline: one reminder per open item, however often the job runs
    assert rectification_remind_deadlines(today=date(2025, 10, 13)) == 1
    assert rectification_remind_deadlines(today=date(2025, 10, 14)) == 0
    assert rectification_remind_deadlines(today=date(2025, 10, 1)) == 0  # not yet near
    n = Notification.objects.get(kind="deadline.near.rectification")
    assert n.recipient_id == own.pk and "2025-10-16" in n.body
