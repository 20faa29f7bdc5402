"""Streaming parsers for lesson batch files (JSON lines or CSV) and bank statements
(CSV or .xlsx). Rows are yielded one at a time, so memory stays flat in file size."""

import codecs
import csv
import io
import json
from collections.abc import Iterator


def lesson_rows(fileobj, *, filename: str = "") -> Iterator[dict | str]:
    """Yield each event as a dict (or a string describing why the line is malformed)."""
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
