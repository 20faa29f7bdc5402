"""Forms of the clue pages. The text field is called ``content`` everywhere."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.clues.models import Channel, ClueCategory
from qinglang.clues.services.intake import MAX_TEXT
from qinglang.core.models import DepartmentKind, Division, DivisionLevel

from .form_fields import IdListField, MultiFileField, id_field


def township_choices(county: str) -> list[tuple[str, str]]:
    rows = Division.objects.filter(code__startswith=county, level__in=[3, 4]).order_by("code")
    return [(d.code, d.name) for d in rows]


class ReportForm(forms.Form):
    """公众举报 / 家长端举报."""

    # length and emptiness are checked by the service, so the messages are the same everywhere
    content = forms.CharField(
        label=_("举报内容"), widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label=_("涉及机构(名称)"), required=False, max_length=200)
    address = forms.CharField(label=_("地址"), required=False, max_length=255)
    division_code = forms.ChoiceField(label=_("所属区域"))
    anonymous = forms.BooleanField(label=_("匿名举报(不留姓名和电话，仍可用查询码查看进度)"), required=False)
    reporter_name = forms.CharField(label=_("您的姓名"), required=False, max_length=64)
    reporter_phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)
    photos = MultiFileField(label=_("照片(可选)"), required=False)

    def __init__(self, *args, county: str, **kw):
        super().__init__(*args, **kw)
        self.fields["division_code"].choices = township_choices(county)


class GridReportForm(forms.Form):
    content = forms.CharField(
        label=_("问题描述"), widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label=_("机构或门店名称"), required=False, max_length=200)
    address = forms.CharField(label=_("地址"), required=False, max_length=255)
    division_code = forms.ChoiceField(label=_("所在街道(乡镇)"))
    photos = MultiFileField(label=_("现场照片"), required=False)

    def __init__(self, *args, prefixes: list[str], **kw):
        super().__init__(*args, **kw)
        ch = []
        for p in prefixes or [""]:
            ch += township_choices(p) if p else []
        self.fields["division_code"].choices = ch


class LeadForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("来源"), choices=[(Channel.COVERT_VISIT, _("暗访")), (Channel.ONLINE_PATROL, _("网上巡查"))]
    )
    content = forms.CharField(
        label=_("线索内容"), widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label=_("涉及机构"), required=False, max_length=200)
    uscc = forms.CharField(label=_("统一社会信用代码"), required=False, max_length=18)
    address = forms.CharField(label=_("地址"), required=False, max_length=255)
    url = forms.CharField(label=_("网址(网上巡查)"), required=False, max_length=500)
    division_code = forms.ChoiceField(label=_("所在乡镇(街道)"))

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        _scope_choices(self, user, DivisionLevel.TOWNSHIP, "请选择乡镇(街道)")


class ImportForm(forms.Form):
    division_code = forms.ChoiceField(label=_("所属区县"))
    file = forms.FileField(label=_("热线工单(.xlsx)"))

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        _scope_choices(self, user, DivisionLevel.COUNTY, None)


def _scope_choices(form, user, level: int, blank: str | None) -> None:
    """Pick, don't type: the divisions of ``level`` in the user's scope, own township first
    and pre-selected."""
    from .pickers import division_choices, township_initial

    if user is None:
        return
    form.fields["division_code"].choices = division_choices(user, level, blank=blank)
    if not form.is_bound:
        own = township_initial(user)
        form.initial.setdefault("division_code", own if level == DivisionLevel.TOWNSHIP else own[:6])


class WhistleForm(forms.Form):
    division_code = forms.ChoiceField(label=_("乡镇(街道)"))
    title = forms.CharField(label=_("事项"), max_length=200)
    problem = forms.CharField(label=_("问题"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    department_kinds = forms.MultipleChoiceField(
        label=_("点名部门"),
        choices=[c for c in DepartmentKind.choices if c[0] != DepartmentKind.TOWNSHIP_GOVERNMENT],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        _scope_choices(self, user, DivisionLevel.TOWNSHIP, "请选择乡镇(街道)")


CATEGORY_CHOICES = ClueCategory.choices
DEPARTMENT_CHOICES = DepartmentKind.choices


class WhistleReportForm(forms.Form):
    """部门报到: which named department reports, and what it did."""

    department_kind = forms.ChoiceField(label=_("报到部门"), choices=DepartmentKind.choices)
    action = forms.CharField(label=_("采取的措施"), max_length=2000)


# --- the handler's actions on a clue (one small form per action; the services check the
# content, so the refusals read the same on the page and in the API)


class ClueNoteForm(forms.Form):
    reason = forms.CharField(label=_("理由"), required=False, max_length=2000)


class ClueInvestigateForm(ClueNoteForm):
    open_inspection = forms.BooleanField(label=_("同时发起检查"), required=False)


class ClueConcludeForm(forms.Form):
    finding = forms.CharField(label=_("查处结论"), required=False, max_length=5000)
    substantiated = forms.BooleanField(label=_("属实"), required=False)


class ClueFeedbackForm(forms.Form):
    feedback = forms.CharField(label=_("答复内容"), required=False, max_length=5000)


class ClueTransferForm(ClueNoteForm):
    department_kind = forms.CharField(label=_("转办部门"), required=False, max_length=40)


class CodeListField(forms.Field):
    """Several codes posted under one name (the service checks each): blanks dropped."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        return [str(v).strip()[:40] for v in (value or []) if str(v).strip()]


class ClueRouteForm(ClueNoteForm):
    department_kind = CodeListField(label=_("分办部门"), required=False)


class ClueReclassifyForm(forms.Form):
    category = forms.CharField(label=_("类别"), required=False, max_length=40)


class ClueMergeForm(ClueNoteForm):
    into_id = id_field(_("并入线索编号"))


class ClueSplitForm(ClueNoteForm):
    report_id = IdListField(label=_("拆出的举报"), required=True)


class TrackCodeForm(forms.Form):
    """The reporter's tracking code (查询码), as typed."""

    code = forms.CharField(required=False, max_length=64)


class TrackForm(forms.Form):
    """进度查询's two actions on one's own clue: rate it, or ask for it to be reopened."""

    op = forms.ChoiceField(choices=[("rate", _("评价")), ("reopen", _("申请重新办理"))])
    score = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=5,
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), _("满意度须为1到5")),
    )
    comment = forms.CharField(required=False, max_length=1000)
    reason = forms.CharField(required=False, max_length=1000)

    def clean(self):
        d = super().clean()
        if d.get("op") == "rate" and d.get("score") is None and "score" not in self.errors:
            self.add_error("score", _("满意度须为1到5"))
        return d


class RetriageStartForm(forms.Form):
    division_code = forms.CharField(label=_("区域"), required=False, max_length=12)


class RetriageApplyForm(ClueNoteForm):
    accept = IdListField(label=_("采纳的变更"), required=False)
