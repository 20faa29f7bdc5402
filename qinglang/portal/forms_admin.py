"""Forms of the administration pages (divisions, departments, accounts, tokens). They parse
the shape of input; who may do what and the codes' rules live in the accounts and core
services, whose errors the views show in Chinese."""

from django import forms
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.administration import STAFF_IMPORT_ROLES
from qinglang.accounts.models import Role, TokenScope
from qinglang.core.models import DepartmentKind

from .forms import BootstrapMixin, ImportForm

COUNTY_KINDS = [(k, label) for k, label in DepartmentKind.choices if k != DepartmentKind.TOWNSHIP_GOVERNMENT]
GRANT_ROLES = [(r, Role(r).label) for r in STAFF_IMPORT_ROLES]
INSTITUTION_GRANT_ROLES = [(r, Role(r).label) for r in (Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF)]


class CountyChoiceMixin:
    """A ``county`` field listing the counties the user administers (hidden when one)."""

    def set_counties(self, counties):
        self.fields["county"].choices = [(c.code, c.full_name or c.name) for c in counties]


class DivisionAddForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("区划代码"), max_length=12, help_text=_("乡镇(街道)9位，社区(村)12位"))
    name = forms.CharField(label=_("名称"), max_length=64)


class DivisionRenameForm(BootstrapMixin, forms.Form):
    op = forms.ChoiceField(choices=[("rename", "rename"), ("retire", "retire"), ("restore", "restore")])
    name = forms.CharField(label=_("新名称"), max_length=64, required=False)


class DivisionImportForm(CountyChoiceMixin, ImportForm):
    county = forms.ChoiceField(label=_("县级区划"))
    field_order = ["county", "file"]


class DepartmentAddForm(CountyChoiceMixin, BootstrapMixin, forms.Form):
    county = forms.ChoiceField(label=_("县级区划"))
    kind = forms.ChoiceField(label=_("部门类型"), choices=COUNTY_KINDS)
    name = forms.CharField(label=_("名称(可不填)"), max_length=100, required=False)


class DepartmentForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    person_in_charge = forms.CharField(label=_("负责人"), max_length=64, required=False)
    person_in_charge_phone = forms.CharField(label=_("负责人电话"), max_length=30, required=False)


class StaffCreateForm(CountyChoiceMixin, BootstrapMixin, forms.Form):
    county = forms.ChoiceField(label=_("县级区划"))
    display_name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("手机号码(即登录用户名)"), max_length=20)
    role = forms.ChoiceField(label=_("角色"), choices=GRANT_ROLES)
    department_kind = forms.ChoiceField(
        label=_("部门"), choices=[("", _("不限部门")), *COUNTY_KINDS], required=False
    )
    township = forms.ChoiceField(label=_("乡镇(街道)"), required=False)

    def set_townships(self, townships):
        self.fields["township"].choices = [("", _("全县"))] + [(t.code, t.name) for t in townships]


class StaffImportForm(CountyChoiceMixin, ImportForm):
    county = forms.ChoiceField(label=_("县级区划"))
    field_order = ["county", "file"]


class GrantForm(BootstrapMixin, forms.Form):
    """The role is free text under a select, so that an unknown role reaches the service
    and is refused there in Chinese like everywhere else."""

    role = forms.CharField(
        label=_("角色"), max_length=32, widget=forms.Select(choices=[*GRANT_ROLES, *INSTITUTION_GRANT_ROLES])
    )
    division_code = forms.CharField(label=_("管辖区划代码"), max_length=12, required=False)
    institution = forms.CharField(
        label=_("机构(机构角色：名称或统一社会信用代码)"), max_length=200, required=False
    )
    department_kind = forms.ChoiceField(
        label=_("部门"), choices=[("", _("不限部门")), *COUNTY_KINDS], required=False
    )
    bank = forms.TypedChoiceField(
        label=_("托管银行(银行操作员)"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, banks=None, **kwargs):
        super().__init__(*args, **kwargs)
        if banks:  # the platform admin also grants bank operators
            self.fields["role"].widget.choices = [
                *GRANT_ROLES,
                *INSTITUTION_GRANT_ROLES,
                (Role.BANK_OPERATOR, Role.BANK_OPERATOR.label),
            ]
            self.fields["bank"].choices = [("", "—")] + [(b.pk, b.name) for b in banks]
        else:
            del self.fields["bank"]


class TokenCreateForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("用途(如“某某银行对账系统”)"), max_length=100)
    scope = forms.ChoiceField(label=_("权限范围"), choices=TokenScope.choices, initial=TokenScope.READ_WRITE)


class InviteForm(BootstrapMixin, forms.Form):
    display_name = forms.CharField(label=_("管理员姓名"), max_length=64)
    username = forms.CharField(label=_("登录用户名"), max_length=150)
