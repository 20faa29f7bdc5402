"""The notice and letters as produced: read back with python-docx and their XML — A4,
GB/T 9704 margins, 仿宋_GB2312 reaching Chinese text through ``w:eastAsia``, the document
number, the signature block with the seal's place, the date in Chinese, the inspectors'
执法证号 and the 送达回执 page; user text escaped, bytes deterministic."""

import io
import zipfile
from datetime import date

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from qinglang.core import documents as official
from qinglang.inspections import documents

ARGS = {
    "number": "武侯区校外整改〔2026〕42号",
    "institution": "A&B <艺术> 培训\x07中心",
    "address": "武侯区 “一环路” 1号",
    "place": "武侯区",
    "inspected_on": date(2025, 9, 26),
    "findings": [
        {
            "title": "疏散通道畅通",
            "description": "堵塞\n第二处",
            "basis": "《消防法》第二十八条",
            "requirement": "",
        },
        {"title": "招牌一致", "description": "不一致 ⟦number⟧", "basis": "条例", "requirement": "更换招牌"},
    ],
    "deadline_days": 10,
    "deadline_on": date(2025, 10, 16),
    "issuers": ["武侯区教育局", "武侯区消防救援大队"],
    "issued_on": date(2025, 9, 26),
    "inspectors": [("张明", "51010720231234"), ("李华", "")],
}


def _texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text]


def _assert_official_layout(data: bytes) -> Document:
    doc = Document(io.BytesIO(data))
    (section,) = doc.sections
    # A4, not US Letter (11906 × 16838 twips, as Word writes A4)
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)
    assert 'w:w="11906"' in section._sectPr.xml and 'w:h="16838"' in section._sectPr.xml
    assert abs(section.top_margin - Mm(37)) < Mm(0.1) and abs(section.bottom_margin - Mm(35)) < Mm(0.1)
    assert abs(section.left_margin - Mm(28)) < Mm(0.1) and abs(section.right_margin - Mm(26)) < Mm(0.1)
    # every run with Chinese text names its East Asian font; the body is 仿宋_GB2312 三号
    body_runs = 0
    for p in doc.paragraphs:
        for run in p.runs:
            if not any("\u4e00" <= ch <= "\u9fff" for ch in run.text):
                continue
            fonts = run._r.rPr.find(qn("w:rFonts"))
            assert fonts is not None and fonts.get(qn("w:eastAsia")), run.text
            if fonts.get(qn("w:eastAsia")) == official.BODY_FONT and run.font.size == Pt(16):
                body_runs += 1
    assert body_runs >= 5
    normal = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"
    title = next(p for p in doc.paragraphs if p.text in ("整改通知书", "整改提示函", "整改督办函"))
    assert title.runs[0]._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == official.TITLE_FONT
    assert title.runs[0].font.size == Pt(22)
    # the footer carries the page number field
    assert "PAGE" in section.footer._element.xml
    return doc


def test_notice_follows_gbt_9704():
    data = documents.notice_docx(**ARGS)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    doc = _assert_official_layout(data)
    paras = _texts(doc)
    assert paras[:3] == ["武侯区校外培训联合执法检查组", ARGS["number"], "整改通知书"]
    mark = doc.paragraphs[0].runs[0]
    assert str(mark.font.color.rgb) == "FF0000"
    # the signature block: seal's place, the issuers, the date in Chinese, right-aligned
    i = paras.index(official.SEAL_MARK)
    assert paras[i : i + 4] == [
        official.SEAL_MARK,
        "武侯区教育局",
        "武侯区消防救援大队",
        "二〇二五年九月二十六日",
    ]
    right = [p for p in doc.paragraphs if p.text in paras[i : i + 4]]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.RIGHT for p in right)
    assert "执法人员：张明(执法证号：51010720231234)、李华(执法证号：未登记)" in paras


def test_notice_has_a_service_receipt_page():
    doc = Document(io.BytesIO(documents.notice_docx(**ARGS)))
    xml = doc.element.body.xml
    receipt_at = [p.text for p in doc.paragraphs].index(official.RECEIPT_TITLE)
    before = doc.paragraphs[receipt_at - 1]._p.xml
    assert 'w:type="page"' in before  # the receipt starts a new page
    _findings, receipt = doc.tables
    fields = {r.cells[0].text: r.cells[1].text for r in receipt.rows}
    assert fields["送达文书名称及文号"] == f"《整改通知书》({ARGS['number']})"
    assert fields["受送达人"] == "A&B <艺术> 培训中心"
    assert fields["送达地点"] == ARGS["address"]
    assert "51010720231234" in fields["送达人及执法证号"]
    assert "受送达人签名或盖章" in fields and "送达方式" in fields
    assert xml.count("二〇二五年九月二十六日") == 2  # the notice's date and the receipt's


def test_notice_text_is_escaped_and_never_filled_in():
    doc = Document(io.BytesIO(documents.notice_docx(**ARGS)))
    paras = _texts(doc)
    assert "A&B <艺术> 培训中心：" in paras  # markup escaped, control character dropped
    assert any("武侯区 “一环路” 1号" in p and "2025年9月26日" in p for p in paras)
    assert any("2025年10月16日前" in p and "10个工作日内" in p for p in paras)
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    assert rows == [
        ["序号", "问题", "依据", "整改要求"],
        ["1", "疏散通道畅通：堵塞\n第二处", "《消防法》第二十八条", "按规定整改到位"],
        ["2", "招牌一致：不一致 ⟦number⟧", "条例", "更换招牌"],  # user text is never filled in
    ]


def test_same_notice_same_bytes_and_a_change_shows():
    a, b = documents.notice_docx(**ARGS), documents.notice_docx(**ARGS)
    assert a == b
    assert documents.notice_docx(**{**ARGS, "deadline_days": 11}) != a


def test_no_findings_and_one_issuer():
    doc = Document(io.BytesIO(documents.notice_docx(**{**ARGS, "findings": [], "issuers": ["武侯区教育局"]})))
    assert [[c.text for c in r.cells] for r in doc.tables[0].rows] == [["序号", "问题", "依据", "整改要求"]]
    paras = _texts(doc)
    i = paras.index(official.SEAL_MARK)
    assert paras[i : i + 3] == [official.SEAL_MARK, "武侯区教育局", "二〇二五年九月二十六日"]


def test_letter_follows_gbt_9704_with_receipt():
    data = documents.letter_docx(
        kind_label="整改督办函",
        number="武侯区校外整改督〔2026〕3号",
        institution="星火培训中心",
        place="武侯区",
        notice_number=ARGS["number"],
        item_title="疏散通道畅通",
        deadline_on=date(2026, 10, 16),
        overdue_days=12,
        issuers=["武侯区教育局"],
        issued_on=date(2026, 12, 4),
        next_step="逾期仍不整改的，将依法立案查处。",
        address="一环路1号",
    )
    doc = _assert_official_layout(data)
    paras = _texts(doc)
    assert paras[:3] == ["武侯区校外培训监管工作专班", "武侯区校外整改督〔2026〕3号", "整改督办函"]
    assert "二〇二六年十二月四日" in paras and official.RECEIPT_TITLE in paras
    (receipt,) = doc.tables
    assert receipt.rows[0].cells[1].text == "《整改督办函》(武侯区校外整改督〔2026〕3号)"


def test_chinese_dates_and_numbers():
    assert official.cn_date(date(2026, 12, 4)) == "二〇二六年十二月四日"
    assert official.cn_date(date(2030, 10, 31)) == "二〇三〇年十月三十一日"
    assert official.cn_date(date(2025, 1, 20)) == "二〇二五年一月二十日"
    assert official.document_number("武侯区", "校外整改", 2026, 7) == "武侯区校外整改〔2026〕7号"
