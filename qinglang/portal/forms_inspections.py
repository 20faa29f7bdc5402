"""Forms of the inspection pages: a campaign and its draw, the inspection form, a
rectification item's review and the institution's submission, checklist templates and
their items, conflict-of-interest declarations. The services check the content (codes,
periods, scope, transitions); the forms turn the post into typed values and refuse what
cannot be typed, in one Chinese sentence per field."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.core.models import DepartmentKind
from qinglang.inspections.models import CampaignType
from qinglang.registry.models import InstitutionCategory, Kind

from .form_fields import MultiFileField, date_field, id_field

NOTE = 2000


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("名称"), required=False, max_length=200)
    campaign_type = forms.ChoiceField(label=_("专项类型"), choices=CampaignType.choices, required=False)
    division_code = forms.CharField(label=_("区划"), required=False, max_length=12)
    starts_on = date_field(_("开始日期"))
    ends_on = date_field(_("结束日期"))
    departments = forms.MultipleChoiceField(
        label=_("参与部门"), choices=DepartmentKind.choices, required=False
    )
    coverage_goal = forms.IntegerField(
        label=_("覆盖率目标"),
        required=False,
        min_value=1,
        max_value=100,
        error_messages={
            "invalid": _("覆盖率目标应在1-100之间"),
            "min_value": _("覆盖率目标应在1-100之间"),
            "max_value": _("覆盖率目标应在1-100之间"),
        },
    )
    categories = forms.MultipleChoiceField(
        label=_("对象类别"), choices=InstitutionCategory.choices, required=False
    )
    kinds = forms.MultipleChoiceField(label=_("机构类型"), choices=Kind.choices, required=False)

    @staticmethod
    def service_data(d: dict) -> dict:
        return {
            "name": d["name"],
            "campaign_type": d["campaign_type"] or CampaignType.GENERAL,
            "division_code": d["division_code"],
            "starts_on": d["starts_on"],
            "ends_on": d["ends_on"],
            "departments": d["departments"],
            "coverage_goal": d["coverage_goal"] or 100,
            "target_filter": {"categories": d["categories"], "kinds": d["kinds"]},
        }


class DrawForm(forms.Form):
    """抽取比例 in per cent (0–100, one decimal) or a count; each team's size."""

    share = forms.DecimalField(
        label=_("抽取比例"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=1,
        error_messages={
            "invalid": _("抽取比例格式不正确"),
            "min_value": _("抽取比例应在0到100之间"),
            "max_value": _("抽取比例应在0到100之间"),
            "max_digits": _("抽取比例格式不正确"),
            "max_decimal_places": _("抽取比例最多一位小数"),
        },
    )
    count = forms.IntegerField(
        label=_("抽取数量"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        error_messages={
            "invalid": _("抽取数量格式不正确"),
            "min_value": _("抽取数量至少为1"),
            "max_value": _("抽取数量过大"),
        },
    )
    team_size = forms.IntegerField(
        label=_("每组人数"),
        required=False,
        min_value=1,
        max_value=10,
        error_messages={
            "invalid": _("每组人数应在1-10之间"),
            "min_value": _("每组人数应在1-10之间"),
            "max_value": _("每组人数应在1-10之间"),
        },
    )

    @staticmethod
    def service_kwargs(d: dict) -> dict:
        return {
            "share": float(d["share"]) / 100 if d["share"] is not None else None,
            "count": d["count"],
            "team_size": d["team_size"] or 2,
        }


class InspectionForm(forms.Form):
    """The inspection form: one outcome, description, requirement and files per checklist
    item, the date, a summary, the rectification deadline in working days."""

    inspected_on = date_field(_("检查日期"))
    summary = forms.CharField(label=_("检查情况概述"), required=False, max_length=5000)
    deadline_days = forms.IntegerField(
        label=_("整改期限"),
        required=False,
        min_value=1,
        max_value=60,
        error_messages={
            "invalid": _("整改期限应为1-60个工作日"),
            "min_value": _("整改期限应为1-60个工作日"),
            "max_value": _("整改期限应为1-60个工作日"),
        },
    )

    def __init__(self, *args, items=(), **kw):
        super().__init__(*args, **kw)
        self.items = list(items)
        for i in self.items:
            self.fields[f"outcome_{i.pk}"] = forms.CharField(required=False, max_length=32)
            self.fields[f"desc_{i.pk}"] = forms.CharField(required=False, max_length=NOTE)
            self.fields[f"req_{i.pk}"] = forms.CharField(required=False, max_length=NOTE)
            self.fields[f"files_{i.pk}"] = MultiFileField(required=False)

    def results(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {
                "item_id": i.pk,
                "outcome": d[f"outcome_{i.pk}"],
                "description": d[f"desc_{i.pk}"],
                "requirement": d[f"req_{i.pk}"],
                "files": d[f"files_{i.pk}"],
            }
            for i in self.items
        ]


class ReviewNoteForm(forms.Form):
    """复查意见 or 退回理由 on a rectification item."""

    note = forms.CharField(label=_("复查意见"), required=False, max_length=NOTE)


class RectificationSubmitForm(forms.Form):
    measures = forms.CharField(label=_("整改措施"), required=False, max_length=5000)
    files = MultiFileField(label=_("整改材料"), required=False)


class TemplateCopyForm(forms.Form):
    template_id = id_field(_("检查清单模板"))
    division_code = forms.CharField(label=_("区划"), required=False, max_length=12)
    name = forms.CharField(label=_("新模板名称"), required=False, max_length=200)


class ChecklistItemForm(forms.Form):
    """A checklist item's fields (the service checks codes, domains and lengths)."""

    code = forms.CharField(label=_("编号"), required=False, max_length=16)
    domain = forms.CharField(label=_("领域"), required=False, max_length=32)
    title = forms.CharField(label=_("检查事项"), required=False, max_length=300)
    basis = forms.CharField(label=_("法律依据"), required=False, max_length=300)
    severity = forms.CharField(label=_("严重程度"), required=False, max_length=32)
    department_kind = forms.CharField(label=_("责任部门"), required=False, max_length=32)


class ChecklistItemRefForm(forms.Form):
    """Retire, reinstate or remove one item."""

    item_id = id_field(_("检查事项"))


class ChecklistItemUpdateForm(ChecklistItemForm):
    item_id = id_field(_("检查事项"))


class ConflictForm(forms.Form):
    institution = forms.CharField(label=_("机构编号或统一社会信用代码"), required=False, max_length=32)
    reason = forms.CharField(label=_("回避理由"), required=False, max_length=300)
    inspector_id = id_field(_("检查人员"), required=False)
    task_id = id_field(_("检查任务"), required=False)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤销理由"), required=False, max_length=300)
