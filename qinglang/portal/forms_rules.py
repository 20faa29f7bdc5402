"""Forms of the rules-in-force pages: a practice ban entered from another authority, a
course's timetable slot, an application's review (correction, decision with its
checklist) and the institution's resubmission. The services check content and scope."""

from django import forms

from .form_fields import date_field, id_field


class PracticeBanForm(forms.Form):
    resident_id = forms.CharField(label="身份证号", required=False, max_length=18)
    name = forms.CharField(label="姓名", required=False, max_length=64)
    authority = forms.CharField(label="决定机关", required=False, max_length=200)
    decision_no = forms.CharField(label="决定文号", required=False, max_length=100)
    basis = forms.CharField(label="依据", required=False, max_length=500)
    division_code = forms.CharField(label="决定区划", required=False, max_length=12)
    starts_on = date_field("起始日期", required=True)
    ends_on = date_field("截止日期")


class SlotForm(forms.Form):
    """One weekly slot: the service checks the weekday, times, term and the rules."""

    weekday = forms.CharField(label="星期", required=False, max_length=2)
    starts_at = forms.CharField(label="开始时间", required=False, max_length=8)
    ends_at = forms.CharField(label="结束时间", required=False, max_length=8)
    term_start = forms.CharField(label="开课日期", required=False, max_length=10)
    term_end = forms.CharField(label="结课日期", required=False, max_length=10)
    teacher_id = id_field("授课人员", required=False)


class CorrectionForm(forms.Form):
    note = forms.CharField(label="补正内容", required=False, max_length=2000)


class ApplicationDecisionForm(forms.Form):
    """准予 / 不予许可 with the review checklist of the application's kind."""

    reason = forms.CharField(label="理由", required=False, max_length=2000)

    def __init__(self, *args, checklist=(), **kw):
        super().__init__(*args, **kw)
        self.items = [item for item, _ in checklist]
        for item, label in checklist:
            self.fields[f"check_{item}"] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict:
        return {item: self.cleaned_data[f"check_{item}"] for item in self.items}


class ResubmitRefForm(forms.Form):
    """Which application a resubmission answers, and the document it adds."""

    application_id = id_field("申请", required=False)
    doc_type = forms.CharField(label="材料类型", required=False, max_length=40)
    file = forms.FileField(label="材料", required=False)
