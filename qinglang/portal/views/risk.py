"""Pages of the risk app: alerts and their handling, an institution's risk (level,
signals with evidence, history, manual signals, runaway), the task force's board with
its .xlsx export and print view, the guardian's phone check-in page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.core.money import format_yuan
from qinglang.risk import selectors, services
from qinglang.risk.exports import board_xlsx
from qinglang.risk.models import ActionKind, AlertStatus, Level
from qinglang.risk.signals import KINDS, MANUAL_LABELS

from ..forms_risk import AlertActForm, AlertCloseForm, CheckinForm, GuardianForm, RiskReportForm, RunawayForm
from .common import can_write, console_required, run_form


@console_required
def alert_list(request):
    status = request.GET.get("status", "open")
    level = request.GET.get("level", "")
    alerts = selectors.alerts_for(
        request.user,
        status=status if status in (*AlertStatus.values, "open") else "open",
        level=level if level in Level.values else "",
    )
    return render(
        request,
        "portal/risk/alerts.html",
        {
            "alerts": alerts[:300],
            "status": status,
            "level": level,
            "statuses": AlertStatus.choices,
            "levels": Level.choices[1:],
            "board": selectors.may_see_board(request.user),
        },
    )


@console_required
def alert_detail(request, alert_id: int):
    alert = selectors.alert_get(request.user, alert_id)
    if request.method == "POST":
        if request.POST.get("action") == "close":
            run_form(
                request,
                AlertCloseForm,
                lambda d: services.alert_close(actor=request.user, alert_id=alert.pk, result=d["result"]),
                "预警已办结",
            )
        else:
            run_form(
                request,
                AlertActForm,
                lambda d: services.alert_act(
                    actor=request.user, alert_id=alert.pk, kind=d["kind"], note=d["note"], due_on=d["due_on"]
                ),
                "处置措施已记录",
            )
        return redirect("portal:risk_alert", alert_id=alert.pk)
    return render(
        request,
        "portal/risk/alert.html",
        {
            "alert": alert,
            "actions": alert.actions.all(),
            "transitions": alert.transitions.order_by("at", "id"),
            "kinds": ActionKind.choices,
            "may_handle": services.may_handle(request.user, alert),
            "signals": alert.explanation.get("signals", []),
        },
    )


@console_required
def institution_risk(request, pk: int):
    data = selectors.institution_risk(request.user, pk)
    inst = data["institution"]
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "runaway":
            plan = run_form(
                request,
                RunawayForm,
                lambda d: services.runaway_mark(
                    actor=request.user, institution_id=inst.pk, reason=d["reason"]
                ),
                "已认定卷款跑路：拨付已暂停，清退方案已生成",
            )
            if plan is not None:
                return redirect("portal:risk_runaway", plan_id=plan.pk)
        elif action == "guardian":
            run_form(
                request,
                GuardianForm,
                lambda d: services.guardian_assign(
                    actor=request.user, institution_id=inst.pk, unit=d["unit"], user_id=d["user_id"]
                ),
                "已指定包保责任人",
            )
        else:
            run_form(
                request,
                RiskReportForm,
                lambda d: services.report_create(
                    actor=request.user,
                    institution_id=inst.pk,
                    kind=d["kind"],
                    reporter_unit=d["reporter_unit"],
                    observed_on=d["observed_on"],
                    evidence=d["evidence"],
                    photo=d["photo"],
                ),
                "风险信号已报送，将计入次日评分",
            )
        return redirect("portal:risk_institution", pk=inst.pk)
    candidates = []
    if services.is_task_force(request.user, inst.division_code):
        candidates = (
            Membership.objects.filter(
                active=True,
                role__in=[Role.REGULATOR_LEADER, Role.REGULATOR_OFFICER, Role.INSPECTOR, Role.GRID_WORKER],
            )
            .select_related("user")
            .order_by("user_id")[:200]
        )
        candidates = [
            m.user
            for m in candidates
            if any(inst.division_code.startswith(x) for x in m.division_prefixes or [])
        ]
    # the latest score's reasons: each signal's threshold and weight rules, the reports' days
    explained = data["history"][0].explanation if data["history"] else {}
    return render(
        request,
        "portal/risk/institution.html",
        {
            **data,
            "explained": {e["kind"]: e for e in explained.get("signals", [])},
            "reports_cited": explained.get("reports_cited"),
            "labels": KINDS,
            "manual_kinds": MANUAL_LABELS.items(),
            "can_write": can_write(request.user),
            "task_force": services.is_task_force(request.user, inst.division_code),
            "candidates": candidates,
        },
    )


def _board(request):
    if not selectors.may_see_board(request.user):
        raise PermissionDenied(_("风险看板仅向维稳专班开放"))
    return selectors.board(request.user)


@console_required
def board(request):
    return render(request, "portal/risk/board.html", {**_board(request), "yuan": format_yuan})


@console_required
def board_print(request):
    return render(request, "portal/risk/board_print.html", _board(request))


@console_required
def board_export(request):
    _board(request)
    resp = HttpResponse(
        board_xlsx(request.user),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = "attachment; filename*=UTF-8''%E9%A3%8E%E9%99%A9%E7%9C%8B%E6%9D%BF.xlsx"
    return resp


@console_required
def runaway_plan(request, plan_id: int):
    rp = selectors.runaway_get(request.user, plan_id)
    return render(
        request,
        "portal/risk/runaway.html",
        {
            "plan": rp,
            "orders": selectors.runaway_orders(request.user, rp),
            "parents": selectors.may_see_parents(request.user, rp),
        },
    )


@login_required
def my_guardianships(request):
    return render(
        request, "portal/risk/guardianships.html", {"guardians": selectors.my_guardianships(request.user)}
    )


@login_required
def checkin(request, guardian_id: int):
    g = selectors.guardian_get(request.user, guardian_id)
    if request.method == "POST":
        done = run_form(
            request,
            CheckinForm,
            lambda d: services.checkin_record(
                actor=request.user,
                guardian_id=g.pk,
                visited_on=d["visited_on"],
                seen=d["seen"],
                photos=request.FILES.getlist("photos"),  # files: checked by content in the service
            ),
            "走访已记录",
        )
        if done is not None:
            return redirect("portal:risk_guardianships")
        return redirect("portal:risk_checkin", guardian_id=g.pk)
    return render(request, "portal/risk/checkin.html", {"g": g, "checkins": g.checkins.all()[:10]})
