"""Forms of the analytics pages: the weekly notice issued on demand, the reminder's
acknowledgement and follow-up, a unit's daily report, the dispatch note and its
acknowledgement. They parse the shape of input; who may act and what a unit is live in
the analytics services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.analytics.daily import MAX_TEXT

from .form_fields import date_field, division_code_field, id_field, text_field


class RankingIssueForm(forms.Form):
    division = division_code_field()
    week = date_field(_("通报周"), required=False)


# The two things a unit does with a reminder (督办提醒).
REMINDER_ACTIONS = {"acknowledge": _("签收"), "follow_up": _("报送整改落实情况")}


class ReminderForm(forms.Form):
    action = forms.ChoiceField(
        label=_("操作"),
        choices=list(REMINDER_ACTIONS.items()),
        error_messages={"required": _("未知操作"), "invalid_choice": _("未知操作")},
    )
    follow_up = text_field(_("整改落实情况"), 2000)


class UnitForm(forms.Form):
    """Which reporting unit a page is about: a division and, for a department, its kind."""

    division = division_code_field()
    department = forms.RegexField(
        label=_("部门"), regex=r"^[a-z_]{0,32}$", required=False, error_messages={"invalid": _("部门无效")}
    )
    day = date_field(_("日期"), required=False)


class DailyReportForm(UnitForm):
    notable_events = text_field(_("重要事项"), MAX_TEXT)
    measures = text_field(_("工作措施"), MAX_TEXT)
    problems = text_field(_("需协调解决的问题"), MAX_TEXT)


class UnitTargetsField(forms.Field):
    """The addressees of a dispatch note: checkboxes valued ``division:department``."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value):
        out = []
        for v in value or []:
            division, sep, department = str(v).partition(":")
            if not sep or not division.isdigit() or len(division) > 12 or len(department) > 32:
                raise forms.ValidationError(_("报送单位无效"))
            out.append((division, department))
        return out


class DispatchForm(forms.Form):
    division = division_code_field()
    day = date_field(_("日期"), required=False)
    text = text_field(_("调度意见"), MAX_TEXT)
    target = UnitTargetsField(label=_("报送单位"), required=False)


class DispatchAckForm(forms.Form):
    target = id_field(_("报送单位"), required=False)
