"""Handling a clue: the state machine (``models.CLUE_STATES``), one service per arrow,
each under a row lock with an insert-only transition row and an audit event; routing
changes (transfer, return), category corrections, and the audited reading of reporter
identity (confidentiality: only the handling role, every reading recorded)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.notifications import department_officers, notify_on_commit
from qinglang.accounts.permissions import REGULATOR_WRITERS, lock_in_scope, require_role
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_display, chinese_label, chinese_labels
from qinglang.core.models import Department, DepartmentKind

from ..models import (
    CLUE_STATES,
    CategorySource,
    Clue,
    ClueCategory,
    ClueLabel,
    ClueReport,
    ClueRouting,
    ClueStatus,
    RoutingAction,
)
from .common import text_required


def _move(actor, clue: Clue, to: str, reason: str = "", **changes) -> Clue:
    """Set ``changes`` on the clue and move it (``CLUE_STATES``), saving both."""
    for k, v in changes.items():
        setattr(clue, k, v)
    return CLUE_STATES.move(clue, to, actor=actor, reason=reason, fields=list(changes))


@transaction.atomic
def clue_accept(*, actor, clue_id: int) -> Clue:
    """受理: the routed department takes the clue on."""
    require_role(actor, REGULATOR_WRITERS)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    return _move(actor, clue, ClueStatus.ACCEPTED, accepted_at=clue.accepted_at or timezone.now())


@transaction.atomic
def clue_investigate(
    *, actor, clue_id: int, note: str = "", open_inspection: bool = False, due_in_days: int = 10
) -> Clue:
    """核查: start investigating; optionally open an ad-hoc inspection task of the
    institution (inspections app)."""
    require_role(actor, REGULATOR_WRITERS)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    task_id = None
    if open_inspection:
        if not clue.institution_id:
            raise DomainError(
                "no_institution", gettext_lazy("线索未关联到登记机构，无法发起检查任务；请先现场核查")
            )
        from qinglang.inspections.services import inspection_task_create_adhoc

        task = inspection_task_create_adhoc(
            actor=actor,
            institution_id=clue.institution_id,
            due_on=timezone.localdate() + timedelta(days=due_in_days),
            reason=f"线索{clue.reference}：{chinese_display(clue, 'category')}",
            origin="clue",
            origin_ref=clue.reference,
        )
        task_id = task.pk
    extra = {"inspection_task_id": task_id} if task_id else {}
    return _move(actor, clue, ClueStatus.INVESTIGATING, note, **extra)


@transaction.atomic
def clue_conclude(*, actor, clue_id: int, finding: str, substantiated: bool) -> Clue:
    """办结: record the finding."""
    require_role(actor, REGULATOR_WRITERS)
    finding = text_required(finding, "finding", gettext_lazy("办理结果"), max_len=4000, min_len=2)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    return _move(
        actor,
        clue,
        ClueStatus.CONCLUDED,
        finding=finding,
        substantiated=bool(substantiated),
        concluded_at=timezone.now(),
    )


@transaction.atomic
def clue_feedback(*, actor, clue_id: int, feedback: str) -> Clue:
    """反馈: tell the reporter(s) the result; the case is closed."""
    require_role(actor, REGULATOR_WRITERS)
    feedback = text_required(feedback, "feedback", gettext_lazy("反馈内容"), max_len=2000, min_len=2)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    return _move(actor, clue, ClueStatus.CLOSED, feedback=feedback, closed_at=timezone.now())


def _report_by_code(code: str) -> ClueReport:
    code = (code or "").strip().upper()
    r = ClueReport.objects.select_related("clue").filter(tracking_code=code).first() if code else None
    if r is None:
        raise NotFound(gettext_lazy("查询码对应的举报"))
    return r


@transaction.atomic
def clue_satisfaction(*, tracking_code: str, score: int, comment: str = "") -> ClueReport:
    """满意度: the reporter rates the handling once the case is closed."""
    r = _report_by_code(tracking_code)
    if r.clue.status != ClueStatus.CLOSED:
        raise DomainError("not_closed", gettext_lazy("办结反馈后才能评价"))
    if score not in (1, 2, 3, 4, 5):
        raise ValidationError({"score": gettext_lazy("满意度须为1到5")})
    r.satisfaction = score
    r.satisfaction_comment = (comment or "").strip()[:500]
    r.save(update_fields=["satisfaction", "satisfaction_comment"])
    audit_record(
        actor="reporter",
        action="clue.satisfaction",
        obj=r.clue,
        changes={"report_id": r.pk, "satisfaction": score},
    )
    return r


@transaction.atomic
def clue_reopen(*, tracking_code: str, reason: str) -> Clue:
    """The reporter asks for the case to be handled again: once per case."""
    reason = text_required(reason, "reason", gettext_lazy("重新办理理由"), max_len=1000, min_len=2)
    r = _report_by_code(tracking_code)
    clue = Clue.objects.select_for_update().get(pk=r.clue_id)
    if clue.reopened:
        raise DomainError("reopen_used", gettext_lazy("该线索已重新办理过一次，不能再次申请"))
    if clue.status != ClueStatus.CLOSED:
        raise CLUE_STATES.refusal(clue.status, ClueStatus.ACCEPTED)
    r.reopen_reason = reason
    r.save(update_fields=["reopen_reason"])
    return _move("reporter", clue, ClueStatus.ACCEPTED, reason, reopened=True, closed_at=None)


def _department(clue: Clue, kind: str) -> Department:
    if kind not in DepartmentKind.values:
        raise ValidationError({"department_kind": format_lazy(gettext_lazy("未知部门：{kind}"), kind=kind)})
    div = clue.division_code[:9] if kind == DepartmentKind.TOWNSHIP_GOVERNMENT else clue.division_code[:6]
    dep = Department.objects.filter(division_id=div, kind=kind).first()
    if dep is None:
        raise DomainError(
            "no_department",
            format_lazy(
                gettext_lazy("{div}没有{DepartmentKind}"),
                div=div,
                DepartmentKind=chinese_label(DepartmentKind, kind),
            ),
        )
    return dep


@transaction.atomic
def clue_transfer(*, actor, clue_id: int, department_kind: str, reason: str) -> Clue:
    """转办: the lead department hands the clue to another department of the same place."""
    require_role(actor, REGULATOR_WRITERS)
    reason = text_required(reason, "reason", gettext_lazy("转办理由"), max_len=1000, min_len=2)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    if clue.status not in (ClueStatus.ROUTED, ClueStatus.RECEIVED, ClueStatus.ACCEPTED):
        raise DomainError("cannot_transfer", gettext_lazy("已进入核查或办结的线索不能转办"))
    dep = _department(clue, department_kind)
    before = clue.routed_kinds
    clue.routed_kinds = f"|{department_kind}|"
    clue.save(update_fields=["routed_kinds"])
    ClueRouting.objects.create(
        clue=clue,
        action=RoutingAction.TRANSFER,
        department=dep,
        department_kind=department_kind,
        lead=True,
        reason=reason,
        actor_id=actor.pk,
        at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="clue.transfer",
        obj=clue,
        changes={"routed_kinds": [before, clue.routed_kinds], "reason": reason},
    )
    if clue.status == ClueStatus.RECEIVED:
        _move(actor, clue, ClueStatus.ROUTED, reason)
    _notify_departments(clue, [department_kind], "clue.transferred", "转办", reason, actor)
    return clue


def _notify_departments(clue: Clue, kinds: list[str], kind: str, verb: str, reason: str, actor) -> None:
    """The officers of each named department hear of the clue once the change commits."""
    labels = chinese_labels(DepartmentKind)
    for k in kinds:
        notify_on_commit(
            department_officers(clue.division_code, k),
            kind=kind,
            title=f"线索{clue.reference}{verb}至{labels.get(k, k)}",
            body=f"{chinese_display(clue, 'category')}；理由：{reason[:200]}；办结时限{clue.resolve_due or '—'}。",
            link=reverse("portal:clue_detail", args=[clue.pk]),
            actor=actor,
            division_code=clue.division_code,
            about=("clues.clue", clue.pk),
        )


@transaction.atomic
def clue_return(*, actor, clue_id: int, reason: str) -> Clue:
    """退回: a department says the clue is not theirs; it goes back for re-routing."""
    require_role(actor, REGULATOR_WRITERS)
    reason = text_required(reason, "reason", gettext_lazy("退回理由"), max_len=1000, min_len=2)
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    ClueRouting.objects.create(
        clue=clue,
        action=RoutingAction.RETURN,
        department=None,
        department_kind="",
        reason=reason,
        actor_id=actor.pk,
        at=timezone.now(),
    )
    return _move(actor, clue, ClueStatus.RECEIVED, reason, routed_kinds="")


@transaction.atomic
def clue_route(*, actor, clue_id: int, department_kinds_: list[str], reason: str) -> Clue:
    """分办 by hand (a returned or unroutable clue)."""
    require_role(actor, REGULATOR_WRITERS)
    if not department_kinds_:
        raise ValidationError({"department_kind": gettext_lazy("请选择承办部门")})
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    deps = [(k, _department(clue, k)) for k in dict.fromkeys(department_kinds_)]
    clue.routed_kinds = "|" + "|".join(k for k, _ in deps) + "|"
    clue.save(update_fields=["routed_kinds"])
    for i, (k, d) in enumerate(deps):
        ClueRouting.objects.create(
            clue=clue,
            action=RoutingAction.ASSIGN,
            department=d,
            department_kind=k,
            lead=i == 0,
            reason=reason,
            actor_id=actor.pk,
            at=timezone.now(),
        )
    _notify_departments(clue, [k for k, _ in deps], "clue.assigned", "分办", reason, actor)
    return _move(actor, clue, ClueStatus.ROUTED, reason)


@transaction.atomic
def clue_reclassify(*, actor, clue_id: int, category: str) -> Clue:
    """A regulator corrects the category: kept as a labelled example the classifier
    learns from. Routing is not changed by itself (use transfer)."""
    require_role(actor, REGULATOR_WRITERS)
    if category not in ClueCategory.values:
        raise ValidationError(
            {"category": format_lazy(gettext_lazy("未知类别：{category}"), category=category)}
        )
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    before = clue.category
    clue.category = category
    clue.category_source = CategorySource.REGULATOR
    clue.needs_triage, clue.triage_rule = False, ""
    clue.save(update_fields=["category", "category_source", "needs_triage", "triage_rule"])
    ClueLabel.objects.create(text=clue.summary, category=category, clue=clue, actor_id=actor.pk)
    audit_record(actor=actor, action="clue.reclassify", obj=clue, changes={"category": [before, category]})
    return clue


@transaction.atomic
def clue_reporters_reveal(*, actor, clue_id: int) -> list[dict]:
    """Reporter names and phones of a case, for the handling role only; every reading
    is an audit event."""
    if not (actor and actor.is_authenticated):
        raise PermissionDeniedError()
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有承办部门的监管人员可以查看举报人信息"))
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索")
    out = [
        {
            "report_id": r.pk,
            **r.reporter(),
            "anonymous": r.anonymous,
        }
        for r in clue.reports.order_by("id")
    ]
    audit_record(
        actor=actor, action="clue.reporter_view", obj=clue, changes={"reports": [r["report_id"] for r in out]}
    )
    return out
