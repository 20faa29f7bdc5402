"""The checks of an institution ledger's rows before anything is written (批量导入): each
cell read by its Chinese label or stored value, the township resolved against the division
tree and the importer's scope, credit codes checked within the file and against the
registry; every problem is a ``RowError`` naming the Excel row and column."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core.i18n import chinese_label, chinese_labels
from qinglang.core.models import Division, DivisionLevel
from qinglang.core.validators import validate_phone, validate_uscc

from ..models import CATEGORY_KINDS, Institution, InstitutionCategory, Kind, LicenceKind, Mode, Nature, Stage
from ..xlsx import COLUMN_BY_FIELD, ParsedRow, normalise_text

__all__ = ["RowError", "import_township_choices"]


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


# --- label lookups ----------------------------------------------------------------------


def _label_map(choices, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Accept the Chinese label (with or without a trailing 类 or bracketed note) or the
    stored value."""
    out: dict[str, str] = {}
    for value, label in chinese_labels(choices).items():
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
                raise ValueError(format_lazy(gettext_lazy("区划代码不存在：{m}"), m=m.group(1)))
            if d.level < DivisionLevel.TOWNSHIP:
                raise ValueError(gettext_lazy("请填写乡镇(街道)一级的区划"))
            if not division_in_scope(self.actor, d.code):
                raise ValueError(
                    format_lazy(gettext_lazy("{name}({code})不在您的管辖范围内"), name=d.name, code=d.code)
                )
            return d.code
        name = normalise_text(raw)
        if name.isdigit():
            raise ValueError(format_lazy(gettext_lazy("区划代码应为9位乡镇(街道)代码：{raw}"), raw=raw))
        found = self.by_name.get(name, [])
        if not found:
            raise ValueError(format_lazy(gettext_lazy("未知的乡镇(街道)：{raw}"), raw=raw))
        mine = [d for d in found if division_in_scope(self.actor, d.code)]
        if not mine:
            raise ValueError(format_lazy(gettext_lazy("{raw}不在您的管辖范围内"), raw=raw))
        if len(mine) > 1:
            codes = "、".join(d.code for d in mine[:5])
            raise ValueError(
                format_lazy(
                    gettext_lazy("“{raw}”对应多个乡镇(街道)({codes})，请改填9位区划代码"),
                    raw=raw,
                    codes=codes,
                )
            )
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
            err(
                "category",
                f"类别取值无效：{v['category']}(可选：{'、'.join(chinese_labels(InstitutionCategory).values())})",
            )
    if v.get("kind"):
        kind = KIND_LOOKUP.get(normalise_text(v["kind"]), "")
        if not kind:
            err("kind", f"培训类型取值无效：{v['kind']}(可选：{'、'.join(chinese_labels(Kind).values())})")
    elif category:
        kind = DEFAULT_KIND.get(category, "")
        if not kind:
            err("kind", "类别为非学科类时请填写培训类型")
    if category and kind and kind not in CATEGORY_KINDS[category]:
        allowed = "、".join(chinese_label(Kind, k) for k in Kind.values if k in CATEGORY_KINDS[category])
        err(
            "kind",
            f"培训类型“{chinese_label(Kind, kind)}”与类别“{chinese_label(InstitutionCategory, category)}”不符(应为：{allowed})",
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
                err("stages", f"学段取值无效：{part}(可选：{'、'.join(chinese_labels(Stage).values())})")
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
