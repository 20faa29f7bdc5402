"""Forms of the funds pages. They parse the shape of input only; the rules (fee caps,
lessons left, deadlines, who may act) live in the funds services, whose errors the views
show in Chinese."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.core.money import yuan_to_fen

from ..forms import BootstrapMixin, DateInput


class OrderCreateForm(BootstrapMixin, forms.Form):
    course = forms.TypedChoiceField(label=_("课程"), coerce=int)
    learner_name = forms.CharField(label=_("学员姓名"), max_length=64)
    lessons = forms.IntegerField(label=_("购买课时数"), min_value=1, max_value=10_000)
    months = forms.IntegerField(label=_("收费时长(月)"), min_value=1, max_value=120, initial=1)
    starts_on = forms.DateField(label=_("开课日期"), widget=DateInput)

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = [
            (c.pk, f"{c.name}（{c.unit_price_fen / 100:.2f} 元/课时）") for c in courses
        ]


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class LessonRecordForm(BootstrapMixin, forms.Form):
    order_id = forms.IntegerField(label=_("订单号"), min_value=1)
    event_id = forms.RegexField(
        label=_("事件编号"),
        regex=r"^[\w.:\-]{1,64}$",
        max_length=64,
        help_text=_("机构系统中的唯一编号；重复提交同一编号不会重复消课"),
        error_messages={"invalid": "事件编号只能包含字母、数字、下划线、点、冒号和短横线"},
    )
    given_at = forms.DateTimeField(
        label=_("上课时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class BatchUploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("消课文件(JSON lines 或 CSV)"))


class RefundAnswerForm(BootstrapMixin, forms.Form):
    agree = forms.TypedChoiceField(
        label=_("答复"), choices=[("1", "同意退费"), ("0", "不同意")], coerce=lambda v: v == "1"
    )
    answer = forms.CharField(label=_("说明"), max_length=500, required=False)


class ResolveForm(BootstrapMixin, forms.Form):
    resolution = forms.CharField(label=_("处理说明"), max_length=500)
    correction = forms.DecimalField(
        label=_("更正金额(元，正数记入监管账户)"), required=False, max_digits=14, decimal_places=2
    )

    def correction_fen(self) -> int:
        v = self.cleaned_data.get("correction")
        return 0 if v is None else yuan_to_fen(v)


class WeekForm(BootstrapMixin, forms.Form):
    week = forms.DateField(label=_("周(任一日)"), required=False, widget=DateInput)
