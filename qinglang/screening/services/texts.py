"""Classify calls the API serves: texts checked against the one-call limits, and a
.csv/.xlsx of texts answered with the same kind of file, results beside each row."""

import io
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.errors import DomainError
from qinglang.core.exports import CSV_CONTENT_TYPE, csv_text, xlsx_row

from .. import classifier, extract
from .common import MAX_TEXT_CHARS, MAX_TEXTS


def texts_check(texts: list) -> list[str]:
    """The one-call limits: 1–1,000 texts, each non-empty and at most 10,000 characters."""
    if not isinstance(texts, list) or not texts:
        raise DomainError("no_texts", _("请至少提供一条文本"), {"min": 1}, status=422)
    if len(texts) > MAX_TEXTS:
        raise DomainError(
            "too_many_texts",
            format_lazy(
                _("每次最多研判{max}条文本，本次{n}条；更多请用文件上传"), max=MAX_TEXTS, n=len(texts)
            ),
            {"max": MAX_TEXTS, "got": len(texts)},
            status=422,
        )
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise DomainError(
                "empty_text", format_lazy(_("第{n}条文本为空"), n=i + 1), {"index": i}, status=422
            )
        if len(t) > MAX_TEXT_CHARS:
            raise DomainError(
                "text_too_long",
                format_lazy(
                    _("第{n}条文本{length}字，超过{max}字上限"), n=i + 1, length=len(t), max=MAX_TEXT_CHARS
                ),
                {"index": i, "length": len(t), "max": MAX_TEXT_CHARS},
                status=422,
            )
    return texts


def texts_classify(*, texts: list) -> list[dict]:
    return [r.as_dict() for r in classifier.classify_many(texts_check(texts))]


@dataclass
class ResultFile:
    name: str
    content_type: str
    data: bytes
    rows: int


RESULT_HEADERS = ["id", "text", "研判结果", "label", "置信度", "变异形式", "名义", "证据"]


def texts_classify_file(*, data: bytes, name: str) -> ResultFile:
    """A .csv or .xlsx of ``id,text`` classified row by row; the answer is the same kind
    of file with the results beside each row. Any bad row refuses the whole file."""
    kind, rows = extract.table_rows(data, name)
    bad = [i + 2 for i, (_rid, t) in enumerate(rows) if not t.strip()]
    if bad:
        raise DomainError(
            "empty_text",
            format_lazy(
                _("第{rows}行 text 为空{more}"),
                rows="、".join(map(str, bad[:20])),
                more=_("等") if len(bad) > 20 else "",
            ),
            {"rows": bad[:100]},
            status=422,
        )
    long = [i + 2 for i, (_rid, t) in enumerate(rows) if len(t) > MAX_TEXT_CHARS]
    if long:
        raise DomainError(
            "text_too_long",
            format_lazy(
                _("第{rows}行 text 超过{max}字"), rows="、".join(map(str, long[:20])), max=MAX_TEXT_CHARS
            ),
            {"rows": long[:100], "max": MAX_TEXT_CHARS},
            status=422,
        )
    out = [RESULT_HEADERS]
    for i in range(0, len(rows), MAX_TEXTS):
        chunk = rows[i : i + MAX_TEXTS]
        for (rid, text), r in zip(chunk, classifier.classify_many([t for _rid, t in chunk]), strict=True):
            out.append(
                [
                    rid,
                    text,
                    classifier.LABEL_NAMES[r.label],
                    r.label,
                    round(r.confidence, 4),
                    r.as_dict()["pattern_name"],
                    r.as_dict()["cover_name"],
                    "；".join(e["text"] for e in r.evidence),
                ]
            )
    stem = (name.rsplit(".", 1)[0] or "texts")[:80]
    if kind == "xlsx":
        return ResultFile(f"{stem}-研判结果.xlsx", extract.XLSX_TYPE, _xlsx(out), len(rows))
    return ResultFile(f"{stem}-研判结果.csv", CSV_CONTENT_TYPE, csv_text(out[0], out[1:]).encode(), len(rows))


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("研判结果")
    for row in rows:
        ws.append(xlsx_row(ws, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
