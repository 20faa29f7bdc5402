""".xlsx tables for officials: a downloadable template (a header row, an example, a sheet
of instructions, drop-downs) and a guarded reader of uploads (file size, unzipped size and
row limits; headers matched by name, so reordered or extra columns still read).

Row numbers in errors are the spreadsheet's own (the header is row 1), as the official
sees them in Excel."""

import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import IO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .errors import DomainError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HELP_SHEET = "填写说明"


class XlsxError(DomainError):
    """The file as a whole cannot be read (nothing is imported)."""

    def __init__(self, message: str):
        super().__init__("bad_xlsx", message, None)


@dataclass(frozen=True)
class Col:
    header: str
    field: str
    required: bool = True
    help: str = ""
    width: int = 18
    choices: tuple[str, ...] = ()


def template_xlsx(*, title: str, columns: list[Col], example: list[list[str]], notes: list[str]) -> bytes:
    """A template: the data sheet (header, example rows, text-formatted cells, drop-downs
    for columns with choices) and a sheet of instructions."""
    wb = Workbook()
    ws = wb.active
    ws.title = title
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for i, c in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=c.header + ("" if c.required else "(选填)"))
        cell.font, cell.fill = bold, fill
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = c.width
        for r in range(2, 502):
            ws.cell(row=r, column=i).number_format = "@"  # codes and phone numbers stay text
        if c.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(c.choices) + '"', allow_blank=True)
            dv.add(f"{letter}2:{letter}501")
            ws.add_data_validation(dv)
    for r, values in enumerate(example, start=2):
        for i, v in enumerate(values, start=1):
            ws.cell(row=r, column=i, value=v)
    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.column_dimensions["A"].width = 20
    help_ws.column_dimensions["B"].width = 80
    help_ws.append(["列", "说明"])
    for c in columns:
        help_ws.append([c.header, ("必填。" if c.required else "选填。") + c.help])
    help_ws.append([])
    for n in notes:
        help_ws.append(["", n])
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _header(value) -> str:
    text = "" if value is None else str(value).strip()
    for suffix in ("(选填)", "（选填）", "*"):
        text = text.removesuffix(suffix)
    return text.strip()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number
    return " ".join(str(value).split())


def read_table(file_obj: IO[bytes], columns: list[Col], *, max_rows: int = 5000) -> list[tuple[int, dict]]:
    """[(row number, {field: text})] of the first sheet that is not the instructions.
    Raises ``XlsxError`` (Chinese) for a file that is not a usable table."""
    try:
        file_obj.seek(0, 2)
        size = file_obj.tell()
        file_obj.seek(0)
        head = file_obj.read(8)
        file_obj.seek(0)
    except (AttributeError, OSError):
        raise XlsxError("无法读取上传的文件")
    if not head:
        raise XlsxError("上传的文件为空")
    if size > MAX_FILE_BYTES:
        raise XlsxError(f"文件超过{MAX_FILE_BYTES // 1024 // 1024}MB，请拆分后分别导入")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise XlsxError("不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 后重新上传")
    try:
        with zipfile.ZipFile(file_obj) as z:
            unzipped = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise XlsxError("文件不是有效的 Excel(.xlsx) 文件，或文件已损坏")
    finally:
        file_obj.seek(0)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise XlsxError("文件内容过大，请拆分后分别导入")
    try:
        wb = load_workbook(file_obj, read_only=True, data_only=True)
    except Exception:  # zip, XML and openpyxl errors alike: not a workbook
        raise XlsxError("文件不是有效的 Excel(.xlsx) 文件，或文件已损坏")
    try:
        names = [n for n in wb.sheetnames if n != HELP_SHEET]
        if not names:
            raise XlsxError("文件中没有工作表")
        ws = wb[names[0]]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None) or ()
        by_header = {c.header: c.field for c in columns}
        fields = [by_header.get(_header(v)) for v in first]
        missing = [c.header for c in columns if c.required and c.field not in fields]
        if missing:
            raise XlsxError(f"第1行缺少必需的列：{'、'.join(missing)}。请使用导入模板，不要修改表头。")
        out = []
        for n, raw in enumerate(rows, start=2):
            values = {f: _cell(v) for f, v in zip(fields, raw, strict=False) if f}
            if not any(values.values()):
                continue
            if len(out) >= max_rows:
                raise XlsxError(f"数据超过{max_rows}行，请拆分为多个文件后分别导入")
            out.append((n, {c.field: values.get(c.field, "") for c in columns}))
        if not out:
            raise XlsxError("文件中没有数据行")
        return out
    finally:
        wb.close()
