"""Forms of the work ledger (工作台账) and supervision problems (督查反馈问题) pages."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.analytics.models import ProblemSource, WorkTaskCadence
from qinglang.core.models import DepartmentKind

from .form_fields import MultiFileField, date_field

DEPARTMENTS = [("", _("请选择"))] + [(k, v) for k, v in DepartmentKind.choices]


def _choice(label: str, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        error_messages={
            "required": format_lazy(_("请选择{}"), label),
            "invalid_choice": format_lazy(_("{}无效"), label),
        },
    )


def _text(label: str, *, required: bool = True, max_length: int = 4000) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": 3}) if max_length > 200 else None,
        error_messages={"required": format_lazy(_("请填写{}"), label)},
    )


class WorkTaskForm(forms.Form):
    department_kind = _choice(_("责任部门"), DEPARTMENTS)
    title = _text(_("工作任务"), max_length=200)
    requirement = _text(_("工作要求"), required=False)
    lead_leader = _text(_("牵头领导"), required=False, max_length=50)
    cadence = _choice(_("推进频次"), WorkTaskCadence.choices)
    due_on = date_field(_("完成时限"))


class WorkProgressForm(forms.Form):
    text = _text(_("推进情况"))
    progress = forms.IntegerField(
        label=_("完成进度(%)"),
        min_value=0,
        max_value=100,
        error_messages={
            "required": _("请填写完成进度"),
            "invalid": _("完成进度须为0至100的整数"),
            "min_value": _("完成进度须为0至100的整数"),
            "max_value": _("完成进度须为0至100的整数"),
        },
    )


class ProblemForm(forms.Form):
    department_kind = _choice(_("责任部门"), DEPARTMENTS)
    source = _choice(_("问题来源"), ProblemSource.choices)
    source_ref = _text(_("问题清单名称"), max_length=200)
    number = _text(_("序号"), required=False, max_length=32)
    description = _text(_("问题描述"))
    lead_leader = _text(_("牵头领导"), max_length=50)
    measures = _text(_("整改措施"), required=False)
    deadline = date_field(_("整改时限"), required=True)


class ProblemImportForm(forms.Form):
    source = _choice(_("问题来源"), ProblemSource.choices)
    source_ref = _text(_("问题清单名称"), max_length=200)
    file = forms.FileField(label=_("问题清单文件"), error_messages={"required": _("请选择 .xlsx 文件")})


class ProblemNoteForm(forms.Form):
    text = _text(_("整改进展"))


class ProblemSubmitForm(forms.Form):
    summary = _text(_("整改情况"))
    evidence = MultiFileField(label=_("佐证材料"), required=False)


class ProblemDecideForm(forms.Form):
    decision = _choice(_("审核结论"), [("close", _("同意销号")), ("return", _("退回"))])
    reason = _text(_("审核意见"), required=False, max_length=500)
