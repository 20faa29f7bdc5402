"""Inspection records (检查记录) with evidence, and the rectification notice (整改通知书)
with its ledger items that rectification findings produce."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from qinglang.accounts.scope import actor_for
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import IllegalTransition, PermissionDeniedError
from qinglang.core.models import DepartmentKind, Division
from qinglang.core.policy import policy_resolve

from .. import documents, files
from ..checklists import default_template
from ..models import (
    CampaignType,
    Evidence,
    LedgerItem,
    LedgerStatus,
    LedgerTransition,
    Notice,
    Outcome,
    Record,
    Result,
    Task,
    TaskStatus,
)
from .common import WRITERS, lock_scoped, user_id

MAX_DEADLINE_DAYS = 60


def _may_inspect(actor, task: Task) -> bool:
    a = actor_for(actor)
    if a.is_platform_admin or a.roles & WRITERS:
        return True
    return task.team_id is not None and task.team.members.filter(user_id=user_id(actor)).exists()


def place_name(division_code: str) -> str:
    d = Division.objects.filter(code=division_code[:6]).first()
    return d.name if d else ""


@transaction.atomic
def inspection_record_submit(
    *,
    actor,
    task_id: int,
    inspected_on: date,
    results: list[dict],
    summary: str = "",
    deadline_days: int | None = None,
) -> Record:
    """Record a visit: every checklist item compliant, fixed on site (立行立改) or to be
    rectified by a deadline (限期整改), with evidence files. Rectification findings produce
    one notice (a .docx) and one ledger item each. All or nothing: a refused file or a
    missing answer leaves no record, no notice and no stored file behind.

    ``results``: [{"item_id", "outcome", "description", "requirement", "files": [UploadedFile]}]."""
    task = lock_scoped(Task, task_id, actor=actor, what="检查任务")
    if not _may_inspect(actor, task):
        raise PermissionDeniedError("只有本任务检查组成员或监管人员可以填报检查记录")
    if task.status != TaskStatus.PLANNED:
        raise IllegalTransition("task", task.get_status_display(), TaskStatus.COMPLETED.label, [])
    template = task.campaign.template if task.campaign_id else default_template(CampaignType.GENERAL)
    items = {i.pk: i for i in template.active_items()}
    given = {}
    for r in results:
        try:
            iid = int(r.get("item_id"))
        except (TypeError, ValueError):
            raise ValidationError({"results": "检查事项编号无效"}) from None
        if iid not in items:
            raise ValidationError({"results": f"检查事项 {iid} 不在本次检查清单中"})
        outcome = r.get("outcome")
        if outcome not in Outcome.values:
            raise ValidationError({"results": f"“{items[iid].title}”的检查结论无效"})
        if outcome != Outcome.COMPLIANT and not (r.get("description") or "").strip():
            raise ValidationError({"results": f"“{items[iid].title}”不符合要求，请描述问题"})
        given[iid] = r
    missing = [i.title for k, i in items.items() if k not in given]
    if missing:
        raise ValidationError({"results": f"尚有{len(missing)}个检查事项未填写：{missing[0]}等"})
    if deadline_days is None:
        deadline_days = int(policy_resolve("rectification.default_deadline_days", task.division_code).value)
    if not 1 <= int(deadline_days) <= MAX_DEADLINE_DAYS:
        raise ValidationError({"deadline_days": f"整改期限应为1-{MAX_DEADLINE_DAYS}个工作日"})
    # every file is checked before anything is written
    checked = {iid: [files.check_upload(f) for f in (r.get("files") or [])] for iid, r in given.items()}
    created_files: list[str] = []
    try:
        return _write_record(
            actor, task, items, given, checked, created_files, inspected_on, summary, int(deadline_days)
        )
    except BaseException:
        for rel in created_files:
            files.discard(rel)
        raise


def _write_record(actor, task, items, given, checked, created_files, inspected_on, summary, deadline_days):
    inst = task.institution
    record = Record.objects.create(
        task=task,
        division_code=task.division_code,
        inspected_on=inspected_on,
        summary=(summary or "").strip(),
        submitted_by_id=user_id(actor),
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
            },
        )
    ]
    findings = [r for r in rows if r.outcome == Outcome.RECTIFICATION]
    if findings:
        notice = _issue_notice(actor, task, record, findings, deadline_days, created_files)
        entries.append(
            Entry(
                "notice.issue",
                "inspections.notice",
                str(notice.pk),
                task.division_code,
                {
                    "number": notice.number,
                    "items": len(findings),
                    "deadline_on": notice.deadline_on,
                    "sha256": notice.sha256,
                },
            )
        )
    audit_record_many(actor=actor, entries=entries)
    return record


def _issue_notice(actor, task, record, findings, deadline_days, created_files) -> Notice:
    inst = task.institution
    deadline_on = add_working_days(record.inspected_on, deadline_days)
    kinds = sorted({DepartmentKind.EDUCATION, *(f.item.department_kind for f in findings)})
    notice = Notice.objects.create(
        number=f"{task.division_code[:6]}校外整改〔{record.inspected_on.year}〕{task.pk:06d}号",
        task=task,
        institution=inst,
        division_code=task.division_code,
        issued_on=record.inspected_on,
        deadline_days=deadline_days,
        deadline_on=deadline_on,
        departments=kinds,
        issued_by_id=user_id(actor),
    )
    items = LedgerItem.objects.bulk_create(
        LedgerItem(
            notice=notice,
            result=f,
            institution=inst,
            division_code=task.division_code,
            department_kind=f.item.department_kind,
            title=f.item.title,
            basis=f.item.basis,
            requirement=f.requirement or f.description,
            contact_name=inst.contact_name,
            contact_phone=inst.contact_phone,
            deadline_on=deadline_on,
        )
        for f in findings
    )
    LedgerTransition.objects.bulk_create(
        LedgerTransition(
            item=i,
            from_status=LedgerStatus.ISSUED,
            to_status=LedgerStatus.ISSUED,
            note="整改通知书下达",
            actor_id=user_id(actor),
        )
        for i in items
    )
    rel, _digest, created = notice_render(notice, findings=findings, record=record)
    if created:
        created_files.append(rel)
    return notice


def notice_render(notice: Notice, *, findings=None, record=None) -> tuple[str, str, bool]:
    """Render and store the notice .docx; sets ``path`` and ``sha256`` on the row."""
    task = notice.task
    record = record or task.record
    findings = findings or [
        r for r in record.results.select_related("item") if r.outcome == Outcome.RECTIFICATION
    ]
    place = place_name(notice.division_code)
    site = task.site
    data = documents.notice_docx(
        number=notice.number,
        institution=notice.institution.name,
        address=(site.address if site else notice.institution.address) or "登记地址",
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
        deadline_days=notice.deadline_days,
        deadline_on=notice.deadline_on,
        issuers=documents.department_names(notice.departments, place),
        issued_on=notice.issued_on,
    )
    rel, digest, created = files.store(data, folder="notices", suffix=".docx")
    Notice.objects.filter(pk=notice.pk).update(path=rel, sha256=digest)
    notice.path, notice.sha256 = rel, digest
    return rel, digest, created
