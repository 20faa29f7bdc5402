"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): in each
world the institution is orange (an alert for its department, a guardian), and a second
institution has run away (its refund plan)."""

from django.utils import timezone

PARAM_RULES = [
    ({"alert_id"}, None, "risk_alert"),
    ({"guardian_id"}, None, "risk_guardian"),
    ({"plan_id"}, None, "risk_plan"),
]


def build_side(*, admin, side, users, which) -> dict:
    from qinglang.accounts.models import Role
    from qinglang.risk import services
    from qinglang.risk.models import Alert
    from qinglang.risk.scoring import score_day
    from qinglang.testing import make_institution, make_user

    from .factories import clue, report

    inst, day = side.institution, timezone.localdate()
    report(inst, kind="head_unreachable", observed_on=day, evidence="负责人电话关机三天", unit="街道")
    for _ in range(2):
        clue(inst, day=day, category="runaway", summary="交了学费，门店关门")
    score_day(day)
    guardian_user = (
        users["grid_worker"] if which == "A" else make_user(Role.GRID_WORKER, prefixes=[side.division[:6]])
    )
    g = services.guardian_assign(
        actor=admin, institution_id=inst.pk, unit=f"{side.name}街道办{side.tag}", user_id=guardian_user.pk
    )
    gone = make_institution(admin, division_code=side.division, name=f"{side.name}跑路机构{side.tag}")
    plan = services.runaway_mark(actor=admin, institution_id=gone.pk, reason=f"人去楼空{side.tag}")
    return {"risk_alert": Alert.objects.get(institution=inst), "risk_guardian": g, "risk_plan": plan}


def markers(side) -> list[str]:
    return [f"{side.name}街道办{side.tag}", f"人去楼空{side.tag}"]


def audit_ids(side) -> dict:
    return {"risk.alert": side.extra["risk_alert"], "risk.guardian": side.extra["risk_guardian"]}
