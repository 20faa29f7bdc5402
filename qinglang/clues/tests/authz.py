"""Plug-in for the authorization sweep (qinglang/portal/tests/test_authorization.py): a clue
(with a named reporter), an Open311 token and a whistle in each world."""

from dataclasses import dataclass

from qinglang.core.services import department_ensure_for_division

PARAM_RULES = [
    ({"clue_id"}, None, "clue"),
    ({"service_request_id"}, None, "clue"),
    # 并案: the case kept (the side's own clue; merging a case into itself is refused in
    # the handler, so an in-scope writer reaches it)
    ({"into_id"}, None, "clue"),
    ({"token"}, {"tokens"}, "open311_token"),
    ({"whistle_id"}, None, "whistle"),
    ({"run_id"}, None, "retriage_run"),
]


@dataclass
class TokenRef:
    pk: str


def _reporter(tag: str) -> tuple[str, str]:
    # B's reporter's name and phone must never appear in any response but the admin's
    return (f"举报人{tag}", "13911112222" if tag.startswith("ZETA") else "13611113333")


def build_side(*, admin, side, users, which) -> dict[str, object]:
    from qinglang.clues import services
    from qinglang.clues.models import ClueReport

    for code in (side.division[:6], side.township):
        department_ensure_for_division(actor=admin, division_code=code)
    name, phone = _reporter(side.tag)
    rep = services.clue_report_submit(
        actor=admin,
        submission=services.Submission(
            channel="web",
            content=f"{side.name}机构{side.tag}教室没有灭火器，安全出口被堵",
            division_code=side.township,
            institution_name=side.institution.name,
            uscc=side.institution.uscc,
            address=side.institution.address,
            reporter_name=name,
            reporter_phone=phone,
        ),
    )
    ClueReport.objects.filter(pk=rep.pk).update(open311_token=f"{side.tag}TOK")
    whistle = services.whistle_raise(
        actor=admin,
        division_code=side.township,
        title=f"{side.name}吹哨{side.tag}",
        problem="疑似无证培训，需多部门联合处置",
        department_kinds=["education", "market_regulation"],
    )
    from qinglang.clues.models import RetriageRun, RetriageStatus

    run = RetriageRun.objects.create(  # a proposed run: its page, its apply (refused for B)
        division_code=side.township,
        status=RetriageStatus.PROPOSED,
        clues=1,
        proposals=[
            {
                "n": 0,
                "kind": "reclassify",
                "clue": rep.clue.pk,
                "reference": rep.clue.reference,
                "summary": rep.clue.summary[:80],
                "old": rep.clue.category,
                "new": "other",
                "confidence": 0.9,
            }
        ],
    )
    return {
        "clue": rep.clue,
        "open311_token": TokenRef(f"{side.tag}TOK"),
        "whistle": whistle,
        "retriage_run": run,
    }


def markers(side) -> list[str]:
    name, phone = _reporter(side.tag)
    return [name, phone, f"{side.tag}TOK"]


def audit_ids(side) -> dict[str, object]:
    return {
        "clues.clue": side.extra["clue"],
        "clues.whistle": side.extra["whistle"],
        "clues.retriagerun": side.extra["retriage_run"],
    }
