"""Pages of penalty cases: the regulator's case list and case page (file, investigate,
decide with penalties, close, publish), and the public typical cases."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from qinglang.core.errors import NotFound
from qinglang.enforcement import selectors, services
from qinglang.enforcement.models import CASE_STATES, CaseStatus, CaseType, Gravity, Origin, PenaltyKind
from qinglang.enforcement.services import MONEY_KINDS
from qinglang.inspections import selectors as inspection_selectors
from qinglang.registry.models import InstitutionStatus

from ..forms_enforcement import CaseFileForm, DecideForm, EvidenceForm, PublishForm, WithdrawCaseForm
from .common import can_write, console_required, run_action, run_form
from .exports import export_response, wants_export

CASE_OPEN = (CaseStatus.FILED, CaseStatus.INVESTIGATING)


def _yuan_text(fen: int | None) -> str:
    return f"{(fen or 0) / 100:,.2f}"


def _effect_text(e: dict) -> str:
    """A decision's effect as people read it (the decision keeps codes)."""
    kind = e.get("effect")
    if kind == "status":
        labels = dict(InstitutionStatus.choices)
        return gettext("机构状态：%(old)s → %(new)s") % {
            "old": labels.get(e.get("from"), e.get("from")),
            "new": labels.get(e.get("to"), e.get("to")),
        }
    if kind == "funds_freeze":
        if e.get("applied"):
            return gettext("已冻结资金拨付")
        return gettext("冻结资金拨付未执行：%(why)s") % {"why": e.get("why", "")}
    text = {
        "whitelist_remove": gettext("已移出白名单"),
        "blacklist_add": gettext("已列入黑名单"),
        "practice_ban": gettext("已列入限制从业名单"),
    }.get(kind)
    return text or gettext("其他措施")


def _file(user, d: dict):
    inst_id = inspection_selectors.institution_by_ref(actor=user, ref=d["ref"])
    if inst_id is None:
        raise NotFound(_("机构"))
    return services.case_file(
        actor=user,
        institution_id=inst_id,
        case_type=d["case_type"],
        origin=d["origin"] or Origin.INSPECTION,
        facts=d["facts"],
        illegal_gains_fen=d["illegal_gains_fen"],
    )


# action -> (form, service call, success message); None: the action takes no input
CASE_ACTIONS = {
    "investigate": (
        None,
        lambda user, cid, d: services.case_start_investigation(actor=user, case_id=cid),
        "已转入调查取证",
    ),
    "evidence": (
        EvidenceForm,
        lambda user, cid, d: services.case_add_evidence(
            actor=user, case_id=cid, description=d["description"], upload=d["file"]
        ),
        "证据已登记",
    ),
    "decide": (
        DecideForm,
        lambda user, cid, d: services.case_decide(
            actor=user,
            case_id=cid,
            penalties=d["penalty_rows"],
            reasoning=d["reasoning"],
            gravity=d["gravity"],
            blacklist=d["blacklist"],
            refunded_fen=d["refunded_fen"],
            banned=d["banned"],
            ban_ends_on=d["ban_ends_on"],
        ),
        "处罚决定已作出并生效",
    ),
    "close": (None, lambda user, cid, d: services.case_close(actor=user, case_id=cid), "已结案"),
    "withdraw": (
        WithdrawCaseForm,
        lambda user, cid, d: services.case_withdraw(actor=user, case_id=cid, reason=d["reason"]),
        "已撤销立案",
    ),
    "publish": (
        PublishForm,
        lambda user, cid, d: services.case_publish(
            actor=user, case_id=cid, title=d["title"], summary=d["summary"]
        ),
        "已作为典型案例公开",
    ),
}


@console_required
def case_list(request):
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权立案"))
        c = run_form(request, CaseFileForm, lambda d: _file(request.user, d), "已立案")
        if c is not None:
            return redirect("portal:case_detail", case_id=c.pk)
        return redirect("portal:case_list")
    status = request.GET.get("status", "")
    cases = selectors.case_list(actor=request.user, status=status if status in CaseStatus.values else "")
    if wants_export(request):
        return export_response(request, "cases")
    return render(
        request,
        "portal/enforcement/cases.html",
        {
            "cases": cases[:200],
            "status": status,
            "statuses": CaseStatus.choices,
            "types": CaseType.choices,
            "origins": Origin.choices,
            "can_write": can_write(request.user),
        },
    )


@console_required
def case_detail(request, case_id: int):
    case = selectors.case_get(actor=request.user, case_id=case_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in CASE_ACTIONS:
            form_class, fn, done = CASE_ACTIONS[action]
            if form_class is None:
                run_action(request, lambda: fn(request.user, case.pk, {}), done)
            else:
                run_form(request, form_class, lambda d: fn(request.user, case.pk, d), done)
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:case_detail", case_id=case.pk)
    decision = getattr(case, "decision", None) if case.status in ("decided", "closed") else None
    return render(
        request,
        "portal/enforcement/case.html",
        {
            "case": case,
            "decision": decision,
            "effects": [_effect_text(e) for e in decision.effects] if decision else [],
            "transitions": case.transitions.all(),
            "next_statuses": [v for v, _label in CASE_STATES.allowed(case)],
            "evidence": case.evidence.select_related("file"),
            "kinds": [(v, label, v in MONEY_KINDS) for v, label in PenaltyKind.choices],
            "gravities": Gravity.choices,
            "gains_yuan": _yuan_text(case.illegal_gains_fen),
            "refunded_yuan": _yuan_text(case.refunded_fen),
            "net_yuan": _yuan_text(max(0, case.illegal_gains_fen - (case.refunded_fen or 0))),
            "ladder": [
                (Gravity(g).label, _yuan_text(lo), _yuan_text(hi))
                for g, (lo, hi) in services.FINE_LADDER.items()
            ],
            "can_write": can_write(request.user),
            "staff": case.institution.staff.order_by("name")[:200] if case.status in CASE_OPEN else [],
        },
    )


def public_typical_cases(request):
    return render(
        request, "portal/enforcement/public_cases.html", {"cases": selectors.public_typical_cases()[:100]}
    )
