"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): a case
in each world; A's is decided (a warning) and published as a typical case, B's is only
filed, so it never reaches the public site."""

from qinglang.enforcement import services

PARAM_RULES = [({"case_id"}, None, "case")]


def build_side(*, admin, side, users, which) -> dict:
    tag = side.tag
    case = services.case_file(
        actor=admin,
        institution_id=side.institution.pk,
        case_type="disguised_training",
        origin="inspection",
        facts=f"{side.name}以托管名义开展学科类培训{tag}",
    )
    if which == "A":
        services.case_decide(
            actor=admin, case_id=case.pk, penalties=[{"kind": "warning"}], reasoning=f"情节轻微{tag}"
        )
        services.case_publish(
            actor=admin, case_id=case.pk, title=f"{side.name}典型案例{tag}", summary=f"案情{tag}"
        )
    return {"case": case}


def markers(side) -> list[str]:
    return [side.extra["case"].number]


def audit_ids(side) -> dict:
    return {"enforcement.penaltycase": side.extra["case"]}
