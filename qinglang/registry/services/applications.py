"""Approvals — who approves supervises (谁审批、谁监管). An application (establish, change,
close, 营转非, 备改审) is submitted with its documents (types judged by content), reviewed
by the competent department of the county against a checklist per kind, sent back for
correction or decided with a reason within ``approval.decision_days`` working days; an
approval issues or amends the school permit and makes the approver the supervising
department. ``subject.new_approvals_allowed`` refuses new subject-type applications."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.accounts.permissions import REGULATOR_WRITERS
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import files as file_store
from qinglang.core.audit import audit_record
from qinglang.core.calendar import add_working_days
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.files import DOCX, EXTENSIONS
from qinglang.core.policy import policy_resolve
from qinglang.core.services import department_ensure_for_division

from ..models import (
    APPLICATION_STATES,
    CATEGORY_KINDS,
    Application,
    ApplicationDocument,
    ApplicationKind,
    ApplicationStatus,
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    LicenceKind,
    Mode,
    Nature,
    NonprofitConversion,
)
from ..supervision import competent_department_for
from .common import check_division

__all__ = [
    "APPLICATION_FIELDS",
    "CHANGE_FIELDS",
    "CHECKLISTS",
    "REQUIRED_DOCUMENTS",
    "application_decide",
    "application_draft_save",
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
    """Read an upload through the core file store's check; refuse it unless its content
    is a PDF, a photo or a Word file (the error keyed by the document)."""
    label = DOC_LABELS.get(doc_type, doc_type)
    try:
        c = file_store.check_upload(
            f,
            allowed=DOCUMENT_TYPES,
            max_bytes=MAX_DOCUMENT_BYTES,
            what=label,
            kinds="PDF、JPEG/PNG照片、Word文档",
        )
    except DomainError as exc:
        raise ValidationError({doc_type: exc.message}) from exc
    return Document(doc_type, c.name, c.content_type, c.data, c.sha256)


def _check_documents(
    files: dict, *, required: list[str], held: frozenset[str] = frozenset()
) -> list[Document]:
    unknown = sorted(set(files) - set(DOC_LABELS))
    if unknown:
        raise ValidationError({"documents": f"未知的材料类型：{'、'.join(unknown)}"})
    missing = [d for d in required if d not in files and d not in held]
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


def _save_documents(app: Application, docs: list[Document], actor, created: list[str]) -> None:
    """Store each document in the core file store (content-addressed) and record it; the
    files this write created are listed in ``created`` for ``_undo_files``."""
    for d in docs:
        rel, _, new = file_store.store(
            d.data, folder="applications", suffix=f".{EXTENSIONS.get(d.content_type, 'bin')}"
        )
        if new:
            created.append(rel)
        ApplicationDocument.objects.create(
            application=app,
            doc_type=d.doc_type,
            original_name=d.name,
            content_type=d.content_type,
            size=len(d.data),
            sha256=d.sha256,
            path=rel,
            uploaded_by_id=getattr(actor, "pk", None),
        )


@contextmanager
def _undo_files():
    """Files stored by a write that then fails are removed again (nothing half-written)."""
    created: list[str] = []
    try:
        yield created
    except BaseException:
        for rel in created:
            file_store.discard(rel)
        raise


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
    raise PermissionDeniedError("无权提交该申请")


def _move(*, actor, app: Application, to: str, note: str = "", fields=()) -> None:
    APPLICATION_STATES.move(app, to, actor=actor, reason=note, fields=fields, division_code=app.division_code)


def _resolve(kind: str, data: dict) -> tuple[Institution | None, str, str, str]:
    """(institution, category, training kind, division) an application concerns."""
    if kind not in ApplicationKind.values:
        raise ValidationError({"kind": f"未知的申请事项：{kind}"})
    if kind == ApplicationKind.ESTABLISH:
        category, training_kind = data.get("category") or "", data.get("kind") or ""
        if category not in InstitutionCategory.values:
            raise ValidationError({"category": f"未知类别：{category}"})
        if training_kind not in CATEGORY_KINDS[category]:
            raise ValidationError({"kind": "培训类型与类别不符"})
        return None, category, training_kind, check_division(data.get("division_code") or "").code
    inst = Institution.objects.filter(pk=data.get("institution_id") or 0).first()
    if inst is None:
        raise NotFound("机构")
    return inst, inst.category, inst.kind, inst.division_code


def _department(actor, training_kind: str, division_code: str):
    dept = competent_department_for(training_kind, division_code)
    if dept is None:
        department_ensure_for_division(actor="system", division_code=division_code[:6])
        dept = competent_department_for(training_kind, division_code)
    if dept is None:
        raise DomainError("no_department", "该区县尚未设置主管部门，无法受理", status=409)
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
        raise NotFound("草稿")
    if app.submitted_by_id != getattr(actor, "pk", None) and not actor_for(actor).is_platform_admin:
        raise NotFound("草稿")
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
        raise DomainError("institution_closed", "机构已关停或取缔，不能再提出申请", status=409)
    if category == InstitutionCategory.SUBJECT and kind in (
        ApplicationKind.ESTABLISH,
        ApplicationKind.FILING_TO_APPROVAL,
    ):
        rule = policy_resolve("subject.new_approvals_allowed", division_code, on=today)
        if not rule.value:
            raise rule.violation(
                f"不再受理学科类校外培训机构{ApplicationKind(kind).label}申请", kind=kind, category=category
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
        raise DomainError("application_pending", "该机构已有在办的申请", status=409)
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
    _move(actor=actor, app=app, to=ApplicationStatus.CORRECTING, note=note, fields=["correction_note"])
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
        raise NotFound("申请")
    _may_submit(actor, app.kind, app.division_code, app.institution, app=app)
    _move(actor=actor, app=app, to=ApplicationStatus.WITHDRAWN, note=(reason or "申请人撤回").strip())
    return app


def _sqm(value) -> str:
    return "不限" if value is None else f"{float(value):g}"


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
            "note": f"生均{per:.2f}平方米(下限{_sqm(rule.value)})",
            "rule": rule,
        }
    if (
        app.kind in (ApplicationKind.ESTABLISH, ApplicationKind.FILING_TO_APPROVAL)
        and app.category == InstitutionCategory.SUBJECT
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
    APPLICATION_STATES.check(app.status, ApplicationStatus.APPROVED)
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
        fields=[
            "checklist",
            "decision_reason",
            "decided_on",
            "decided_by_id",
            "institution",
            "permit_number",
        ],
    )
    _notify_decided(app, approve, reason, actor)
    return app


def _notify_decided(app, approve: bool, reason: str, actor) -> None:
    """The applicant and the institution's accounts hear the decision once it commits."""
    from django.urls import reverse

    from qinglang.accounts.notifications import institution_users, notify_on_commit

    link = reverse("portal:org_applications", args=[app.institution_id]) if app.institution_id else ""
    notify_on_commit(
        [app.submitted_by_id, *institution_users(app.institution_id)],
        kind=f"approval.{'approved' if approve else 'rejected'}",
        title=f"申请{app.number}{'准予许可' if approve else '不予许可'}",
        body=f"决定理由：{reason}",
        link=link,
        actor=actor,
        division_code=app.division_code,
        about=("registry.application", app.pk),
    )


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
