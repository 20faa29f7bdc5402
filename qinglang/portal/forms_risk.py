"""Forms of the risk pages: an alert's handling, an institution's risk actions (runaway,
guardian, a reported signal), the guardian's visit. The services check the content
(kinds, lengths, scope); the forms turn the post into typed values."""

from django import forms


def _date_field(label: str, *, required: bool, missing: str, bad: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=["%Y-%m-%d"],
        error_messages={"required": missing, "invalid": bad},
    )


class AlertCloseForm(forms.Form):
    result = forms.CharField(label="办结情况", required=False, max_length=2000)


class AlertActForm(forms.Form):
    kind = forms.CharField(label="处置措施", required=False, max_length=32)
    note = forms.CharField(label="说明", required=False, max_length=2000)
    due_on = _date_field("检查完成期限", required=False, missing="", bad="检查完成期限格式不正确")


class RunawayForm(forms.Form):
    reason = forms.CharField(label="认定理由", required=False, max_length=2000)


class GuardianForm(forms.Form):
    unit = forms.CharField(label="包保单位", required=False, max_length=200)
    user_id = forms.IntegerField(
        label="包保责任人",
        min_value=1,
        error_messages={
            "required": "请选择包保责任人",
            "invalid": "包保责任人无效",
            "min_value": "包保责任人无效",
        },
    )


class RiskReportForm(forms.Form):
    kind = forms.CharField(label="信号类型", required=False, max_length=40)
    reporter_unit = forms.CharField(label="报送单位", required=False, max_length=200)
    observed_on = _date_field("发现日期", required=True, missing="请填写发现日期", bad="请填写发现日期")
    evidence = forms.CharField(label="情况", required=False, max_length=5000)
    photo = forms.FileField(label="照片", required=False)


class CheckinForm(forms.Form):
    visited_on = _date_field("走访日期", required=True, missing="请填写走访日期", bad="请填写走访日期")
    seen = forms.CharField(label="所见情况", required=False, max_length=5000)
