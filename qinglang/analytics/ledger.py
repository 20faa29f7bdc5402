"""工作台账 and 督查反馈问题清单: the task force's standing tasks per department with the
progress each department reports, and the problems fed back by supervision (a superior
level's list imported from .xlsx, or the task force's own) followed to close-out (销号)
with evidence. A daily job reminds the responsible department of an overdue item and,
``ESCALATE_AFTER_DAYS`` later, escalates it to the county's task-force leaders.

Who writes: the task force (a regulator writer of the county without a department)
creates, imports and closes; the responsible department (or the task force) reports
progress and applies for close-out. Everything else reads through ``restrict``: a
department's officers see their department's items only."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.notifications import Message, department_officers, notify_many_once
from qinglang.accounts.permissions import competent_or_task_force, user_id
from qinglang.accounts.scope import division_in_scope, restrict
from qinglang.core import files
from qinglang.core.audit import audit_record
from qinglang.core.errors import NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import DepartmentKind, Division, DivisionLevel
from qinglang.core.xlsx import Col, excel_date, read_table, template_xlsx

from .models import (
    PROBLEM_STATES,
    ProblemEvidence,
    ProblemNote,
    ProblemSource,
    ProblemStatus,
    SupervisionProblem,
    WorkTask,
    WorkTaskCadence,
    WorkTaskNote,
    WorkTaskStatus,
)

ESCALATE_AFTER_DAYS = 5  # days overdue before the task force's leaders are told
MAX_TEXT = 4000
MAX_EVIDENCE = 6
DEPT_NAMES = chinese_labels(DepartmentKind)
KIND_BY_LABEL = {label: value for value, label in chinese_labels(DepartmentKind).items()}


def _county(code: str) -> Division:
    county = Division.objects.filter(code=code, level=DivisionLevel.COUNTY).first()
    if county is None:
        raise ValidationError({"division": _("请选择县(区)")})
    return county


def may_manage(actor, county: str) -> bool:
    """The county's task force (a regulator writer without a department) or above."""
    return competent_or_task_force(actor, county, None)


def _require_manage(actor, county: str) -> None:
    if not division_in_scope(actor, county):
        raise NotFound(_("区县"))
    if not may_manage(actor, county):
        raise PermissionDeniedError(_("工作台账和督查问题由专班(双减办)管理"))


def _text(value, name: str, label: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({name: format_lazy(_("请填写{label}"), label=label)})
    if len(value) > limit:
        raise ValidationError({name: format_lazy(_("{label}不超过{limit}字"), label=label, limit=limit)})
    return value


def _department(kind: str) -> str:
    if kind not in DepartmentKind.values:
        raise ValidationError({"department_kind": _("请选择责任部门")})
    return kind


def _author(actor) -> str:
    return str(actor) if getattr(actor, "pk", None) else ""


def visible_problems(user):
    return restrict(SupervisionProblem.objects.all(), user)


def visible_tasks(user):
    return restrict(WorkTask.objects.all(), user)


# --- 工作台账 ----------------------------------------------------------------------------------


def work_task_create(
    *,
    actor,
    county: str,
    department_kind: str,
    title: str,
    requirement: str = "",
    lead_leader: str = "",
    cadence: str = WorkTaskCadence.STANDING,
    due_on: date | None = None,
) -> WorkTask:
    _county(county)
    _require_manage(actor, county)
    if cadence not in WorkTaskCadence.values:
        raise ValidationError({"cadence": _("推进频次无效")})
    with transaction.atomic():
        t = WorkTask.objects.create(
            division_code=county,
            department_kind=_department(department_kind),
            title=_text(title, "title", _("工作任务"), required=True, limit=200),
            requirement=_text(requirement, "requirement", _("工作要求")),
            lead_leader=_text(lead_leader, "lead_leader", _("牵头领导"), limit=50),
            cadence=cadence,
            due_on=due_on,
            created_by_id=user_id(actor),
        )
        audit_record(actor=actor, action="analytics.work_task_create", obj=t, changes={"title": t.title})
        notify_many_once(
            [
                Message(
                    users=department_officers(county, t.department_kind),
                    kind="analytics.work_task.assigned",
                    title=f"工作台账任务：{t.title}"[:200],
                    body=t.requirement[:500],
                    link=reverse("portal:analytics_work_task", args=[t.pk]),
                    division_code=county,
                    about=("analytics.worktask", str(t.pk)),
                )
            ],
            actor=actor,
        )
    return t


def work_task_progress(*, actor, task_id: int, text: str, progress) -> WorkTask:
    """The department (or the task force) reports progress; 100% completes the task."""
    if type(progress) is not int or not 0 <= progress <= 100:
        raise ValidationError({"progress": _("完成进度须为0至100的整数")})
    text = _text(text, "text", _("推进情况"), required=True)
    with transaction.atomic():
        t = visible_tasks(actor).select_for_update().filter(pk=task_id).first()
        if t is None:
            raise NotFound(_("工作任务"))
        if not competent_or_task_force(actor, t.division_code, t.department_kind):
            raise PermissionDeniedError(_("推进情况由责任部门或专班报送"))
        if t.status == WorkTaskStatus.DONE:
            raise ValidationError({"progress": _("该任务已完成")})
        before = t.progress
        WorkTaskNote.objects.create(
            task=t, text=text, progress=progress, author_id=user_id(actor), author_name=_author(actor)
        )
        t.progress = progress
        t.last_progress_at = timezone.now()
        if progress == 100:
            t.status = WorkTaskStatus.DONE
        t.save(update_fields=["progress", "last_progress_at", "status", "updated_at"])
        audit_record(
            actor=actor,
            action="analytics.work_task_progress",
            obj=t,
            changes={"progress": [before, progress]},
        )
    return t


# --- 督查反馈问题 ------------------------------------------------------------------------------


def _link(p: SupervisionProblem) -> str:
    return reverse("portal:analytics_problem", args=[p.pk])


def problem_create(
    *,
    actor,
    county: str,
    department_kind: str,
    source: str,
    source_ref: str,
    description: str,
    lead_leader: str,
    deadline: date,
    measures: str = "",
    number: str = "",
) -> SupervisionProblem:
    _county(county)
    _require_manage(actor, county)
    with transaction.atomic():
        p = _problem_insert(
            actor,
            county,
            {
                "department_kind": department_kind,
                "source": source,
                "source_ref": source_ref,
                "description": description,
                "lead_leader": lead_leader,
                "deadline": deadline,
                "measures": measures,
                "number": number,
            },
        )
        _notify_assigned([p], actor)
    return p


def _clean_problem(county: str, d: dict) -> dict:
    if d.get("source") not in ProblemSource.values:
        raise ValidationError({"source": _("请选择问题来源")})
    if not isinstance(d.get("deadline"), date):
        raise ValidationError({"deadline": _("请填写整改时限")})
    out = {
        "division_code": county,
        "department_kind": _department(d.get("department_kind", "")),
        "source": d["source"],
        "source_ref": _text(d.get("source_ref"), "source_ref", _("问题清单名称"), required=True, limit=200),
        "number": _text(d.get("number"), "number", _("序号"), limit=32),
        "description": _text(d.get("description"), "description", _("问题描述"), required=True),
        "lead_leader": _text(d.get("lead_leader"), "lead_leader", _("牵头领导"), required=True, limit=50),
        "measures": _text(d.get("measures"), "measures", _("整改措施")),
        "deadline": d["deadline"],
    }
    if (
        out["number"]
        and SupervisionProblem.objects.filter(
            division_code=county, source_ref=out["source_ref"], number=out["number"]
        ).exists()
    ):
        raise ValidationError(
            {
                "number": format_lazy(
                    _("{source_ref}第{number}号问题已登记"),
                    source_ref=out["source_ref"],
                    number=out["number"],
                )
            }
        )
    return out


def _problem_insert(actor, county: str, d: dict) -> SupervisionProblem:
    p = SupervisionProblem.objects.create(**_clean_problem(county, d), created_by_id=user_id(actor))
    PROBLEM_STATES.record_many([(p.pk, p.status, p.status)], actor=actor, reason="登记")
    audit_record(
        actor=actor,
        action="analytics.problem_create",
        obj=p,
        changes={"source_ref": p.source_ref, "number": p.number, "department": p.department_kind},
    )
    return p


def _notify_assigned(problems: list[SupervisionProblem], actor) -> None:
    notify_many_once(
        [
            Message(
                users=department_officers(p.division_code, p.department_kind),
                kind="analytics.problem.assigned",
                title=f"督查反馈问题交办(整改时限{p.deadline:%Y-%m-%d})",
                body=p.description[:500],
                link=_link(p),
                division_code=p.division_code,
                about=("analytics.supervisionproblem", str(p.pk)),
            )
            for p in problems
        ],
        actor=actor,
    )


def _locked_problem(actor, problem_id: int) -> SupervisionProblem:
    p = visible_problems(actor).select_for_update().filter(pk=problem_id).first()
    if p is None:
        raise NotFound(_("督查问题"))
    return p


def problem_note(*, actor, problem_id: int, text: str) -> ProblemNote:
    text = _text(text, "text", _("整改进展"), required=True)
    with transaction.atomic():
        p = _locked_problem(actor, problem_id)
        if not competent_or_task_force(actor, p.division_code, p.department_kind):
            raise PermissionDeniedError(_("整改进展由责任部门或专班报送"))
        if p.status == ProblemStatus.CLOSED:
            raise ValidationError({"text": _("该问题已销号")})
        n = ProblemNote.objects.create(
            problem=p, text=text, author_id=user_id(actor), author_name=_author(actor)
        )
        p.save(update_fields=["updated_at"])
        audit_record(actor=actor, action="analytics.problem_note", obj=p, changes={"note": n.pk})
    return n


def problem_submit(*, actor, problem_id: int, summary: str, uploads: list) -> SupervisionProblem:
    """The responsible department applies for close-out: what was done, with evidence
    (at least one file, photos or documents checked by content)."""
    summary = _text(summary, "summary", _("整改情况"), required=True)
    if not uploads:
        raise ValidationError({"evidence": _("申请销号须上传整改佐证材料")})
    if len(uploads) > MAX_EVIDENCE:
        raise ValidationError({"evidence": format_lazy(_("佐证材料最多{n}个"), n=MAX_EVIDENCE)})
    checked = [files.check_upload(f, what="佐证材料") for f in uploads]
    stored = []
    try:
        with transaction.atomic():
            p = _locked_problem(actor, problem_id)
            if not competent_or_task_force(actor, p.division_code, p.department_kind):
                raise PermissionDeniedError(_("销号申请由责任部门报送"))
            PROBLEM_STATES.check(p.status, ProblemStatus.SUBMITTED)
            for c in checked:
                rel, digest, created = files.store(c.data, folder="problems")
                if created:
                    stored.append(rel)
                ProblemEvidence.objects.create(
                    problem=p,
                    original_name=c.name,
                    content_type=c.content_type,
                    size=len(c.data),
                    sha256=digest,
                    path=rel,
                    uploaded_by_id=user_id(actor),
                )
            p.close_summary = summary
            PROBLEM_STATES.move(
                p, ProblemStatus.SUBMITTED, actor=actor, reason=summary[:500], fields=["close_summary"]
            )
    except Exception:
        for rel in stored:
            files.discard(rel)
        raise
    return p


def problem_decide(*, actor, problem_id: int, close: bool, reason: str = "") -> SupervisionProblem:
    """The task force closes the problem (销号) or sends it back with the reason."""
    reason = _text(reason, "reason", _("审核意见"), required=not close, limit=500)
    with transaction.atomic():
        p = _locked_problem(actor, problem_id)
        if not may_manage(actor, p.division_code):
            raise PermissionDeniedError(_("销号由专班(双减办)审核"))
        to = ProblemStatus.CLOSED if close else ProblemStatus.OPEN
        fields = []
        if close:
            p.closed_on = timezone.localdate()
            fields.append("closed_on")
        PROBLEM_STATES.move(p, to, actor=actor, reason=reason, fields=fields)
        if not close:
            notify_many_once(
                [
                    Message(
                        users=department_officers(p.division_code, p.department_kind),
                        kind="analytics.problem.returned",
                        title="督查问题销号申请被退回",
                        body=reason,
                        link=_link(p),
                        division_code=p.division_code,
                        about=("analytics.supervisionproblem", str(p.pk)),
                    )
                ],
                actor=actor,
                since=timezone.now(),
            )
    return p


# --- import of a superior's list -------------------------------------------------------------

PROBLEM_COLUMNS = [
    Col("序号", "number", required=False, help="清单中的问题序号；同一清单内不能重复", width=8),
    Col("问题描述", "description", help="督查反馈的问题", width=50),
    Col(
        "责任部门",
        "department",
        help="部门名称，如 教育局、市场监督管理局",
        choices=tuple(chinese_labels(DepartmentKind).values()),
    ),
    Col("牵头领导", "lead_leader", help="牵头负责的县(区)领导姓名", width=12),
    Col("整改时限", "deadline", help="日期，如 2026-12-31", width=14),
    Col("整改措施", "measures", required=False, width=40),
]


def problem_template_xlsx() -> bytes:
    return template_xlsx(
        title="督查反馈问题",
        columns=PROBLEM_COLUMNS,
        example=[
            ["1", "部分校外培训机构预收费未纳入监管", "教育局", "张三", "2026-12-31", "逐一约谈、限期开户"]
        ],
        notes=[
            "每行一个问题。全部行无误时才会导入；有任何错误则一个也不导入，并逐行列出错误(表头为第1行)。",
            "问题来源和清单名称在导入页面选择和填写，同一清单的序号不能重复。",
            "请删除示例行后再填写。",
        ],
    )


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ProblemImportResult:
    errors: list[RowError] = field(default_factory=list)
    created: list[SupervisionProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_day(text: str) -> date | None:
    text = (text or "").strip()
    try:
        serial = float(text)
    except ValueError:
        serial = None
    if serial is not None:
        d = excel_date(serial)
        return d.date() if d else None
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+00:00(?::00)?)?", text)
    if not m:
        return None
    try:
        return date(*map(int, m.groups()))
    except ValueError:
        return None


def problem_import_xlsx(*, actor, county: str, source: str, source_ref: str, file_obj) -> ProblemImportResult:
    """Import a problem list (template: ``problem_template_xlsx``). Every row is checked
    first; any error → nothing is imported."""
    _county(county)
    _require_manage(actor, county)
    if source not in ProblemSource.values:
        raise ValidationError({"source": _("请选择问题来源")})
    source_ref = _text(source_ref, "source_ref", _("问题清单名称"), required=True, limit=200)
    rows = read_table(file_obj, PROBLEM_COLUMNS, max_rows=1000)
    result = ProblemImportResult()
    plan, seen = [], {}
    for n, r in rows:
        errs = len(result.errors)
        kind = KIND_BY_LABEL.get(r["department"]) or (
            r["department"] if r["department"] in DepartmentKind.values else None
        )
        if kind is None:
            result.errors.append(RowError(n, "责任部门", f"部门不存在：{r['department'] or '(空)'}"))
        deadline = parse_day(r["deadline"])
        if deadline is None:
            result.errors.append(RowError(n, "整改时限", f"日期无效：{r['deadline'] or '(空)'}"))
        if r["number"]:
            if r["number"] in seen:
                result.errors.append(RowError(n, "序号", f"序号与第{seen[r['number']]}行重复：{r['number']}"))
            seen.setdefault(r["number"], n)
        if len(result.errors) > errs:
            continue
        d = {**r, "department_kind": kind, "deadline": deadline, "source": source, "source_ref": source_ref}
        try:
            _clean_problem(county, d)
        except ValidationError as exc:
            for name, msgs in exc.message_dict.items():
                label = {c.field: c.header for c in PROBLEM_COLUMNS}.get(name, name)
                result.errors += [RowError(n, label, m) for m in msgs]
            continue
        plan.append(d)
    if result.errors:
        return result
    with transaction.atomic():
        result.created = [_problem_insert(actor, county, d) for d in plan]
        _notify_assigned(result.created, actor)
        audit_record(
            actor=actor,
            action="analytics.problem_import",
            obj=None,
            division_code=county,
            changes={"source_ref": source_ref, "rows": len(plan)},
        )
    return result


# --- the daily job: overdue reminders and escalation --------------------------------------------


def _task_force_leaders(county: str) -> list[int]:
    rows = Membership.objects.filter(
        role=Role.REGULATOR_LEADER, department_kind="", active=True, user__is_active=True
    ).values_list("user_id", "division_prefixes")
    return sorted({uid for uid, ps in rows if any(county.startswith(p) for p in ps or [])})


def overdue_sweep(*, today: date | None = None, actor="system") -> dict:
    """Remind the department of each overdue open problem and unfinished task once, and
    escalate it to the task force's leaders once when ``ESCALATE_AFTER_DAYS`` overdue.
    Running twice sends nothing twice (the dates are kept on the rows)."""
    today = today or timezone.localdate()
    late = today - timedelta(days=ESCALATE_AFTER_DAYS)
    counts = {"reminded": 0, "escalated": 0}
    specs = [
        (
            SupervisionProblem.objects.filter(status=ProblemStatus.OPEN),
            "deadline",
            "analytics.problem",
            "portal:analytics_problem",
            lambda o: o.description,
        ),
        (
            WorkTask.objects.filter(status=WorkTaskStatus.ONGOING, due_on__isnull=False),
            "due_on",
            "analytics.work_task",
            "portal:analytics_work_task",
            lambda o: o.title,
        ),
    ]
    for qs, due, kind, url, text in specs:
        with transaction.atomic():
            remind = list(qs.filter(**{f"{due}__lt": today, "reminded_on__isnull": True}).select_for_update())
            escalate = list(
                qs.filter(**{f"{due}__lt": late, "escalated_on__isnull": True}).select_for_update()
            )
            msgs = [
                Message(
                    users=department_officers(o.division_code, o.department_kind),
                    kind=f"{kind}.overdue",
                    title=f"逾期提醒：整改时限{getattr(o, due):%Y-%m-%d}已过"[:200],
                    body=text(o)[:500],
                    link=reverse(url, args=[o.pk]),
                    division_code=o.division_code,
                    about=(o._meta.label_lower, str(o.pk)),
                )
                for o in remind
            ] + [
                Message(
                    users=_task_force_leaders(o.division_code),
                    kind=f"{kind}.escalated",
                    title=f"逾期上报：{DEPT_NAMES.get(o.department_kind, o.department_kind)}逾期{(today - getattr(o, due)).days}天未完成"[
                        :200
                    ],
                    body=text(o)[:500],
                    link=reverse(url, args=[o.pk]),
                    division_code=o.division_code,
                    about=(o._meta.label_lower, str(o.pk)),
                )
                for o in escalate
            ]
            notify_many_once(msgs, actor=actor)
            model = qs.model
            model.objects.filter(pk__in=[o.pk for o in remind]).update(reminded_on=today)
            model.objects.filter(pk__in=[o.pk for o in escalate]).update(escalated_on=today)
            if remind or escalate:
                audit_record(
                    actor=actor,
                    action=f"{kind}_overdue_sweep",
                    obj=None,
                    changes={"reminded": [o.pk for o in remind], "escalated": [o.pk for o in escalate]},
                )
            counts["reminded"] += len(remind)
            counts["escalated"] += len(escalate)
    return counts


def is_overdue(obj, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    if isinstance(obj, SupervisionProblem):
        return obj.status == ProblemStatus.OPEN and obj.deadline < today
    return obj.status == WorkTaskStatus.ONGOING and obj.due_on is not None and obj.due_on < today
