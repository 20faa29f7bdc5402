"""The background jobs of the portal's pages (``core.jobs`` handlers): a large
institution import, a large hotline import, a large list export, a campaign's random
draw over a large population, a large bank statement. Each calls the same service the
page calls for small work, as the job's owner, and says in Chinese what happened."""

import io
from datetime import date

from django.urls import reverse

from qinglang.core.exports import xlsx_bytes
from qinglang.core.jobs import JobResult

from .exports import EXPORTS, MAX_ROWS, rows_for


def registry_import(*, job, actor, data, progress) -> JobResult:
    from qinglang.registry.services import institution_import_xlsx

    progress(0)
    result = institution_import_xlsx(actor=actor, file_obj=io.BytesIO(data))
    if result.ok:
        return JobResult(f"导入成功：共登记 {result.created} 家机构。")
    return JobResult(
        f"导入未完成：发现 {len(result.errors)} 处错误，未导入任何数据。请修改后重新上传。",
        errors=[e.as_dict() for e in result.errors],
        ok=False,
    )


def clue_import(*, job, actor, data, progress) -> JobResult:
    from qinglang.clues import services

    progress(0)
    batch = services.clue_import_hotline(
        actor=actor, division_code=job.params["division_code"], filename=job.params["filename"], data=data
    )
    return JobResult(
        f"共{batch.rows}行：新建线索{batch.created}，合并{batch.merged}，跳过{batch.skipped}，"
        f"错误{len(batch.errors)}。",
        errors=[
            {
                "row": e.get("row"),
                "column": e.get("work_order", ""),
                "message": "；".join(e.get("errors", [])),
            }
            for e in batch.errors
        ],
    )


def export(*, job, actor, data, progress) -> JobResult:
    name = job.params["name"]
    filename, title, columns = EXPORTS[name]
    rows = rows_for(name, actor, job.params.get("query", {}))
    total = len(rows) if isinstance(rows, list) else rows[:MAX_ROWS].count()
    progress(0, total)
    if not isinstance(rows, list):
        rows = rows[:MAX_ROWS].iterator(chunk_size=2000)
    content = xlsx_bytes(title, columns, rows, progress=lambda n: progress(n, total))
    return JobResult(f"已导出 {total} 行。", file=content, filename=filename)


def campaign_draw(*, job, actor, data, progress) -> JobResult:
    from qinglang.inspections import selectors, services

    p = job.params
    progress(0)
    draw = services.campaign_draw(
        actor=actor,
        campaign_id=p["campaign_id"],
        share=p.get("share"),
        count=p.get("count"),
        team_size=p.get("team_size") or 2,
        progress=progress,
    )
    return JobResult(
        draw_summary(draw, selectors.draw_outcome(draw=draw)),
        extra={"link": reverse("portal:campaign_detail", args=[draw.campaign_id])},
    )


def draw_summary(draw, outcome) -> str:
    text = (
        f"随机抽取完成：检查对象 {draw.population_size} 家，抽中 {draw.target_count} 家机构，"
        f"共 {outcome.tasks} 个检查场所(每处一项检查任务)，组成检查组 {outcome.teams} 个。"
    )
    if outcome.unstaffed:
        text += f"其中 {outcome.unstaffed} 家因回避或检查间隔无可派检查组，请在专项行动页手工指派。"
    return text


def bank_statement(*, job, actor, data, progress) -> JobResult:
    from qinglang.funds import services
    from qinglang.funds.parsing import statement_text

    p = job.params
    day = date.fromisoformat(p["day"])
    progress(0)
    try:
        out = services.statement_import(
            actor=actor,
            bank_id=p["bank_id"],
            day=day,
            text=statement_text(data, filename=p["filename"]),
            progress=progress,
        )
    except services.StatementRefused as exc:
        return JobResult(
            f"对账单未导入：发现 {len(exc.rows)} 处错误，未写入任何数据。请修改后重新上传。",
            errors=exc.rows,
            ok=False,
        )
    link = reverse("portal:bank_statements", args=[p["bank_id"]]) + f"?day={day.isoformat()}"
    return JobResult(statement_summary(day, out), extra={"link": link})


def statement_summary(day: date, out: dict) -> str:
    text = f"{day.isoformat()} 对账单已导入：共 {out['lines']} 条流水，与台账一致 {out['matched']} 条"
    if not out["differences"]:
        return text + "，无对账差异。"
    return (
        text + f"；对账差异 {out['differences']} 条(金额不符 {out['amount_mismatch']} 条，"
        f"银行多出流水 {out['extra']} 条，银行流水缺失 {out['missing']} 条)，待监管部门处理。"
    )
