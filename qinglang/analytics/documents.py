"""The weekly notice as an official .docx (GB/T 9704 layout, kept minimal): A4, the
issuing office in red, the document number, the title, the body in 仿宋 (set for East
Asian text through ``w:eastAsia``, which Word uses for Chinese characters), the ranking
tables, the named lagging units, the requirements, the issuer and the date."""

import io
from datetime import date

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell

BODY_FONT = "仿宋"
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
REQUIREMENTS = [
    "各乡镇(街道)、各有关部门要对照目标逐项查找差距，落后指标须在下周通报前明显提升。",
    "收到督办提醒的单位须在平台签收，并于三个工作日内报送整改落实情况。",
    "“双减”工作专班将对连续两周排名靠后的单位进行约谈。",
]


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.bold = bold
    rpr = run._element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(doc, text: str, *, font=BODY_FONT, size=16, bold=False, align=None, indent=True):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent and align is None:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    p.paragraph_format.line_spacing = Pt(28)
    _font(p.add_run(text), font, size, bold)
    return p


def _document() -> Document:
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    for name, font in (("表格文字", BODY_FONT), ("表头", HEADING_FONT)):
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = normal
        st.font.name = font
        st.font.size = Pt(11)
        st.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return doc


def _fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if unit == "%" else f"{value:g}{unit}"


def _change(change, unit: str) -> str:
    if change is None:
        return "—"
    return f"{change * 100:+.1f}" if unit == "%" else f"{change:+g}"


def _table(doc, title: str, units: list[dict], unit: str) -> None:
    _para(doc, title, font="楷体", size=16, indent=False)
    head = ["排名", "单位", "本周", "上周", "变化(百分点)" if unit == "%" else "变化"]
    rows = [
        [
            str(u["rank"]) if u["rank"] else "—",
            u["name"],
            _fmt(u["value"], unit),
            _fmt(u["previous"], unit),
            _change(u["change"], unit),
        ]
        for u in units
    ]
    _grid(doc, head, rows)


def ranking_notice_docx(notice) -> bytes:
    d = notice.data
    doc = _document()
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(f"{d['county_short']}“双减”工作专班办公室")
    _font(run, TITLE_FONT, 26)
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    _para(doc, notice.number, align=WD_ALIGN_PARAGRAPH.CENTER)
    ws, we = date.fromisoformat(d["week_start"]), date.fromisoformat(d["week_end"])
    _para(
        doc,
        f"关于{d['county_short']}校外培训治理重点指标周排名情况的通报",
        font=TITLE_FONT,
        size=22,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _para(doc, "各乡镇(街道)，县级各有关部门：", indent=False)
    _para(
        doc,
        f"现将{cn_date(ws)}至{cn_date(we)}全{d['county_short'][-1:] or '县'}校外培训治理重点指标完成情况"
        "及各乡镇(街道)、各部门排名通报如下。",
    )
    _para(doc, "一、指标完成及排名情况", font=HEADING_FONT, indent=True)
    for n, ind in enumerate(d["indicators"], 1):
        target = _fmt(ind["target"], ind["unit"])
        _para(doc, f"({n}){ind['name']}：全域{_fmt(ind['value'], ind['unit'])}，目标{target}。")
        if any(u["value"] is not None for u in ind["townships"]):
            _table(doc, "乡镇(街道)排名", ind["townships"], ind["unit"])
        if any(u["value"] is not None for u in ind["departments"]):
            _table(doc, "部门排名", ind["departments"], ind["unit"])
    _para(doc, "二、未达目标单位", font=HEADING_FONT)
    if d["lagging"]:
        for lag in d["lagging"]:
            items = "、".join(f"{i['indicator']}({_fmt(i['value'], i['unit'])})" for i in lag["items"])
            _para(doc, f"{lag['name']}：{items}。")
    else:
        _para(doc, "本周各单位各项指标均达到目标。")
    _para(doc, "三、工作要求", font=HEADING_FONT)
    for n, text in enumerate(["一", "二", "三"][: len(REQUIREMENTS)], 0):
        _para(doc, f"({text}){REQUIREMENTS[n]}")
    doc.add_paragraph("")
    _para(doc, f"{d['county_short']}“双减”工作专班办公室", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, cn_date(notice.issued_on), align=WD_ALIGN_PARAGRAPH.RIGHT)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _row_cells(table, tr) -> list:
    """A row's cells straight from its ``w:tc`` elements (``Row.cells`` walks the whole
    table's grid on every call, quadratic in the rows)."""
    return [_Cell(tc, table) for tc in tr.tc_lst]


def _grid(doc, head: list[str], rows: list[list[str]]) -> None:
    """A table; its cells take the 表头 / 表格文字 paragraph styles (fonts set once)."""
    t = doc.add_table(rows=1, cols=len(head))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    head_style, body_style = doc.styles["表头"], doc.styles["表格文字"]
    for values, style in [(head, head_style)] + [(r, body_style) for r in rows]:
        tr = t.rows[0]._tr if values is head else t.add_row()._tr
        for cell, text in zip(_row_cells(t, tr), values, strict=True):
            p = cell.paragraphs[0]
            p.style = style
            p.add_run(str(text))


def daily_report_document(rep: dict, day_text: str, figures, texts) -> bytes:
    """信息日报 of a county: the platform's figures, each unit's report, the units that
    did not report, the dispatch notes of the day."""
    doc = _document()
    _para(
        doc,
        f"{rep['county_short']}“双减”工作信息日报",
        font=TITLE_FONT,
        size=22,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _para(doc, day_text, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "一、平台数据", font=HEADING_FONT)
    _grid(doc, [label for _k, label in figures], [[rep["totals"][k] for k, _l in figures]])
    _para(doc, "二、各单位报送情况", font=HEADING_FONT)
    _grid(
        doc,
        ["单位", "报送", *[label for _k, label in figures]],
        [
            [u["name"], ("按时" if u["on_time"] else "逾期") if u["report"] else "未报"]
            + [u["report"].figures.get(k, 0) if u["report"] else "—" for k, _l in figures]
            for u in rep["units"]
        ],
    )
    for key, label in texts:
        items = [
            (u["name"], getattr(u["report"], key))
            for u in rep["units"]
            if u["report"] and getattr(u["report"], key)
        ]
        if items:
            _para(doc, label, font="楷体")
            for name, text in items:
                _para(doc, f"{name}：{text}")
    if rep["missing"]:
        _para(doc, "未报送单位：" + "、".join(u["name"] for u in rep["missing"]) + "。")
    if rep["dispatches"]:
        _para(doc, "三、调度意见", font=HEADING_FONT)
    for d in rep["dispatches"]:
        _para(doc, f"{d.text}(送：{'、'.join(t.unit_name for t in d.targets.all())})")
    _para(doc, rep["audit_checkpoint"], size=10, indent=False)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
