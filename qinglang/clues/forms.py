"""Forms of the clue pages. The text field is called ``content`` everywhere."""

from django import forms

from qinglang.core.models import DepartmentKind, Division

from .models import Category, Channel
from .services.intake import MAX_TEXT


class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiFileField(forms.FileField):
    widget = MultiFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultiFileField, self).clean(d, initial) for d in items]


def township_choices(county: str) -> list[tuple[str, str]]:
    rows = Division.objects.filter(code__startswith=county, level__in=[3, 4]).order_by("code")
    return [(d.code, d.name) for d in rows]


class ReportForm(forms.Form):
    """公众举报 / 家长端举报."""

    # length and emptiness are checked by the service, so the messages are the same everywhere
    content = forms.CharField(
        label="举报内容", widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label="涉及机构(名称)", required=False, max_length=200)
    address = forms.CharField(label="地址", required=False, max_length=255)
    division_code = forms.ChoiceField(label="所属区域")
    anonymous = forms.BooleanField(label="匿名举报(不留姓名和电话，仍可用查询码查看进度)", required=False)
    reporter_name = forms.CharField(label="您的姓名", required=False, max_length=64)
    reporter_phone = forms.CharField(label="联系电话", required=False, max_length=20)
    photos = MultiFileField(label="照片(可选)", required=False)

    def __init__(self, *args, county: str, **kw):
        super().__init__(*args, **kw)
        self.fields["division_code"].choices = township_choices(county)


class GridReportForm(forms.Form):
    content = forms.CharField(
        label="问题描述", widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label="机构或门店名称", required=False, max_length=200)
    address = forms.CharField(label="地址", required=False, max_length=255)
    division_code = forms.ChoiceField(label="所在街道(乡镇)")
    photos = MultiFileField(label="现场照片", required=False)

    def __init__(self, *args, prefixes: list[str], **kw):
        super().__init__(*args, **kw)
        ch = []
        for p in prefixes or [""]:
            ch += township_choices(p) if p else []
        self.fields["division_code"].choices = ch


class LeadForm(forms.Form):
    channel = forms.ChoiceField(
        label="来源", choices=[(Channel.COVERT_VISIT, "暗访"), (Channel.ONLINE_PATROL, "网上巡查")]
    )
    content = forms.CharField(
        label="线索内容", widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}), required=False
    )
    institution_name = forms.CharField(label="涉及机构", required=False, max_length=200)
    uscc = forms.CharField(label="统一社会信用代码", required=False, max_length=18)
    address = forms.CharField(label="地址", required=False, max_length=255)
    url = forms.CharField(label="网址(网上巡查)", required=False, max_length=500)
    division_code = forms.CharField(label="区划代码", max_length=12)


class ImportForm(forms.Form):
    division_code = forms.CharField(label="所属区县代码", max_length=12)
    file = forms.FileField(label="热线工单(.xlsx)")


class WhistleForm(forms.Form):
    division_code = forms.CharField(label="乡镇(街道)代码", max_length=9)
    title = forms.CharField(label="事项", max_length=200)
    problem = forms.CharField(label="问题", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    department_kinds = forms.MultipleChoiceField(
        label="点名部门",
        choices=[c for c in DepartmentKind.choices if c[0] != DepartmentKind.TOWNSHIP_GOVERNMENT],
        widget=forms.CheckboxSelectMultiple,
    )


CATEGORY_CHOICES = Category.choices
DEPARTMENT_CHOICES = DepartmentKind.choices
