"""The review of an application by the approving department: a request for correction
(一次性告知补正), and the decision (准予 or 不予许可) against the checklist of its kind, which
issues or amends the school permit and makes the approver the supervising department
(谁审批、谁监管)."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import REGULATOR_WRITERS
from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.policy import policy_resolve

from ..models import (
    APPLICATION_STATES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    InstitutionCategory,
    LicenceKind,
    Nature,
    NonprofitConversion,
)
from .applications import _move

__all__ = ["CHECKLISTS", "application_decide", "application_request_correction"]


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


PERMIT_YEARS = 3


def _lock_for_review(actor, application_id: int) -> Application:
    app = (
        Application.objects.select_for_update().select_related("department").filter(pk=application_id).first()
    )
    if app is None:
        raise NotFound(gettext_lazy("申请"))
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
        raise PermissionDeniedError(gettext_lazy("仅审批部门可以审查该申请"))
    raise NotFound(gettext_lazy("申请"))


@transaction.atomic
def application_request_correction(*, actor, application_id: int, note: str) -> Application:
    """一次性告知补正: the time limit restarts when the corrected application comes back."""
    app = _lock_for_review(actor, application_id)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": gettext_lazy("请写明需要补正的内容")})
    app.correction_note = note
    _move(actor=actor, app=app, to=ApplicationStatus.CORRECTING, note=note, fields=["correction_note"])
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


def _late(app: Application, today: date) -> str:
    """A decision after its time limit says so, naming the rule that set the limit (the
    figure in force on the day the application was received); on time: nothing."""
    if today <= app.due_on:
        return ""
    rule = policy_resolve("approval.decision_days", app.division_code, on=app.submitted_on)
    return f"({rule.sentence(f'逾期{(today - app.due_on).days}天作出')})"


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
        raise ValidationError({"reason": gettext_lazy("请写明决定理由")})
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
            raise ValidationError(
                {"checklist": format_lazy(gettext_lazy("请核对审查要点：{label}"), label=label)}
            )
    if approve:
        failed = [k for k, r in results.items() if not r["ok"]]
        for k in failed:
            if k in computed:
                raise computed[k]["rule"].violation(
                    format_lazy(
                        gettext_lazy("审查要点“{label}”不符合：{note}"),
                        label=results[k]["label"],
                        note=results[k]["note"],
                    )
                )
        if failed:
            raise DomainError(
                "checklist_failed",
                format_lazy(
                    gettext_lazy("审查要点不符合，不能准予许可：{failed}"),
                    failed="、".join(str(results[k]["label"]) for k in failed),
                ),
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
        note=reason + _late(app, today),
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
