"""The one export writer: CSV (UTF-8 with BOM, so Excel reads Chinese) and .xlsx cells,
formula-safe. A value a user typed (an institution name on a public report, a payer's
name) must never become a live formula in an official's spreadsheet: a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised — in CSV
by a leading apostrophe (what spreadsheet programs show as plain text), in .xlsx by
writing it as a typed string cell. Numbers, dates and booleans are written as they are.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header

from qinglang.core.i18n import chinese, chinese_display, chinese_labels

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def safe_text(value: Any) -> Any:
    """A CSV field that no spreadsheet evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return ["" if v is None else safe_text(v) for v in row]


def csv_text(
    header: list[str] | None, rows: Iterable[Iterable[Any]], *, preamble: str = "", bom: bool = True
) -> str:
    """The whole CSV document; ``preamble`` lines (e.g. ``# bank code``) come first."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    out.write(preamble)
    w = csv.writer(out)
    if header is not None:
        w.writerow(safe_row(header))
    for row in rows:
        w.writerow(safe_row(row))
    return out.getvalue()


def csv_response(
    filename: str, header: list[str] | None, rows: Iterable[Iterable[Any]], **kw
) -> HttpResponse:
    resp = HttpResponse(csv_text(header, rows, **kw), content_type=CSV_CONTENT_TYPE)
    resp["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    resp["Cache-Control"] = "no-store"
    return resp


def xlsx_cell(ws, value: Any) -> Any:
    """A value for a write-only openpyxl sheet: text is always a typed string cell, so
    ``=…`` (which openpyxl would otherwise store as a formula) stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def xlsx_row(ws, row: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(ws, v) for v in row]


# --- .xlsx exports of lists ---------------------------------------------------------------------
#
# An export is a list of ``Column``s (a Chinese header and how to read the value) over the
# rows of a scoped selector. Values a person reads are converted here, once, for every
# export: a division code becomes its full name, a choice code its label, fen become yuan
# (a number cell with two decimals), an aware datetime the local (Asia/Shanghai) time.

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    kind: str = "text"  # text | yuan | time | date | number
    width: int = 16


def field(name: str) -> Callable[[Any], Any]:
    """The field's display value: ``get_<name>_display`` for a choice field, else the value."""

    def get(obj):
        display = getattr(obj, f"get_{name}_display", None)
        return chinese_display(obj, name) if display else getattr(obj, name)

    get.field_name = name
    return get


def division(name: str = "division_code") -> Callable[[Any], Any]:
    """A division code field as the division's full name."""
    from .division_names import full_name

    def get(obj):
        code = getattr(obj, name) if not isinstance(obj, dict) else obj[name]
        return full_name(code) if code else ""

    return get


def department(name: str = "department_kind") -> Callable[[Any], Any]:
    from .models import DepartmentKind

    labels = chinese_labels(DepartmentKind)

    def get(obj):
        kind = getattr(obj, name) if not isinstance(obj, dict) else obj[name]
        return labels.get(kind, kind) if kind else ""

    return get


def _cell_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "yuan":
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
    if column.kind == "time" and isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, ZoneInfo(settings.TIME_ZONE))
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Promise):  # a lazy label: the office's file reads in Chinese
        return chinese(value)
    return value


_FORMATS = {"yuan": "#,##0.00", "time": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}


def xlsx_bytes(
    title: str, columns: list[Column], rows: Iterable[Any], *, progress: Callable[[int], None] | None = None
) -> bytes:
    """The .xlsx of a list: one sheet, a bold header row, typed cells (yuan as numbers,
    local times as dates), text formula-safe. ``progress`` is called every 500 rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for i, col in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A2"
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for n, obj in enumerate(rows, 1):
        out = []
        for col in columns:
            value = _cell_value(col, col.value(obj))
            fmt = _FORMATS.get(col.kind)
            if fmt and value is not None and not isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(xlsx_cell(ws, value))
        ws.append(out)
        if progress and n % 500 == 0:
            progress(n)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def file_response(filename: str, data: bytes, content_type: str = XLSX_CONTENT_TYPE) -> HttpResponse:
    resp = HttpResponse(data, content_type=content_type)
    resp["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    resp["Cache-Control"] = "no-store"
    return resp


def xlsx_response(filename: str, title: str, columns: list[Column], rows: Iterable[Any]) -> HttpResponse:
    return file_response(filename, xlsx_bytes(title, columns, rows))


def csv_values(columns: list[Column], rows: Iterable[Any]) -> Iterator[list[Any]]:
    """Rows for ``csv_text`` read through the same columns (names, yuan, local times)."""
    for obj in rows:
        out = []
        for col in columns:
            value = _cell_value(col, col.value(obj))
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%d %H:%M")
            out.append(value)
        yield out
