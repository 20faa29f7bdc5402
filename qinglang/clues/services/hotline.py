"""Hotline work orders (12345 热线工单) from .xlsx: one transaction per file, set-based.
Rows with errors are listed with their work-order number and left out; the rest are
imported; a work order already imported is skipped (idempotent re-import)."""

import hashlib
import time
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import REGULATOR_WRITERS, require_role
from qinglang.accounts.scope import division_in_scope
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.i18n import chinese_label
from qinglang.core.models import Division
from qinglang.core.validators import validate_phone
from qinglang.core.xlsx import XlsxRefused, excel_date

from ..models import Channel, ClueImport, ClueReport
from .intake import MAX_TEXT, MIN_TEXT, Submission, ingest

COLUMNS = ["工单编号", "受理时间", "诉求人", "联系电话", "诉求内容", "涉及机构", "事发地址", "所属区域"]
MAX_FILE_BYTES = 50 * 1024 * 1024


def _safe(rows):
    try:
        yield from rows
    except XlsxRefused:
        raise
    except Exception:
        raise DomainError("bad_file", gettext_lazy("文件内容损坏，无法读取：请重新导出 .xlsx"), status=422)


def _parse_time(v, tz) -> datetime | None:
    if type(v) is str and len(v) == 19:  # the usual 2026-10-25 07:50:03, without the fallbacks
        try:
            return datetime.fromisoformat(v).replace(tzinfo=tz)
        except ValueError:
            pass
    serial = excel_date(v)
    if serial is not None:
        return timezone.make_aware(serial, tz)
    if isinstance(v, datetime):
        return v if timezone.is_aware(v) else timezone.make_aware(v, tz)
    s = str(v or "").strip()
    try:
        dt = datetime.fromisoformat(s)
        return dt if timezone.is_aware(dt) else timezone.make_aware(dt, tz)
    except ValueError:
        pass
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日%H:%M",
        "%Y年%m月%d日",
        "%Y.%m.%d %H:%M",
        "%Y.%m.%d",
    ):
        try:
            return timezone.make_aware(datetime.strptime(s, fmt), tz)
        except ValueError:
            continue
    return None


def _named_missing(missing: list[dict]) -> list[dict]:
    """Missing department rows with the names people read (division, department kind)."""
    from qinglang.core.models import DepartmentKind

    names = dict(
        Division.objects.filter(code__in={m["division_code"] for m in missing}).values_list("code", "name")
    )
    return [
        {
            **m,
            "division_name": names.get(m["division_code"], m["division_code"]),
            "kind_label": chinese_label(DepartmentKind, m["kind"])
            if m["kind"] in DepartmentKind.values
            else m["kind"],
        }
        for m in missing
    ]


def _area_resolver(county: str):
    """所属区域 as a code within the county, or a division name (township or county)."""
    rows = list(Division.objects.filter(code__startswith=county).values_list("code", "name", "full_name"))
    codes = {c for c, _, _ in rows}
    names: dict[str, str] = {}
    for c, n, full in rows:
        for label in (n, full):
            if label:
                names.setdefault(label, c)

    def resolve(v) -> str | None:
        s = str(v or "").strip()
        if not s:
            return county
        if s in codes:
            return s
        if s in names:
            return names[s]
        for label, code in names.items():
            if len(label) >= 3 and label in s and len(code) >= 9:
                return code
        return None

    return resolve


@transaction.atomic
def clue_import_hotline(*, actor, division_code: str, filename: str, data: bytes) -> ClueImport:
    """Import a hotline work-order file for a county (or city) the actor handles."""
    from qinglang.core.bulk import gc_paused

    with gc_paused():  # tens of thousands of rows, drafts and cases alive at once
        return _import_hotline(actor=actor, division_code=division_code, filename=filename, data=data)


def _import_hotline(*, actor, division_code: str, filename: str, data: bytes) -> ClueImport:
    division_code = _check_request(actor, division_code, data)
    t0 = time.perf_counter()
    rows, header = _open_sheet(data)
    subs, errors, n = _read_work_orders(rows, header, division_code)
    fresh = _not_yet_imported(subs)
    batch = ClueImport.objects.create(
        division_code=division_code,
        filename=(filename or "")[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        rows=n,
        skipped=len(subs) - len(fresh),
        errors=errors[:1000],
        actor_id=getattr(actor, "pk", None),
    )
    batch.timings = {"read_validate": round(time.perf_counter() - t0, 3)}
    if fresh:
        _ingest_fresh(actor, batch, fresh)
    _audit_import(actor, batch, n, len(errors))
    return batch


def _check_request(actor, division_code: str, data: bytes) -> str:
    """The actor may import for the division (stripped, returned) and the file is not too big."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以导入热线工单"))
    division_code = (division_code or "").strip()
    if not division_code or not Division.objects.filter(code=division_code).exists():
        raise ValidationError(
            {
                "division_code": format_lazy(
                    gettext_lazy("所属区划无效：{value}"), value=division_code or gettext_lazy("未填写")
                )
            }
        )
    if not division_in_scope(actor, division_code):
        raise PermissionDeniedError(gettext_lazy("只能导入本辖区的热线工单"))
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": gettext_lazy("文件超过50MB")})
    return division_code


def _open_sheet(data: bytes):
    """The rows after the header, and the header; refused unless every column is there."""
    from qinglang.core.xlsx import iter_rows

    try:
        rows = iter_rows(data)
        header = [str(c or "").strip() for c in next(rows, [])]
    except XlsxRefused:  # a bomb, too many rows or columns: the guarded reader says which
        raise
    except Exception:
        raise DomainError("bad_file", gettext_lazy("无法读取文件：请上传 .xlsx 格式的热线工单"), status=422)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DomainError(
            "bad_columns",
            format_lazy(gettext_lazy("缺少列：{missing}"), missing="、".join(missing)),
            {"missing": missing},
            status=422,
        )
    return rows, header


def _read_work_orders(rows, header: list[str], division_code: str) -> tuple[list[Submission], list, int]:
    """Every non-blank row checked: (submissions of the valid ones, errors by row and work
    order, rows read)."""
    read = _WorkOrderReader(header, division_code)
    subs, errors, seen = [], [], set()
    n = 0
    for line, row in enumerate(_safe(rows), start=2):
        if not row or all(v is None for v in row):
            continue
        n += 1
        no, problems, sub = read(row, seen)
        if problems:
            errors.append({"row": line, "work_order": no, "errors": problems})
            continue
        seen.add(no)
        subs.append(sub)
    return subs, errors, n


class _WorkOrderReader:
    """One row → (work-order number, problems, submission when there are none)."""

    def __init__(self, header: list[str], division_code: str):
        (
            self.i_no,
            self.i_at,
            self.i_name,
            self.i_phone,
            self.i_text,
            self.i_org,
            self.i_addr,
            self.i_area,
        ) = (header.index(c) for c in COLUMNS)
        self.width = len(header)
        self.division_code = division_code
        self.resolve = _area_resolver(division_code)
        self.tz = timezone.get_current_timezone()

    def __call__(self, row: list, seen: set[str]) -> tuple[str, list[str], Submission | None]:
        if len(row) < self.width:
            row = row + [None] * (self.width - len(row))
        no = str(row[self.i_no] or "").strip()
        problems = []
        if not no:
            problems.append("缺少工单编号")
        elif no in seen:
            problems.append("文件内工单编号重复")
        text = str(row[self.i_text] or "").strip()
        if len(text) < MIN_TEXT:
            problems.append("诉求内容为空或过短")
        elif len(text) > MAX_TEXT:
            problems.append(f"诉求内容超过{MAX_TEXT}字")
        at = _parse_time(row[self.i_at], self.tz)
        if at is None:
            problems.append("受理时间无法识别")
        phone = str(row[self.i_phone] or "").strip()
        if phone:
            try:
                phone = validate_phone(phone)
            except ValidationError:
                problems.append("联系电话格式不正确")
        area = self.resolve(row[self.i_area])
        if area is None or not area.startswith(self.division_code):
            problems.append(f"所属区域不在本辖区：{row[self.i_area]}")
        if problems:
            return no, problems, None
        return (
            no,
            problems,
            Submission(
                channel=Channel.HOTLINE,
                content=text,
                division_code=area,
                institution_name=str(row[self.i_org] or "").strip()[:200],
                address=str(row[self.i_addr] or "").strip()[:255],
                reporter_name=str(row[self.i_name] or "").strip()[:64],
                reporter_phone=phone,
                anonymous=not (row[self.i_name] or phone),
                source_ref=no,
                received_at=at,
            ),
        )


def _not_yet_imported(subs: list[Submission]) -> list[Submission]:
    """The submissions whose work order no earlier import brought in."""
    from qinglang.core.bulk import select_in

    done = {  # raw IN chunks: compiling a 5,000-value ORM filter cost more than running it
        r[0]
        for r in select_in(
            f"SELECT source_ref FROM {ClueReport._meta.db_table} WHERE channel = %s AND source_ref {{in}}",  # noqa: S608
            [s.source_ref for s in subs],
            params=[Channel.HOTLINE],
        )
    }
    return [s for s in subs if s.source_ref not in done]


def _ingest_fresh(actor, batch: ClueImport, fresh: list[Submission]) -> None:
    """The new work orders through intake; the batch gets the counts and the timings."""
    res = ingest(actor=actor, subs=fresh, import_batch=batch)
    batch.created, batch.merged = res.created, res.merged
    batch.missing_departments = _named_missing(res.missing_departments)
    batch.timings.update({k: round(v, 3) for k, v in res.timings.items()})
    batch.save(update_fields=["created", "merged", "missing_departments"])


def _audit_import(actor, batch: ClueImport, rows: int, errors: int) -> None:
    audit_record(
        actor=actor,
        action="clue.import",
        obj=batch,
        division_code=batch.division_code,
        changes={
            "file": batch.filename,
            "sha256": batch.sha256,
            "rows": rows,
            "created": batch.created,
            "merged": batch.merged,
            "skipped": batch.skipped,
            "errors": errors,
            "missing_departments": batch.missing_departments,
        },
    )


def hotline_template_xlsx() -> bytes:
    """The 12345 work-order template: the columns the import reads, with instructions."""
    from qinglang.core.xlsx import Col, template_xlsx

    helps = {
        "工单编号": "热线系统的工单号；同一工单重复导入只记一次。",
        "受理时间": "如 2026-03-01 09:30。",
        "诉求人": "可为空(匿名)；加密保存，只有承办部门可见。",
        "联系电话": "可为空；加密保存。",
        "诉求内容": "诉求原文，用于分类和分办。",
        "涉及机构": "机构名称，可为空；与本区县的机构按名称匹配。",
        "事发地址": "可为空。",
        "所属区域": "乡镇(街道)名称，如 浆洗街街道；可为空，为空时按导入时选择的区划。",
    }
    return template_xlsx(
        title="热线工单",
        columns=[Col(c, c, help=helps.get(c, ""), width=30 if c == "诉求内容" else 18) for c in COLUMNS],
        example=[
            [
                "GD202603010001",
                "2026-03-01 09:30",
                "张女士",
                "13800000000",
                "某培训机构拒绝退还剩余课时费",
                "星辰艺术培训中心",
                "浆洗街88号",
                "浆洗街街道",
            ]
        ],
        notes=["表头请勿修改；一次最多导入 50 MB。导入后每条工单成为一条线索或并入已有线索。"],
    )
