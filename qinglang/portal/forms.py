"""Forms of the portal. They only parse and check the shape of input; the rules live in
the services, whose errors the views attach back onto these forms."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.money import yuan_to_fen
from qinglang.core.policy_defaults import BY_KEY, DEFAULTS
from qinglang.registry.models import (
    InstitutionCategory,
    InstitutionStatus,
    Kind,
    LicenceKind,
    LicenceStatus,
    Mode,
    Nature,
    NonprofitConversion,
    StaffRole,
    Stage,
)
from qinglang.registry.selectors import InstitutionFilter


def _blank(choices) -> list[tuple[str, str]]:
    return [("", _("全部")), *choices]


class BootstrapMixin:
    """Give every widget Bootstrap's classes, so templates can render ``{{ field }}``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            w = field.widget
            if isinstance(w, forms.CheckboxInput):
                w.attrs.setdefault("class", "form-check-input")
            elif isinstance(w, forms.CheckboxSelectMultiple):
                continue
            elif isinstance(w, forms.Select):
                w.attrs.setdefault("class", "form-select form-select-sm")
            else:
                w.attrs.setdefault("class", "form-control form-control-sm")


DateInput = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- console: the institution list ------------------------------------------------------


class InstitutionFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("名称/信用代码"), required=False, max_length=100)
    division = forms.RegexField(label=_("区划代码前缀"), regex=r"^\d{0,12}$", required=False, max_length=12)
    category = forms.ChoiceField(label=_("类别"), choices=_blank(InstitutionCategory.choices), required=False)
    kind = forms.ChoiceField(label=_("培训类型"), choices=_blank(Kind.choices), required=False)
    status = forms.ChoiceField(label=_("办学状态"), choices=_blank(InstitutionStatus.choices), required=False)
    licence_status = forms.ChoiceField(
        label=_("证照状态"), choices=_blank(LicenceStatus.choices), required=False
    )
    whitelisted = forms.ChoiceField(
        label=_("白名单"), choices=[("", _("全部")), ("1", _("是")), ("0", _("否"))], required=False
    )

    def to_filter(self) -> InstitutionFilter:
        """The selector's filter from valid data (scope is applied by the selector
        regardless, so an invalid field just drops that filter; the form shows why)."""
        d = self.cleaned_data if self.is_bound and self.is_valid() else {}
        wl = d.get("whitelisted", "")
        return InstitutionFilter(
            division=d.get("division", ""),
            category=d.get("category", ""),
            kind=d.get("kind", ""),
            status=d.get("status", ""),
            licence_status=d.get("licence_status", ""),
            whitelisted=None if wl == "" else wl == "1",
            q=d.get("q", "").strip(),
        )


# --- console: registration and actions ---------------------------------------------------


class InstitutionCreateForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("机构名称"), max_length=200)
    registered_name = forms.CharField(label=_("登记名称"), max_length=200, required=False)
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=18, required=False)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=64, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    category = forms.ChoiceField(label=_("类别"), choices=InstitutionCategory.choices)
    kind = forms.ChoiceField(label=_("培训类型"), choices=Kind.choices)
    stages = forms.MultipleChoiceField(
        label=_("学段"), choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    mode = forms.ChoiceField(label=_("办学形式"), choices=Mode.choices, initial=Mode.OFFLINE)
    nature = forms.ChoiceField(label=_("性质"), choices=Nature.choices, initial=Nature.FOR_PROFIT)
    nonprofit_conversion = forms.ChoiceField(
        label=_("营转非"), choices=NonprofitConversion.choices, initial=NonprofitConversion.NOT_APPLICABLE
    )
    division_code = forms.CharField(
        label=_("所属区划代码"),
        max_length=12,
        help_text=_("6位(区县)、9位(乡镇街道)或12位(社区)"),
    )
    address = forms.CharField(label=_("地址"), max_length=255, required=False)
    founded_on = forms.DateField(label=_("成立日期"), required=False, widget=DateInput)

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None,)}


class TransitionForm(BootstrapMixin, forms.Form):
    to_status = forms.ChoiceField(label=_("变更为"), choices=InstitutionStatus.choices)
    reason = forms.CharField(label=_("理由"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class LicenceForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("证照类型"), choices=LicenceKind.choices)
    number = forms.CharField(label=_("证号"), max_length=64)
    issuer = forms.CharField(label=_("发证机关"), max_length=100, required=False)
    valid_from = forms.DateField(label=_("有效期起"), required=False, widget=DateInput)
    valid_until = forms.DateField(label=_("有效期至"), required=False, widget=DateInput)
    business_scope = forms.CharField(
        label=_("经营范围(营业执照、民办非企业单位登记证书)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MaterialReviewForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("通过")), ("reject", _("不通过"))])
    reason = forms.CharField(label=_("不通过理由"), max_length=1000, required=False)


class CourseReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("核准")), ("reject", _("不核准"))])


class ImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("Excel 文件(.xlsx)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(".xlsx"):
            raise ValidationError(_("请上传 .xlsx 格式的 Excel 文件"))
        return f


# --- console: policy --------------------------------------------------------------------


def parse_policy_value(key: str, text: str):
    """Turn what an official typed into the type of the rule's default value."""
    default = BY_KEY[key].value
    t = (text or "").strip()
    if isinstance(default, bool):
        if t.lower() in ("true", "1", "是", "允许", "yes"):
            return True
        if t.lower() in ("false", "0", "否", "不允许", "no"):
            return False
        raise ValidationError(_("请填写 是 或 否"))
    if isinstance(default, int):
        try:
            return int(t)
        except ValueError:
            raise ValidationError(_("请填写整数"))
    if isinstance(default, float):
        try:
            return float(t)
        except ValueError:
            raise ValidationError(_("请填写数字"))
    if isinstance(default, list):
        return [s.strip() for s in t.replace("，", ",").split(",") if s.strip()]
    if default is None:
        if not t:
            return None
        try:
            return json.loads(t)
        except ValueError:
            return t
    return t


class PolicyOverrideForm(BootstrapMixin, forms.Form):
    # each rule's name in the reader's language (the catalogue holds them all), then its key
    key = forms.ChoiceField(
        label=_("参数"), choices=[(d.key, format_lazy("{}({})", _(d.label), d.key)) for d in DEFAULTS]
    )
    value = forms.CharField(label=_("取值"), max_length=500, required=False)
    basis = forms.CharField(label=_("依据"), max_length=500)
    effective_from = forms.DateField(label=_("生效日期"), required=False, widget=DateInput)

    def clean(self):
        data = super().clean()
        if "key" in data:
            try:
                data["parsed_value"] = parse_policy_value(data["key"], data.get("value", ""))
            except ValidationError as e:
                self.add_error("value", e)
        return data


# --- institution end --------------------------------------------------------------------


class ProfileForm(BootstrapMixin, forms.Form):
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    address = forms.CharField(label=_("地址"), max_length=255, required=False)
    party_organisation = forms.BooleanField(label=_("党组织覆盖"), required=False)
    party_charter_clause = forms.BooleanField(label=_("党建入章"), required=False)


class SiteForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("场所名称"), max_length=200)
    address = forms.CharField(label=_("地址"), max_length=255)
    division_code = forms.CharField(label=_("所属区划代码(9位乡镇或12位社区)"), max_length=12)
    area_sqm = forms.IntegerField(label=_("面积(平方米)"), min_value=1, required=False)
    is_primary = forms.BooleanField(label=_("主场所"), required=False)


class StaffForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    resident_id = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    role = forms.ChoiceField(label=_("岗位"), choices=StaffRole.choices)
    teaches_subject = forms.BooleanField(label=_("从事学科类教学"), required=False)
    subjects = forms.CharField(label=_("任教科目"), max_length=100, required=False)
    teacher_qualification_no = forms.CharField(label=_("教师资格证号"), max_length=32, required=False)
    background_check_on = forms.DateField(label=_("无犯罪记录查询日期"), required=False, widget=DateInput)
    hired_on = forms.DateField(label=_("入职日期"), required=False, widget=DateInput)


class CourseForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("课程名称"), max_length=200)
    kind = forms.ChoiceField(label=_("培训类型"), choices=Kind.choices)
    stage = forms.ChoiceField(label=_("学段"), choices=Stage.choices)
    lessons = forms.IntegerField(label=_("课时数"), min_value=1)
    lesson_minutes = forms.IntegerField(label=_("每课时分钟"), min_value=1, initial=45)
    unit_price = forms.CharField(label=_("课时单价(元)"), max_length=20)
    class_size = forms.IntegerField(label=_("班额"), min_value=1, required=False)
    description = forms.CharField(
        label=_("课程介绍"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_unit_price(self):
        fen = yuan_to_fen(self.cleaned_data["unit_price"])
        if fen < 0:
            raise ValidationError(_("单价不能为负数"))
        return fen

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["unit_price_fen"] = d.pop("unit_price")
        if d.get("class_size") is None:
            d.pop("class_size", None)
        return d


class MaterialForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("材料名称"), max_length=200)
    subject = forms.CharField(label=_("科目/领域"), max_length=64, required=False)
    stage = forms.ChoiceField(label=_("学段"), choices=[("", _("不限")), *Stage.choices], required=False)
    publisher = forms.CharField(label=_("编写/出版"), max_length=200, required=False)


# --- public site ------------------------------------------------------------------------


class PublicSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("机构名称"), required=False, max_length=100)
    division = forms.RegexField(label=_("所在街道(乡镇)"), regex=r"^\d{0,12}$", required=False)
    # the public's search row: full-size fields like the township picker beside it
    category = forms.ChoiceField(
        label=_("类别"),
        choices=[("", _("全部类别")), *InstitutionCategory.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def params(self) -> dict:
        d = self.cleaned_data if self.is_valid() else {}
        return {
            "q": d.get("q", "").strip(),
            "division": d.get("division", ""),
            "category": d.get("category", ""),
        }
