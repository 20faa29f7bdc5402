"""Approvals — who approves supervises (谁审批、谁监管). An application (establish, change,
close, 营转非, 备改审) is submitted with its documents (types judged by content), reviewed
by the competent department of the county against a checklist per kind, sent back for
correction or decided with a reason within ``approval.decision_days`` working days; an
approval issues or amends the school permit and makes the approver the supervising
department. ``subject.new_approvals_allowed`` refuses new subject-type applications."""

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import REGULATOR_WRITERS
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core.audit import audit_record
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.files import DOCX, EXTENSIONS, sniff_allowed
from qinglang.core.policy import policy_resolve
from qinglang.core.services import department_ensure_for_division

from ..models import (
    APPLICATION_TRANSITIONS,
    CATEGORY_KINDS,
    Application,
    ApplicationDocument,
    ApplicationKind,
    ApplicationStatus,
    ApplicationTransition,
    Category,
    Institution,
    LicenceKind,
    Mode,
    Nature,
    NonprofitConversion,
    Status,
)
from ..supervision import competent_department_for
from .common import check_division

__all__ = [
    "CHANGE_FIELDS",
    "CHECKLISTS",
    "REQUIRED_DOCUMENTS",
    "application_decide",
    "application_request_correction",
    "application_resubmit",
    "application_submit",
    "application_withdraw",
]

DOCUMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", DOCX})
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

DOC_LABELS = {
    "application_form": "申请书",
    "site_proof": "场所产权或租赁证明",
    "fire_acceptance": "消防验收(备案)证明",
    "charter": "章程",
    "staff_list": "从业人员名册及资格证明",
    "legal_rep_id": "举办者/法定代表人身份证明",
    "change_proof": "变更事项证明材料",
    "settlement": "学员退费及财务清算报告",
    "audit_report": "财务审计报告",
    "nonprofit_charter": "非营利性章程",
    "platform_filing": "线上平台备案材料",
    "network_security": "网络安全等级保护证明",
}

REQUIRED_DOCUMENTS: dict[str, list[str]] = {
    ApplicationKind.ESTABLISH: [
        "application_form",
        "site_proof",
        "fire_acceptance",
        "charter",
        "staff_list",
        "legal_rep_id",
    ],
    ApplicationKind.CHANGE: ["application_form", "change_proof"],
    ApplicationKind.CLOSE: ["application_form", "settlement"],
    ApplicationKind.CONVERT_NONPROFIT: ["application_form", "audit_report", "nonprofit_charter"],
    ApplicationKind.FILING_TO_APPROVAL: ["application_form", "platform_filing", "network_security"],
}

# The review checklist per kind: (item, label). Items computed from the application's
# figures are checked by the platform; the reviewer confirms the others.
CHECKLISTS: dict[str, list[tuple[str, str]]] = {
    ApplicationKind.ESTABLISH: [
        ("area_per_pupil", "生均教学面积"),
        ("fire_acceptance", "消防验收(备案)"),
        ("staff_ratio", "专职教师与学员比例"),
        ("qualifications", "教师资格"),
    ],
    ApplicationKind.CHANGE: [("change_lawful", "变更事项合法、材料齐全")],
    ApplicationKind.CLOSE: [("refunds_settled", "学员费用已退清、财务已清算")],
    ApplicationKind.CONVERT_NONPROFIT: [
        ("nonprofit_charter", "章程符合非营利性要求"),
        ("assets_audited", "资产已审计"),
    ],
    ApplicationKind.FILING_TO_APPROVAL: [
        ("platform_security", "平台网络安全"),
        ("qualifications", "教师资格"),
    ],
}
CHANGE_FIELDS = {
    "name": "机构名称",
    "address": "地址",
    "legal_representative": "法定代表人",
    "stages": "学段",
}
PERMIT_YEARS = 3


@dataclass(frozen=True)
class Document:
    doc_type: str
    name: str
    content_type: str
    data: bytes
    sha256: str


def check_document(doc_type: str, f) -> Document:
    """Read an upload; refuse it unless its content is a PDF, a photo or a Word file."""
    name = (getattr(f, "name", "") or "file")[-200:]
    label = DOC_LABELS.get(doc_type, doc_type)
    if hasattr(f, "seek"):
        f.seek(0)
    data = f.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError({doc_type: f"{label}“{name}”超过10MB上限"})
    if not data:
        raise ValidationError({doc_type: f"{label}“{name}”为空"})
    ctype = sniff_allowed(data, DOCUMENT_TYPES)
    if ctype is None:
        raise ValidationError(
            {doc_type: f"{label}“{name}”不是允许的文件类型(仅限PDF、JPEG/PNG照片、Word文档，按文件内容识别)"}
        )
    return Document(doc_type, name, ctype, data, hashlib.sha256(data).hexdigest())


def _check_documents(files: dict, *, required: list[str]) -> list[Document]:
    unknown = sorted(set(files) - set(DOC_LABELS))
    if unknown:
        raise ValidationError({"documents": f"未知的材料类型：{'、'.join(unknown)}"})
    missing = [d for d in required if d not in files]
    if missing:
        raise ValidationError({"documents": "缺少材料：" + "、".join(DOC_LABELS[d] for d in missing)})
    errors: dict = {}
    docs = []
    for doc_type, f in files.items():
        try:
            docs.append(check_document(doc_type, f))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return docs


def _save_documents(app: Application, docs: list[Document], actor) -> None:
    for d in docs:
        path = f"applications/{d.sha256[:2]}/{d.sha256}.{EXTENSIONS.get(d.content_type, 'bin')}"
        if not default_storage.exists(path):
            path = default_storage.save(path, ContentFile(d.data))
        ApplicationDocument.objects.create(
            application=app,
            doc_type=d.doc_type,
            original_name=d.name,
            content_type=d.content_type,
            size=len(d.data),
            sha256=d.sha256,
            path=path,
            uploaded_by_id=getattr(actor, "pk", None),
        )


def _int(data: dict, field: str, label: str, errors: dict, *, required: bool) -> int | None:
    v = data.get(field)
    if v in (None, ""):
        if required:
            errors[field] = f"请填写{label}"
        return None
    try:
        n = int(v)
        if n < 0 or isinstance(v, bool):
            raise ValueError
    except (TypeError, ValueError):
        errors[field] = f"{label}须为非负整数"
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
                errors[f] = f"请填写{label}"
        p["nature"] = data.get("nature") or Nature.NON_PROFIT
        p["mode"] = data.get("mode") or Mode.OFFLINE
        p["stages"] = list(data.get("stages") or ["primary"])
        p["uscc"] = (data.get("uscc") or "").strip() or None
        if p["nature"] not in Nature.values:
            errors["nature"] = "性质应为营利性或非营利性"
        if p["mode"] not in Mode.values:
            errors["mode"] = "办学形式应为线下或线上"
    if kind in (ApplicationKind.ESTABLISH, ApplicationKind.FILING_TO_APPROVAL):
        required = kind == ApplicationKind.ESTABLISH
        p["site_area_sqm"] = _int(data, "site_area_sqm", "教学用房面积(平方米)", errors, required=required)
        p["planned_pupils"] = _int(data, "planned_pupils", "计划招生规模(人)", errors, required=True)
        p["teachers"] = _int(data, "teachers", "专职教师人数", errors, required=True)
        p["qualified_teachers"] = _int(
            data, "qualified_teachers", "持教师资格证教师人数", errors, required=True
        )
        if not errors and p["qualified_teachers"] > p["teachers"]:
            errors["qualified_teachers"] = "持证教师人数不能多于教师人数"
    if kind == ApplicationKind.CHANGE:
        changes = {
            k: (str(v).strip() if not isinstance(v, list) else v)
            for k, v in (data.get("changes") or {}).items()
        }
        bad = sorted(set(changes) - set(CHANGE_FIELDS))
        if bad:
            errors["changes"] = f"不可申请变更的事项：{'、'.join(bad)}"
        elif not changes or not all(changes.values()):
            errors["changes"] = "请填写变更事项及变更后的内容"
        p["changes"] = changes
    if kind == ApplicationKind.CONVERT_NONPROFIT and inst is not None and inst.nature == Nature.NON_PROFIT:
        errors["kind"] = "该机构已是非营利性"
    if kind == ApplicationKind.FILING_TO_APPROVAL and inst is not None and inst.mode != Mode.ONLINE:
        errors["kind"] = "备改审仅适用于线上机构"
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


def _may_submit(actor, kind: str, division_code: str, inst: Institution | None) -> None:
    a = actor_for(actor)
    if a.is_platform_admin:
        return
    if a.roles & REGULATOR_WRITERS and division_in_scope(actor, division_code):
        return  # the county's acceptance window (受理窗口)
    if inst is not None and inst.pk in a.institution_ids and Role.INSTITUTION_ADMIN in a.roles:
        return
    raise PermissionDeniedError("无权提交该申请")


def _move(*, actor, app: Application, to: str, note: str = "") -> None:
    if to not in APPLICATION_TRANSITIONS[app.status]:
        labels = dict(ApplicationStatus.choices)
        raise IllegalTransition(
            "application", labels[app.status], labels[to], sorted(APPLICATION_TRANSITIONS[app.status])
        )
    ApplicationTransition.objects.create(
        application=app, from_status=app.status, to_status=to, note=note, actor_id=getattr(actor, "pk", None)
    )
    old, app.status = app.status, to
    app.save()
    audit_record(
        actor=actor,
        action=f"application.{to}",
        obj=app,
        division_code=app.division_code,
        changes={"status": [old, to], **({"note": note} if note else {})},
    )


def application_submit(
    *, actor, kind: str, data: dict, files: dict, today: date | None = None
) -> Application:
    """Submit an application with its documents. Everything is checked before anything
    is written: the kind, the figures, every required document by content, and the
    ``subject.new_approvals_allowed`` rule for a new subject-type institution."""
    today = today or timezone.localdate()
    if kind not in ApplicationKind.values:
        raise ValidationError({"kind": f"未知的申请事项：{kind}"})
    inst = None
    if kind == ApplicationKind.ESTABLISH:
        category, training_kind = data.get("category") or "", data.get("kind") or ""
        if category not in Category.values:
            raise ValidationError({"category": f"未知类别：{category}"})
        if training_kind not in CATEGORY_KINDS[category]:
            raise ValidationError({"kind": "培训类型与类别不符"})
        division_code = check_division(data.get("division_code") or "").code
    else:
        inst = Institution.objects.filter(pk=data.get("institution_id") or 0).first()
        if inst is None:
            raise NotFound("机构")
        category, training_kind, division_code = inst.category, inst.kind, inst.division_code
    _may_submit(actor, kind, division_code, inst)
    if inst is not None and inst.status in (Status.CLOSED, Status.BANNED):
        raise DomainError("institution_closed", "机构已关停或取缔，不能再提出申请", status=409)
    if category == Category.SUBJECT and kind in (
        ApplicationKind.ESTABLISH,
        ApplicationKind.FILING_TO_APPROVAL,
    ):
        rule = policy_resolve("subject.new_approvals_allowed", division_code, on=today)
        if not rule.value:
            raise rule.violation(
                f"不再受理学科类校外培训机构{ApplicationKind(kind).label}申请", kind=kind, category=category
            )
    proposed = _clean_proposed(kind, data, inst)
    docs = _check_documents(files, required=REQUIRED_DOCUMENTS[kind])
    dept = competent_department_for(training_kind, division_code)
    if dept is None:
        department_ensure_for_division(actor="system", division_code=division_code[:6])
        dept = competent_department_for(training_kind, division_code)
    if dept is None:
        raise DomainError("no_department", "该区县尚未设置主管部门，无法受理", status=409)
    if (
        inst is not None
        and Application.objects.filter(
            institution=inst, status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.CORRECTING]
        ).exists()
    ):
        raise DomainError("application_pending", "该机构已有在办的申请", status=409)
    days = policy_resolve("approval.decision_days", division_code, on=today)
    app = Application.objects.create(
        number=_number(division_code, today),
        kind=kind,
        institution=inst,
        division_code=division_code,
        department=dept,
        category=category,
        training_kind=training_kind,
        proposed=proposed,
        submitted_by_id=getattr(actor, "pk", None),
        submitted_on=today,
        due_on=add_working_days(today, int(days.value)),
    )
    _save_documents(app, docs, actor)
    ApplicationTransition.objects.create(
        application=app, to_status=app.status, note="受理", actor_id=getattr(actor, "pk", None)
    )
    audit_record(
        actor=actor,
        action="application.submit",
        obj=app,
        division_code=division_code,
        changes={
            "kind": kind,
            "department": dept.pk,
            "due_on": str(app.due_on),
            "documents": [d.doc_type for d in docs],
        },
    )
    return app


def _lock_for_review(actor, application_id: int) -> Application:
    app = (
        Application.objects.select_for_update().select_related("department").filter(pk=application_id).first()
    )
    if app is None:
        raise NotFound("申请")
    a = actor_for(actor)
    if a.is_platform_admin:
        return app
    for prefixes, dept in a.regulator:
        if any(app.division_code.startswith(p) for p in prefixes):
            if dept and dept != app.department.kind:
                continue
            if a.roles & REGULATOR_WRITERS:
                return app
    if any(app.division_code.startswith(p) for ps, _ in a.regulator for p in ps) or (
        app.institution_id in a.institution_ids
    ):
        raise PermissionDeniedError("仅审批部门可以审查该申请")
    raise NotFound("申请")


@transaction.atomic
def application_request_correction(*, actor, application_id: int, note: str) -> Application:
    """一次性告知补正: the time limit restarts when the corrected application comes back."""
    app = _lock_for_review(actor, application_id)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请写明需要补正的内容"})
    app.correction_note = note
    _move(actor=actor, app=app, to=ApplicationStatus.CORRECTING, note=note)
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
        raise NotFound("申请")
    _may_submit(actor, app.kind, app.division_code, app.institution)
    if app.status != ApplicationStatus.CORRECTING:
        _move(actor=actor, app=app, to=ApplicationStatus.SUBMITTED)  # raises: not awaiting correction
    if data:
        app.proposed = _clean_proposed(app.kind, {**app.proposed, **data}, app.institution)
    docs = _check_documents(files or {}, required=[])
    _save_documents(app, docs, actor)
    days = policy_resolve("approval.decision_days", app.division_code, on=today)
    app.due_on = add_working_days(today, int(days.value))
    _move(actor=actor, app=app, to=ApplicationStatus.SUBMITTED, note="已补正")
    return app


@transaction.atomic
def application_withdraw(*, actor, application_id: int, reason: str = "") -> Application:
    app = Application.objects.select_for_update().filter(pk=application_id).first()
    if app is None:
        raise NotFound("申请")
    _may_submit(actor, app.kind, app.division_code, app.institution)
    _move(actor=actor, app=app, to=ApplicationStatus.WITHDRAWN, note=(reason or "申请人撤回").strip())
    return app


def _computed_checks(app: Application) -> dict[str, dict]:
    """The checklist items the platform decides from the application's figures."""
    out: dict[str, dict] = {}
    p = app.proposed
    if app.kind == ApplicationKind.ESTABLISH and p.get("planned_pupils"):
        rule = policy_resolve("approval.min_area_per_pupil_sqm", app.division_code)
        per = (p.get("site_area_sqm") or 0) / p["planned_pupils"]
        ok = rule.value is None or per >= float(rule.value)
        out["area_per_pupil"] = {
            "ok": ok,
            "note": f"生均{per:.2f}平方米(下限{rule.value})",
            "rule": rule,
        }
    if (
        app.kind in (ApplicationKind.ESTABLISH, ApplicationKind.FILING_TO_APPROVAL)
        and app.category == Category.SUBJECT
    ):
        rule = policy_resolve("staff.subject_teacher_needs_qualification", app.division_code)
        ok = not rule.value or p.get("qualified_teachers") == p.get("teachers")
        out["qualifications"] = {
            "ok": ok,
            "note": f"持证{p.get('qualified_teachers')}/{p.get('teachers')}人",
            "rule": rule,
        }
    return out


def _permit_number(app: Application) -> str:
    n = (
        Application.objects.filter(
            division_code__startswith=app.division_code[:6], permit_number__gt=""
        ).count()
        + 1
    )
    return f"教民{app.division_code[:6]}{app.submitted_on.year}{n:04d}"


@transaction.atomic
def application_decide(
    *,
    actor,
    application_id: int,
    approve: bool,
    reason: str,
    checklist: dict | None = None,
    today: date | None = None,
) -> Application:
    """准予 or 不予许可, with a reason. Approving needs every checklist item met (the
    computed ones by their rule); it issues or amends the permit and makes the approving
    department the supervising one."""
    from .institutions import (
        institution_close,
        institution_create,
        institution_set_competent_department,
        institution_update,
        licence_set,
    )

    today = today or timezone.localdate()
    app = _lock_for_review(actor, application_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请写明决定理由"})
    if ApplicationStatus.APPROVED not in APPLICATION_TRANSITIONS[app.status]:
        _move(actor=actor, app=app, to=ApplicationStatus.APPROVED)  # raises
    checklist = checklist or {}
    computed = _computed_checks(app)
    results: dict[str, dict] = {}
    for item, label in CHECKLISTS[app.kind]:
        if item in computed:
            c = computed[item]
            results[item] = {"label": label, "ok": c["ok"], "note": c["note"], "computed": True}
        elif item in checklist:
            results[item] = {"label": label, "ok": bool(checklist[item]), "note": "", "computed": False}
        elif approve:
            raise ValidationError({"checklist": f"请核对审查要点：{label}"})
    if approve:
        failed = [k for k, r in results.items() if not r["ok"]]
        for k in failed:
            if k in computed:
                raise computed[k]["rule"].violation(
                    f"审查要点“{results[k]['label']}”不符合：{results[k]['note']}"
                )
        if failed:
            raise DomainError(
                "checklist_failed",
                "审查要点不符合，不能准予许可：" + "、".join(results[k]["label"] for k in failed),
                {"failed": failed},
                status=422,
            )
    app.checklist = results
    app.decision_reason = reason
    app.decided_on = today
    app.decided_by_id = getattr(actor, "pk", None)
    if approve:
        _apply_approval(
            actor, app, today, institution_create, institution_update, institution_close, licence_set
        )
        if app.institution_id and app.kind != ApplicationKind.CLOSE:
            institution_set_competent_department(
                actor=actor,
                institution_id=app.institution_id,
                department_id=app.department_id,
                reason=f"审批决定 {app.number}：谁审批、谁监管",
            )
    _move(
        actor=actor,
        app=app,
        to=ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED,
        note=reason + (f"(逾期{(today - app.due_on).days}天作出)" if today > app.due_on else ""),
    )
    return app


def _years_after(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _apply_approval(
    actor, app, today, institution_create, institution_update, institution_close, licence_set
):
    p = app.proposed
    issuer = app.department.name
    if app.kind == ApplicationKind.ESTABLISH:
        inst = institution_create(
            actor=actor,
            data={
                "name": p["name"],
                "category": app.category,
                "kind": app.training_kind,
                "division_code": app.division_code,
                "address": p["address"],
                "legal_representative": p["legal_representative"],
                "nature": p["nature"],
                "mode": p["mode"],
                "stages": p["stages"],
                "uscc": p.get("uscc"),
            },
        )
        app.institution = inst
        app.permit_number = _permit_number(app)
    elif app.kind == ApplicationKind.CHANGE:
        changes = dict(p["changes"])
        if "stages" in changes and isinstance(changes["stages"], str):
            changes["stages"] = [s for s in changes["stages"].split(",") if s]
        institution_update(actor=actor, institution_id=app.institution_id, data=changes)
        current = app.institution.licences.filter(kind=LicenceKind.SCHOOL_PERMIT).first()
        app.permit_number = current.number if current else _permit_number(app)
    elif app.kind == ApplicationKind.CLOSE:
        institution_close(actor=actor, institution_id=app.institution_id, reason=f"注销：{app.number}")
        return
    elif app.kind == ApplicationKind.CONVERT_NONPROFIT:
        institution_update(
            actor=actor,
            institution_id=app.institution_id,
            data={"nature": Nature.NON_PROFIT, "nonprofit_conversion": NonprofitConversion.COMPLETED},
        )
        current = app.institution.licences.filter(kind=LicenceKind.SCHOOL_PERMIT).first()
        app.permit_number = current.number if current else _permit_number(app)
    elif app.kind == ApplicationKind.FILING_TO_APPROVAL:
        app.permit_number = _permit_number(app)
    licence_set(
        actor=actor,
        institution_id=app.institution_id,
        kind=LicenceKind.SCHOOL_PERMIT,
        number=app.permit_number,
        issuer=issuer,
        valid_from=today,
        valid_until=_years_after(today, PERMIT_YEARS) - timedelta(days=1),
    )
