"""Forms of the penalty-case pages: filing (立案), evidence, the decision with its
penalties and the people a practice ban names, withdrawal, publication. Amounts are typed
in yuan and reach the services in fen; the services check kinds, states and the fine
ladder."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.money import MAX_FEN, yuan_to_fen
from qinglang.enforcement.models import CaseType, Gravity, Origin, PenaltyKind
from qinglang.enforcement.services import MONEY_KINDS

from .form_fields import IdListField, date_field, yuan_field


def _fen(form: forms.Form, field: str, label: str) -> int | None:
    v = form.cleaned_data.get(field)
    if v is None:
        return None
    fen = yuan_to_fen(v)
    if fen > MAX_FEN:
        form.add_error(field, format_lazy(_("{}超出上限"), label))
        return None
    return fen


class CaseFileForm(forms.Form):
    institution = forms.CharField(label=_("机构编号或统一社会信用代码"), required=False, max_length=32)
    institution_id = forms.CharField(required=False, max_length=32)  # older pages and links
    case_type = forms.ChoiceField(
        label=_("案件类型"), choices=CaseType.choices, error_messages={"invalid_choice": _("请选择案件类型")}
    )
    origin = forms.ChoiceField(
        label=_("来源"),
        choices=Origin.choices,
        required=False,
        error_messages={"invalid_choice": _("请选择案件来源")},
    )
    facts = forms.CharField(label=_("违法事实"), required=False, max_length=10000)
    illegal_gains_yuan = yuan_field(_("违法所得"))

    def clean(self):
        d = super().clean()
        if "illegal_gains_yuan" in d:
            d["illegal_gains_fen"] = _fen(self, "illegal_gains_yuan", _("违法所得")) or 0
        d["ref"] = (d.get("institution") or d.get("institution_id") or "").strip()
        if not d["ref"]:
            self.add_error("institution", _("请填写机构编号或统一社会信用代码"))
        return d


class EvidenceForm(forms.Form):
    description = forms.CharField(label=_("证据说明"), required=False, max_length=2000)
    file = forms.FileField(label=_("证据文件"), required=False)


class DecideForm(forms.Form):
    """作出处罚决定: the penalties (each money kind with its amount in yuan), the gravity,
    the reasoning, a refund already made, blacklisting, and for a practice ban the staff it
    names and its end date."""

    penalties = forms.MultipleChoiceField(
        label=_("处罚种类"),
        choices=PenaltyKind.choices,
        required=False,
        error_messages={"invalid_choice": _("未知的处罚种类")},
    )
    gravity = forms.ChoiceField(
        label=_("情节"),
        choices=Gravity.choices,
        required=False,
        error_messages={"invalid_choice": _("请选择情节")},
    )
    reasoning = forms.CharField(label=_("理由和依据"), required=False, max_length=10000)
    refunded_yuan = yuan_field(_("已退费金额"))
    blacklist = forms.BooleanField(label=_("列入黑名单"), required=False)
    banned_staff = IdListField(label=_("限制从业人员"), required=False)
    ban_ends_on = date_field(_("限制从业截止日期"))

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for k in MONEY_KINDS:
            self.fields[f"amount_{k}"] = yuan_field(f"{PenaltyKind(k).label}金额")

    def clean(self):
        d = super().clean()
        d["penalty_rows"] = []
        for k in d.get("penalties") or []:
            amount = _fen(self, f"amount_{k}", f"{PenaltyKind(k).label}金额") if k in MONEY_KINDS else 0
            d["penalty_rows"].append({"kind": k, "amount_fen": amount or 0})
        d["refunded_fen"] = _fen(self, "refunded_yuan", _("已退费金额"))
        d["gravity"] = d.get("gravity") or Gravity.ORDINARY
        d["banned"] = [{"staff_id": s} for s in d.get("banned_staff") or []]
        return d


class WithdrawCaseForm(forms.Form):
    reason = forms.CharField(label=_("撤销理由"), required=False, max_length=2000)


class PublishForm(forms.Form):
    title = forms.CharField(label=_("标题"), required=False, max_length=200)
    summary = forms.CharField(label=_("案情摘要"), required=False, max_length=10000)
