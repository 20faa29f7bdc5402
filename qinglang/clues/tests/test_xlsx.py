"""The streaming .xlsx reader: inline strings (plain and rich text runs), shared strings,
numbers, booleans and gaps between cells come out as openpyxl would give them."""

import io
import zipfile

from qinglang.core.xlsx import iter_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xlsx(sheet_data: str, shared: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="ws" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
        z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{sst}</sst>')
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>',
        )
    return buf.getvalue()


def test_cells_of_every_shape():
    data = _xlsx(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>工单&amp;编号</t></is></c>'
        '<c r="C1" t="inlineStr"><is><r><rPr><b/></rPr><t>富</t></r><r><t xml:space="preserve">文 本</t></r></is></c>'
        '<c r="D1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="B2"><v>42</v></c><c r="C2"><v>45000.5</v></c><c r="D2" t="b"><v>1</v></c>'
        '<c r="E2" t="inlineStr"><is><t/></is></c></row>',
        ["甲", "乙"],
    )
    assert list(iter_rows(data)) == [
        ["工单&编号", None, "富文 本", "乙"],
        [None, 42, 45000.5, True, ""],
    ]
