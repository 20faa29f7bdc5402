"""A streaming reader for the first sheet of an .xlsx: rows as lists of cell values.
openpyxl's read-only mode builds a cell object per value and needs ~7 s for a 34k-row
work-order file on the benchmark machine; parsing the sheet XML directly (lxml iterparse)
takes a fraction of that. Dates stay serial numbers unless the cell is a string; callers
convert (``excel_date``). Anything unusual (no shared strings part, a chart sheet) falls
back to openpyxl.

XML safety: ElementTree never resolves external entities and the bundled expat (≥ 2.4.1)
limits entity expansion; lxml is called with ``resolve_entities=False``."""

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from xml.etree.ElementTree import iterparse

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELNS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_COL = re.compile(r"[A-Z]+")


def _col_index(ref: str) -> int:
    n = 0
    for ch in _COL.match(ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def _first_sheet_path(z: zipfile.ZipFile) -> str:
    from xml.etree import ElementTree as ET

    wb = ET.fromstring(  # noqa: S314 (see module docstring)
        z.read("xl/workbook.xml")
    )
    sheet = wb.find(f"{NS}sheets/{NS}sheet")
    rid = sheet.get(f"{RELNS}id")
    rels = ET.fromstring(  # noqa: S314
        z.read("xl/_rels/workbook.xml.rels")
    )
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


def _lxml_rows(z: zipfile.ZipFile, path: str, strings: list[str]) -> Iterator[list]:
    """The sheet's rows with lxml, iterating <row> elements only (cells as openpyxl gives
    them, without its per-cell objects)."""
    from lxml import etree

    c_tag, v_tag, t_tag, is_tag = f"{NS}c", f"{NS}v", f"{NS}t", f"{NS}is"
    cols: dict[str, int] = {}
    for _, el in etree.iterparse(z.open(path), events=("end",), tag=f"{NS}row", resolve_entities=False):
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


def iter_rows(data: bytes) -> Iterator[list]:
    z = zipfile.ZipFile(io.BytesIO(data))
    try:
        path = _first_sheet_path(z)
    except (KeyError, AttributeError):
        yield from _openpyxl_rows(data)
        return
    yield from _lxml_rows(z, path, _shared_strings(z))


def _openpyxl_rows(data: bytes) -> Iterator[list]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for r in wb.worksheets[0].iter_rows(values_only=True):
            yield list(r)
    finally:
        wb.close()


def excel_date(v) -> datetime | None:
    """An Excel serial date number (1900 system) as a naive datetime."""
    if isinstance(v, int | float) and 1 < v < 2958466:
        return datetime(1899, 12, 30) + timedelta(days=float(v))
    return None
