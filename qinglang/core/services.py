"""Writes of the core app: reference data loading, departments, policy overrides."""

import csv
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_record, snapshot
from .errors import DomainError
from .models import (
    CODE_LENGTHS,
    Department,
    DepartmentKind,
    Division,
    DivisionLevel,
    PolicyParameter,
)
from .policy_defaults import BY_KEY, DEFAULTS

DIVISIONS_CSV = Path(__file__).parent / "data" / "divisions.csv"


def _read_divisions_csv(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8") as fh:
        lines = (line for line in fh if not line.startswith("#"))
        return [(r["code"], r["name"], r["parent_code"]) for r in csv.DictReader(lines)]


@transaction.atomic
def division_load_reference(*, actor=None, path: Path = DIVISIONS_CSV) -> int:
    """Load the GB/T 2260 division tree (idempotent). Returns how many rows were added."""
    rows = _read_divisions_csv(path)
    existing = set(Division.objects.values_list("code", flat=True))
    names = {c: n for c, n, _ in rows}
    to_add = []
    for code, name, parent in rows:
        if code in existing:
            continue
        chain = [names.get(code[:n]) for n in (2, 4, 6, 9) if n < len(code)]
        full = "".join(x for x in chain if x and x != "市辖区") + name
        to_add.append(
            Division(
                code=code,
                name=name,
                level=CODE_LENGTHS[len(code)],
                parent_id=parent or None,
                full_name=full,
            )
        )
    Division.objects.bulk_create(to_add, batch_size=2000)
    if to_add:
        audit_record(
            actor=actor,
            action="division.load_reference",
            object_type="core.division",
            object_id="*",
            changes={"added": len(to_add), "source": path.name},
        )
    return len(to_add)


@transaction.atomic
def division_add(*, actor, code: str, name: str) -> Division:
    """Add a township (9 digits) or community (12 digits) below an existing division."""
    if not code.isdigit() or len(code) not in (9, 12):
        raise ValidationError({"code": "乡镇代码为9位、社区代码为12位数字"})
    parent_code = code[:6] if len(code) == 9 else code[:9]
    parent = Division.objects.filter(code=parent_code).first()
    if parent is None:
        raise DomainError("unknown_division", f"上级区划代码不存在：{parent_code}", {"code": parent_code})
    if Division.objects.filter(code=code).exists():
        raise DomainError("duplicate_division", f"区划代码已存在：{code}", {"code": code})
    d = Division(
        code=code,
        name=name,
        level=CODE_LENGTHS[len(code)],
        parent=parent,
        full_name=(parent.full_name or parent.name) + name,
    )
    d.full_clean()
    d.save()
    audit_record(
        actor=actor,
        action="division.add",
        obj=d,
        division_code=code,
        changes={"name": [None, name]},
    )
    return d


COUNTY_KINDS = [k for k in DepartmentKind.values if k != DepartmentKind.TOWNSHIP_GOVERNMENT]


@transaction.atomic
def department_ensure_for_division(*, actor, division_code: str) -> list[Department]:
    """Create the standard departments of a county (every kind) or a township (its
    government); existing ones are kept."""
    div = Division.objects.filter(code=division_code).first()
    if div is None:
        raise DomainError("unknown_division", f"区划代码不存在：{division_code}", {"code": division_code})
    if div.level == DivisionLevel.TOWNSHIP:
        kinds = [DepartmentKind.TOWNSHIP_GOVERNMENT]
    elif div.level in (DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY):
        kinds = COUNTY_KINDS
    else:
        return []
    have = set(Department.objects.filter(division=div).values_list("kind", flat=True))
    labels = dict(DepartmentKind.choices)
    prefix = div.name if div.level != DivisionLevel.CITY or div.name != "市辖区" else div.parent.name
    new = [Department(division=div, kind=k, name=f"{prefix}{labels[k]}") for k in kinds if k not in have]
    if div.level == DivisionLevel.TOWNSHIP:
        for d in new:
            d.name = div.name + ("街道办事处" if div.name.endswith("街道") else "人民政府")
    Department.objects.bulk_create(new)
    if new:
        audit_record(
            actor=actor,
            action="department.ensure",
            object_type="core.department",
            object_id=division_code,
            division_code=division_code,
            changes={"added": [d.kind for d in new]},
        )
    return list(Department.objects.filter(division=div))


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
    )
    if not ok:
        raise ValidationError({"value": f"参数 {key} 的取值类型应与默认值一致({type(default).__name__})"})
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ValidationError({"value": f"参数 {key} 的取值不能为负数"})
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


@transaction.atomic
def policy_set(
    *, actor, key: str, division_code: str, value, basis: str, effective_from: date | None = None
) -> PolicyParameter:
    """Set a division's own figure for a rule (an override of what it would inherit)."""
    if key not in BY_KEY:
        raise DomainError("unknown_policy_key", f"未知的政策参数：{key}", {"key": key})
    if division_code and not Division.objects.filter(code=division_code).exists():
        raise DomainError("unknown_division", f"区划代码不存在：{division_code}", {"code": division_code})
    if not (basis or "").strip():
        raise ValidationError({"basis": "必须注明依据"})
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
