"""Forms of the rules-in-force pages: a practice ban entered from another authority, a
course's timetable slot, an application's review (correction, decision with its
checklist) and the institution's resubmission. The services check content and scope."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.registry.models import DisclosureItem
from qinglang.registry.services import APPLICATION_FIELDS, CHANGE_FIELDS

from .form_fields import date_field, id_field, text_field

# What an application proposes, in words (the form's labels and the review page's list).
PROPOSED_LABELS = {
    "name": "机构名称",
    "uscc": "统一社会信用代码",
    "category": "类别",
    "kind": "培训类型",
    "division_code": "所属区划",
    "address": "地址",
    "legal_representative": "法定代表人",
    "nature": "性质",
    "mode": "办学方式",
    "site_area_sqm": "场所面积(平方米)",
    "planned_pupils": "计划招生人数",
    "teachers": "专职教师人数",
    "qualified_teachers": "持证教师人数",
    "stages": "学段",
    "changes": "变更事项",
    "fire_acceptance": "消防验收(备案)",
    "institution_id": "机构",
}


class ApplicationDataForm(forms.Form):
    """What an application proposes, as posted: its own fields and, for a change, the
    changed items (``change_<field>``). Shape only (each a short text); what each kind
    requires is the approval service's to check (``application_data`` builds its dict)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in APPLICATION_FIELDS:
            self.fields[f] = text_field(PROPOSED_LABELS.get(f, f), 255)
        for f, label in CHANGE_FIELDS.items():
            self.fields[f"change_{f}"] = text_field(f"变更后的{label}", 255)


def application_data(d: dict, institution_id: int | None = None) -> dict:
    """The approval service's ``data`` from an ApplicationDataForm's cleaned data: the
    fields left blank omitted, the changed items under ``changes``."""
    out = {f: d[f] for f in APPLICATION_FIELDS if d.get(f)}
    if institution_id:
        out["institution_id"] = institution_id
    changes = {f: d[f"change_{f}"] for f in CHANGE_FIELDS if d.get(f"change_{f}")}
    if changes:
        out["changes"] = changes
    return out


class DisclosureForm(forms.Form):
    """The disclosure board's items (公示事项) an institution writes; an item not posted
    is left as it is, an item posted blank is cleared."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in DisclosureItem.choices:
            self.fields[value] = text_field(str(label), 2000)

    def clean(self):
        d = super().clean()
        d["items"] = {k: d[k] for k in self.fields if k in self.data and k in d}
        return d


class PracticeBanForm(forms.Form):
    resident_id = forms.CharField(label=_("身份证号"), required=False, max_length=18)
    name = forms.CharField(label=_("姓名"), required=False, max_length=64)
    authority = forms.CharField(label=_("决定机关"), required=False, max_length=200)
    decision_no = forms.CharField(label=_("决定文号"), required=False, max_length=100)
    basis = forms.CharField(label=_("依据"), required=False, max_length=500)
    division_code = forms.CharField(label=_("决定区划"), required=False, max_length=12)
    starts_on = date_field(_("起始日期"), required=True)
    ends_on = date_field(_("截止日期"))


class SlotForm(forms.Form):
    """One weekly slot: the service checks the weekday, times, term and the rules."""

    weekday = forms.CharField(label=_("星期"), required=False, max_length=2)
    starts_at = forms.CharField(label=_("开始时间"), required=False, max_length=8)
    ends_at = forms.CharField(label=_("结束时间"), required=False, max_length=8)
    term_start = forms.CharField(label=_("开课日期"), required=False, max_length=10)
    term_end = forms.CharField(label=_("结课日期"), required=False, max_length=10)
    teacher_id = id_field(_("授课人员"), required=False)


class CorrectionForm(forms.Form):
    note = forms.CharField(label=_("补正内容"), required=False, max_length=2000)


class ApplicationDecisionForm(forms.Form):
    """准予 / 不予许可 with the review checklist of the application's kind."""

    reason = forms.CharField(label=_("理由"), required=False, max_length=2000)

    def __init__(self, *args, checklist=(), **kw):
        super().__init__(*args, **kw)
        self.items = [item for item, _ in checklist]
        for item, label in checklist:
            self.fields[f"check_{item}"] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict:
        return {item: self.cleaned_data[f"check_{item}"] for item in self.items}


class ResubmitRefForm(forms.Form):
    """Which application a resubmission answers, and the document it adds."""

    application_id = id_field(_("申请"), required=False)
    doc_type = forms.CharField(label=_("材料类型"), required=False, max_length=40)
    file = forms.FileField(label=_("材料"), required=False)
