"""Approvals — who approves supervises (谁审批、谁监管). An application (establish, change,
close, 营转非, 备改审) is submitted with its documents (types judged by content), reviewed
by the competent department of the county against a checklist per kind, sent back for
correction or decided with a reason within ``approval.decision_days`` working days; an
approval issues or amends the school permit and makes the approver the supervising
department. ``subject.new_approvals_allowed`` refuses new subject-type applications.

This module is the applicant's side: drafts, submission, resubmission after correction,
withdrawal. Its documents are checked and stored by ``application_documents``; the review
and the decision are ``application_review``."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import REGULATOR_WRITERS
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core.audit import audit_record
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import choice_label
from qinglang.core.policy import policy_resolve
from qinglang.core.services import department_ensure_for_division

from ..models import (
    APPLICATION_STATES,
    CATEGORY_KINDS,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    Mode,
    Nature,
)
from ..supervision import competent_department_for
from .application_documents import REQUIRED_DOCUMENTS, _check_documents, _save_documents, _undo_files
from .common import check_division

__all__ = [
    "APPLICATION_FIELDS",
    "CHANGE_FIELDS",
    "application_draft_save",
    "application_resubmit",
    "application_submit",
    "application_withdraw",
]


CHANGE_FIELDS = {
    "name": "机构名称",
    "address": "地址",
    "legal_representative": "法定代表人",
    "stages": "学段",
}


def _int(data: dict, field: str, label: str, errors: dict, *, required: bool) -> int | None:
    v = data.get(field)
    if v in (None, ""):
        if required:
            errors[field] = format_lazy(_("请填写{label}"), label=label)
        return None
    try:
        n = int(v)
        if n < 0 or isinstance(v, bool):
            raise ValueError
    except (TypeError, ValueError):
        errors[field] = format_lazy(_("{label}须为非负整数"), label=label)
        return None
    return n


def _clean_proposed(kind: str, data: dict, inst: Institution | None) -> dict:
    errors: dict = {}
    p: dict = {}
    if kind == ApplicationKind.ESTABLISH:
        for f, label in (
            ("name", "机构名称"),
            ("address", "场所地址"),
            ("legal_representative", "法定代表人"),
        ):
            p[f] = (data.get(f) or "").strip()
            if not p[f]:
                errors[f] = format_lazy(_("请填写{label}"), label=label)
        p["nature"] = data.get("nature") or Nature.NON_PROFIT
        p["mode"] = data.get("mode") or Mode.OFFLINE
        p["stages"] = list(data.get("stages") or ["primary"])
        p["uscc"] = (data.get("uscc") or "").strip() or None
        if p["nature"] not in Nature.values:
            errors["nature"] = _("性质应为营利性或非营利性")
        if p["mode"] not in Mode.values:
            errors["mode"] = _("办学形式应为线下或线上")
    if kind in (ApplicationKind.ESTABLISH, ApplicationKind.FILING_TO_APPROVAL):
        required = kind == ApplicationKind.ESTABLISH
        p["site_area_sqm"] = _int(data, "site_area_sqm", "教学用房面积(平方米)", errors, required=required)
        p["planned_pupils"] = _int(data, "planned_pupils", "计划招生规模(人)", errors, required=True)
        p["teachers"] = _int(data, "teachers", "专职教师人数", errors, required=True)
        p["qualified_teachers"] = _int(
            data, "qualified_teachers", "持教师资格证教师人数", errors, required=True
        )
        if not errors and p["qualified_teachers"] > p["teachers"]:
            errors["qualified_teachers"] = _("持证教师人数不能多于教师人数")
    if kind == ApplicationKind.CHANGE:
        changes = {
            k: (str(v).strip() if not isinstance(v, list) else v)
            for k, v in (data.get("changes") or {}).items()
        }
        bad = sorted(set(changes) - set(CHANGE_FIELDS))
        if bad:
            errors["changes"] = format_lazy(_("不可申请变更的事项：{bad}"), bad="、".join(bad))
        elif not changes or not all(changes.values()):
            errors["changes"] = _("请填写变更事项及变更后的内容")
        p["changes"] = changes
    if kind == ApplicationKind.CONVERT_NONPROFIT and inst is not None and inst.nature == Nature.NON_PROFIT:
        errors["kind"] = _("该机构已是非营利性")
    if kind == ApplicationKind.FILING_TO_APPROVAL and inst is not None and inst.mode != Mode.ONLINE:
        errors["kind"] = _("备改审仅适用于线上机构")
    if errors:
        raise ValidationError(errors)
    return p


def _number(division_code: str, today: date) -> str:
    n = Application.objects.filter(
        division_code__startswith=division_code[:6], submitted_on__year=today.year
    ).count()
    while True:
        n += 1
        number = f"审{division_code[:6]}{today.year}{n:05d}"
        if not Application.objects.filter(number=number).exists():
            return number


def _may_submit(actor, kind: str, division_code: str, inst: Institution | None, app=None) -> None:
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    if a.roles & REGULATOR_WRITERS and division_in_scope(actor, division_code):
        return  # the county's acceptance window (受理窗口)
    if Role.INSTITUTION_ADMIN in a.roles:
        if inst is not None and inst.pk in a.institution_ids:
            return
        # an organiser (举办者) applies to establish a new institution, and follows up
        # the application it submitted
        if kind == ApplicationKind.ESTABLISH and (
            app is None or app.submitted_by_id == getattr(actor, "pk", None)
        ):
            return
    raise PermissionDeniedError(_("无权提交该申请"))


def _move(*, actor, app: Application, to: str, note: str = "", fields=()) -> None:
    APPLICATION_STATES.move(app, to, actor=actor, reason=note, fields=fields, division_code=app.division_code)


def _resolve(kind: str, data: dict) -> tuple[Institution | None, str, str, str]:
    """(institution, category, training kind, division) an application concerns."""
    if kind not in ApplicationKind.values:
        raise ValidationError({"kind": format_lazy(_("未知的申请事项：{kind}"), kind=kind)})
    if kind == ApplicationKind.ESTABLISH:
        category, training_kind = data.get("category") or "", data.get("kind") or ""
        if category not in InstitutionCategory.values:
            raise ValidationError({"category": format_lazy(_("未知类别：{category}"), category=category)})
        if training_kind not in CATEGORY_KINDS[category]:
            raise ValidationError({"kind": _("培训类型与类别不符")})
        return None, category, training_kind, check_division(data.get("division_code") or "").code
    inst = Institution.objects.filter(pk=data.get("institution_id") or 0).first()
    if inst is None:
        raise NotFound(_("机构"))
    return inst, inst.category, inst.kind, inst.division_code


def _department(actor, training_kind: str, division_code: str):
    dept = competent_department_for(training_kind, division_code)
    if dept is None:
        department_ensure_for_division(actor="system", division_code=division_code[:6])
        dept = competent_department_for(training_kind, division_code)
    if dept is None:
        raise DomainError("no_department", _("该区县尚未设置主管部门，无法受理"), status=409)
    return dept


# what a form or a draft carries (besides "stages", "changes" and "institution_id")
APPLICATION_FIELDS = (
    "name",
    "category",
    "kind",
    "division_code",
    "address",
    "legal_representative",
    "nature",
    "mode",
    "site_area_sqm",
    "planned_pupils",
    "teachers",
    "qualified_teachers",
)


DRAFT_FIELDS = frozenset({*APPLICATION_FIELDS, "stages", "uscc", "changes", "institution_id"})


@transaction.atomic
def application_draft_save(
    *, actor, kind: str, data: dict, files: dict | None = None, draft_id: int | None = None
) -> Application:
    """Save an application as a draft (草稿): what it concerns is checked (kind,
    institution or category and division, the applicant's right), the rest is kept as
    entered until submission checks it; documents are checked by content and stored.
    Nobody but the applicant sees a draft, and it has no number or time limit yet."""
    if draft_id:
        app = _lock_draft(actor, draft_id)
        kind, data = app.kind, {**app.proposed, **data}
    inst, category, training_kind, division_code = _resolve(kind, data)
    _may_submit(actor, kind, division_code, inst)
    docs = _check_documents(files or {}, required=[])
    with _undo_files() as created:
        proposed = {k: v for k, v in data.items() if k in DRAFT_FIELDS}
        if draft_id:
            app.proposed, app.category, app.training_kind = proposed, category, training_kind
            app.save(update_fields=["proposed", "category", "training_kind"])
            audit_record(actor=actor, action="application.draft_update", obj=app, division_code=division_code)
        else:
            app = Application.objects.create(
                kind=kind,
                status=ApplicationStatus.DRAFT,
                institution=inst,
                division_code=division_code,
                department=_department(actor, training_kind, division_code),
                category=category,
                training_kind=training_kind,
                proposed=proposed,
                submitted_by_id=getattr(actor, "pk", None),
            )
            APPLICATION_STATES.record_many([(app.pk, app.status, app.status)], actor=actor, reason="草稿")
            audit_record(
                actor=actor,
                action="application.draft",
                obj=app,
                division_code=division_code,
                changes={"kind": kind},
            )
        app.documents.filter(doc_type__in=[d.doc_type for d in docs]).delete()
        _save_documents(app, docs, actor, created)
    return app


def _lock_draft(actor, draft_id: int) -> Application:
    app = Application.objects.select_for_update().filter(pk=draft_id, status=ApplicationStatus.DRAFT).first()
    if app is None:
        raise NotFound(_("草稿"))
    if app.submitted_by_id != getattr(actor, "pk", None) and not actor_for(actor).is_platform_admin:
        raise NotFound(_("草稿"))
    return app


@transaction.atomic
def application_submit(
    *,
    actor,
    kind: str = "",
    data: dict | None = None,
    files: dict | None = None,
    today: date | None = None,
    draft_id: int | None = None,
) -> Application:
    """Submit an application with its documents (or a saved draft, completed by
    ``data`` and ``files``). Everything is checked before anything is written: the kind,
    the figures, every required document by content, and the
    ``subject.new_approvals_allowed`` rule for a new subject-type institution."""
    today = today or timezone.localdate()
    data, files = dict(data or {}), files or {}
    draft = None
    held: frozenset[str] = frozenset()
    if draft_id:
        draft = _lock_draft(actor, draft_id)
        kind, data = draft.kind, {**draft.proposed, **data}
        held = frozenset(draft.documents.values_list("doc_type", flat=True))
    inst, category, training_kind, division_code = _resolve(kind, data)
    _may_submit(actor, kind, division_code, inst, app=draft)
    if inst is not None and inst.status in (InstitutionStatus.CLOSED, InstitutionStatus.BANNED):
        raise DomainError("institution_closed", _("机构已关停或取缔，不能再提出申请"), status=409)
    if category == InstitutionCategory.SUBJECT and kind in (
        ApplicationKind.ESTABLISH,
        ApplicationKind.FILING_TO_APPROVAL,
    ):
        rule = policy_resolve("subject.new_approvals_allowed", division_code, on=today)
        if not rule.value:
            raise rule.violation(
                format_lazy(
                    _("不再受理学科类校外培训机构{ApplicationKind}申请"),
                    ApplicationKind=choice_label(ApplicationKind, kind),
                ),
                kind=kind,
                category=category,
            )
    proposed = _clean_proposed(kind, data, inst)
    docs = _check_documents(files, required=REQUIRED_DOCUMENTS[kind], held=held)
    dept = _department(actor, training_kind, division_code)
    if (
        inst is not None
        and Application.objects.filter(
            institution=inst, status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.CORRECTING]
        ).exists()
    ):
        raise DomainError("application_pending", _("该机构已有在办的申请"), status=409)
    days = policy_resolve("approval.decision_days", division_code, on=today)
    with _undo_files() as created:
        fields = {
            "number": _number(division_code, today),
            "institution": inst,
            "division_code": division_code,
            "department": dept,
            "category": category,
            "training_kind": training_kind,
            "proposed": proposed,
            "submitted_on": today,
            "due_on": add_working_days(today, int(days.value)),
        }
        if draft is None:
            app = Application.objects.create(kind=kind, submitted_by_id=getattr(actor, "pk", None), **fields)
            APPLICATION_STATES.record_many([(app.pk, app.status, app.status)], actor=actor, reason="受理")
        else:
            app = draft
            for k, v in fields.items():
                setattr(app, k, v)
            app.documents.filter(doc_type__in=[d.doc_type for d in docs]).delete()
            _move(actor=actor, app=app, to=ApplicationStatus.SUBMITTED, note="受理", fields=list(fields))
        _save_documents(app, docs, actor, created)
        audit_record(
            actor=actor,
            action="application.submit",
            obj=app,
            division_code=division_code,
            changes={
                "kind": kind,
                "department": dept.pk,
                "due_on": str(app.due_on),
                "due_rule": days.cite(),  # the time limit names the rule that set it
                "documents": sorted({*held, *(d.doc_type for d in docs)}),
            },
        )
    return app


@transaction.atomic
def application_resubmit(
    *,
    actor,
    application_id: int,
    data: dict | None = None,
    files: dict | None = None,
    today: date | None = None,
) -> Application:
    today = today or timezone.localdate()
    app = Application.objects.select_for_update().filter(pk=application_id).first()
    if app is None:
        raise NotFound(_("申请"))
    _may_submit(actor, app.kind, app.division_code, app.institution, app=app)
    if app.status != ApplicationStatus.CORRECTING:
        raise APPLICATION_STATES.refusal(app.status, ApplicationStatus.SUBMITTED)  # not awaiting correction
    if data:
        app.proposed = _clean_proposed(app.kind, {**app.proposed, **data}, app.institution)
    docs = _check_documents(files or {}, required=[])
    days = policy_resolve("approval.decision_days", app.division_code, on=today)
    app.due_on = add_working_days(today, int(days.value))
    with _undo_files() as created:
        _save_documents(app, docs, actor, created)
        _move(
            actor=actor, app=app, to=ApplicationStatus.SUBMITTED, note="已补正", fields=["proposed", "due_on"]
        )
    return app


@transaction.atomic
def application_withdraw(*, actor, application_id: int, reason: str = "") -> Application:
    app = Application.objects.select_for_update().filter(pk=application_id).first()
    if app is None:
        raise NotFound(_("申请"))
    _may_submit(actor, app.kind, app.division_code, app.institution, app=app)
    _move(actor=actor, app=app, to=ApplicationStatus.WITHDRAWN, note=(reason or "申请人撤回").strip())
    return app
