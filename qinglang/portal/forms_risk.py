"""Forms of the risk pages: an alert's handling, an institution's risk actions (runaway,
guardian, a reported signal), the guardian's visit. The services check the content
(kinds, lengths, scope); the forms turn the post into typed values."""

from django import forms

from .form_fields import date_field, id_field


class AlertCloseForm(forms.Form):
    result = forms.CharField(label="办结情况", required=False, max_length=2000)


class AlertActForm(forms.Form):
    kind = forms.CharField(label="处置措施", required=False, max_length=32)
    note = forms.CharField(label="说明", required=False, max_length=2000)
    due_on = date_field("检查完成期限")


class RunawayForm(forms.Form):
    reason = forms.CharField(label="认定理由", required=False, max_length=2000)


class GuardianForm(forms.Form):
    unit = forms.CharField(label="包保单位", required=False, max_length=200)
    user_id = id_field("包保责任人", missing="请选择包保责任人")


class RiskReportForm(forms.Form):
    kind = forms.CharField(label="信号类型", required=False, max_length=40)
    reporter_unit = forms.CharField(label="报送单位", required=False, max_length=200)
    observed_on = date_field("发现日期", required=True)
    evidence = forms.CharField(label="情况", required=False, max_length=5000)
    photo = forms.FileField(label="照片", required=False)


class CheckinForm(forms.Form):
    visited_on = date_field("走访日期", required=True)
    seen = forms.CharField(label="所见情况", required=False, max_length=5000)
