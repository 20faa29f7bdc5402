"""Official documents as .docx: the rectification notice (整改通知书) and the reminder and
supervision letters (提示函 / 督办函). Laid out as a government document: issuing
authority, title, number, addressee, body, deadline, issuers and date.

Each document type is laid out once per process with python-docx, with ``⟦name⟧``
placeholders (``Prepared``). Rendering a document then fills the placeholders of
``word/document.xml`` as text (escaped; a finding's table row and an issuer's paragraph
repeated per value) and appends that one part to the package's other parts (styles,
theme, settings …), which were zipped once. A notice costs about a millisecond instead of
about twenty (opening python-docx's default template, building the body through the
object model, serialising and compressing 800 kB of styles every time). The output is
deterministic: the same document gives the same bytes, hence the same SHA-256."""

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from functools import cache
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor

from qinglang.core.models import DepartmentKind


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _base(authority: str, title: str, number: str) -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(14)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(authority)
    run.bold = True
    run.font.size = Pt(22)
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    p = doc.add_paragraph(number)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    t = doc.add_paragraph()
    t.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = t.add_run(title)
    r.bold = True
    r.font.size = Pt(20)
    return doc


def _sign(doc: Document, issuers: list[str], day: date | None) -> None:
    doc.add_paragraph("")
    for name in issuers:
        p = doc.add_paragraph(name)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p = doc.add_paragraph(_cn_date(day) if day else _ph("date"))
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def department_names(kinds: list[str], place: str) -> list[str]:
    labels = dict(DepartmentKind.choices)
    return [f"{place}{labels.get(k, k)}" for k in kinds]


DOCUMENT_PART = "word/document.xml"
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same document gives the same bytes
_TOKEN = re.compile(r"⟦([a-z_]+)⟧")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'


def _ph(name: str) -> str:
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
        cuts = sorted((*_enclosing(xml, _ph(token), tag), name) for name, (tag, token) in repeat.items())
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


def _notice_layout() -> Document:
    doc = _base(f"{_ph('place')}校外培训联合执法检查组", "整改通知书", _ph("number"))
    doc.add_paragraph(f"{_ph('institution')}：")
    doc.add_paragraph(
        f"{_ph('inspected_on')}，联合执法检查组对你单位({_ph('address')})进行了检查，"
        "发现以下问题，现责令限期整改："
    )
    table = doc.add_table(rows=2, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("序号", "问题", "依据", "整改要求"), strict=True):
        cell.text = text
    for cell, name in zip(table.rows[1].cells, ("no", "problem", "basis", "requirement"), strict=True):
        cell.text = _ph(name)
    doc.add_paragraph(
        f"请你单位于{_ph('deadline_on')}前(自收到本通知之日起{_ph('deadline_days')}个工作日内)"
        "完成整改，并通过“清朗”平台机构端提交整改材料。逾期未整改的，将依次发出整改提示函、"
        "督办函，并依据《校外培训行政处罚暂行办法》立案查处。"
    )
    _sign(doc, [_ph("issuer")], None)
    return doc


def _letter_layout() -> Document:
    doc = _base(f"{_ph('place')}校外培训监管工作专班", _ph("kind_label"), _ph("number"))
    doc.add_paragraph(f"{_ph('institution')}：")
    doc.add_paragraph(
        f"你单位收到的《整改通知书》({_ph('notice_number')})所列问题“{_ph('item_title')}”，整改期限为"
        f"{_ph('deadline_on')}，截至{_ph('issued_on')}已逾期{_ph('overdue_days')}个工作日仍未完成整改。"
    )
    doc.add_paragraph(f"请立即落实整改并提交整改材料。{_ph('next_step')}")
    _sign(doc, [_ph("issuer")], None)
    return doc


@cache
def notice_template() -> Prepared:
    """The notice layout, prepared once per process."""
    return Prepared(_notice_layout, {"findings": ("w:tr", "no"), "issuers": ("w:p", "issuer")})


@cache
def letter_template() -> Prepared:
    return Prepared(_letter_layout, {"issuers": ("w:p", "issuer")})


def notice_docx(
    *,
    number: str,
    institution: str,
    address: str,
    place: str,
    inspected_on: date,
    findings: list[dict],
    deadline_days: int,
    deadline_on: date,
    issuers: list[str],
    issued_on: date,
) -> bytes:
    """整改通知书. ``findings``: dicts with title, description, basis, requirement."""
    return notice_template().render(
        {
            "place": place,
            "number": number,
            "institution": institution,
            "address": address,
            "inspected_on": _cn_date(inspected_on),
            "deadline_on": _cn_date(deadline_on),
            "deadline_days": deadline_days,
            "date": _cn_date(issued_on),
        },
        {
            "findings": [
                {
                    "no": i,
                    "problem": f"{f['title']}：{f['description']}",
                    "basis": f["basis"],
                    "requirement": f["requirement"] or "按规定整改到位",
                }
                for i, f in enumerate(findings, 1)
            ],
            "issuers": [{"issuer": name} for name in issuers],
        },
    )


def letter_docx(
    *,
    kind_label: str,
    number: str,
    institution: str,
    place: str,
    notice_number: str,
    item_title: str,
    deadline_on: date,
    overdue_days: int,
    issuers: list[str],
    issued_on: date,
    next_step: str,
) -> bytes:
    """提示函 / 督办函 for one overdue ledger item."""
    return letter_template().render(
        {
            "kind_label": kind_label,
            "place": place,
            "number": number,
            "institution": institution,
            "notice_number": notice_number,
            "item_title": item_title,
            "deadline_on": _cn_date(deadline_on),
            "issued_on": _cn_date(issued_on),
            "overdue_days": overdue_days,
            "next_step": next_step,
            "date": _cn_date(issued_on),
        },
        {"issuers": [{"issuer": name} for name in issuers]},
    )
