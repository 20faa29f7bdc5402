"""Writes of the analytics app. Each checks who may write (accounts.permissions), runs in
one transaction and leaves an audit event; a refused request changes nothing."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import competent_or_task_force, user_id
from qinglang.accounts.scope import division_in_scope
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.models import DepartmentKind, Division

from .models import SchoolReport


def _count(value, field: str, label: str) -> int:
    if type(value) is not int or value < 0:
        raise ValidationError({field: format_lazy(_("{label}须为非负整数"), label=label)})
    return value


def school_report_submit(
    *, actor, division_code: str, schools, after_school, homework_ok, report_on: date | None = None
) -> SchoolReport:
    """The education department (or the task force) of a division reports its compulsory
    schools: how many, how many offer after-school service, how many keep homework within
    the limits. The latest report is the division's figure from its day on."""
    schools = _count(schools, "schools", _("义务教育学校数"))
    after_school = _count(after_school, "after_school", _("开展课后服务学校数"))
    homework_ok = _count(homework_ok, "homework_ok", _("作业时长达标学校数"))
    if after_school > schools:
        raise ValidationError({"after_school": _("开展课后服务学校数不能超过学校总数")})
    if homework_ok > schools:
        raise ValidationError({"homework_ok": _("作业时长达标学校数不能超过学校总数")})
    report_on = report_on or timezone.localdate()
    if report_on > timezone.localdate():
        raise ValidationError({"report_on": _("不能报送未来日期")})
    if not Division.objects.filter(code=division_code).exists():
        raise ValidationError({"division_code": _("区划不存在")})
    if not division_in_scope(actor, division_code):
        raise NotFound(_("区划"))
    if not competent_or_task_force(actor, division_code, DepartmentKind.EDUCATION):
        raise PermissionDeniedError(_("学校情况由教育部门或专班报送"))
    with transaction.atomic():
        r = SchoolReport.objects.create(
            division_code=division_code,
            report_on=report_on,
            schools=schools,
            after_school=after_school,
            homework_ok=homework_ok,
            reported_by_id=user_id(actor),
        )
        audit_record(
            actor=actor,
            action="analytics.school_report",
            obj=r,
            changes={"schools": schools, "after_school": after_school, "homework_ok": homework_ok},
        )
    return r
