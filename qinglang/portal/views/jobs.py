"""A background job's pages: the progress page (the bar polls ``job_progress`` with htmx
until the job ends), the result (summary, refused rows, the file to download). Only the
job's owner sees them."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from qinglang.core import files
from qinglang.core.errors import DomainError
from qinglang.core.exports import XLSX_CONTENT_TYPE
from qinglang.core.jobs import job_get


@login_required
def job_page(request, job_id):
    return render(request, "portal/jobs/job.html", {"job": job_get(actor=request.user, job_id=job_id)})


@login_required
def job_progress(request, job_id):
    return render(request, "portal/jobs/_progress.html", {"job": job_get(actor=request.user, job_id=job_id)})


@login_required
def job_download(request, job_id):
    job = job_get(actor=request.user, job_id=job_id)
    if not job.result_path:
        raise Http404(_("没有可下载的文件"))
    try:
        fh = files.open_stored(job.result_path)
    except (OSError, DomainError):
        raise Http404(_("文件不存在"))
    return FileResponse(
        fh, as_attachment=True, filename=job.result_name or "result.xlsx", content_type=XLSX_CONTENT_TYPE
    )
