"""Pages of penalty cases: the regulator's case list and case page (file, investigate,
decide with penalties, close, publish), and the public typical cases."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from qinglang.enforcement import selectors, services
from qinglang.enforcement.models import CASE_STATES, CaseStatus, CaseType, Gravity, Origin, PenaltyKind
from qinglang.enforcement.services import MONEY_KINDS

from .common import can_write, console_required, run_action
from .exports import export_response, wants_export


def _fen(v: str) -> int:
    try:
        return round(float(v or 0) * 100)
    except ValueError:
        return -1


def _yuan(v: str | None) -> int | None:
    """Yuan as typed (at most two decimals, not negative) to fen; None when malformed."""
    from decimal import Decimal, InvalidOperation

    v = (v or "").strip().replace(",", "").replace("，", "")
    if not v:
        return 0
    try:
        d = Decimal(v)
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0 or d != d.quantize(Decimal("0.01")):
        return None
    return int(d * 100)


def _yuan_text(fen: int | None) -> str:
    return f"{(fen or 0) / 100:,.2f}"


def _decide(request, case, p) -> None:
    kinds = p.getlist("penalties")
    penalties = []
    for k in kinds:
        amount = _yuan(p.get(f"amount_{k}")) if k in MONEY_KINDS else 0
        if amount is None:
            label = dict(PenaltyKind.choices).get(k, k)
            messages.error(request, f"操作未完成：{label}金额格式不正确(单位元，最多两位小数，不能为负数)")
            return
        penalties.append({"kind": k, "amount_fen": amount})
    refunded = _yuan(p.get("refunded_yuan")) if (p.get("refunded_yuan") or "").strip() else None
    if (p.get("refunded_yuan") or "").strip() and refunded is None:
        messages.error(request, "操作未完成：已退费金额格式不正确(单位元，最多两位小数，不能为负数)")
        return
    gravity = p.get("gravity") or Gravity.ORDINARY
    if gravity not in Gravity.values:
        messages.error(request, "操作未完成：请选择情节")
        return
    run_action(
        request,
        lambda: services.case_decide(
            actor=request.user,
            case_id=case.pk,
            penalties=penalties,
            reasoning=p.get("reasoning", ""),
            gravity=gravity,
            blacklist=p.get("blacklist") == "1",
            refunded_fen=refunded,
        ),
        "处罚决定已作出并生效",
    )


@console_required
def case_list(request):
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied("无权立案")
        p = request.POST
        holder = {}
        try:
            inst_id = int(p.get("institution_id") or 0)
        except ValueError:
            inst_id = 0
        ok = run_action(
            request,
            lambda: holder.setdefault(
                "c",
                services.case_file(
                    actor=request.user,
                    institution_id=inst_id,
                    case_type=p.get("case_type", ""),
                    origin=p.get("origin", Origin.INSPECTION),
                    facts=p.get("facts", ""),
                    illegal_gains_fen=max(0, _fen(p.get("illegal_gains_yuan"))),
                ),
            ),
            "已立案",
        )
        if ok:
            return redirect("portal:case_detail", case_id=holder["c"].pk)
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
        p = request.POST
        action = p.get("action")
        if action == "investigate":
            run_action(
                request,
                lambda: services.case_start_investigation(actor=request.user, case_id=case.pk),
                "已转入调查取证",
            )
        elif action == "evidence":
            run_action(
                request,
                lambda: services.case_add_evidence(
                    actor=request.user,
                    case_id=case.pk,
                    description=p.get("description", ""),
                    upload=request.FILES.get("file"),
                ),
                "证据已登记",
            )
        elif action == "decide":
            _decide(request, case, p)
        elif action == "close":
            run_action(request, lambda: services.case_close(actor=request.user, case_id=case.pk), "已结案")
        elif action == "withdraw":
            run_action(
                request,
                lambda: services.case_withdraw(
                    actor=request.user, case_id=case.pk, reason=p.get("reason", "")
                ),
                "已撤销立案",
            )
        elif action == "publish":
            run_action(
                request,
                lambda: services.case_publish(
                    actor=request.user,
                    case_id=case.pk,
                    title=p.get("title", ""),
                    summary=p.get("summary", ""),
                ),
                "已作为典型案例公开",
            )
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:case_detail", case_id=case.pk)
    return render(
        request,
        "portal/enforcement/case.html",
        {
            "case": case,
            "decision": getattr(case, "decision", None) if case.status in ("decided", "closed") else None,
            "transitions": case.transitions.all(),
            "next_statuses": [v for v, _ in CASE_STATES.allowed(case)],
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
        },
    )


def public_typical_cases(request):
    return render(
        request, "portal/enforcement/public_cases.html", {"cases": selectors.public_typical_cases()[:100]}
    )
