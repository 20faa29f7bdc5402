"""One way for every console list to answer ``?export=xlsx``: the list's scoped rows
through its columns (``portal.exports``) as an .xlsx — at once when small, as a
background job with a progress page when large (``core.jobs``)."""

from django.shortcuts import redirect

from qinglang.core.exports import xlsx_response
from qinglang.core.jobs import job_start, should_run_in_background

from ..exports import EXPORTS, MAX_ROWS, rows_for


def wants_export(request) -> bool:
    return request.GET.get("export") == "xlsx"


def export_response(request, name: str):
    """The export ``name`` of the list the request filters."""
    filename, title, columns = EXPORTS[name]
    rows = rows_for(name, request.user, request.GET)
    count = len(rows) if isinstance(rows, list) else rows[:MAX_ROWS].count()
    if should_run_in_background(rows=count):
        query = {k: v for k, v in request.GET.items() if k != "export"}
        job = job_start(
            actor=request.user,
            kind="export",
            title=f"导出{title}({count}行)",
            handler="qinglang.portal.jobs.export",
            params={"name": name, "query": query},
        )
        return redirect("portal:job", job_id=job.pk)
    if not isinstance(rows, list):
        rows = rows[:MAX_ROWS].iterator(chunk_size=2000)
    return xlsx_response(filename, title, columns, rows)
