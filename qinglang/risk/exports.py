"""The task force's board as an .xlsx workbook (names, not codes; money in yuan; cells
that could be read as formulas are written as text). Exporting is audited."""

import io

from openpyxl import Workbook

from qinglang.core.audit import audit_record
from qinglang.core.exports import xlsx_row

from .selectors import board

HEADERS = [
    "排名",
    "机构",
    "乡镇(街道)",
    "预警等级",
    "风险分",
    "预警起始",
    "在监管预收费(元)",
    "涉及学员",
    "在职教职工",
    "包保责任人",
    "最近走访",
    "下次走访截止",
    "处置措施数",
]


def board_xlsx(user) -> bytes:
    data = board(user)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("橙红色预警机构")
    ws.append(HEADERS)
    for r in data["rows"]:
        ws.append(
            xlsx_row(
                ws,
                [
                    r["rank"],
                    r["institution"].name,
                    r["township"],
                    r["level_label"],
                    r["score"],
                    r["since"],
                    round(r["held_fen"] / 100, 2),
                    r["pupils"],
                    r["staff"],
                    r["guardian"] or "未指定",
                    r["last_checkin"] or "",
                    r["next_due"] or "",
                    r["open_actions"],
                ],
            )
        )
    ts = wb.create_sheet("乡镇汇总")
    ts.append(["乡镇(街道)", "红色", "橙色", "在监管预收费(元)", "涉及学员", "未指定包保"])
    for t in data["townships"]:
        ts.append(
            xlsx_row(
                ts,
                [
                    t["township"],
                    t["red"],
                    t["orange"],
                    round(t["held_fen"] / 100, 2),
                    t["pupils"],
                    t["unguarded"],
                ],
            )
        )
    out = io.BytesIO()
    wb.save(out)
    audit_record(
        actor=user,
        action="risk.board_export",
        object_type="risk.riskstate",
        object_id="board",
        changes={"rows": len(data["rows"])},
    )
    return out.getvalue()
