"""Streaming parsers for lesson batch files (JSON lines or CSV) and bank statements
(CSV or .xlsx). Rows are yielded one at a time, so memory stays flat in file size."""

import codecs
import csv
import io
import json
from collections.abc import Iterator


def lesson_rows(fileobj, *, filename: str = "") -> Iterator[dict | str]:
    """Yield each event as a dict (or a string describing why the line is malformed);
    an .xlsx sheet (the downloadable template) is read by its header row."""
    if filename.lower().endswith(".xlsx"):
        yield from lesson_rows_xlsx(fileobj.read())
        return
    reader = codecs.getreader("utf-8-sig")(fileobj, errors="replace")
    first = ""
    lines = iter(reader)
    for first in lines:
        if first.strip():
            break
    else:
        return
    is_json = filename.lower().endswith((".jsonl", ".json", ".ndjson")) or first.lstrip().startswith("{")
    if is_json:
        for line in _chain(first, lines):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                yield f"不是合法的 JSON：{line.strip()[:80]}"
                continue
            yield obj if isinstance(obj, dict) else f"不是 JSON 对象：{line.strip()[:80]}"
        return
    header = next(csv.reader([first]))
    header = [h.strip() for h in header]
    for row in csv.reader(lines):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield f"列数不符：{','.join(row)[:80]}"
            continue
        yield dict(zip(header, (c.strip() for c in row), strict=True))


def _chain(first: str, rest) -> Iterator[str]:
    yield first
    yield from rest


MAX_STATEMENT_ROWS = 200_000  # a busy bank's day is tens of thousands of transactions


def statement_text(data: bytes, *, filename: str) -> str:
    """A bank statement as CSV text; .xlsx sheets are converted (first sheet, header row)."""
    if filename.lower().endswith(".xlsx"):
        from qinglang.core.xlsx import iter_rows

        # the guarded reader: bombs refused from the zip directory, the sheet streamed
        out = io.StringIO()
        w = csv.writer(out)
        for row in iter_rows(data, max_rows=MAX_STATEMENT_ROWS, max_columns=50):
            w.writerow(["" if v is None else v for v in row])
        return out.getvalue()
    return data.decode("utf-8-sig", errors="replace")


def lesson_rows_xlsx(data: bytes) -> Iterator[dict | str]:
    """A lesson batch sheet (the template's first sheet: event_id, order_id, given_at)."""
    from qinglang.core.xlsx import iter_rows

    rows = iter_rows(data, max_rows=200_001, max_columns=20)
    header = [str(h or "").strip().removesuffix("(选填)") for h in next(rows, None) or ()]
    for row in rows:
        values = ["" if v is None else str(v).strip() for v in row]
        if not any(values):
            continue
        yield {h: v for h, v in zip(header, values, strict=False) if h}


def lesson_batch_template_xlsx() -> bytes:
    """The lesson batch template: one row per lesson given, with instructions."""
    from qinglang.core.xlsx import Col, template_xlsx

    return template_xlsx(
        title="消课记录",
        columns=[
            Col(
                "event_id",
                "event_id",
                help="本机构系统中这节课的唯一编号(字母、数字、_ . : -，至多64位)；同一编号重复上传不会重复消课。",
                width=24,
            ),
            Col("order_id", "order_id", help="平台订单号(订单与消课页的“订单号”列)。", width=12),
            Col(
                "given_at",
                "given_at",
                required=False,
                help="上课时间，如 2026-03-01 18:30；留空为上传时间。",
                width=20,
            ),
        ],
        example=[["2026-03-01-张小明-1", "1024", "2026-03-01 18:30"]],
        notes=[
            "每行一节课：每节课的费用先留在监管账户，家长确认(或逾期视为确认)后拨付机构。",
            "一次最多 100,000 行；也可上传 UTF-8 CSV 或 JSON lines，列名相同。",
        ],
    )


def statement_template_xlsx() -> bytes:
    """The custody bank's statement template (one row per transaction of the day)."""
    from qinglang.core.xlsx import Col, template_xlsx

    return template_xlsx(
        title="对账单",
        columns=[
            Col(
                "txn_id",
                "txn_id",
                help="银行流水号；拨付、退费指令的流水号须与指令文件中的 ref 一致。",
                width=28,
            ),
            Col(
                "direction",
                "direction",
                help="in(入账：家长缴费)或 out(出账：拨付、退费)。",
                choices=("in", "out"),
                width=12,
            ),
            Col(
                "amount_yuan",
                "amount_yuan",
                help="金额(元)，如 1280.00；也可用 amount_fen 列按分填写。",
                width=14,
            ),
        ],
        example=[["TXN20260301000123", "in", "1280.00"]],
        notes=["每天一份对账单，按日导入；导入后与当日指令、缴费逐笔核对，差异列在“对账差异”中。"],
    )
