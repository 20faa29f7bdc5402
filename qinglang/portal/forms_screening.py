"""Forms of the screening pages (text check, online patrol, sweeps, the grid worker's visits)."""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.screening.models import Outcome, PlaceType, Platform


class CheckForm(forms.Form):
    text = forms.CharField(label=_("文本"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    file = forms.FileField(label=_("或上传表格(.csv/.xlsx，列 id,text)"), required=False)


class PostForm(forms.Form):
    platform = forms.ChoiceField(label=_("平台"), choices=Platform.choices)
    text = forms.CharField(label=_("广告或帖子内容"), widget=forms.Textarea(attrs={"rows": 4}))
    seen_on = forms.DateField(
        label=_("发现日期"), initial=date.today, widget=forms.DateInput(attrs={"type": "date"})
    )
    url = forms.CharField(label=_("网址"), required=False, max_length=500)
    operator_name = forms.CharField(label=_("发布主体(机构或个人)"), required=False, max_length=200)
    division_code = forms.CharField(label=_("所属区划代码"), max_length=12)
    screenshot = forms.FileField(label=_("截图"), required=False)


class SweepForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=200)
    division_code = forms.CharField(label=_("范围(区划代码)"), max_length=12)
    place_types = forms.MultipleChoiceField(
        label=_("场所类型"), choices=PlaceType.choices, widget=forms.CheckboxSelectMultiple
    )
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"}))


class PlaceForm(forms.Form):
    name = forms.CharField(label=_("场所名称"), max_length=200)
    address = forms.CharField(label=_("地址"), max_length=255)
    place_type = forms.ChoiceField(label=_("场所类型"), choices=PlaceType.choices)
    division_code = forms.CharField(label=_("乡镇(街道)/社区代码"), max_length=12)


class VisitForm(forms.Form):
    outcome = forms.ChoiceField(label=_("走访结果"), choices=Outcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("情况说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)


class HoldReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("复核结论"),
        choices=[("genuine", _("无问题")), ("confirmed", _("确认隐形变异"))],
        error_messages={"required": _("请选择复核结论"), "invalid_choice": _("请选择复核结论")},
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


class TakedownRequestForm(forms.Form):
    reference = forms.CharField(label=_("函件编号"), required=False, max_length=200)


class TakedownAnswerForm(forms.Form):
    status = forms.CharField(label=_("平台答复"), required=False, max_length=32)  # the service checks it
    answer = forms.CharField(label=_("答复内容"), required=False, max_length=2000)
