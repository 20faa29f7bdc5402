"""The one export writer: CSV (UTF-8 with BOM, so Excel reads Chinese) and .xlsx cells,
formula-safe. A value a user typed (an institution name on a public report, a payer's
name) must never become a live formula in an official's spreadsheet: a text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised — in CSV
by a leading apostrophe (what spreadsheet programs show as plain text), in .xlsx by
writing it as a typed string cell. Numbers, dates and booleans are written as they are.
"""

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header

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
