"""The background jobs of the portal's pages (``core.jobs`` handlers): a large
institution import, a large hotline import, a large list export. Each calls the same
service the page calls for a small file, as the job's owner."""

import io

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
