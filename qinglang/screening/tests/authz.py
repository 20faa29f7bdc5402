"""Plug-in for the authorization sweep (qinglang/portal/tests/test_authorization.py): in
each world a held course text, a patrol post with a takedown request, and a sweep with a
place and a violation visit."""

from datetime import date


def build_side(*, admin, side, users, which) -> dict[str, object]:
    from qinglang.core.services import department_ensure_for_division
    from qinglang.screening import services
    from qinglang.screening.models import Source

    for code in (side.division[:6], side.township):
        department_ensure_for_division(actor=admin, division_code=code)
    hold = services.text_screen(
        actor=admin,
        source=Source.COURSE,
        object_id=side.course.pk,
        object_name=f"{side.name}课程{side.tag}",
        institution=side.institution,
        texts={"description": f"托管同步拔高，讲解三年级数学应用题{side.tag}"},
    )
    post = services.patrol_record(
        actor=admin,
        data={
            "platform": "wechat_group",
            "text": f"每晚腾讯会议直播讲初二数学几何{side.tag}，扫码进群",
            "seen_on": date.today(),
            "division_code": side.township,
            "operator_name": f"{side.name}工作室",
        },
    )
    takedown = services.takedown_request(actor=admin, post_id=post.pk, reference=f"函{side.tag}")
    sweep = services.sweep_create(
        actor=admin,
        name=f"{side.name}摸排{side.tag}",
        division_code=side.division[:6],
        place_types=["hotel"],
        starts_on=date.today(),
        ends_on=date.today(),
    )
    place = services.sweep_place_add(
        actor=admin,
        sweep_id=sweep.pk,
        data={
            "name": f"{side.name}宾馆{side.tag}",
            "address": "一号",
            "place_type": "hotel",
            "division_code": side.township,
        },
    )
    visit = services.sweep_visit_record(
        actor=admin, place_id=place.pk, outcome="violation", note=f"有学生上课{side.tag}"
    )
    return {"hold": hold, "post": post, "takedown": takedown, "sweep": sweep, "place": place, "visit": visit}


PARAM_RULES = [
    ({"hold_id"}, None, "hold"),
    ({"post_id"}, None, "post"),
    ({"takedown_id"}, None, "takedown"),
    ({"sweep_id"}, None, "sweep"),
    ({"place_id"}, None, "place"),
    ({"visit_id"}, None, "visit"),
]


def markers(side) -> list[str]:
    return [f"{side.name}宾馆{side.tag}", f"函{side.tag}"]


# the review form needs its decision (the sweep's common "approve" is the material review's)
FORM_DATA = {"console/screening/holds/": {"decision": "confirmed"}}
