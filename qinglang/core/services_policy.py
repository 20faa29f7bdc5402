"""Writes of the core app: policy overrides (a division's own figure for a rule) and the
national defaults."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from .audit import audit_record, snapshot
from .errors import DomainError
from .models import Division, PolicyParameter
from .policy_defaults import BY_KEY, DEFAULTS


def _check_value_type(key: str, value) -> None:
    default = BY_KEY[key].value
    if default is None or value is None:
        return
    ok = (
        (isinstance(default, bool) and isinstance(value, bool))
        or (
            not isinstance(default, bool)
            and isinstance(default, int)
            and isinstance(value, int)
            and not isinstance(value, bool)
        )
        or (isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (isinstance(default, str) and isinstance(value, str))
        or (isinstance(default, list) and isinstance(value, list))
        or (isinstance(default, dict) and isinstance(value, dict))
    )
    if not ok:
        raise ValidationError(
            {
                "value": format_lazy(
                    gettext_lazy("参数 {key} 的取值类型应与默认值一致({name__})"),
                    key=key,
                    name__=type(default).__name__,
                )
            }
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ValidationError({"value": format_lazy(gettext_lazy("参数 {key} 的取值不能为负数"), key=key)})
    if BY_KEY[key].check is not None:
        BY_KEY[key].check(value)


@transaction.atomic
def policy_seed_defaults(*, actor=None) -> int:
    """Insert every national default that is missing (idempotent)."""
    have = set(PolicyParameter.objects.filter(division_code="").values_list("key", flat=True))
    new = [
        PolicyParameter(
            key=d.key,
            division_code="",
            value=d.value,
            basis=d.basis,
            effective_from=date(2021, 7, 24),
        )
        for d in DEFAULTS
        if d.key not in have
    ]
    PolicyParameter.objects.bulk_create(new)
    if new:
        audit_record(
            actor=actor,
            action="policy.seed_defaults",
            object_type="core.policyparameter",
            object_id="*",
            changes={"keys": [p.key for p in new]},
        )
    return len(new)


# a legal basis names a document and its article: a few lines, never a whole text
MAX_BASIS_CHARS = 500


@transaction.atomic
def policy_set(
    *, actor, key: str, division_code: str, value, basis: str, effective_from: date | None = None
) -> PolicyParameter:
    """Set a division's own figure for a rule (an override of what it would inherit)."""
    if key not in BY_KEY:
        raise DomainError(
            "unknown_policy_key", format_lazy(gettext_lazy("未知的政策参数：{key}"), key=key), {"key": key}
        )
    if division_code and not Division.objects.filter(code=division_code).exists():
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("区划代码不存在：{division_code}"), division_code=division_code),
            {"code": division_code},
        )
    if not (basis or "").strip():
        raise ValidationError({"basis": gettext_lazy("必须注明依据")})
    if len(basis.strip()) > MAX_BASIS_CHARS:
        raise ValidationError(
            {
                "basis": format_lazy(
                    gettext_lazy("依据不超过{MAX_BASIS_CHARS}字(写明文件名称和条款即可)"),
                    MAX_BASIS_CHARS=MAX_BASIS_CHARS,
                )
            }
        )
    _check_value_type(key, value)
    effective_from = effective_from or timezone.localdate()
    p = PolicyParameter.objects.filter(
        key=key, division_code=division_code, effective_from=effective_from
    ).first()
    before = snapshot(p, ["value", "basis"]) if p else {}
    if p is None:
        p = PolicyParameter(key=key, division_code=division_code, effective_from=effective_from)
    p.value = value
    p.basis = basis.strip()
    p.full_clean()
    p.save()
    audit_record(
        actor=actor,
        action="policy.set",
        obj=p,
        division_code=division_code,
        changes={
            "key": key,
            "effective_from": str(effective_from),
            "value": [before.get("value"), value],
            "basis": [before.get("basis"), p.basis],
        },
    )
    return p
