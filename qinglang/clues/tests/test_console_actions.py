"""The handler's actions on the clue page (portal/views/clues.py: one form per action):
each posted form reaches its service, a refused or malformed post changes nothing and
says why in Chinese."""

import pytest
from django.test import Client

from qinglang.clues import services
from qinglang.clues.models import Clue, ClueStatus
from qinglang.core.models import AuditEvent
from qinglang.testing import TOWNSHIP

pytestmark = pytest.mark.django_db


def _lead(officer, institution, text="暗访发现超纲教学，三年级讲初中数学"):
    rep = services.clue_lead_create(
        actor=officer,
        submission=services.Submission(
            channel="covert_visit", content=text, division_code=TOWNSHIP, uscc=institution.uscc
        ),
    )
    return Clue.objects.get(pk=rep.clue_id)


def _post(c, clue, data) -> str:
    r = c.post(f"/console/clues/{clue.pk}/", data, follow=True)
    assert r.status_code == 200
    return " ".join(str(m) for m in r.context["messages"])


def _state(clue):
    clue.refresh_from_db()
    return (clue.status, clue.category, clue.finding, clue.substantiated, AuditEvent.objects.count())


def test_a_clue_is_handled_to_its_end_through_the_page(officer, institution):
    clue = _lead(officer, institution)
    c = Client()
    c.force_login(officer)
    assert "已受理" in _post(c, clue, {"op": "accept"})
    assert "已转入核查" in _post(c, clue, {"op": "investigate", "reason": "现场核查"})
    assert "已更正类别" in _post(c, clue, {"op": "reclassify", "category": "beyond_syllabus"})
    assert "已办结" in _post(
        c, clue, {"op": "conclude", "finding": "查实：超前超标培训，已责令整改", "substantiated": "1"}
    )
    assert "已反馈举报人" in _post(c, clue, {"op": "feedback", "feedback": "已责令机构停止超纲教学"})
    clue.refresh_from_db()
    assert clue.status == ClueStatus.CLOSED and clue.substantiated is True
    assert clue.category == "beyond_syllabus" and "超前超标" in clue.finding
    assert list(clue.transitions.values_list("to_status", flat=True))[-4:] == [
        "accepted",
        "investigating",
        "concluded",
        "closed",
    ]


@pytest.mark.parametrize(
    "data,says",
    [
        ({"op": "nonsense"}, "未知操作"),
        ({"op": "merge", "into_id": "abc", "reason": "同一问题"}, "编号无效"),
        ({"op": "merge", "into_id": "-3", "reason": "同一问题"}, "编号无效"),
        ({"op": "merge", "into_id": str(2**63), "reason": "同一问题"}, "编号无效"),  # beyond bigint
        ({"op": "split", "reason": "不同问题"}, "请至少选择一项"),
        ({"op": "split", "report_id": ["1", "x"], "reason": "不同问题"}, "编号无效"),
        ({"op": "reclassify", "category": "no_such_category"}, "操作未完成"),
        ({"op": "conclude", "finding": "", "substantiated": "1"}, "操作未完成"),  # not yet accepted
    ],
)
def test_a_malformed_or_refused_action_changes_nothing_and_says_why(officer, institution, data, says):
    clue = _lead(officer, institution)
    before = _state(clue)
    c = Client()
    c.force_login(officer)
    assert says in _post(c, clue, data)
    assert _state(clue) == before


def test_the_public_tracking_page_refuses_a_score_out_of_range(officer, institution):
    clue = _lead(officer, institution)
    code = clue.reports.first().tracking_code
    before = _state(clue)
    for score in ("9", "0", "好", ""):
        r = Client().post("/clues/track/", {"code": code, "op": "rate", "score": score})
        assert "满意度须为1到5" in r.content.decode()
    assert _state(clue) == before
