"""Long work in the background (Huey), with a progress record (``Job``): imports, draws
and exports of more than a few thousand rows. Small ones stay synchronous; the caller
decides (``should_run_in_background``).

``job_start`` stores the input file (``core.files``), records the job and enqueues it once
the transaction commits. The worker (``core.tasks.run_job``) claims the job with a
conditional UPDATE (exactly one worker runs it), runs its handler as the job's owner — the
same services and permissions as a page would — and records the result: a summary, the
rows refused, and a file to download. A handler is a function named by its dotted path
(set in code, never from a request):

    def handler(*, job, actor, data: bytes | None, progress) -> JobResult

``progress(done, total)`` updates the record (at most every half second), so the progress
page (``portal:job``, polled with htmx) moves. A refusal (``DomainError``,
``ValidationError``) ends the job as 未完成 with its Chinese message; an unexpected error
ends it with a generic message and is logged."""

import logging
import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from . import files
from .audit import audit_record
from .errors import DomainError, NotFound
from .i18n import chinese_data
from .models import Job, JobStatus

log = logging.getLogger(__name__)

BACKGROUND_ROWS = 2000  # more rows than this run as a job
BACKGROUND_UPLOAD_BYTES = 256 * 1024  # an upload this large has thousands of rows


def should_run_in_background(*, rows: int | None = None, upload_bytes: int | None = None) -> bool:
    return (rows or 0) > BACKGROUND_ROWS or (upload_bytes or 0) > BACKGROUND_UPLOAD_BYTES


@dataclass
class JobResult:
    summary: str
    errors: list[dict] = field(default_factory=list)  # {"row", "column", "message"}
    file: bytes | None = None
    filename: str = ""
    ok: bool = True
    extra: dict = field(default_factory=dict)


def job_start(
    *, actor, kind: str, title: str, handler: str, params: dict | None = None, data: bytes | None = None
) -> Job:
    """Record a job for ``actor`` and run it in the background once this commits."""
    with transaction.atomic():
        input_path = files.store(data, folder="jobs", suffix=".bin")[0] if data is not None else ""
        job = Job.objects.create(
            kind=kind,
            title=title[:200],
            handler=handler,
            owner_id=actor.pk,
            params=params or {},
            input_path=input_path,
        )
        audit_record(actor=actor, action="job.start", obj=job, changes={"kind": kind, "title": title})
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id) -> None:
    from .tasks import run_job

    run_job(str(job_id))


class Progress:
    """``progress(done, total)``: the job's record, updated at most every half second.

    A service reports from inside its own transaction (a draw, a statement import: all or
    nothing), where an update on its connection would be seen only at commit. On
    PostgreSQL the record is then updated through a connection of its own, in
    autocommit, so the progress page moves while the work runs; if that connection
    cannot update the record (not yet committed, or locked), reporting stops until the
    job ends rather than wait. SQLite has one writer at a time: there the update joins
    the service's transaction and shows at commit."""

    def __init__(self, job: Job):
        self.job = job
        self._last = 0.0
        self._aside = None  # the connection of its own, opened on first use
        self._aside_ok = True

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and (total is None or done < total):
            return
        self._last = now
        fields = {"done": done}
        if total is not None:
            fields["total"] = total
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            self._update_aside(fields)
        else:
            Job.objects.filter(pk=self.job.pk).update(**fields)

    def _update_aside(self, fields: dict) -> None:
        if not self._aside_ok:
            return
        qn = connection.ops.quote_name
        sets = ", ".join(f"{qn(k)} = %s" for k in fields)
        sql = f"UPDATE {qn(Job._meta.db_table)} SET {sets} WHERE {qn('id')} = %s"  # noqa: S608 -- fixed columns
        try:
            if self._aside is None:
                self._aside = connections.create_connection(DEFAULT_DB_ALIAS)
                with self._aside.cursor() as cur:
                    cur.execute("SET lock_timeout = '1s'")
            with self._aside.cursor() as cur:
                cur.execute(sql, [*fields.values(), self.job.pk])
                self._aside_ok = cur.rowcount == 1
        except DatabaseError:
            log.warning("job %s: progress not recorded", self.job.pk, exc_info=True)
            self._aside_ok = False
        if not self._aside_ok:
            self.close()

    def close(self) -> None:
        if self._aside is not None:
            self._aside.close()
            self._aside = None


def job_run(job_id) -> Job | None:
    """Run a queued job (the worker's side). Returns None if another worker has it."""
    from qinglang.accounts.models import User

    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    job = Job.objects.get(pk=job_id)
    actor = User.objects.filter(pk=job.owner_id, is_active=True).first()
    progress = Progress(job)
    try:
        if actor is None:
            raise DomainError("owner_inactive", _("任务发起人的账号已停用"))
        data = None
        if job.input_path:
            with files.open_stored(job.input_path) as fh:
                data = fh.read()
        result: JobResult = import_string(job.handler)(job=job, actor=actor, data=data, progress=progress)
    except (DomainError, ValidationError) as exc:
        message = (  # kept on the job: in Chinese, whoever reads it later
            exc.chinese_message if isinstance(exc, DomainError) else "；".join(exc.messages) or str(exc)
        )
        return _finish(job, JobStatus.FAILED, error=str(message))
    except Exception:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        return _finish(job, JobStatus.FAILED, error="处理时发生内部错误，请稍后重试或联系管理员")
    finally:
        progress.close()
    path = files.store(result.file, folder="jobs", suffix=".out")[0] if result.file is not None else ""
    return _finish(
        job,
        JobStatus.DONE if result.ok else JobStatus.FAILED,
        result={
            "summary": result.summary,
            "errors": result.errors[:1000],
            "error_count": len(result.errors),
            **result.extra,
        },
        result_path=path,
        result_name=result.filename,
    )


def _finish(job: Job, status: str, **fields) -> Job:
    if "result" in fields:  # row errors may carry lazy messages: stored in Chinese
        fields["result"] = chinese_data(fields["result"])
    fields.update(status=status, finished_at=timezone.now())
    if status == JobStatus.DONE and job.total:
        fields["done"] = job.total
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def job_get(*, actor, job_id) -> Job:
    """The actor's own job (anyone else's is not found)."""
    job = Job.objects.filter(pk=job_id, owner_id=getattr(actor, "pk", None)).first()
    if job is None:
        raise NotFound(_("后台任务"))
    return job
