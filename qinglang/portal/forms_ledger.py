"""Forms of the work ledger (工作台账) and supervision problems (督查反馈问题) pages."""

from django import forms

from qinglang.analytics.models import ProblemSource, WorkTaskCadence
from qinglang.core.models import DepartmentKind

from .form_fields import MultiFileField, date_field

DEPARTMENTS = [("", "请选择")] + [(k, v) for k, v in DepartmentKind.choices]


def _choice(label: str, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        error_messages={"required": f"请选择{label}", "invalid_choice": f"{label}无效"},
    )


def _text(label: str, *, required: bool = True, max_length: int = 4000) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": 3}) if max_length > 200 else None,
        error_messages={"required": f"请填写{label}"},
    )


class WorkTaskForm(forms.Form):
    department_kind = _choice("责任部门", DEPARTMENTS)
    title = _text("工作任务", max_length=200)
    requirement = _text("工作要求", required=False)
    lead_leader = _text("牵头领导", required=False, max_length=50)
    cadence = _choice("推进频次", WorkTaskCadence.choices)
    due_on = date_field("完成时限")


class WorkProgressForm(forms.Form):
    text = _text("推进情况")
    progress = forms.IntegerField(
        label="完成进度(%)",
        min_value=0,
        max_value=100,
        error_messages={
            "required": "请填写完成进度",
            "invalid": "完成进度须为0至100的整数",
            "min_value": "完成进度须为0至100的整数",
            "max_value": "完成进度须为0至100的整数",
        },
    )


class ProblemForm(forms.Form):
    department_kind = _choice("责任部门", DEPARTMENTS)
    source = _choice("问题来源", ProblemSource.choices)
    source_ref = _text("问题清单名称", max_length=200)
    number = _text("序号", required=False, max_length=32)
    description = _text("问题描述")
    lead_leader = _text("牵头领导", max_length=50)
    measures = _text("整改措施", required=False)
    deadline = date_field("整改时限", required=True)


class ProblemImportForm(forms.Form):
    source = _choice("问题来源", ProblemSource.choices)
    source_ref = _text("问题清单名称", max_length=200)
    file = forms.FileField(label="问题清单文件", error_messages={"required": "请选择 .xlsx 文件"})


class ProblemNoteForm(forms.Form):
    text = _text("整改进展")


class ProblemSubmitForm(forms.Form):
    summary = _text("整改情况")
    evidence = MultiFileField(label="佐证材料", required=False)


class ProblemDecideForm(forms.Form):
    decision = _choice("审核结论", [("close", "同意销号"), ("return", "退回")])
    reason = _text("审核意见", required=False, max_length=500)
