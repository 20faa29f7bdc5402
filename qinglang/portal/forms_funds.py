"""Forms of the funds pages. They parse the shape of input only; the rules (fee caps,
lessons left, deadlines, who may act) live in the funds services, whose errors the views
show in Chinese."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from qinglang.core.money import yuan_to_fen

from .form_fields import id_field, text_field
from .forms import BootstrapMixin, DateInput


class OrderCreateForm(BootstrapMixin, forms.Form):
    course = forms.TypedChoiceField(label=_("课程"), coerce=int)
    learner_name = forms.CharField(label=_("学员姓名"), max_length=64)
    lessons = forms.IntegerField(label=_("购买课时数"), min_value=1, max_value=10_000)
    months = forms.IntegerField(label=_("收费时长(月)"), min_value=1, max_value=120, initial=1)
    starts_on = forms.DateField(label=_("开课日期"), widget=DateInput)
    ends_on = forms.DateField(
        label=_("收费期截止(可不填)"),
        required=False,
        widget=DateInput,
        help_text=_("不填则按收费时长计算；本地不允许跨学期收费时，截止日不能进入下一学期"),
    )

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].choices = [
            (c.pk, f"{c.name}（{c.unit_price_fen / 100:.2f} 元/课时）") for c in courses
        ]


class InstitutionPickForm(forms.Form):
    """The institution a parent buys from (picked from the whitelist search)."""

    institution = id_field(_("机构"), required=False)


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonTextForm(BootstrapMixin, forms.Form):
    """A reason the service decides on (it may require one): at most 500 characters."""

    reason = text_field(_("理由"), 500)


# Freeze and unfreeze of an institution's releases: the posted ``op`` names one of them.
FREEZE_OPS = {"freeze": _("暂停拨付"), "unfreeze": _("恢复拨付")}


class FreezeForm(ReasonTextForm):
    op = forms.ChoiceField(
        label=_("操作"),
        choices=list(FREEZE_OPS.items()),
        error_messages={"invalid_choice": _("未知操作"), "required": _("未知操作")},
    )


class LessonRecordForm(BootstrapMixin, forms.Form):
    """One lesson given: pick the order (paid, with lessons left) and the lesson's number;
    the event id the API asks for is derived from them (``web-<order>-<lesson>``), so
    recording the same lesson twice is still a no-op."""

    order_id = forms.TypedChoiceField(label=_("订单"), coerce=int)
    lesson_no = forms.IntegerField(
        label=_("第几节课"), min_value=1, help_text=_("该订单的第几节课；同一节课重复提交不会重复消课")
    )
    given_at = forms.DateTimeField(
        label=_("上课时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, orders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.orders = {o.pk: o for o in orders}
        self.fields["order_id"].choices = [("", _("请选择订单"))] + [
            (
                o.pk,
                f"{o.learner_name} · {o.course.name} · 已消 {o.lessons_consumed}/{o.lessons} 节",
            )
            for o in orders
        ]
        if not self.is_bound and orders:
            first = orders[0]
            self.initial.setdefault("order_id", first.pk)
            self.initial.setdefault("lesson_no", first.lessons_consumed + 1)

    def clean(self):
        d = super().clean()
        order = self.orders.get(d.get("order_id"))
        if order is not None and d.get("lesson_no") and d["lesson_no"] > order.lessons:
            self.add_error("lesson_no", _("该订单共 %(n)s 节课") % {"n": order.lessons})
        if d.get("order_id") and d.get("lesson_no"):
            d["event_id"] = f"web-{d['order_id']}-{d['lesson_no']}"
        return d


class BatchUploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("消课文件(.xlsx 模板、CSV 或 JSON lines)"))


class RefundAnswerForm(BootstrapMixin, forms.Form):
    agree = forms.TypedChoiceField(
        label=_("答复"), choices=[("1", _("同意退费")), ("0", _("不同意"))], coerce=lambda v: v == "1"
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


def _positive_yuan(value) -> int:
    fen = yuan_to_fen(value)
    if fen <= 0:
        raise forms.ValidationError(_("金额须大于零"))
    return fen


class YuanField(forms.DecimalField):
    """An amount in yuan with at most two decimals, cleaned to integer fen."""

    def __init__(self, *, allow_zero: bool = False, **kw):
        self.allow_zero = allow_zero
        kw.setdefault("max_digits", 14)
        kw.setdefault("decimal_places", 2)
        kw.setdefault("min_value", 0)
        super().__init__(**kw)

    def clean(self, value):
        v = super().clean(value)
        if v is None:
            return None
        return yuan_to_fen(v) if self.allow_zero else _positive_yuan(v)


class DepositForm(BootstrapMixin, forms.Form):
    amount = YuanField(label=_("缴存金额(元)"))
    note = forms.CharField(label=_("备注(如银行回单号)"), max_length=200, required=False)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class DisputeDecisionForm(BootstrapMixin, forms.Form):
    upheld = forms.TypedChoiceField(
        label=_("裁决"),
        choices=[("1", _("异议成立(退回课时、冲回拨付)")), ("0", _("异议不成立"))],
        coerce=lambda v: v == "1",
        error_messages={
            "required": _("请选择异议成立或不成立"),
            "invalid_choice": _("请选择异议成立或不成立"),
        },
    )
    reason = forms.CharField(
        label=_("裁决理由"), max_length=500, error_messages={"required": _("请填写裁决理由")}
    )


class DeclarationForm(BootstrapMixin, forms.Form):
    week = forms.DateField(label=_("申报周(任一日)"), widget=DateInput)
    declared = YuanField(label=_("本周持有的预收费(元)"), allow_zero=True)


class StatementUploadForm(BootstrapMixin, forms.Form):
    day = forms.DateField(label=_("对账日期"), widget=DateInput)
    file = forms.FileField(
        label=_("银行日对账单(CSV 或 .xlsx)"),
        help_text=_("列：txn_id, direction(in/out), amount_fen 或 amount_yuan"),
    )


class PaymentEntryForm(BootstrapMixin, forms.Form):
    """A payment that reached custody without the bank's signed notification."""

    reference = forms.CharField(
        label=_("缴费参考号(付款附言)"), max_length=30, help_text=_("家长转账附言中的 QL 开头编号")
    )
    txn_id = forms.CharField(label=_("银行交易流水号"), max_length=64)
    amount = YuanField(label=_("到账金额(元)"))
    paid_on = forms.DateField(label=_("到账日期"), widget=DateInput)
    payer_account = forms.CharField(label=_("付款账号"), max_length=64, required=False)
    payer_account_name = forms.CharField(label=_("付款户名"), max_length=100, required=False)
    payer_bank = forms.CharField(label=_("付款开户行"), max_length=100, required=False)
    note = forms.CharField(
        label=_("补录依据"), max_length=300, help_text=_("如：2026-12-01 对账单第 12 行，回单号 …")
    )


def form_errors(form, fallback: dict | None = None) -> ValidationError:
    """A bound, invalid form's errors as the ValidationError a service would raise, so
    ``run_action`` shows them like any other refusal."""
    return ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()} or fallback or {})
