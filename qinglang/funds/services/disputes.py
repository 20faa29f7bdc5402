"""A regulator's decision on a parent's dispute of a lesson (消课异议裁决): upheld gives
the lesson back and reverses its release; rejected keeps it. The money moves through
``lessons.lesson_dispute_resolve`` (the ledger's owner); this adds the regulator-only
gate and the reason every decision must give."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import in_scope
from qinglang.core.errors import NotFound, PermissionDeniedError

from ..models import Lesson
from .common import is_regulator_writer
from .confirmation import lesson_dispute_resolve


def dispute_decide(*, actor, lesson_id: int, upheld: bool, reason: str) -> Lesson:
    """Uphold (reverse the release) or reject a disputed lesson, with a reason; only a
    regulator of the lesson's division decides. Out of scope is 404."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写裁决理由")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("裁决理由不超过500字")})
    with transaction.atomic():
        lesson = Lesson.objects.filter(pk=lesson_id).first()
        if lesson is None or not in_scope(lesson, actor):
            raise NotFound(_("消课记录"))
        if not is_regulator_writer(actor, lesson.division_code):
            raise PermissionDeniedError(_("消课异议由监管部门裁决"))
        return lesson_dispute_resolve(actor=actor, lesson_id=lesson.pk, upheld=upheld, note=reason)
