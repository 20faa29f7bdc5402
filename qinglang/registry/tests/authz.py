"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): the
registry's applications and practice bans in both worlds."""

from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum.cn import ric

from qinglang.registry import services

PARAM_RULES = [
    ({"application_id"}, None, "application"),
    ({"ban_id"}, None, "ban"),
]


def _rid(which: str) -> str:
    body = "110105" + "19850101" + ("123" if which == "A" else "456")
    return body + ric.calc_check_digit(body + "0")


def build_side(*, admin, side, users, which) -> dict:
    tag = side.tag
    app = services.application_submit(
        actor=admin,
        kind="change",
        data={"institution_id": side.institution.pk, "changes": {"name": f"变更名{tag}"}},
        files={
            d: SimpleUploadedFile(f"{d}.pdf", b"%PDF-1.4\n") for d in services.REQUIRED_DOCUMENTS["change"]
        },
    )
    ban = services.practice_ban_enter(
        actor=admin,
        resident_id=_rid(which),
        name=f"禁{tag}",
        authority="教育局",
        decision_no=f"罚{tag}",
        basis=f"依据{tag}",
        division_code=side.division[:6],
        starts_on=app.submitted_on,
    )
    # a timetable line ending late: the line and its training-hours violation
    services.slot_create(
        actor=admin,
        course_id=side.course.pk,
        data={
            "weekday": 3,
            "starts_at": "20:00",
            "ends_at": "21:00",
            "term_start": "2026-09-07",
            "term_end": "2026-12-31",
        },
    )
    return {"application": app, "ban": ban}


def markers(side) -> list[str]:
    return [f"变更名{side.tag}", f"罚{side.tag}"]


def audit_ids(side) -> dict:
    return {"registry.application": side.extra["application"], "registry.practiceban": side.extra["ban"]}
