"""Excel (.xlsx) helpers for the institution register (机构台账): the import template, the
export of a list, and the parser of an uploaded file. Pure: no writes, no permission
checks (the import service and the selectors do those).

Officials keep their ledgers in Excel with Chinese headers; we read by header name, not by
position, so extra or reordered columns in their own sheets still import."""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import IO, Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from qinglang.core.exports import xlsx_row
from qinglang.core.i18n import chinese_labels
from qinglang.core.xlsx import XlsxRefused, check_xlsx

from .models import (
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    Kind,
    Licence,
    LicenceKind,
    LicenceStatus,
    Mode,
    Nature,
    Stage,
)

DATA_SHEET = "培训机构"
HELP_SHEET = "填写说明"
TOWNSHIP_SHEET = "乡镇列表"
MAX_ROWS = 10_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024  # a zip bomb is refused before openpyxl expands it
HEADER_SEARCH_ROWS = 10  # a ledger may carry a title line or two above its header row

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool  # the header must be present in an uploaded file
    help: str
    choices: tuple[str, ...] = ()
    width: int = 16
    aliases: tuple[str, ...] = ()
    text: bool = False  # format the template column as text (codes, phone numbers)


CATEGORY_CHOICES = tuple(chinese_labels(InstitutionCategory).values())
KIND_CHOICES = tuple(chinese_labels(Kind).values())
NATURE_CHOICES = tuple(chinese_labels(Nature).values())
MODE_CHOICES = tuple(chinese_labels(Mode).values())
STAGE_CHOICES = tuple(chinese_labels(Stage).values())

IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("机构名称", "name", True, "必填。机构的常用名称，最多200字。", width=30),
    Column(
        "统一社会信用代码",
        "uscc",
        True,
        "必填。18位，含校验位；同一文件内及与已登记机构均不得重复。",
        width=22,
        aliases=("信用代码", "社会信用代码"),
        text=True,
    ),
    Column("法定代表人", "legal_representative", True, "必填。法定代表人(负责人)姓名。", width=12),
    Column("类别", "category", True, "必填。从下拉列表选择。", CATEGORY_CHOICES, width=14),
    Column(
        "培训类型",
        "kind",
        True,
        "类别为非学科类时必填；学科类、托管可不填(自动取学科类、托管)。须与类别相符："
        "学科类→学科类；非学科类→体育类、文化艺术类、科技类、综合实践类；托管→托管(小饭桌)。",
        KIND_CHOICES,
        width=14,
    ),
    Column(
        "办学许可证号",
        "school_permit_number",
        True,
        "有则填写(列须保留)。填写后登记“办学许可证”。",
        width=20,
        aliases=("许可证号", "办学许可证编号"),
        text=True,
    ),
    Column(
        "营业执照或登记证号",
        "registration_number",
        True,
        "有则填写(列须保留)。营利性机构登记为“营业执照”，非营利性机构登记为“民办非企业单位登记证书”。",
        width=22,
        aliases=("营业执照号", "营业执照或民非登记证号", "营业执照/登记证号", "登记证号"),
        text=True,
    ),
    Column(
        "地址", "address", True, "必填。办学地址，最多255字。", width=36, aliases=("办学地址", "机构地址")
    ),
    Column(
        "所属乡镇(街道)",
        "township",
        True,
        "必填。乡镇(街道)名称(如“浆洗街街道”)或9位区划代码(如510107001)，须在您的管辖范围内。",
        width=18,
        aliases=("所属乡镇", "所属街道", "乡镇(街道)", "所属乡镇街道", "乡镇街道"),
        text=True,
    ),
    Column(
        "联系电话",
        "contact_phone",
        True,
        "有则填写(列须保留)。手机号码或带区号的固定电话(如028-85551234)。",
        width=16,
        aliases=("电话", "联系方式"),
        text=True,
    ),
    Column("登记名称", "registered_name", False, "选填。营业执照或登记证书上的名称。", width=30),
    Column("联系人", "contact_name", False, "选填。", width=12),
    Column("学段", "stages", False, "选填。可填多个，用“、”分隔，如“小学、初中”。", STAGE_CHOICES, width=14),
    Column("性质", "nature", False, "选填。不填时学科类按非营利性、其余按营利性。", NATURE_CHOICES, width=12),
    Column(
        "办学形式",
        "mode",
        False,
        "选填。不填按线下。",
        MODE_CHOICES,
        width=10,
        aliases=("办学形式(线上/线下)",),
    ),
    Column("许可证发证机关", "permit_issuer", False, "选填。办学许可证的发证机关。", width=20),
    Column("许可证有效期起", "permit_valid_from", False, "选填。日期，如2025-09-01。", width=14),
    Column(
        "许可证有效期至",
        "permit_valid_until",
        False,
        "选填。日期，如2028-08-31；不得早于有效期起。",
        width=14,
        aliases=("办学许可证有效期至", "有效期至"),
    ),
    Column("成立日期", "founded_on", False, "选填。日期，如2019-03-15。", width=12),
)
COLUMN_BY_FIELD = {c.field: c for c in IMPORT_COLUMNS}
REQUIRED_HEADERS = tuple(c.header for c in IMPORT_COLUMNS if c.required)


# --- normalisation -----------------------------------------------------------------


def normalise_text(value: str) -> str:
    """Full-width letters, digits and brackets to half-width (NFKC), no inner spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def _header_key(value: Any) -> str:
    if value is None:
        return ""
    return normalise_text(str(value)).strip("*").replace("（", "(").replace("）", ")")


_HEADER_LOOKUP: dict[str, str] = {}
for _c in IMPORT_COLUMNS:
    for _h in (_c.header, *_c.aliases):
        _HEADER_LOOKUP[_header_key(_h)] = _c.field


def cell_value(value: Any) -> str | date | None:
    """A cell as text (numbers without a spurious ".0") or a date; blank is None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# --- parsing an upload ---------------------------------------------------------------


class XlsxFormatError(Exception):
    """The file as a whole cannot be read as an institution list (nothing is imported).
    ``missing`` names required header columns that are absent."""

    def __init__(self, message: str, *, row: int = 0, missing: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.row = row
        self.missing = list(missing)


@dataclass
class ParsedRow:
    row: int  # the Excel row number, as the official sees it
    values: dict[str, str | date | None]


@dataclass
class ParsedSheet:
    header_row: int
    fields: list[str]
    rows: list[ParsedRow] = field(default_factory=list)


def parse_institution_xlsx(file_obj: IO[bytes], *, max_rows: int = MAX_ROWS) -> ParsedSheet:
    """Read the first data sheet of an uploaded .xlsx into row dicts keyed by field name.
    Raises ``XlsxFormatError`` (Chinese message) for anything that is not a usable list."""
    _check_unzipped_size(file_obj)
    try:
        wb = load_workbook(file_obj, read_only=True, data_only=True)
    except Exception:  # zipfile, XML and openpyxl errors alike: the file is not a workbook
        raise XlsxFormatError(gettext_lazy("文件不是有效的 Excel(.xlsx) 文件，或文件已损坏"))
    try:
        return _parse_workbook(wb, max_rows=max_rows)
    finally:
        wb.close()


def _check_unzipped_size(file_obj: IO[bytes]) -> None:
    """The core guard (declared sizes, compression ratio) before openpyxl's read-only
    mode streams the sheet."""
    try:
        check_xlsx(file_obj, max_unzipped_bytes=MAX_UNZIPPED_BYTES)
    except XlsxRefused as exc:
        raise XlsxFormatError(exc.message)
    finally:
        file_obj.seek(0)


def _data_sheet(wb):
    if DATA_SHEET in wb.sheetnames:
        return wb[DATA_SHEET]
    for name in wb.sheetnames:
        if name not in (HELP_SHEET, TOWNSHIP_SHEET):
            return wb[name]
    raise XlsxFormatError(gettext_lazy("文件中没有工作表"))


def _parse_workbook(wb, *, max_rows: int) -> ParsedSheet:
    ws = _data_sheet(wb)
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # files from other tools often carry wrong dimensions
    rows = ws.iter_rows(values_only=True)
    header_row, columns = _find_header(rows)
    present = {f for f in columns if f}
    missing = [c.header for c in IMPORT_COLUMNS if c.required and c.field not in present]
    if missing:
        raise XlsxFormatError(
            format_lazy(
                gettext_lazy("缺少必需的列：{missing}。请使用导入模板，不要修改表头。"),
                missing="、".join(missing),
            ),
            row=header_row,
            missing=missing,
        )
    sheet = ParsedSheet(header_row=header_row, fields=[f for f in columns if f])
    for offset, raw in enumerate(rows, start=1):
        values = {f: cell_value(v) for f, v in zip(columns, raw, strict=False) if f}
        if not any(v is not None for v in values.values()):
            continue  # blank line (and the template's formatted but empty rows)
        if len(sheet.rows) >= max_rows:
            raise XlsxFormatError(
                format_lazy(
                    gettext_lazy("数据超过{max_rows}行，请拆分为多个文件后分别导入"), max_rows=max_rows
                )
            )
        sheet.rows.append(ParsedRow(row=header_row + offset, values=values))
    if not sheet.rows:
        raise XlsxFormatError(gettext_lazy("文件中没有数据行"), row=header_row)
    return sheet


def _find_header(rows: Iterator[tuple]) -> tuple[int, list[str | None]]:
    """The header is the first row (of the first few) that names 机构名称."""
    name_key = _header_key("机构名称")
    for number, raw in enumerate(rows, start=1):
        keys = [_header_key(v) for v in raw]
        if name_key in keys:
            columns: list[str | None] = []
            seen: dict[str, str] = {}
            for key in keys:
                f = _HEADER_LOOKUP.get(key)
                if f and f in seen:
                    raise XlsxFormatError(
                        format_lazy(
                            gettext_lazy("表头中“{header}”列重复(“{value}”与“{key}”)"),
                            header=COLUMN_BY_FIELD[f].header,
                            value=seen[f],
                            key=key,
                        ),
                        row=number,
                    )
                if f:
                    seen[f] = key
                columns.append(f)
            return number, columns
        if number >= HEADER_SEARCH_ROWS:
            break
    raise XlsxFormatError(
        format_lazy(
            gettext_lazy("找不到表头行(前{HEADER_SEARCH_ROWS}行中没有“机构名称”列)。请使用导入模板。"),
            HEADER_SEARCH_ROWS=HEADER_SEARCH_ROWS,
        ),
        row=1,
        missing=list(REQUIRED_HEADERS),
    )


# --- the template ---------------------------------------------------------------------

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FONT = Font(bold=True, color="C00000")
_OPTIONAL_FONT = Font(bold=True)


def _list_validation(values: Iterable[str], *, title: str, strict: bool = True) -> DataValidation:
    formula = '"' + ",".join(values) + '"'
    return _validation(formula, title=title, strict=strict)


def _validation(formula: str, *, title: str, strict: bool) -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    dv.errorStyle = "stop" if strict else "warning"
    dv.errorTitle = "取值无效"
    dv.error = f"请从下拉列表中选择{title}"
    dv.promptTitle = title
    dv.prompt = "请从下拉列表中选择"
    dv.showErrorMessage = True
    dv.showInputMessage = True
    return dv


def institution_template_xlsx(*, townships: list[str] | None = None) -> bytes:
    """The import template: the header row (required columns in red), drop-downs for the
    enumerated columns, and a 填写说明 sheet explaining every column. ``townships`` (names
    in the user's scope) become a drop-down for 所属乡镇(街道) when given."""
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    last = MAX_ROWS + 1
    for i, col in enumerate(IMPORT_COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = _REQUIRED_FONT if col.required else _OPTIONAL_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = col.width
        if col.text:
            ws.column_dimensions[letter].number_format = "@"
        if col.field == "stages":
            continue  # several values per cell: a drop-down would refuse them
        if col.choices:
            dv = _list_validation(col.choices, title=col.header)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{last}")
    ws.freeze_panes = "A2"

    if townships:
        ts = wb.create_sheet(TOWNSHIP_SHEET)
        for n, name in enumerate(townships, start=1):
            ts.cell(row=n, column=1, value=name)
        ts.sheet_state = "hidden"
        i = [c.field for c in IMPORT_COLUMNS].index("township") + 1
        letter = get_column_letter(i)
        # warning only: a 9-digit code typed in by hand is accepted too
        dv = _validation(f"'{TOWNSHIP_SHEET}'!$A$1:$A${len(townships)}", title="乡镇(街道)", strict=False)
        ws.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}{last}")

    _help_sheet(wb.create_sheet(HELP_SHEET, index=1))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _help_sheet(ws) -> None:
    bold = Font(bold=True)
    notes = [
        "培训机构批量导入 填写说明",
        "1. 在“培训机构”工作表中每行填写一家机构，不要修改、删除表头；红色列名的列必须保留，其中标“必填”的内容不能为空。",
        "2. 导入为“全部成功或全部不导入”：只要有一行有误，整个文件都不会写入，系统会列出每处错误的行号、列名和原因，改正后重新上传即可。",
        f"3. 每个文件最多{MAX_ROWS}行数据；日期填写为 2025-09-01 形式或 Excel 日期。",
        "4. 填写了办学许可证号则登记办学许可证；填写了营业执照或登记证号则按“性质”登记营业执照(营利性)或民办非企业单位登记证书(非营利性)。证照状态由系统据此自动计算。",
        "5. 统一社会信用代码、电话号码、区划代码请按文本填写，避免 Excel 自动转换为数字或科学计数法。",
    ]
    for n, text in enumerate(notes, start=1):
        c = ws.cell(row=n, column=1, value=text)
        if n == 1:
            c.font = Font(bold=True, size=14)
    start = len(notes) + 2
    for i, h in enumerate(("列名", "是否必需", "说明", "可选值"), start=1):
        c = ws.cell(row=start, column=i, value=h)
        c.font = bold
        c.fill = _HEADER_FILL
    for n, col in enumerate(IMPORT_COLUMNS, start=start + 1):
        ws.cell(row=n, column=1, value=col.header).font = _REQUIRED_FONT if col.required else _OPTIONAL_FONT
        ws.cell(row=n, column=2, value="必需列" if col.required else "可选列")
        ws.cell(row=n, column=3, value=col.help).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=n, column=4, value="、".join(col.choices)).alignment = Alignment(
            wrap_text=True, vertical="top"
        )
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 70
    ws.column_dimensions["D"].width = 50


# --- export ---------------------------------------------------------------------------

EXPORT_HEADERS: tuple[tuple[str, int], ...] = (
    ("机构名称", 30),
    ("统一社会信用代码", 22),
    ("法定代表人", 12),
    ("类别", 12),
    ("培训类型", 12),
    ("办学许可证号", 20),
    ("营业执照或登记证号", 22),
    ("地址", 36),
    ("所属乡镇(街道)", 16),
    ("联系电话", 16),
    ("登记名称", 30),
    ("联系人", 12),
    ("学段", 14),
    ("性质", 10),
    ("办学形式", 10),
    ("许可证有效期至", 14),
    ("所属区划代码", 14),
    ("主管部门", 20),
    ("证照状态", 12),
    ("办学状态", 12),
    ("白名单", 8),
    ("黑名单", 8),
)
EXPORT_CHUNK = 2000

_EXPORT_FIELDS = (
    "name",
    "uscc",
    "legal_representative",
    "category",
    "kind",
    "address",
    "division_code",
    "contact_phone",
    "registered_name",
    "contact_name",
    "stages",
    "nature",
    "mode",
    "competent_department__name",
    "licence_status",
    "status",
    "whitelisted",
    "blacklisted",
    "permit_number",
    "permit_valid_until",
    "registration_number",
)


def _licence_subquery(kinds: list[str], column: str) -> Subquery:
    return Subquery(
        Licence.objects.filter(institution=OuterRef("pk"), kind__in=kinds, revoked=False)
        .order_by("kind")
        .values(column)[:1]
    )


def _export_rows(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    """One query, streamed in chunks: licence numbers come as correlated subqueries, not a
    prefetch per row, so memory stays flat however long the list."""
    qs = queryset.annotate(
        permit_number=_licence_subquery([LicenceKind.SCHOOL_PERMIT], "number"),
        permit_valid_until=_licence_subquery([LicenceKind.SCHOOL_PERMIT], "valid_until"),
        registration_number=_licence_subquery(
            [LicenceKind.BUSINESS_LICENSE, LicenceKind.NONPROFIT_REGISTRATION], "number"
        ),
    ).values(*_EXPORT_FIELDS)
    return qs.iterator(chunk_size=EXPORT_CHUNK)


def _township_names(codes: set[str], cache: dict[str, str]) -> None:
    from qinglang.core.models import Division  # core is below registry; local to keep helpers light

    todo = sorted(c for c in codes if c not in cache)
    if todo:
        found = dict(Division.objects.filter(code__in=todo).values_list("code", "name"))
        for c in todo:
            cache[c] = found.get(c, "")


def _chunks(it: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for item in it:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def institutions_to_xlsx(queryset: QuerySet[Institution]) -> bytes:
    """Export exactly ``queryset`` (already scoped and filtered by the selector) with
    Chinese headers and labels. Write-only mode keeps memory bounded for long lists."""
    labels = {
        "category": chinese_labels(InstitutionCategory),
        "kind": chinese_labels(Kind),
        "nature": chinese_labels(Nature),
        "mode": chinese_labels(Mode),
        "licence_status": chinese_labels(LicenceStatus),
        "status": chinese_labels(InstitutionStatus),
    }
    stage_labels = chinese_labels(Stage)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    for i, (_, width) in enumerate(EXPORT_HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    header = []
    for title, _ in EXPORT_HEADERS:
        c = WriteOnlyCell(ws, value=title)
        c.font = _OPTIONAL_FONT
        c.fill = _HEADER_FILL
        header.append(c)
    ws.append(header)
    names: dict[str, str] = {}
    for batch in _chunks(_export_rows(queryset), EXPORT_CHUNK):
        _township_names({r["division_code"][:9] for r in batch if len(r["division_code"]) >= 9}, names)
        for r in batch:
            code = r["division_code"]
            row = [
                r["name"],
                r["uscc"] or "",
                r["legal_representative"],
                labels["category"].get(r["category"], r["category"]),
                labels["kind"].get(r["kind"], r["kind"]),
                r["permit_number"] or "",
                r["registration_number"] or "",
                r["address"],
                names.get(code[:9], "") if len(code) >= 9 else "",
                r["contact_phone"],
                r["registered_name"],
                r["contact_name"],
                "、".join(stage_labels.get(s, s) for s in r["stages"].split(",") if s),
                labels["nature"].get(r["nature"], r["nature"]),
                labels["mode"].get(r["mode"], r["mode"]),
                r["permit_valid_until"],
                code,
                r["competent_department__name"] or "",
                labels["licence_status"].get(r["licence_status"], r["licence_status"]),
                labels["status"].get(r["status"], r["status"]),
                "是" if r["whitelisted"] else "否",
                "是" if r["blacklisted"] else "否",
            ]
            ws.append(xlsx_row(ws, row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
