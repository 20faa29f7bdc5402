"""Official documents (公文) as .docx, laid out after GB/T 9704-2012 《党政机关公文格式》, for
every app that issues one (rectification notices and letters, penalty documents):

* A4 paper (210 × 297 mm); margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm;
* body in 仿宋_GB2312, 三号 (16 pt), fixed line spacing so a page holds 22 lines; the title
  in 小标宋 二号 (22 pt), headings in 黑体; every run names its font in ``w:rFonts`` for
  Latin *and* ``w:eastAsia`` text (Word picks the East Asian font from ``eastAsia`` alone,
  so a font set only as ``w:ascii`` never reaches Chinese characters);
* the issuing authority's mark in red 小标宋, the document number (发文字号, e.g.
  ``武侯区教整〔2026〕3号``) centred under it above a red rule;
* the signature (发文机关署名) and the date written in Chinese numerals
  (``二〇二六年十二月四日``), right-aligned, with the seal's place (印章) over them;
* page numbers ``— 1 —`` in the footer;
* where a document is served, a 送达回执 (service receipt) on its own page.

``allocate_numbers`` hands out document numbers per issuing unit, series and year without
gaps (a row per counter, locked while the numbers are taken, in the caller's transaction —
a rolled-back issue gives its numbers back).

``Prepared`` lays a document type out once per process with python-docx, with ``⟦name⟧``
placeholders. Rendering a document then fills the placeholders of ``word/document.xml`` as
text (escaped; a table row or a paragraph repeated per value) and appends that one part to
the package's other parts (styles, footer, settings …), which were zipped once. A document
costs about a millisecond instead of about twenty, and the output is deterministic: the
same document gives the same bytes, hence the same SHA-256."""

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from xml.sax.saxutils import escape

from django.db import transaction
from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips

A4_WIDTH, A4_HEIGHT = Twips(11906), Twips(16838)  # 210 × 297 mm, as Word writes A4
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
MARK_SIZE = Pt(26)  # 一号: the authority's mark
TABLE_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28.9)  # 22 lines on the 225 mm text block
RED = RGBColor(0xFF, 0x00, 0x00)
SEAL_MARK = "（印章）"

_DIGITS = "〇一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 14 → 十四, 21 → 二十一, 31 → 三十一 (days and months)."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{_DIGITS[tens] if tens > 1 else ''}十{_DIGITS[ones] if ones else ''}"


def cn_date(d: date) -> str:
    """The date as an official document writes it: 二〇二六年十二月四日."""
    year = "".join(_DIGITS[int(c)] for c in str(d.year))
    return f"{year}年{cn_number(d.month)}月{cn_number(d.day)}日"


def document_number(authority_short: str, series: str, year: int, serial: int) -> str:
    """发文字号: 机关代字〔年份〕序号号 (the serial without leading zeros)."""
    return f"{authority_short}{series}〔{year}〕{serial}号"


# --- numbers ------------------------------------------------------------------------------------


def allocate_numbers(*, unit: str, series: str, year: int, count: int = 1) -> list[int]:
    """Take ``count`` consecutive serials of ``series`` for ``unit`` in ``year``. Must run
    inside the transaction that stores them; the counter row stays locked until it ends."""
    from .models import DocumentCounter

    if count <= 0:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocate_numbers must run inside the transaction that stores the numbers")
    DocumentCounter.objects.get_or_create(unit=unit, series=series, year=year)
    counter = DocumentCounter.objects.select_for_update().get(unit=unit, series=series, year=year)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return list(range(first, first + count))


# --- layout -------------------------------------------------------------------------------------


def set_font(target, name: str, size=None, *, bold: bool | None = None) -> None:
    """Font of a run or a style, for Latin and East Asian text alike."""
    font = target.font
    font.name = LATIN_FONT if name == BODY_FONT else name
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    el = target.element
    rpr = el.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def _pitch(paragraph) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)


def new_document() -> Document:
    """An empty official document: A4, GB/T 9704 margins, 仿宋_GB2312 三号 body, page numbers."""
    doc = Document()
    for section in doc.sections:
        section.start_type = WD_SECTION.NEW_PAGE
        section.page_width, section.page_height = A4_WIDTH, A4_HEIGHT
        section.top_margin = Mm(MARGINS_MM["top"])
        section.bottom_margin = Mm(MARGINS_MM["bottom"])
        section.left_margin = Mm(MARGINS_MM["left"])
        section.right_margin = Mm(MARGINS_MM["right"])
        section.footer_distance = Mm(28)
        _page_numbers(section)
    normal = doc.styles["Normal"]
    set_font(normal, BODY_FONT, BODY_SIZE)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE_PITCH
    pf.space_before = pf.space_after = Pt(0)
    table_style = doc.styles["Table Grid"]
    set_font(table_style, BODY_FONT, Pt(14))
    return doc


def _page_numbers(section) -> None:
    """— n — centred in the footer (4号 宋体, per the standard's 页码)."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(p.add_run("— "), "宋体", Pt(14))
    run = p.add_run()
    set_font(run, "宋体", Pt(14))
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)
    set_font(p.add_run(" —"), "宋体", Pt(14))


def add_text(doc, text: str, *, font=BODY_FONT, size=BODY_SIZE, bold=None, align=None, indent=True):
    """A paragraph of one run; body paragraphs indent their first line by two characters."""
    p = doc.add_paragraph()
    _pitch(p)
    if align is not None:
        p.alignment = align
    elif indent:
        p.paragraph_format.first_line_indent = Pt(size.pt * 2)
    run = p.add_run(text)
    set_font(run, font, size, bold=bold)
    return p


def add_mark(doc, authority: str, number: str) -> None:
    """发文机关标志 (red 小标宋, centred), one blank line, 发文字号 above the red rule."""
    add_text(doc, authority, font=TITLE_FONT, size=MARK_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER).runs[
        0
    ].font.color.rgb = RED
    add_text(doc, "", align=WD_ALIGN_PARAGRAPH.CENTER)
    p = add_text(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("val", "single"), ("sz", "12"), ("space", "6"), ("color", "FF0000")):
        bottom.set(qn(f"w:{k}"), v)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)
    add_text(doc, "", align=WD_ALIGN_PARAGRAPH.CENTER)


def add_title(doc, title: str):
    return add_text(doc, title, font=TITLE_FONT, size=TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)


def add_heading(doc, text: str):
    return add_text(doc, text, font=HEADING_FONT)


def add_addressee(doc, name: str):
    """主送机关: flush left, followed by a full-width colon."""
    return add_text(doc, f"{name}：", indent=False)


def add_signature(doc, issuers: list[str], date_text: str) -> None:
    """发文机关署名 and 成文日期, right-aligned (four characters in from the right edge),
    with the seal's place above them: the seal is pressed over the names and the date."""
    add_text(doc, "")
    add_text(doc, "")
    seal = add_text(doc, SEAL_MARK, align=WD_ALIGN_PARAGRAPH.RIGHT)
    seal.paragraph_format.right_indent = Pt(BODY_SIZE.pt * 4)
    for name in issuers:
        p = add_text(doc, name, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(BODY_SIZE.pt * 4)
    p = add_text(doc, date_text, align=WD_ALIGN_PARAGRAPH.RIGHT)
    p.paragraph_format.right_indent = Pt(BODY_SIZE.pt * 4)


def add_table(doc, rows: list[tuple[str, ...]], *, size=TABLE_SIZE):
    """A bordered table in 仿宋 (smaller than the body, as tables in a notice are)."""
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for row, values in zip(table.rows, rows, strict=True):
        for cell, text in zip(row.cells, values, strict=True):
            p = cell.paragraphs[0]
            set_font(p.add_run(text), BODY_FONT, size)
    return table


RECEIPT_TITLE = "送达回执"


def add_receipt(
    doc, *, document: str, addressee: str, address: str, servers: str, issuer: str, date_text: str
) -> None:
    """送达回执 on a new page: what is served, to whom and where, the manner of service,
    the server(s) with their 执法证号, and the boxes for the recipient's signature or seal."""
    p = doc.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)
    add_title(doc, RECEIPT_TITLE)
    add_text(doc, "")
    add_table(
        doc,
        [
            ("送达文书名称及文号", document),
            ("受送达人", addressee),
            ("送达地点", address),
            ("送达方式", "直接送达 □  留置送达 □  邮寄送达 □  电子送达 □"),
            ("送达人及执法证号", servers),
            ("受送达人签名或盖章", "                          年    月    日"),
            ("代收人及代收理由", ""),
            ("见证人(留置送达时)", ""),
            ("备注", ""),
        ],
        size=BODY_SIZE,
    )
    add_signature(doc, [issuer], date_text)


# --- prepared layouts ------------------------------------------------------------------------

DOCUMENT_PART = "word/document.xml"
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same document gives the same bytes
_TOKEN = re.compile(r"⟦([a-z_]+)⟧")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'


def ph(name: str) -> str:
    return f"⟦{name}⟧"


def _xml_text(value) -> str:
    """A value as the content of ``<w:t>``: escaped, without characters XML cannot hold,
    line breaks as ``<w:br/>``."""
    text = escape(_CONTROL.sub("", str(value))).replace("\r\n", "\n")
    return text.replace("\n", _BREAK)


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _enclosing(xml: str, token: str, tag: str) -> tuple[int, int]:
    """Start and end of the innermost ``<tag>`` element around ``token``."""
    pos = xml.index(token)
    start = max(xml.rfind(f"<{tag}>", 0, pos), xml.rfind(f"<{tag} ", 0, pos))
    end = xml.index(f"</{tag}>", pos) + len(f"</{tag}>")
    if start < 0:
        raise ValueError(f"no <{tag}> around {token}")
    return start, end


class Prepared:
    """A document type laid out once with python-docx; ``render`` fills it in.

    ``build`` returns a python-docx Document whose text holds ``⟦name⟧`` placeholders;
    ``repeat`` maps a list name to the element repeated per entry (``w:tr`` for a table
    row, ``w:p`` for a paragraph) and one placeholder inside it that locates it."""

    def __init__(self, build: Callable[[], Document], repeat: dict[str, tuple[str, str]]):
        buf = io.BytesIO()
        build().save(buf)
        static = io.BytesIO()
        with zipfile.ZipFile(buf) as src, zipfile.ZipFile(static, "w") as out:
            xml = src.read(DOCUMENT_PART).decode()
            for info in src.infolist():
                if info.filename != DOCUMENT_PART:
                    out.writestr(_zip_info(info.filename), src.read(info))
        self.static = static.getvalue()
        # keep spaces at the edges of filled-in text
        xml = re.sub(r"<w:t>(?=[^<]*⟦)", '<w:t xml:space="preserve">', xml)
        # cut the document into text and repeated blocks, in order
        cuts = sorted((*_enclosing(xml, ph(token), tag), name) for name, (tag, token) in repeat.items())
        self.pieces: list[str | tuple[str, str]] = []
        pos = 0
        for start, end, name in cuts:
            self.pieces += [xml[pos:start], (name, xml[start:end])]
            pos = end
        self.pieces.append(xml[pos:])

    @staticmethod
    def _fill(text: str, values: dict) -> str:
        return _TOKEN.sub(lambda m: _xml_text(values[m.group(1)]), text)

    def render(self, values: dict, lists: dict[str, list[dict]] | None = None) -> bytes:
        lists = lists or {}
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(self._fill(piece, values))
            else:
                name, block = piece
                out += [self._fill(block, {**values, **entry}) for entry in lists.get(name, [])]
        buf = io.BytesIO(self.static)
        buf.seek(0, io.SEEK_END)
        with zipfile.ZipFile(buf, "a") as z:
            z.writestr(_zip_info(DOCUMENT_PART), "".join(out).encode())
        return buf.getvalue()
