"""The one guarded .xlsx reader, for every import (registry ledgers, hotline work orders,
bank statements). An upload is a zip that may be a bomb; before anything is expanded:

* the declared (uncompressed) sizes of all parts are summed and bounded
  (``max_unzipped_bytes``); zipfile stops reading a member at its declared size, so a
  member that lies about its size ends truncated and is refused as corrupt;
* each large part's compression ratio is bounded (``max_ratio``): real sheets compress
  about 5–20×, a bomb 1,000× and more;
* then the first sheet is *streamed* (lxml ``iterparse`` over ``<row>`` elements, each
  cleared after use) with the number of rows and columns bounded, so memory does not grow
  with the file.

``check_xlsx`` runs the first two checks alone (for callers that hand the file to openpyxl's
read-only mode, which streams too). Refusals are ``XlsxRefused`` (a ``DomainError``, 422)
with a Chinese message.

``template_xlsx`` and ``read_table`` serve imports of officials' tables (staff accounts,
townships and communities): a downloadable template (header row, example, instructions
sheet, drop-downs) and a reader that matches headers by name on top of ``iter_rows``. Row
numbers in errors are the spreadsheet's own (the header is row 1), as Excel shows them.

Cells come back as openpyxl's ``values_only`` gives them, except dates, which stay Excel
serial numbers unless the cell is a string (``excel_date`` converts). XML safety:
ElementTree never resolves external entities and the bundled expat (≥ 2.4.1) limits
entity expansion; lxml is called with ``resolve_entities=False``."""

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import IO
from xml.etree.ElementTree import iterparse

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .errors import DomainError

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HELP_SHEET = "填写说明"

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELNS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_COL = re.compile(r"[A-Z]+")

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024  # small parts (styles, a short sheet) may compress better
MAX_ROWS = 200_000
MAX_COLUMNS = 200


class XlsxRefused(DomainError):
    status = 422

    def __init__(self, message: str, detail=None):
        super().__init__("bad_file", message, detail, status=422)


def _zip(source: bytes | IO[bytes]) -> zipfile.ZipFile:
    f = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        f.seek(0)
        head = f.read(8)
        f.seek(0)
    except (AttributeError, OSError):
        raise XlsxRefused(gettext_lazy("无法读取上传的文件"))
    if not head:
        raise XlsxRefused(gettext_lazy("上传的文件为空"))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise XlsxRefused(gettext_lazy("不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 后重新上传"))
    if not head.startswith(b"PK"):
        raise XlsxRefused(gettext_lazy("文件不是有效的 Excel(.xlsx) 文件"))
    try:
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise XlsxRefused(gettext_lazy("文件不是有效的 Excel(.xlsx) 文件，或文件已损坏"))


def check_xlsx(
    source: bytes | IO[bytes], *, max_unzipped_bytes: int = MAX_UNZIPPED_BYTES, max_ratio: int = MAX_RATIO
) -> zipfile.ZipFile:
    """Refuse a zip bomb from its directory alone (nothing is expanded); returns the open
    zip. A file object is left at position 0."""
    z = _zip(source)
    infos = z.infolist()
    total = sum(i.file_size for i in infos)
    if total > max_unzipped_bytes:
        raise XlsxRefused(
            format_lazy(
                gettext_lazy("文件解压后过大({value} MB，上限 {value2} MB)，请拆分后分别导入"),
                value=total // (1024 * 1024),
                value2=max_unzipped_bytes // (1024 * 1024),
            ),
            {"unzipped_bytes": total, "limit": max_unzipped_bytes},
        )
    for i in infos:
        if i.file_size > RATIO_FLOOR_BYTES and i.file_size > max_ratio * max(i.compress_size, 1):
            raise XlsxRefused(
                gettext_lazy("文件压缩比异常(疑似压缩炸弹)，已拒绝"),
                {"part": i.filename, "ratio": i.file_size // max(i.compress_size, 1), "limit": max_ratio},
            )
    if not isinstance(source, bytes | bytearray):
        source.seek(0)
    return z


def _col_index(ref: str) -> int:
    n = 0
    for ch in _COL.match(ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def _first_sheet_path(z: zipfile.ZipFile) -> str:
    from xml.etree import ElementTree as ET

    wb = ET.fromstring(z.read("xl/workbook.xml"))  # noqa: S314 (see module docstring)
    sheet = wb.find(f"{NS}sheets/{NS}sheet")
    rid = sheet.get(f"{RELNS}id")
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target").lstrip("/")
            return target if target.startswith("xl/") else "xl/" + target
    raise KeyError("sheet")


def _shared_strings(z: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    out = []
    for _, el in iterparse(z.open("xl/sharedStrings.xml"), events=("end",)):  # noqa: S314
        if el.tag == f"{NS}si":
            out.append("".join(t.text or "" for t in el.iter(f"{NS}t")))
            el.clear()
    return out


def _cell_value(t: str | None, v: str | None, strings: list[str]):
    """A cell's value from its type attribute and its <v> text."""
    if v is None:
        return None
    if t == "s":
        return strings[int(v)]
    if t in ("str", "e"):
        return v
    if t == "b":
        return v == "1"
    return float(v) if ("." in v or "E" in v or "e" in v) else int(v)


def _lxml_rows(
    z: zipfile.ZipFile, path: str, strings: list[str], max_rows: int, max_columns: int
) -> Iterator[list]:
    """The sheet's rows with lxml, iterating <row> elements only (cells as openpyxl gives
    them, without its per-cell objects)."""
    from lxml import etree

    c_tag, v_tag, t_tag, is_tag = f"{NS}c", f"{NS}v", f"{NS}t", f"{NS}is"
    cols: dict[str, int] = {}
    rows = etree.iterparse(z.open(path), events=("end",), tag=f"{NS}row", resolve_entities=False)
    for n, (_, el) in enumerate(rows, start=1):
        if n > max_rows:
            raise XlsxRefused(
                format_lazy(
                    gettext_lazy("数据超过{max_rows}行，请拆分为多个文件后分别导入"), max_rows=max_rows
                ),
                {"limit": max_rows},
            )
        row: list = []
        for c in el.iterchildren(c_tag):
            ref = c.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                i = cols.get(letters)
                if i is None:
                    i = cols[letters] = _col_index(ref)
            else:
                i = len(row)
            if i >= max_columns:
                raise XlsxRefused(
                    format_lazy(gettext_lazy("列数超过{max_columns}列，请检查文件"), max_columns=max_columns),
                    {"limit": max_columns},
                )
            t = c.get("t")
            if t == "inlineStr":
                value = None
                if len(c) == 1 and c[0].tag == is_tag and len(c[0]) == 1 and c[0][0].tag == t_tag:
                    value = c[0][0].text or ""  # the plain <is><t>…</t></is>, without a search
                if value is None:
                    value = "".join(x.text or "" for x in c.iter(t_tag))  # rich text runs
            else:
                value = _cell_value(t, c.findtext(v_tag), strings)
            while len(row) < i:
                row.append(None)
            row.append(value)
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
        yield row


def iter_rows(
    source: bytes | IO[bytes],
    *,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    max_ratio: int = MAX_RATIO,
) -> Iterator[list]:
    """The first sheet's rows, streamed, after the bomb checks. Corrupt content raises
    ``XlsxRefused`` too (while iterating)."""
    z = check_xlsx(source, max_unzipped_bytes=max_unzipped_bytes, max_ratio=max_ratio)
    try:
        try:
            path = _first_sheet_path(z)
        except (KeyError, AttributeError):
            yield from _openpyxl_rows(z, max_rows, max_columns)
            return
        yield from _lxml_rows(z, path, _shared_strings(z), max_rows, max_columns)
    except XlsxRefused:
        raise
    except Exception:  # zipfile, XML and value errors alike: the file is not a usable sheet
        raise XlsxRefused(gettext_lazy("文件内容损坏，无法读取：请重新导出 .xlsx"))


def _openpyxl_rows(z: zipfile.ZipFile, max_rows: int, max_columns: int) -> Iterator[list]:
    from openpyxl import load_workbook

    wb = load_workbook(z.fp, read_only=True, data_only=True)
    try:
        for n, r in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
            if n > max_rows:
                raise XlsxRefused(
                    format_lazy(
                        gettext_lazy("数据超过{max_rows}行，请拆分为多个文件后分别导入"), max_rows=max_rows
                    ),
                    {"limit": max_rows},
                )
            if len(r) > max_columns:
                raise XlsxRefused(
                    format_lazy(gettext_lazy("列数超过{max_columns}列，请检查文件"), max_columns=max_columns),
                    {"limit": max_columns},
                )
            yield list(r)
    finally:
        wb.close()


def excel_date(v) -> datetime | None:
    """An Excel serial date number (1900 system) as a naive datetime."""
    if isinstance(v, int | float) and 1 < v < 2958466:
        return datetime(1899, 12, 30) + timedelta(days=float(v))
    return None


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
        # the column's own format, which cells typed into it take: codes and phone numbers
        # stay text (one <col> style, not 500 empty formatted cells a column)
        ws.column_dimensions[letter].number_format = "@"
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
    """[(row number, {field: text})] of the first sheet (the data sheet of a template).
    Raises ``XlsxRefused`` (Chinese) for a file that is not a usable table."""
    rows = iter_rows(file_obj, max_rows=max_rows + 1)
    first = next(rows, None) or ()
    by_header = {c.header: c.field for c in columns}
    fields = [by_header.get(_header(v)) for v in first]
    missing = [c.header for c in columns if c.required and c.field not in fields]
    if missing:
        raise XlsxRefused(
            format_lazy(
                gettext_lazy("第1行缺少必需的列：{missing}。请使用导入模板，不要修改表头。"),
                missing="、".join(missing),
            )
        )
    out = []
    for n, raw in enumerate(rows, start=2):
        values = {f: _cell(v) for f, v in zip(fields, raw, strict=False) if f}
        if not any(values.values()):
            continue
        if len(out) >= max_rows:
            raise XlsxRefused(
                format_lazy(
                    gettext_lazy("数据超过{max_rows}行，请拆分为多个文件后分别导入"), max_rows=max_rows
                ),
                {"limit": max_rows},
            )
        out.append((n, {c.field: values.get(c.field, "") for c in columns}))
    if not out:
        raise XlsxRefused(gettext_lazy("文件中没有数据行"))
    return out
