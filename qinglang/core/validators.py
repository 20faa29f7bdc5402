"""Identifier validation through python-stdnum (real check characters, not hand-written)."""

import re

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def validate_uscc(value: str) -> str:
    """统一社会信用代码 (GB 32100): 18 characters with a check character."""
    try:
        return uscc.validate(value)
    except StdnumError:
        raise ValidationError(
            format_lazy(_("统一社会信用代码无效：{value}"), value=value), code="invalid_uscc"
        )


def validate_resident_id(value: str) -> str:
    """公民身份号码 (GB 11643): 18 characters, birth date and check digit."""
    try:
        return ric.validate(value)
    except StdnumError:
        raise ValidationError(_("公民身份号码无效"), code="invalid_resident_id")


def validate_mobile(value: str) -> str:
    v = re.sub(r"[\s-]", "", value or "")
    if v.startswith("+86"):
        v = v[3:]
    if not MOBILE_RE.match(v):
        raise ValidationError(format_lazy(_("手机号码无效：{value}"), value=value), code="invalid_mobile")
    return v


def validate_phone(value: str) -> str:
    """A mobile number or a landline with area code."""
    v = re.sub(r"\s", "", value or "")
    if LANDLINE_RE.match(v):
        return v
    return validate_mobile(v)


def mask_resident_id(value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:] if len(value) == 18 else "*" * len(value)


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) >= 11 else "****"


def mask_name(value: str) -> str:
    return (value[:1] + "*" * (len(value) - 1)) if value else ""
