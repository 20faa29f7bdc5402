"""Regulator console of prepaid-fee custody (监管端): custody overview of the scope by
township and competent department with the coverage rate; an institution's fund page
(balances, ledger history, freeze/unfreeze of releases, pro-rata refund for a closed,
banned or runaway institution); reconciliation differences to resolve."""

import secrets
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.core.models import DepartmentKind
from qinglang.funds import selectors, services
from qinglang.funds.models import CustodyAccount
from qinglang.portal.templatetags.portal_tags import division_name
from qinglang.registry.models import InstitutionStatus

from ..forms_funds import (
    DepositForm,
    FreezeForm,
    ReasonForm,
    ReasonTextForm,
    ResolveForm,
    WeekForm,
    form_errors,
)
from ..paging import paginate
from .common import can_write, console_required, run_action, run_form, safe_next
from .exports import export_response

PER_PAGE = 50
DEPARTMENT_NAMES = dict(DepartmentKind.choices)
# A pro-rata refund is for an institution that can no longer serve its learners.
PRO_RATA_STATUSES = {InstitutionStatus.CLOSED, InstitutionStatus.BANNED, InstitutionStatus.RUNAWAY}


def division_label(code: str) -> str:
    name = division_name(code)
    return name.split("区", 1)[-1] if name != code and "区" in name else name


@console_required
def funds_overview(request):
    form = WeekForm(request.GET or None)
    day = form.cleaned_data.get("week") if form.is_valid() else None
    day = day or timezone.localdate()
    week_start = day - timedelta(days=day.weekday())
    if request.GET.get("export") == "accounts":
        return export_response(request, "accounts")
    if request.GET.get("export") == "orders":
        return export_response(request, "orders")
    ov = selectors.custody_overview(actor=request.user, week_start=week_start)
    for r in ov["by_department"]:
        r["label"] = DEPARTMENT_NAMES.get(r["group"] or "", r["group"] or "未定")
    chart = {
        "labels": [division_label(r["group"] or "") for r in ov["by_township"]],
        "held": [round(r["held_fen"] / 100, 2) for r in ov["by_township"]],
        "declared": [round(r["declared_fen"] / 100, 2) for r in ov["by_township"]],
    }
    accounts = selectors.custody_institutions(actor=request.user)
    page = paginate(request, accounts, PER_PAGE)
    return render(
        request,
        "portal/funds/console_overview.html",
        {
            "form": form,
            "week_start": week_start,
            "ov": ov,
            "chart_json": chart,
            "page": page,
        },
    )


@console_required
def funds_institution(request, pk: int):
    data = selectors.institution_funds(actor=request.user, institution_id=pk, limit=200)
    inst = data["institution"]
    orders = selectors.order_list(actor=request.user, institution_id=inst.pk)[:50]
    return render(
        request,
        "portal/funds/console_institution.html",
        {
            **data,
            "inst": inst,
            "orders": orders,
            "can_write": can_write(request.user),
            "pro_rata_allowed": inst.status in PRO_RATA_STATUSES,
            "reason_form": ReasonForm(),
            "deposit_form": DepositForm(initial={"token": secrets.token_hex(16)}),
        },
    )


def _in_scope(request, pk: int) -> None:
    selectors.institution_get(actor=request.user, institution_id=pk)


@console_required
@require_POST
def funds_freeze(request, pk: int):
    _in_scope(request, pk)
    ops = {
        "freeze": (services.releases_freeze, "已暂停拨付：此后消课不再从监管账户拨付，退费照常"),
        "unfreeze": (services.releases_unfreeze, "已恢复拨付，暂停期间的消课款已补拨"),
    }
    run_form(
        request,
        FreezeForm,
        lambda d: ops[d["op"]][0](actor=request.user, institution_id=pk, reason=d["reason"]),
        lambda d: ops[d["op"]][1],
    )
    return redirect("portal:funds_institution", pk=pk)


@console_required
@require_POST
def funds_pro_rata(request, pk: int):
    _in_scope(request, pk)

    out: dict = {}

    def act(d):
        if not CustodyAccount.objects.filter(institution_id=pk).exists():
            raise ValidationError(_("该机构没有监管账户"))
        out.update(services.refund_pro_rata(actor=request.user, institution_id=pk, reason=d["reason"]))
        return out

    if run_form(request, ReasonTextForm, act, "已按比例向全部学员退还剩余预收费"):
        messages.info(
            request,
            f"涉及订单 {out['orders']} 笔，应退 {out['claims_fen'] / 100:.2f} 元，"
            f"实退 {out['refunded_fen'] / 100:.2f} 元",
        )
    return redirect("portal:funds_institution", pk=pk)


@console_required
def funds_differences(request):
    resolved = request.GET.get("resolved") == "1"
    qs = selectors.difference_list(actor=request.user, resolved=resolved)
    page = paginate(request, qs, PER_PAGE)
    return render(
        request,
        "portal/funds/console_differences.html",
        {
            "page": page,
            "resolved": resolved,
            "query": "resolved=1" if resolved else "",
            "form": ResolveForm(),
            "can_write": can_write(request.user),
        },
    )


@console_required
@require_POST
def funds_difference_resolve(request, difference_id: int):
    if not selectors.difference_list(actor=request.user).filter(pk=difference_id).exists():
        raise Http404(_("差异不存在或无权查看"))
    form = ResolveForm(request.POST)

    def act():
        if not form.is_valid():
            raise form_errors(form, {"resolution": "请填写处理说明"})
        services.difference_resolve(
            actor=request.user,
            difference_id=difference_id,
            resolution=form.cleaned_data["resolution"],
            correction_fen=form.correction_fen(),
        )

    run_action(request, act, "对账差异已处理")
    return safe_next(request, "portal:funds_differences")
