"""Batch registration of institutions from an official's Excel ledger (批量导入).

All or nothing per file: every row is checked first and every problem is reported with its
Excel row number and Chinese column header; only a clean file is written, in one
transaction, through ``institution_create`` and ``licence_set`` so each institution and
licence carries its own audit event. The rows are checked by ``import_checks``."""

from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import REGULATOR_WRITERS, require_role
from qinglang.core.audit import Entry, audit_record, audit_record_many, diff, snapshot
from qinglang.core.errors import DomainError

from .. import public_cache
from ..models import Institution, InstitutionCategory, Licence, LicenceStatus
from ..search import search_text_for
from ..xlsx import (
    COLUMN_BY_FIELD,
    MAX_FILE_BYTES,
    MAX_ROWS,
    XlsxFormatError,
    institutions_to_xlsx,
    parse_institution_xlsx,
)
from .common import check_division, require_regulator_for_division
from .import_checks import FILE_ROW, RowError, _check_duplicates, _check_row, _h, _Row, _text, _Townships
from .institutions import (
    PROFILE_FIELDS,
    check_category_kind,
    clean_profile,
    competent_department,
    derive_licence_status,
    licence_build,
)

__all__ = ["ImportResult", "institution_export_xlsx", "institution_import_xlsx"]


MAX_REPORTED_ERRORS = 1000


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
        return [RowError(row, col, exc.chinese_message)]
    return [RowError(row, column, "写入数据库失败(可能有人同时登记了同一机构)，请稍后重试")]


def institution_import_xlsx(*, actor, file_obj: IO[bytes], max_rows: int = MAX_ROWS) -> ImportResult:
    """Register every institution of an uploaded ledger, or none of them. Returns the
    result with every problem found; raises ``PermissionDeniedError`` for a user who may
    not register institutions at all."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("无权导入机构"))
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
    built = _build_all(actor, good, timezone.localdate())
    _insert_all(built)
    audit_record_many(actor=actor, entries=_audit_entries(built))
    public_cache.bump()  # as every write of institutions does (services.common.institution_save)
    return [inst.pk for _, inst, _ in built]


Built = list[tuple[_Row, Institution, list[Licence]]]  # each row with what it will insert


def _build_all(actor, good: list[_Row], today) -> Built:
    """Each row's institution and licences, unsaved and checked as the services check
    them; raises ``_RowFailed`` with every row's errors."""
    divisions: dict[str, Any] = {}
    departments: dict[tuple[str, str], Any] = {}
    errors: list[RowError] = []
    built: Built = []

    taken = set(
        Institution.objects.filter(uscc__in=[r.data["uscc"] for r in good if r.data.get("uscc")]).values_list(
            "uscc", flat=True
        )
    )
    for r in good:
        try:
            clean = clean_profile(r.data)
            if not clean.get("name"):
                raise ValidationError({"name": gettext_lazy("请填写机构名称")})
            code = clean.get("division_code", "")
            if code not in divisions:
                divisions[code] = check_division(code)
                require_regulator_for_division(actor=actor, division_code=code)
            if clean.get("uscc") in taken:
                raise DomainError(
                    "duplicate_uscc",
                    format_lazy(gettext_lazy("统一社会信用代码已登记：{uscc}"), uscc=clean["uscc"]),
                )
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
    return built


def _insert_all(built: Built) -> None:
    """One bulk insert of the institutions, then one of their licences."""
    try:
        insts = Institution.objects.bulk_create([inst for _, inst, _ in built])
        for inst, (_, _, licences) in zip(insts, built, strict=True):
            for lic in licences:
                lic.institution_id = inst.pk
        Licence.objects.bulk_create([lic for _, _, licences in built for lic in licences])
    except DatabaseError as e:
        raise _RowFailed(
            [RowError(FILE_ROW, "", format_lazy(gettext_lazy("写入数据库失败，未导入任何机构：{e}"), e=e))]
        )


def _audit_entries(built: Built) -> list[Entry]:
    """The audit events ``institution_create`` and ``licence_set`` would have recorded, row
    by row: the institution, each licence, and its licence status when not unlicensed."""
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
    return entries


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
