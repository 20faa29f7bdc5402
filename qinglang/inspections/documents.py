"""Official documents as .docx (python-docx): the rectification notice (整改通知书) and
the reminder and supervision letters (提示函 / 督办函). Laid out as a government document:
issuing authority, title, number, addressee, body, deadline, issuers and date."""

import io
from datetime import date

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


def _sign(doc: Document, issuers: list[str], day: date) -> None:
    doc.add_paragraph("")
    for name in issuers:
        p = doc.add_paragraph(name)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p = doc.add_paragraph(_cn_date(day))
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _bytes(doc: Document) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def department_names(kinds: list[str], place: str) -> list[str]:
    labels = dict(DepartmentKind.choices)
    return [f"{place}{labels.get(k, k)}" for k in kinds]


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
    doc = _base(f"{place}校外培训联合执法检查组", "整改通知书", number)
    doc.add_paragraph(f"{institution}：")
    doc.add_paragraph(
        f"{_cn_date(inspected_on)}，联合执法检查组对你单位({address})进行了检查，"
        f"发现以下问题，现责令限期整改："
    )
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("序号", "问题", "依据", "整改要求"), strict=True):
        cell.text = text
    for i, f in enumerate(findings, 1):
        row = table.add_row().cells
        row[0].text = str(i)
        row[1].text = f"{f['title']}：{f['description']}"
        row[2].text = f["basis"]
        row[3].text = f["requirement"] or "按规定整改到位"
    doc.add_paragraph(
        f"请你单位于{_cn_date(deadline_on)}前(自收到本通知之日起{deadline_days}个工作日内)"
        "完成整改，并通过“清朗”平台机构端提交整改材料。逾期未整改的，将依次发出整改提示函、"
        "督办函，并依据《校外培训行政处罚暂行办法》立案查处。"
    )
    _sign(doc, issuers, issued_on)
    return _bytes(doc)


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
    doc = _base(f"{place}校外培训监管工作专班", kind_label, number)
    doc.add_paragraph(f"{institution}：")
    doc.add_paragraph(
        f"你单位收到的《整改通知书》({notice_number})所列问题“{item_title}”，整改期限为"
        f"{_cn_date(deadline_on)}，截至{_cn_date(issued_on)}已逾期{overdue_days}个工作日仍未完成整改。"
    )
    doc.add_paragraph(f"请立即落实整改并提交整改材料。{next_step}")
    _sign(doc, issuers, issued_on)
    return _bytes(doc)
