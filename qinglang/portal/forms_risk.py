"""Forms of the risk pages: an alert's handling, an institution's risk actions (runaway,
guardian, a reported signal), the guardian's visit. The services check the content
(kinds, lengths, scope); the forms turn the post into typed values."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .form_fields import date_field, id_field


class AlertCloseForm(forms.Form):
    result = forms.CharField(label=_("办结情况"), required=False, max_length=2000)


class AlertActForm(forms.Form):
    kind = forms.CharField(label=_("处置措施"), required=False, max_length=32)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)
    due_on = date_field(_("检查完成期限"))


class RunawayForm(forms.Form):
    reason = forms.CharField(label=_("认定理由"), required=False, max_length=2000)


class GuardianForm(forms.Form):
    unit = forms.CharField(label=_("包保单位"), required=False, max_length=200)
    user_id = id_field(_("包保责任人"), missing=_("请选择包保责任人"))


class RiskReportForm(forms.Form):
    kind = forms.CharField(label=_("信号类型"), required=False, max_length=40)
    reporter_unit = forms.CharField(label=_("报送单位"), required=False, max_length=200)
    observed_on = date_field(_("发现日期"), required=True)
    evidence = forms.CharField(label=_("情况"), required=False, max_length=5000)
    photo = forms.FileField(label=_("照片"), required=False)


class CheckinForm(forms.Form):
    visited_on = date_field(_("走访日期"), required=True)
    seen = forms.CharField(label=_("所见情况"), required=False, max_length=5000)
