"""Fields every page form shares: record ids (a positive 64-bit integer, or a list of them),
dates as the browser posts them, several files under one name, amounts in yuan. Each
refusal is one Chinese sentence naming the field."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

MAX_ID = 2**63 - 1  # the database's bigint; a larger number is "invalid", never a server error


def id_field(label: str, *, required: bool = True, missing: str | None = None) -> forms.IntegerField:
    bad = format_lazy(_("{}无效"), label)
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=1,
        max_value=MAX_ID,
        error_messages={
            "required": missing or format_lazy(_("请填写{}"), label),
            "invalid": bad,
            "min_value": bad,
            "max_value": bad,
        },
    )


class IdListField(forms.Field):
    """Several ids posted under one name (checkboxes): a list of positive integers."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value):
        try:
            ids = [int(v) for v in (value or [])]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("编号无效")) from None
        if any(not 1 <= i <= MAX_ID for i in ids):
            raise forms.ValidationError(_("编号无效"))
        return ids

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(_("请至少选择一项"))


def division_code_field(label: str = _("区划"), *, required: bool = False) -> forms.RegexField:
    """A division code as the pages post it (a picker's value or a hidden field): digits
    only, at most 12; whether it exists and is in scope is the service's to check."""
    return forms.RegexField(
        label=label,
        regex=r"^\d{2,12}$",
        required=required,
        error_messages={
            "invalid": format_lazy(_("{}无效"), label),
            "required": format_lazy(_("请选择{}"), label),
        },
    )


class DivisionPickForm(forms.Form):
    """Which division a page is about (the query's, or a posted form's hidden field)."""

    division = division_code_field()


def text_field(label, max_length: int, *, required: bool = False) -> forms.CharField:
    """A bounded text; over-long input is refused naming the field and its limit. The
    label may be lazy (translated per request); the messages stay lazy with it."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        error_messages={
            "max_length": format_lazy(_("{}不超过{}字"), label, max_length),
            "required": format_lazy(_("请填写{}"), label),
        },
    )


def date_field(label: str, *, required: bool = False, missing: str | None = None) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": missing or format_lazy(_("请填写{}"), label),
            "invalid": format_lazy(_("{}格式不正确"), label),
        },
    )


class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiFileField(forms.FileField):
    """Several files under one name; an empty post is an empty list."""

    widget = MultiFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultiFileField, self).clean(d, initial) for d in items]


class _YuanInput(forms.DecimalField):
    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(",", "").replace("，", "").replace("¥", "")
        return super().to_python(value)


def yuan_field(label: str, *, required: bool = False) -> forms.DecimalField:
    """An amount in yuan as typed ("1,000.50"; at most two decimals, not negative); cleaned
    to a Decimal, turned into fen by the form with ``core.money.yuan_to_fen``."""
    bad = format_lazy(_("{}格式不正确(单位元，最多两位小数，不能为负数)"), label)
    return _YuanInput(
        label=label,
        required=required,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        error_messages={
            "required": format_lazy(_("请填写{}"), label),
            "invalid": bad,
            "min_value": bad,
            "max_digits": bad,
            "max_decimal_places": bad,
            "max_whole_digits": bad,
        },
    )
