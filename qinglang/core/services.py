"""Writes of the core app: reference data loading, departments, policy overrides."""

import csv
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.core.i18n import chinese_label

from .audit import audit_record, snapshot
from .division_names import names_changed
from .errors import DomainError
from .models import (
    CODE_LENGTHS,
    Department,
    DepartmentKind,
    Division,
    DivisionLevel,
)
from .services_policy import MAX_BASIS_CHARS, policy_seed_defaults, policy_set  # noqa: F401 (re-exported)
from .validators import validate_phone
from .xlsx import Col, read_table, template_xlsx

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
    names_changed()
    if to_add:
        audit_record(
            actor=actor,
            action="division.load_reference",
            object_type="core.division",
            object_id="*",
            changes={"added": len(to_add), "source": path.name},
        )
    return len(to_add)


LOCAL_LEVELS = {9: DivisionLevel.TOWNSHIP, 12: DivisionLevel.COMMUNITY}
LOCAL_LABELS = {9: "乡镇(街道)", 12: "社区(村)"}


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": gettext_lazy("请填写区划名称")})
    if len(name) > 64:
        raise ValidationError({"name": gettext_lazy("区划名称不超过64个字")})
    return name


# City-level entries that are not places ("省直辖县级行政区划"): left out of full names.
PLACEHOLDER_NAMES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


def _full_prefix(d: Division | None) -> str:
    """The full name a child's name is appended to."""
    if d is None:
        return ""
    if d.name in PLACEHOLDER_NAMES:
        return _full_prefix(d.parent)
    return d.full_name or d.name


def division_code_problem(code: str) -> str:
    """What is wrong with the shape of a township/community code ("" if nothing)."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (9, 12):
        return f"区划代码“{code}”应为9位(乡镇、街道)或12位(社区、村)数字"
    return ""


def division_check_new(
    code: str, *, parent_code: str | None = None, new_parents: frozenset[str] = frozenset()
) -> str:
    """Why a township/community code cannot be added ("" when it can). ``parent_code``
    is the division it must lie under (the county being set up, a township); ``new_parents``
    are townships listed in the same batch."""
    code = (code or "").strip()
    if division_code_problem(code):
        return division_code_problem(code)
    parent = code[:6] if len(code) == 9 else code[:9]
    if parent_code and not code.startswith(parent_code):
        return f"区划代码{code}不在{parent_code}之下(前{len(parent_code)}位应为{parent_code})"
    if parent not in new_parents and not Division.objects.filter(code=parent).exists():
        return f"上级区划代码不存在：{parent}"
    if Division.objects.filter(code=code).exists():
        return f"区划代码已存在：{code}"
    return ""


def _new_local(code: str, name: str, parent: Division) -> Division:
    return Division(
        code=code,
        name=name,
        level=LOCAL_LEVELS[len(code)],
        parent=parent,
        full_name=(parent.full_name or parent.name) + name,
    )


@transaction.atomic
def division_add(*, actor, code: str, name: str, under: str | None = None) -> Division:
    """Add a township (9 digits) or community (12 digits) below an existing division;
    ``under`` is a prefix the code must start with (the caller's county)."""
    code = (code or "").strip()
    name = _clean_name(name)
    problem = division_check_new(code, parent_code=under)
    if problem:
        dup = "已存在" in problem
        raise DomainError("duplicate_division" if dup else "invalid_division_code", problem, {"code": code})
    parent = Division.objects.get(code=code[:6] if len(code) == 9 else code[:9])
    d = _new_local(code, name, parent)
    d.full_clean()
    d.save()
    names_changed()  # a code shown before it existed was kept as the code itself
    audit_record(
        actor=actor, action="division.add", obj=d, division_code=code, changes={"name": [None, name]}
    )
    return d


def _division_for_change(code: str) -> Division:
    d = Division.objects.select_for_update().filter(code=code).first()
    if d is None:
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("区划代码不存在：{code}"), code=code),
            {"code": code},
            status=404,
        )
    return d


@transaction.atomic
def division_rename(*, actor, code: str, name: str) -> Division:
    """Rename a division; the full names of it and everything under it follow."""
    name = _clean_name(name)
    d = _division_for_change(code)
    if d.name == name:
        return d
    old = d.name
    d.name = name
    d.full_name = (d.parent.full_name or d.parent.name) + name if d.parent_id else name
    d.save(update_fields=["name", "full_name"])
    for child in Division.objects.filter(code__startswith=code).exclude(code=code).order_by("code"):
        up = Division.objects.get(code=child.parent_id)
        child.full_name = (up.full_name or up.name) + child.name
        child.save(update_fields=["full_name"])
    names_changed()
    audit_record(
        actor=actor, action="division.rename", obj=d, division_code=code, changes={"name": [old, name]}
    )
    return d


@transaction.atomic
def division_retire(*, actor, code: str, retired: bool = True) -> Division:
    """Retire (撤销) a township or community, or bring it back. Its row stays: records made
    there keep their place; it is no longer offered for new ones. Retiring a township
    retires its communities too."""
    d = _division_for_change(code)
    if d.level not in (DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY):
        raise DomainError("not_local_division", gettext_lazy("只能撤销乡镇(街道)或社区(村)"), {"code": code})
    if d.retired == retired:
        return d
    qs = Division.objects.filter(code__startswith=code) if retired else Division.objects.filter(code=code)
    n = qs.update(retired=retired)
    d.retired = retired
    audit_record(
        actor=actor,
        action="division.retire" if retired else "division.restore",
        obj=d,
        division_code=code,
        changes={"retired": [not retired, retired], "divisions": n},
    )
    return d


@dataclass
class RowError:
    row: int  # the spreadsheet's row number as the official sees it (header = 1)
    column: str
    message: str


@transaction.atomic
def division_sync(*, actor, county_code: str, rows: list[tuple[int, str, str]], restore: bool = True) -> dict:
    """Add or rename the townships and communities of ``county_code`` from (row, code,
    name) rows — a template upload or ``qinglang setup``. Checked first, all or nothing:
    returns ``{"errors": [RowError…]}`` and writes nothing when any row is wrong, else
    ``{"added": [...], "renamed": [...], "errors": []}``. Rows already there with the
    same name change nothing (idempotent); township government departments follow."""
    errors: list[RowError] = []
    existing = {
        d.code: d
        for d in Division.objects.filter(code__startswith=county_code, level__gte=DivisionLevel.TOWNSHIP)
    }
    seen: dict[str, int] = {}
    listed = frozenset((c or "").strip() for _, c, _ in rows)
    plan_add: list[tuple[str, str]] = []
    plan_rename: list[tuple[str, str]] = []
    for row, code, name in rows:
        code = (code or "").strip()
        name = " ".join((name or "").split())
        if not name:
            errors.append(RowError(row, "名称", "请填写名称"))
        elif len(name) > 64:
            errors.append(RowError(row, "名称", "名称不超过64个字"))
        if code in seen:
            errors.append(RowError(row, "区划代码", f"区划代码{code}与第{seen[code]}行重复"))
            continue
        seen[code] = row
        if code in existing:
            if name and (existing[code].name != name or existing[code].retired):
                plan_rename.append((code, name))  # a retired code listed again is restored
            continue
        problem = division_check_new(code, parent_code=county_code, new_parents=listed)
        if problem:
            errors.append(RowError(row, "区划代码", problem))
        elif name:
            plan_add.append((code, name))
    if errors:
        return {"errors": errors, "added": [], "renamed": []}
    plan_add.sort()
    for code, name in plan_add:
        parent = existing.get(code[:9] if len(code) == 12 else code[:6]) or Division.objects.get(
            code=code[:9] if len(code) == 12 else code[:6]
        )
        d = _new_local(code, name, parent)
        d.full_clean()
        d.save()
        existing[code] = d
    if plan_add:
        names_changed()
    for code, name in plan_rename:
        if existing[code].retired:
            Division.objects.filter(code=code).update(retired=False)
        if existing[code].name != name:
            division_rename(actor=actor, code=code, name=name)
    if plan_add:
        audit_record(
            actor=actor,
            action="division.import",
            object_type="core.division",
            object_id=county_code,
            division_code=county_code,
            changes={"added": [c for c, _ in plan_add]},
        )
    for code, _ in plan_add:
        if len(code) == 9:
            department_ensure_for_division(actor=actor, division_code=code)
    return {"errors": [], "added": [c for c, _ in plan_add], "renamed": [c for c, _ in plan_rename]}


@transaction.atomic
def division_ensure_county(
    *, actor, code: str, name: str = "", city_name: str = "", province_name: str = ""
) -> tuple[Division, bool]:
    """The county being set up: from the bundled GB/T 2260 data, or — for a place not in
    it — created with the given name (and the names of a missing city and province).
    A given name that differs renames it. Returns (county, created)."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) != 6:
        raise ValidationError({"code": gettext_lazy("县级区划代码应为6位数字(GB/T 2260)")})
    d = Division.objects.filter(code=code).first()
    if d is not None:
        if d.level != DivisionLevel.COUNTY:
            raise DomainError(
                "not_county", format_lazy(gettext_lazy("{code}不是县级区划"), code=code), {"code": code}
            )
        if name and name.strip() != d.name:
            d = division_rename(actor=actor, code=code, name=name)
        return d, False
    if not (name or "").strip():
        raise DomainError(
            "unknown_county",
            format_lazy(gettext_lazy("内置区划数据中没有{code}：请同时提供县级区划名称"), code=code),
            {"code": code},
        )
    parent = None
    for length, label, given in ((2, "省级", province_name), (4, "地级", city_name)):
        up = Division.objects.filter(code=code[:length]).first()
        if up is None:
            if not (given or "").strip():
                raise DomainError(
                    "unknown_parent",
                    format_lazy(
                        gettext_lazy("内置区划数据中没有{label}区划{value}：请提供其名称"),
                        label=label,
                        value=code[:length],
                    ),
                    {"code": code[:length]},
                )
            up = Division(
                code=code[:length],
                name=_clean_name(given),
                level=CODE_LENGTHS[length],
                parent=parent,
                full_name=((parent.full_name or parent.name) if parent else "") + given.strip(),
            )
            up.full_clean()
            up.save()
            audit_record(
                actor=actor,
                action="division.add",
                obj=up,
                division_code=up.code,
                changes={"name": [None, up.name]},
            )
        parent = up
    name = _clean_name(name)
    d = Division(
        code=code, name=name, level=DivisionLevel.COUNTY, parent=parent, full_name=_full_prefix(parent) + name
    )
    d.full_clean()
    d.save()
    names_changed()
    audit_record(
        actor=actor, action="division.add", obj=d, division_code=code, changes={"name": [None, name]}
    )
    return d, True


DEPARTMENT_CONTACT_FIELDS = (
    "name",
    "phone",
    "address",
    "email",
    "person_in_charge",
    "person_in_charge_phone",
)


@transaction.atomic
def department_create(*, actor, division_code: str, kind: str, name: str = "") -> Department:
    """Add one department of a county (or a township's government)."""
    div = Division.objects.filter(code=division_code).first()
    if div is None:
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("区划代码不存在：{division_code}"), division_code=division_code),
            {"code": division_code},
        )
    if kind not in DepartmentKind.values:
        raise ValidationError({"kind": format_lazy(gettext_lazy("未知部门类型：{kind}"), kind=kind)})
    township = div.level == DivisionLevel.TOWNSHIP
    if township != (kind == DepartmentKind.TOWNSHIP_GOVERNMENT):
        raise DomainError(
            "department_kind_level",
            gettext_lazy("乡镇(街道)只设乡镇人民政府(街道办事处)，县级及以上区划不设")
            if township
            else gettext_lazy("乡镇人民政府(街道办事处)只能设在乡镇(街道)"),
            {"kind": kind, "division_code": division_code},
        )
    if Department.objects.filter(division=div, kind=kind).exists():
        raise DomainError(
            "duplicate_department",
            format_lazy(
                gettext_lazy("{name}已有{DepartmentKind}"),
                name=div.name,
                DepartmentKind=chinese_label(DepartmentKind, kind),
            ),
            {"kind": kind, "division_code": division_code},
        )
    dep = Department(
        division=div, kind=kind, name=(name or "").strip() or _default_department_name(div, kind)
    )
    dep.full_clean()
    dep.save()
    audit_record(
        actor=actor,
        action="department.create",
        obj=dep,
        division_code=division_code,
        changes={"kind": kind, "name": dep.name},
    )
    return dep


@transaction.atomic
def department_update(*, actor, department_id: int, data: dict) -> Department:
    """Rename a department, or set its contact details and person in charge."""
    dep = Department.objects.select_for_update().filter(pk=department_id).first()
    if dep is None:
        raise DomainError("not_found", gettext_lazy("部门不存在或无权查看"), None, status=404)
    unknown = set(data) - set(DEPARTMENT_CONTACT_FIELDS)
    if unknown:
        raise ValidationError(
            {
                "__all__": format_lazy(
                    gettext_lazy("不能修改的字段：{value}"), value="、".join(sorted(unknown))
                )
            }
        )
    before = snapshot(dep, list(data))
    for k, v in data.items():
        setattr(dep, k, " ".join(str(v or "").split()))
    if not dep.name:
        raise ValidationError({"name": gettext_lazy("请填写部门名称")})
    for f in ("phone", "person_in_charge_phone"):
        if getattr(dep, f):
            try:
                setattr(dep, f, validate_phone(getattr(dep, f)))
            except ValidationError as exc:
                raise ValidationError({f: exc.messages})
    dep.full_clean()
    changes = {k: [before.get(k), getattr(dep, k)] for k in data if before.get(k) != getattr(dep, k)}
    if not changes:
        return dep
    dep.save(update_fields=list(changes))
    audit_record(
        actor=actor, action="department.update", obj=dep, division_code=dep.division_id, changes=changes
    )
    return dep


def _default_department_name(div: Division, kind: str) -> str:
    if kind == DepartmentKind.TOWNSHIP_GOVERNMENT:
        return div.name + ("办事处" if div.name.endswith("街道") else "人民政府")  # 河西街道办事处
    prefix = div.name if div.level != DivisionLevel.CITY or div.name != "市辖区" else div.parent.name
    return f"{prefix}{chinese_label(DepartmentKind, kind)}"


COUNTY_KINDS = [k for k in DepartmentKind.values if k != DepartmentKind.TOWNSHIP_GOVERNMENT]


@transaction.atomic
def department_ensure_for_division(*, actor, division_code: str) -> list[Department]:
    """Create the standard departments of a county (every kind) or a township (its
    government); existing ones are kept."""
    div = Division.objects.filter(code=division_code).first()
    if div is None:
        raise DomainError(
            "unknown_division",
            format_lazy(gettext_lazy("区划代码不存在：{division_code}"), division_code=division_code),
            {"code": division_code},
        )
    if div.level == DivisionLevel.TOWNSHIP:
        kinds = [DepartmentKind.TOWNSHIP_GOVERNMENT]
    elif div.level in (DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY):
        kinds = COUNTY_KINDS
    else:
        return []
    have = set(Department.objects.filter(division=div).values_list("kind", flat=True))
    new = [
        Department(division=div, kind=k, name=_default_department_name(div, k))
        for k in kinds
        if k not in have
    ]
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


DIVISION_COLUMNS = [
    Col("区划代码", "code", help="乡镇(街道)9位、社区(村)12位统计用区划代码；前6位为本县代码", width=18),
    Col("名称", "name", help="如“城关镇”“东街社区居民委员会”", width=30),
]


def division_template_xlsx(county: Division | None = None) -> bytes:
    c = county.code if county else "469099"
    return template_xlsx(
        title="乡镇社区",
        columns=DIVISION_COLUMNS,
        example=[[f"{c}100", "城关镇"], [f"{c}100001", "东街社区居民委员会"], [f"{c}101", "河西街道"]],
        notes=[
            "乡镇(街道)代码为本县6位代码加3位；社区(村)代码为所属乡镇9位代码加3位。",
            "全部行无误时才会导入；有任何错误则不导入，并逐行列出错误(行号即 Excel 中的行号，表头为第1行)。",
            "已有的代码按名称更新(改名)；每个新乡镇(街道)自动设立乡镇人民政府(街道办事处)。",
            "请删除示例行后再填写。",
        ],
    )


def division_import_xlsx(*, actor, county_code: str, file_obj) -> dict:
    """Townships and communities of a county from the template (see ``division_sync``)."""
    rows = read_table(file_obj, DIVISION_COLUMNS)
    return division_sync(
        actor=actor, county_code=county_code, rows=[(n, r["code"], r["name"]) for n, r in rows]
    )
