"""Inspection records (检查记录) with evidence, and the rectification notice (整改通知书)
with its rectification items that rectification findings produce."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import REGULATOR_WRITERS, has_role, lock_in_scope, system, user_id
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.documents import allocate_numbers, document_number
from qinglang.core.errors import IllegalTransition, PermissionDeniedError
from qinglang.core.i18n import chinese_display, chinese_label
from qinglang.core.models import DepartmentKind, Division
from qinglang.core.policy import policy_resolve

from .. import documents
from ..checklists import task_items
from ..models import (
    RECTIFICATION_STATES,
    Evidence,
    Notice,
    Outcome,
    Record,
    RectificationItem,
    RectificationStatus,
    Result,
    Task,
    TaskStatus,
    TeamMember,
)

MAX_DEADLINE_DAYS = 60


def _may_inspect(actor, task: Task) -> bool:
    if has_role(actor, REGULATOR_WRITERS):
        return True
    return (
        task.team_id is not None
        and TeamMember.objects.filter(team_id=task.team_id, user_id=user_id(actor)).exists()
    )


@transaction.atomic
def inspection_record_submit(
    *,
    actor,
    task_id: int,
    inspected_on: date,
    results: list[dict],
    summary: str = "",
    deadline_days: int | None = None,
    defer_notice: bool = False,
) -> Record:
    """Record a visit: every checklist item compliant, fixed on site (立行立改) or to be
    rectified by a deadline (限期整改), with evidence files. Rectification findings produce
    one notice (a .docx) and one rectification item each. All or nothing: a refused file or a
    missing answer leaves no record, no notice and no stored file behind.

    ``defer_notice`` (a batch of records synced at once) leaves the notice to the
    ``issue_pending_notices`` job, which issues many in one set-based batch; the deadline
    still runs from the inspection date.

    ``results``: [{"item_id", "outcome", "description", "requirement", "files": [UploadedFile]}]."""
    task = lock_in_scope(Task, task_id, actor=actor, what="检查任务", related=("institution", "site"))
    if not _may_inspect(actor, task):
        raise PermissionDeniedError(gettext_lazy("只有本任务检查组成员或监管人员可以填报检查记录"))
    if task.status != TaskStatus.PLANNED:
        raise IllegalTransition(
            "task", chinese_display(task, "status"), chinese_label(TaskStatus, TaskStatus.COMPLETED), []
        )
    items = {i.pk: i for i in task_items(task)[0]}
    given = {}
    for r in results:
        try:
            iid = int(r.get("item_id"))
        except (TypeError, ValueError):
            raise ValidationError({"results": gettext_lazy("检查事项编号无效")}) from None
        if iid not in items:
            raise ValidationError(
                {"results": format_lazy(gettext_lazy("检查事项 {iid} 不在本次检查清单中"), iid=iid)}
            )
        outcome = r.get("outcome")
        if outcome not in Outcome.values:
            raise ValidationError(
                {"results": format_lazy(gettext_lazy("“{title}”的检查结论无效"), title=items[iid].title)}
            )
        if outcome != Outcome.COMPLIANT and not (r.get("description") or "").strip():
            raise ValidationError(
                {
                    "results": format_lazy(
                        gettext_lazy("“{title}”不符合要求，请描述问题"), title=items[iid].title
                    )
                }
            )
        given[iid] = r
    missing = [i.title for k, i in items.items() if k not in given]
    if missing:
        raise ValidationError(
            {
                "results": format_lazy(
                    gettext_lazy("尚有{n_missing}个检查事项未填写：{value}等"),
                    n_missing=len(missing),
                    value=missing[0],
                )
            }
        )
    deadline_rule = None  # the inspector's own figure, or the rule in force that set it
    if deadline_days is None:
        rule = policy_resolve("rectification.default_deadline_days", task.division_code)
        deadline_days, deadline_rule = int(rule.value), rule.cite()
    if not 1 <= int(deadline_days) <= MAX_DEADLINE_DAYS:
        raise ValidationError(
            {
                "deadline_days": format_lazy(
                    gettext_lazy("整改期限应为1-{MAX_DEADLINE_DAYS}个工作日"),
                    MAX_DEADLINE_DAYS=MAX_DEADLINE_DAYS,
                )
            }
        )
    # every file is checked before anything is written
    checked = {iid: [files.check_upload(f) for f in (r.get("files") or [])] for iid, r in given.items()}
    created_files: list[str] = []
    try:
        return _write_record(
            actor,
            task,
            items,
            given,
            checked,
            created_files,
            inspected_on,
            summary,
            int(deadline_days),
            defer_notice,
            deadline_rule,
        )
    except BaseException:
        for rel in created_files:
            files.discard(rel)
        raise


def _write_record(
    actor,
    task,
    items,
    given,
    checked,
    created_files,
    inspected_on,
    summary,
    deadline_days,
    defer_notice,
    deadline_rule=None,
):
    inst = task.institution
    record = Record.objects.create(
        task=task,
        division_code=task.division_code,
        inspected_on=inspected_on,
        summary=(summary or "").strip(),
        submitted_by_id=user_id(actor),
        deadline_days=deadline_days,
    )
    rows = Result.objects.bulk_create(
        Result(
            record=record,
            item=items[iid],
            outcome=r["outcome"],
            description=(r.get("description") or "").strip(),
            requirement=(r.get("requirement") or "").strip(),
        )
        for iid, r in given.items()
    )
    evidence = []
    for res in rows:
        for c in checked[res.item_id]:
            rel, digest, created = files.store(c.data, folder="evidence")
            if created:
                created_files.append(rel)
            evidence.append(
                Evidence(
                    institution=inst,
                    division_code=task.division_code,
                    result=res,
                    original_name=c.name,
                    content_type=c.content_type,
                    size=len(c.data),
                    sha256=digest,
                    path=rel,
                    uploaded_by_id=user_id(actor),
                )
            )
    Evidence.objects.bulk_create(evidence)
    task.status = TaskStatus.COMPLETED
    task.save(update_fields=["status"])
    findings = [r for r in rows if r.outcome == Outcome.RECTIFICATION]
    entries = [
        Entry(
            "inspection.record",
            "inspections.record",
            str(record.pk),
            task.division_code,
            {
                "task_id": task.pk,
                "institution_id": inst.pk,
                "findings": sum(r.outcome != Outcome.COMPLIANT for r in rows),
                "evidence": [e.sha256 for e in evidence],
                "notice_pending": bool(findings) and defer_notice,
                "deadline_days": deadline_days,
                **({"deadline_rule": deadline_rule} if deadline_rule else {}),
            },
        )
    ]
    if findings and defer_notice:
        Record.objects.filter(pk=record.pk).update(notice_pending=True)
        record.notice_pending = True
        transaction.on_commit(_enqueue_pending_notices)
    elif findings:
        entries += _issue_notices(actor, [(record, task, findings)], created_files)
    audit_record_many(actor=actor, entries=entries)
    return record


def _enqueue_pending_notices() -> None:
    from ..tasks import issue_pending_notices

    issue_pending_notices()


# --- notices, one or many at a time ---------------------------------------------------------------


def place_name(division_code: str) -> str:
    return place_names([division_code]).get(division_code[:6], "")


def place_names(codes) -> dict[str, str]:
    """County names by six-digit code (one query for a whole batch)."""
    wanted = {c[:6] for c in codes}
    return dict(Division.objects.filter(code__in=wanted).values_list("code", "name"))


def _notice_numbers(batch: list[tuple[Record, Task, list[Result]]], places: dict[str, str]) -> list[str]:
    """发文字号 for a batch of notices: per issuing county and year, consecutive serials
    from the gapless counter (taken in the issuing transaction)."""
    keys = [
        (places.get(task.division_code[:6]) or task.division_code[:6], record.inspected_on.year)
        for record, task, _ in batch
    ]
    serials: dict[tuple[str, int], list[int]] = {}
    for key in sorted(set(keys)):
        serials[key] = allocate_numbers(
            unit=key[0], series=documents.NOTICE_SERIES, year=key[1], count=keys.count(key)
        )[::-1]
    return [
        document_number(unit, documents.NOTICE_SERIES, year, serials[(unit, year)].pop())
        for unit, year in keys
    ]


def team_inspectors(task_ids) -> dict[int, list[tuple[str, str]]]:
    """(name, 执法证号) of each task's team members, by task id (one query)."""
    out: dict[int, list[tuple[str, str]]] = {}
    rows = (
        TeamMember.objects.filter(team__tasks__in=list(task_ids))
        .values_list("team__tasks", "user__display_name", "user__username", "user__enforcement_certificate")
        .order_by("team__tasks", "id")
    )
    for task_id, name, username, cert in rows:
        out.setdefault(task_id, []).append((name or username, cert))
    return out


def _notice_bytes(
    *, number, task, record, findings, deadline_days, deadline_on, departments, place, inspectors=()
) -> bytes:
    site = task.site
    return documents.notice_docx(
        number=number,
        institution=task.institution.name,
        address=(site.address if site else task.institution.address) or "登记地址",
        place=place,
        inspected_on=record.inspected_on,
        findings=[
            {
                "title": f.item.title,
                "description": f.description,
                "basis": f.item.basis,
                "requirement": f.requirement,
            }
            for f in findings
        ],
        deadline_days=deadline_days,
        deadline_on=deadline_on,
        issuers=documents.department_names(departments, place),
        issued_on=record.inspected_on,
        inspectors=inspectors,
    )


def _issue_notices(
    actor, batch: list[tuple[Record, Task, list[Result]]], created_files: list[str]
) -> list[Entry]:
    """Issue the notices of many records at once, set-based: for each record its notice
    .docx is rendered (prepared template) and stored under MEDIA_ROOT by SHA-256 first,
    so the notice rows are inserted complete in one statement; then one insert of all the
    rectification items and one of their first transitions. Returns the audit entries (one per
    notice), for the caller's single ``audit_record_many``. ``task.institution``,
    ``task.site`` and each finding's ``item`` must be loaded."""
    places = place_names(task.division_code for _, task, _ in batch)
    numbers = _notice_numbers(batch, places)
    inspectors = team_inspectors(task.pk for _, task, _ in batch)
    deadline_cache: dict[tuple[date, int], date] = {}
    notices = []
    for (record, task, findings), number in zip(batch, numbers, strict=True):
        days = record.deadline_days or int(
            policy_resolve("rectification.default_deadline_days", task.division_code).value
        )
        key = (record.inspected_on, days)
        if key not in deadline_cache:
            deadline_cache[key] = add_working_days(record.inspected_on, days)
        kinds = sorted({DepartmentKind.EDUCATION, *(f.item.department_kind for f in findings)})
        data = _notice_bytes(
            number=number,
            task=task,
            record=record,
            findings=findings,
            deadline_days=days,
            deadline_on=deadline_cache[key],
            departments=kinds,
            place=places.get(task.division_code[:6], ""),
            inspectors=inspectors.get(task.pk, []),
        )
        rel, digest, created = files.store(data, folder="notices", suffix=".docx")
        if created:
            created_files.append(rel)
        notices.append(
            Notice(
                number=number,
                task=task,
                institution=task.institution,
                division_code=task.division_code,
                issued_on=record.inspected_on,
                deadline_days=days,
                deadline_on=deadline_cache[key],
                departments=kinds,
                path=rel,
                sha256=digest,
                issued_by_id=record.submitted_by_id,
            )
        )
    Notice.objects.bulk_create(notices)
    _notify_issued(actor, notices)
    items = RectificationItem.objects.bulk_create(
        RectificationItem(
            notice=notice,
            result=f,
            institution=task.institution,
            division_code=task.division_code,
            department_kind=f.item.department_kind,
            title=f.item.title,
            basis=f.item.basis,
            requirement=f.requirement or f.description,
            contact_name=task.institution.contact_name,
            contact_phone=task.institution.contact_phone,
            deadline_on=notice.deadline_on,
        )
        for notice, (_, task, findings) in zip(notices, batch, strict=True)
        for f in findings
    )
    RECTIFICATION_STATES.record_many(
        [(i.pk, RectificationStatus.ISSUED, RectificationStatus.ISSUED) for i in items],
        actor=actor,
        reason="整改通知书下达",
    )
    return [
        Entry(
            "notice.issue",
            "inspections.notice",
            str(n.pk),
            n.division_code,
            {
                "number": n.number,
                "record_id": record.pk,
                "items": len(findings),
                "deadline_on": n.deadline_on,
                "sha256": n.sha256,
            },
        )
        for n, (record, _, findings) in zip(notices, batch, strict=True)
    ]


def _notify_issued(actor, notices: list[Notice]) -> None:
    """Each institution's accounts hear of its notice once the issue commits (one batch)."""
    from django.urls import reverse

    from qinglang.accounts.notifications import Message, institutions_users, notify_many

    link = reverse("portal:org_rectification")
    users = institutions_users(n.institution_id for n in notices)
    messages = [
        Message(
            users=users.get(n.institution_id, []),
            kind="notice.issued",
            title=f"收到整改通知书{n.number}",
            body=f"请于{n.deadline_on:%Y-%m-%d}前完成整改并提交整改材料。",
            link=link,
            division_code=n.division_code,
            about=("inspections.notice", str(n.pk)),
        )
        for n in notices
    ]
    transaction.on_commit(lambda: notify_many(messages, actor=actor))


def notices_issue_pending(*, limit: int = 500, actor=system("notices")) -> int:
    """Issue the notices of records submitted with ``defer_notice`` (a batch sync of
    inspection records), ``limit`` records per transaction, until none is left. Each batch
    locks its records (``SKIP LOCKED``: two workers share the work), loads their tasks and
    rectification findings with two queries, issues the notices set-based and writes one
    audit batch. Deadlines run from the inspection date, so a delay here shifts nothing."""
    total = 0
    while True:
        n = _issue_pending_batch(limit=limit, actor=actor)
        total += n
        if n < limit:
            return total


def _issue_pending_batch(*, limit: int, actor: str) -> int:
    created_files: list[str] = []
    try:
        with transaction.atomic():
            records = list(
                Record.objects.select_for_update(skip_locked=True)
                .filter(notice_pending=True)
                .order_by("id")[:limit]
            )
            if not records:
                return 0
            tasks = Task.objects.select_related("institution", "site").in_bulk([r.task_id for r in records])
            findings: dict[int, list[Result]] = {}
            for res in (
                Result.objects.filter(record__in=records, outcome=Outcome.RECTIFICATION)
                .select_related("item")
                .order_by("record_id", "item__position", "id")
            ):
                findings.setdefault(res.record_id, []).append(res)
            batch = [(r, tasks[r.task_id], findings[r.pk]) for r in records if r.pk in findings]
            entries = _issue_notices(actor, batch, created_files)
            Record.objects.filter(pk__in=[r.pk for r in records]).update(notice_pending=False)
            audit_record_many(actor=actor, entries=entries)
            return len(records)
    except BaseException:
        for rel in created_files:
            files.discard(rel)
        raise


def notice_render(notice: Notice) -> tuple[str, str, bool]:
    """Render and store the notice .docx again (a download whose file is missing); sets
    ``path`` and ``sha256`` on the row."""
    task = notice.task
    record = task.record
    findings = [r for r in record.results.select_related("item") if r.outcome == Outcome.RECTIFICATION]
    data = _notice_bytes(
        number=notice.number,
        task=task,
        record=record,
        findings=findings,
        deadline_days=notice.deadline_days,
        deadline_on=notice.deadline_on,
        departments=notice.departments,
        place=place_name(notice.division_code),
        inspectors=team_inspectors([task.pk]).get(task.pk, []),
    )
    rel, digest, created = files.store(data, folder="notices", suffix=".docx")
    Notice.objects.filter(pk=notice.pk).update(path=rel, sha256=digest)
    notice.path, notice.sha256 = rel, digest
    return rel, digest, created
