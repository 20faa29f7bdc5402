"""Batch registration of institutions from an official's Excel ledger (批量导入).

All or nothing per file: every row is checked first and every problem is reported with its
Excel row number and Chinese column header; only a clean file is written, in one
transaction, through ``institution_create`` and ``licence_set`` so each institution and
licence carries its own audit event."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from qinglang.accounts.permissions import REGULATOR_WRITERS, require_role
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core.audit import Entry, audit_record, audit_record_many, diff, snapshot
from qinglang.core.errors import DomainError
from qinglang.core.models import Division, DivisionLevel
from qinglang.core.validators import validate_phone, validate_uscc

from .. import public_cache
from ..models import (
    CATEGORY_KINDS,
    Institution,
    InstitutionCategory,
    Kind,
    Licence,
    LicenceKind,
    LicenceStatus,
    Mode,
    Nature,
    Stage,
)
from ..search import search_text_for
from ..xlsx import (
    COLUMN_BY_FIELD,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ParsedRow,
    XlsxFormatError,
    institutions_to_xlsx,
    normalise_text,
    parse_institution_xlsx,
)
from .common import check_division, require_regulator_for_division
from .institutions import (
    PROFILE_FIELDS,
    check_category_kind,
    clean_profile,
    competent_department,
    derive_licence_status,
    licence_build,
)

__all__ = [
    "ImportResult",
    "RowError",
    "import_township_choices",
    "institution_export_xlsx",
    "institution_import_xlsx",
]

MAX_REPORTED_ERRORS = 1000
FILE_ROW = 0  # RowError.row for problems with the file as a whole

MAX_LENGTHS = {
    "name": 200,
    "registered_name": 200,
    "legal_representative": 64,
    "contact_name": 64,
    "address": 255,
    "school_permit_number": 64,
    "registration_number": 64,
    "permit_issuer": 100,
}
REQUIRED_VALUES = ("name", "uscc", "legal_representative", "category", "address", "township")


@dataclass(frozen=True)
class RowError:
    row: int  # Excel row number (0 = the file as a whole)
    column: str  # Chinese column header ("" = the whole row or file)
    message: str  # Chinese, for the official

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    institution_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def message(self) -> str:
        if self.ok:
            return f"已导入{self.created}家机构"
        if len(self.errors) == 1 and self.errors[0].row == FILE_ROW:
            return f"导入失败：{self.errors[0].message}"
        rows = len({e.row for e in self.errors if e.row})
        return f"导入失败：{rows}行共{len(self.errors)}处错误，未写入任何数据。请改正后重新上传。"

    def errors_as_dicts(self) -> list[dict]:
        return [e.as_dict() for e in self.errors]


def _refused(message: str, *, row: int = FILE_ROW, column: str = "") -> ImportResult:
    return ImportResult(errors=[RowError(row, column, message)])


# --- label lookups ----------------------------------------------------------------------


def _label_map(choices, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Accept the Chinese label (with or without a trailing 类 or bracketed note) or the
    stored value."""
    out: dict[str, str] = {}
    for value, label in choices.choices:
        key = normalise_text(label)
        out[key] = value
        out[normalise_text(value)] = value
        bare = re.sub(r"\(.*\)$", "", key)
        out[bare] = value
        if bare.endswith("类") and len(bare) > 2:
            out[bare[:-1]] = value
    for k, v in (extra or {}).items():
        out[normalise_text(k)] = v
    return out


CATEGORY_LOOKUP = _label_map(
    InstitutionCategory, {"小饭桌": InstitutionCategory.MEAL_CARE, "托管类": InstitutionCategory.MEAL_CARE}
)
KIND_LOOKUP = _label_map(Kind, {"小饭桌": Kind.MEAL_CARE, "托管类": Kind.MEAL_CARE, "艺术类": Kind.ARTS})
NATURE_LOOKUP = _label_map(Nature, {"营利": Nature.FOR_PROFIT, "非营利": Nature.NON_PROFIT})
MODE_LOOKUP = _label_map(Mode)
STAGE_LOOKUP = _label_map(Stage)
DEFAULT_KIND = {InstitutionCategory.SUBJECT: Kind.SUBJECT, InstitutionCategory.MEAL_CARE: Kind.MEAL_CARE}


def _h(field_name: str) -> str:
    return COLUMN_BY_FIELD[field_name].header


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def _date(v: Any) -> date:
    if isinstance(v, date):
        return v
    text = normalise_text(_text(v))
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


# --- townships --------------------------------------------------------------------------

_CODE_RE = re.compile(r"^(\d{9}|\d{12})(?:\s*\S.*)?$")


class _Townships:
    """Resolves the 所属乡镇(街道) cells of a file against the division tree in a handful of
    queries: exact codes, exact names, then names written with their county in front."""

    def __init__(self, actor, raw_values: set[str]):
        self.actor = actor
        self.by_code: dict[str, Division] = {}
        self.by_name: dict[str, list[Division]] = {}
        codes, names = set(), set()
        for raw in raw_values:
            m = _CODE_RE.match(raw)
            if m:
                codes.add(m.group(1))
            else:
                names.add(normalise_text(raw))
        if codes:
            self.by_code = {d.code: d for d in Division.objects.filter(code__in=codes)}
        if names:
            for d in Division.objects.filter(level=DivisionLevel.TOWNSHIP, name__in=names):
                self.by_name.setdefault(d.name, []).append(d)
            unresolved = sorted(n for n in names if n not in self.by_name)
            for start in range(0, len(unresolved), 200):
                chunk = unresolved[start : start + 200]
                q = Q()
                for n in chunk:
                    q |= Q(full_name__endswith=n)
                for d in Division.objects.filter(q, level=DivisionLevel.TOWNSHIP):
                    for n in chunk:
                        if d.full_name.endswith(n):
                            self.by_name.setdefault(n, []).append(d)

    def resolve(self, raw: str) -> str:
        """The division code, or ValueError with the Chinese reason."""
        m = _CODE_RE.match(raw)
        if m:
            d = self.by_code.get(m.group(1))
            if d is None:
                raise ValueError(f"区划代码不存在：{m.group(1)}")
            if d.level < DivisionLevel.TOWNSHIP:
                raise ValueError("请填写乡镇(街道)一级的区划")
            if not division_in_scope(self.actor, d.code):
                raise ValueError(f"{d.name}({d.code})不在您的管辖范围内")
            return d.code
        name = normalise_text(raw)
        if name.isdigit():
            raise ValueError(f"区划代码应为9位乡镇(街道)代码：{raw}")
        found = self.by_name.get(name, [])
        if not found:
            raise ValueError(f"未知的乡镇(街道)：{raw}")
        mine = [d for d in found if division_in_scope(self.actor, d.code)]
        if not mine:
            raise ValueError(f"{raw}不在您的管辖范围内")
        if len(mine) > 1:
            codes = "、".join(d.code for d in mine[:5])
            raise ValueError(f"“{raw}”对应多个乡镇(街道)({codes})，请改填9位区划代码")
        return mine[0].code


def import_township_choices(*, actor, limit: int = 2000) -> list[str]:
    """Township names in a regulator's scope, for the template's drop-down. Names that
    occur twice in the scope are given with their code ("510107001 浆洗街街道"), which the
    importer accepts as well. Empty for national scope (too many to list)."""
    a = actor_for(actor)
    prefixes = a.division_prefixes
    if a.is_platform_admin or not prefixes or any(len(p) < 4 for p in prefixes):
        return []
    q = Q()
    for p in prefixes:
        q |= Q(code__startswith=p)
    rows = list(Division.objects.filter(q, level=DivisionLevel.TOWNSHIP).values_list("code", "name")[:limit])
    counts: dict[str, int] = {}
    for _, name in rows:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else f"{code} {name}" for code, name in rows]


# --- row validation ---------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    data: dict  # for institution_create
    licences: list[dict]  # for licence_set


Err = Callable[[str, str], None]  # (field, message): one error of the row


def _uscc_and_phone(v: dict, err: Err) -> tuple[str, str]:
    """The credit code (empty when missing or invalid) and the contact phone, normalised."""
    uscc = normalise_text(v.get("uscc", "")).upper()
    if uscc:
        try:
            uscc = validate_uscc(uscc)
        except ValidationError:
            err("uscc", f"统一社会信用代码无效(位数或校验位不符)：{v['uscc']}")
            uscc = ""
    phone = v.get("contact_phone", "")
    if phone:
        try:
            phone = validate_phone(normalise_text(phone))
        except ValidationError:
            err("contact_phone", f"联系电话无效：{phone}(应为11位手机号码或带区号的固定电话)")
    return uscc, phone


def _category_and_kind(v: dict, err: Err) -> tuple[str, str]:
    """The category and training kind, as codes; the kind defaults from the category."""
    category = kind = ""
    if v.get("category"):
        category = CATEGORY_LOOKUP.get(normalise_text(v["category"]), "")
        if not category:
            err("category", f"类别取值无效：{v['category']}(可选：{'、'.join(InstitutionCategory.labels)})")
    if v.get("kind"):
        kind = KIND_LOOKUP.get(normalise_text(v["kind"]), "")
        if not kind:
            err("kind", f"培训类型取值无效：{v['kind']}(可选：{'、'.join(Kind.labels)})")
    elif category:
        kind = DEFAULT_KIND.get(category, "")
        if not kind:
            err("kind", "类别为非学科类时请填写培训类型")
    if category and kind and kind not in CATEGORY_KINDS[category]:
        allowed = "、".join(Kind(k).label for k in Kind.values if k in CATEGORY_KINDS[category])
        err(
            "kind",
            f"培训类型“{Kind(kind).label}”与类别“{InstitutionCategory(category).label}”不符(应为：{allowed})",
        )

    return category, kind


def _stages(v: dict, err: Err) -> list[str]:
    """The school stages (学段) named in one cell, in order, each once."""
    stages: list[str] = []
    if v.get("stages"):
        for part in re.split(r"[、,，;；/\s]+", v["stages"]):
            if not part:
                continue
            s = STAGE_LOOKUP.get(normalise_text(part))
            if s is None:
                err("stages", f"学段取值无效：{part}(可选：{'、'.join(Stage.labels)})")
            elif s not in stages:
                stages.append(s)

    return stages


def _nature_and_mode(v: dict, category: str, err: Err) -> tuple[str, str]:
    """For-profit or not (subject-category institutions are non-profit unless said), and
    online or offline (offline unless said)."""
    nature = Nature.NON_PROFIT if category == InstitutionCategory.SUBJECT else Nature.FOR_PROFIT
    if v.get("nature"):
        nature = NATURE_LOOKUP.get(normalise_text(v["nature"]), "")
        if not nature:
            err("nature", f"性质取值无效：{v['nature']}(可选：营利性、非营利性)")
    mode = Mode.OFFLINE
    if v.get("mode"):
        mode = MODE_LOOKUP.get(normalise_text(v["mode"]), "")
        if not mode:
            err("mode", f"办学形式取值无效：{v['mode']}(可选：线上、线下)")

    return nature, mode


def _permit_and_dates(v: dict, raw: dict, err: Err) -> tuple[str, dict[str, date | None]]:
    """The school permit number and the row's dates; a permit's issuer or validity
    without its number is an error."""
    dates: dict[str, date | None] = {}
    for f in ("permit_valid_from", "permit_valid_until", "founded_on"):
        dates[f] = None
        if v.get(f):
            try:
                dates[f] = _date(raw[f])
            except ValueError:
                err(f, f"{_h(f)}不是有效日期：{v[f]}(请填写如2025-09-01)")
    if (
        dates["permit_valid_from"]
        and dates["permit_valid_until"]
        and dates["permit_valid_until"] < dates["permit_valid_from"]
    ):
        err("permit_valid_until", "许可证有效期至不能早于有效期起")
    permit_no = v.get("school_permit_number", "")
    if not permit_no and (
        dates["permit_valid_from"] or dates["permit_valid_until"] or v.get("permit_issuer")
    ):
        err("school_permit_number", "填写了许可证发证机关或有效期，但未填写办学许可证号")

    return permit_no, dates


def _licences(v: dict, permit_no: str, dates: dict, nature: str) -> list[dict]:
    """The licences to set for the row (``licence_set``): its permit and its registration."""
    licences = []
    if permit_no:
        licences.append(
            {
                "kind": LicenceKind.SCHOOL_PERMIT,
                "number": permit_no,
                "issuer": v.get("permit_issuer", ""),
                "valid_from": dates["permit_valid_from"],
                "valid_until": dates["permit_valid_until"],
                "_column": "school_permit_number",
            }
        )
    if v.get("registration_number"):
        licences.append(
            {
                "kind": LicenceKind.BUSINESS_LICENSE
                if nature == Nature.FOR_PROFIT
                else LicenceKind.NONPROFIT_REGISTRATION,
                "number": v["registration_number"],
                "_column": "registration_number",
            }
        )
    return licences


def _check_row(row: ParsedRow, townships: _Townships) -> tuple[_Row | None, list[RowError], str]:
    """The row ready for the services (or None), its errors, and its valid credit code."""
    v = {k: _text(x) for k, x in row.values.items()}
    raw = row.values
    errors: list[RowError] = []

    def err(field_name: str, message: str) -> None:
        errors.append(RowError(row.row, _h(field_name), message))

    for f in REQUIRED_VALUES:
        if not v.get(f):
            err(f, f"请填写{_h(f)}")
    for f, n in MAX_LENGTHS.items():
        if len(v.get(f, "")) > n:
            err(f, f"{_h(f)}不能超过{n}个字")

    uscc, phone = _uscc_and_phone(v, err)
    category, kind = _category_and_kind(v, err)
    stages = _stages(v, err)
    nature, mode = _nature_and_mode(v, category, err)
    permit_no, dates = _permit_and_dates(v, raw, err)
    division_code = ""
    if v.get("township"):
        try:
            division_code = townships.resolve(v["township"])
        except ValueError as e:
            err("township", str(e))

    if errors:
        return None, errors, uscc
    licences = _licences(v, permit_no, dates, nature)
    data = {
        "name": v["name"],
        "registered_name": v.get("registered_name", ""),
        "uscc": uscc,
        "legal_representative": v["legal_representative"],
        "contact_name": v.get("contact_name", ""),
        "contact_phone": phone,
        "category": category,
        "kind": kind,
        "stages": stages,
        "mode": mode,
        "nature": nature,
        "division_code": division_code,
        "address": v["address"],
        "founded_on": dates["founded_on"],
    }
    return _Row(row.row, data, licences), [], uscc


def _check_duplicates(codes_by_row: list[tuple[int, str]]) -> list[RowError]:
    """Credit codes repeated within the file, or already registered (anywhere: the code is
    unique nationally, as the database constraint says)."""
    errors: list[RowError] = []
    header = _h("uscc")
    first_seen: dict[str, int] = {}
    for number, code in codes_by_row:
        if code in first_seen:
            errors.append(RowError(number, header, f"统一社会信用代码与第{first_seen[code]}行重复：{code}"))
        else:
            first_seen[code] = number
    codes = list(first_seen)
    registered: set[str] = set()
    for start in range(0, len(codes), 500):
        registered |= set(
            Institution.objects.filter(uscc__in=codes[start : start + 500]).values_list("uscc", flat=True)
        )
    for number, code in codes_by_row:
        if code in registered and first_seen[code] == number:
            errors.append(RowError(number, header, f"统一社会信用代码已登记：{code}"))
    return errors


# --- the service --------------------------------------------------------------------------


class _RowFailed(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(errors[0].message if errors else "")
        self.errors = errors


FIELD_HEADERS = {"division_code": _h("township"), "number": "", "kind": _h("kind")}


def _errors_from(exc: Exception, row: int, column_field: str | None = None) -> list[RowError]:
    """A service's refusal as row errors, naming the column where the field is known."""
    column = _h(column_field) if column_field else ""
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        out = []
        for f, messages in exc.message_dict.items():
            col = COLUMN_BY_FIELD[f].header if f in COLUMN_BY_FIELD else FIELD_HEADERS.get(f, "") or column
            out.extend(RowError(row, col, str(m)) for m in messages)
        return out
    if isinstance(exc, ValidationError):
        return [RowError(row, column, str(m)) for m in exc.messages]
    if isinstance(exc, DomainError):
        col = _h("uscc") if exc.code == "duplicate_uscc" else column
        return [RowError(row, col, exc.message)]
    return [RowError(row, column, "写入数据库失败(可能有人同时登记了同一机构)，请稍后重试")]


def institution_import_xlsx(*, actor, file_obj: IO[bytes], max_rows: int = MAX_ROWS) -> ImportResult:
    """Register every institution of an uploaded ledger, or none of them. Returns the
    result with every problem found; raises ``PermissionDeniedError`` for a user who may
    not register institutions at all."""
    require_role(actor, REGULATOR_WRITERS, message="无权导入机构")
    size = getattr(file_obj, "size", None)
    if size is None and hasattr(file_obj, "seek"):
        size = file_obj.seek(0, 2)
        file_obj.seek(0)
    if size is not None and size > MAX_FILE_BYTES:
        return _refused(f"文件过大(超过{MAX_FILE_BYTES // (1024 * 1024)}MB)，请拆分后分别导入")
    try:
        sheet = parse_institution_xlsx(file_obj, max_rows=max_rows)
    except XlsxFormatError as e:
        if e.missing:
            return ImportResult(errors=[RowError(e.row, h, f"缺少必需的列：{h}") for h in e.missing])
        return _refused(e.message, row=e.row)

    townships = _Townships(actor, {_text(r.values.get("township")) for r in sheet.rows} - {""})
    good: list[_Row] = []
    errors: list[RowError] = []
    codes: list[tuple[int, str]] = []
    for parsed in sheet.rows:
        row, row_errors, uscc = _check_row(parsed, townships)
        errors.extend(row_errors)
        if row is not None:
            good.append(row)
        if uscc:
            codes.append((parsed.row, uscc))
    errors.extend(_check_duplicates(codes))
    if errors:
        return _result_with(errors)

    result = ImportResult()
    try:
        with transaction.atomic():
            result.institution_ids = _create_all(actor, good)
            result.created = len(good)
            audit_record(
                actor=actor,
                action="institution.import",
                object_type="registry.institution",
                object_id="*",
                division_code=_common_prefix([r.data["division_code"] for r in good]),
                changes={"created": result.created, "rows": len(good), "ids": result.institution_ids},
            )
    except _RowFailed as e:
        return _result_with(e.errors)
    return result


def _create_all(actor, good: list[_Row]) -> list[int]:
    """Register the checked rows set-based, by the same rules as ``institution_create`` and
    ``licence_set`` (profile cleaning, division and scope, duplicate credit codes, category
    and kind, who supervises, licence status), with lookups made once per distinct value,
    one bulk insert per table and one audit batch. Raises ``_RowFailed`` with every row's
    errors; the caller's transaction then writes nothing."""
    today = timezone.localdate()
    divisions: dict[str, Any] = {}
    departments: dict[tuple[str, str], Any] = {}
    errors: list[RowError] = []
    built: list[tuple[_Row, Institution, list[Licence]]] = []

    taken = set(
        Institution.objects.filter(uscc__in=[r.data["uscc"] for r in good if r.data.get("uscc")]).values_list(
            "uscc", flat=True
        )
    )
    for r in good:
        try:
            clean = clean_profile(r.data)
            if not clean.get("name"):
                raise ValidationError({"name": "请填写机构名称"})
            code = clean.get("division_code", "")
            if code not in divisions:
                divisions[code] = check_division(code)
                require_regulator_for_division(actor=actor, division_code=code)
            if clean.get("uscc") in taken:
                raise DomainError("duplicate_uscc", f"统一社会信用代码已登记：{clean['uscc']}")
            inst = Institution(**clean)
            if inst.category == InstitutionCategory.SUBJECT and not inst.kind:
                inst.kind = "subject"
            check_category_kind(inst)
            key = (inst.kind, inst.division_code)
            if key not in departments:
                departments[key] = competent_department(inst)
            inst.competent_department = departments[key]
            # the department was just looked up; duplicates were checked above and the
            # table constraints hold at the bulk insert, which refuses the whole file
            inst.full_clean(
                exclude=["competent_department"], validate_unique=False, validate_constraints=False
            )
        except (ValidationError, DomainError) as e:
            errors.extend(_errors_from(e, r.number))
            continue
        licences = []
        for lic in r.licences:
            args = {k: val for k, val in lic.items() if not k.startswith("_")}
            try:
                licences.append(licence_build(inst, check_constraints=False, **args))
            except ValidationError as e:
                errors.extend(_errors_from(e, r.number, lic["_column"]))
        inst.licence_status = derive_licence_status(licences, today)
        inst.search_text = search_text_for(inst.name, inst.registered_name, inst.uscc)
        built.append((r, inst, licences))
    if errors:
        raise _RowFailed(errors)

    try:
        insts = Institution.objects.bulk_create([inst for _, inst, _ in built])
        for inst, (_, _, licences) in zip(insts, built, strict=True):
            for lic in licences:
                lic.institution_id = inst.pk
        Licence.objects.bulk_create([lic for _, _, licences in built for lic in licences])
    except DatabaseError as e:
        raise _RowFailed([RowError(FILE_ROW, "", f"写入数据库失败，未导入任何机构：{e}")])

    profile = [*PROFILE_FIELDS, "competent_department_id"]
    lic_fields = ["number", "issuer", "valid_from", "valid_until", "revoked"]
    entries = []
    for _, inst, licences in built:
        entries.append(
            Entry(
                "institution.create",
                "registry.institution",
                str(inst.pk),
                inst.division_code,
                diff({}, snapshot(inst, profile)),
            )
        )
        for lic in licences:
            entries.append(
                Entry(
                    "licence.set",
                    "registry.licence",
                    str(lic.pk),
                    inst.division_code,
                    {"kind": lic.kind, **diff({}, snapshot(lic, lic_fields))},
                )
            )
        if inst.licence_status != LicenceStatus.UNLICENSED:
            entries.append(
                Entry(
                    "institution.licence_status",
                    "registry.institution",
                    str(inst.pk),
                    inst.division_code,
                    {"licence_status": [LicenceStatus.UNLICENSED, inst.licence_status]},
                )
            )
    audit_record_many(actor=actor, entries=entries)
    public_cache.bump()  # as every write of institutions does (services.common.institution_save)
    return [inst.pk for _, inst, _ in built]


def _common_prefix(codes: list[str]) -> str:
    if not codes:
        return ""
    first, last = min(codes), max(codes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    for size in (12, 9, 6, 4, 2):
        if len(prefix) >= size:
            return prefix[:size]
    return ""


def _result_with(errors: list[RowError]) -> ImportResult:
    errors = sorted(errors, key=lambda e: (e.row, _COLUMN_ORDER.get(e.column, 99)))
    if len(errors) > MAX_REPORTED_ERRORS:
        total = len(errors)
        errors = errors[:MAX_REPORTED_ERRORS]
        errors.append(RowError(FILE_ROW, "", f"共{total}处错误，仅列出前{MAX_REPORTED_ERRORS}处"))
    return ImportResult(errors=errors)


_COLUMN_ORDER = {c.header: i for i, c in enumerate(COLUMN_BY_FIELD.values())}


@transaction.atomic
def institution_export_xlsx(*, actor, filters) -> bytes:
    """The filtered institution list the actor may see, as .xlsx — and an audit event of
    who exported how many rows with which filters (an export carries contacts and legal
    representatives out of the system)."""
    from dataclasses import asdict

    from ..selectors import institution_list

    qs = institution_list(actor=actor, filters=filters).order_by("id")
    body = institutions_to_xlsx(qs)
    audit_record(
        actor=actor,
        action="institution.export",
        object_type="registry.institution",
        object_id="export",
        division_code="",
        changes={
            "filters": {k: v for k, v in asdict(filters).items() if v not in ("", None)},
            "rows": qs.count(),
        },
    )
    return body
