"""The prepared .docx templates: real documents, user text escaped, deterministic bytes."""

import io
import zipfile
from datetime import date

from docx import Document

from qinglang.inspections import documents

ARGS = {
    "number": "510107校外整改〔2026〕000042号",
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
}


def test_notice_is_a_real_docx_with_escaped_text():
    data = documents.notice_docx(**ARGS)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    doc = Document(io.BytesIO(data))
    paras = [p.text for p in doc.paragraphs]
    assert paras[:3] == ["武侯区校外培训联合执法检查组", ARGS["number"], "整改通知书"]
    assert "A&B <艺术> 培训中心：" in paras  # markup escaped, control character dropped
    assert any("武侯区 “一环路” 1号" in p and "2025年9月26日" in p for p in paras)
    assert any("2025年10月16日前" in p and "10个工作日内" in p for p in paras)
    assert paras[-3:] == ["武侯区教育局", "武侯区消防救援大队", "2025年9月26日"]
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
    assert [p.text for p in doc.paragraphs][-2:] == ["武侯区教育局", "2025年9月26日"]
