"""Must show: a patrol hit joins the open case of the same operator instead of opening
another; takedowns are tracked to the answer; counts per platform and month."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from qinglang.clues.models import Channel, Clue
from qinglang.core.errors import DomainError, IllegalTransition, PermissionDeniedError
from qinglang.screening import selectors, services
from qinglang.screening.models import PatrolPost, TakedownRequest
from qinglang.testing import OTHER_COUNTY, TOWNSHIP, make_user

from .conftest import table_bytes

pytestmark = pytest.mark.django_db

TODAY = date.today()


def post(**kw):
    return {
        "platform": "wechat_group",
        "text": "家长群通知：每晚腾讯会议直播讲初二数学几何，扫码进群报名。",
        "seen_on": TODAY,
        "division_code": TOWNSHIP,
        "operator_name": "启明学习工作室",
        **kw,
    }


def test_patrol_hit_joins_the_open_case_of_the_same_operator(county, officer):
    first = services.patrol_record(actor=officer, data=post(url="https://example.cn/p/1"))
    assert first.hit and first.clue_id and not first.joined_case
    assert first.label == "disguised_subject" and first.pattern == "online"
    second = services.patrol_record(
        actor=officer,
        data=post(platform="douyin", text="抖音直播间：初二数学几何每晚直播讲题，评论区答疑，进群报名。"),
    )
    assert second.hit and second.clue_id == first.clue_id and second.joined_case
    clue = Clue.objects.get()
    assert clue.report_count == 2 and clue.first_channel == Channel.ONLINE_PATROL
    other = services.patrol_record(actor=officer, data=post(operator_name="另一家工作室"))
    assert other.clue_id != first.clue_id
    assert Clue.objects.count() == 2


def test_genuine_post_is_scored_but_opens_nothing(county, officer):
    p = services.patrol_record(
        actor=officer,
        data=post(text="周末亲子陶艺体验课，孩子们捏泥巴做杯子，欢迎报名。", platform="xiaohongshu"),
    )
    assert not p.hit and p.clue_id is None and p.label == "non_subject"
    assert Clue.objects.count() == 0


def test_takedown_tracked_to_its_answer_and_counted(county, officer):
    p = services.patrol_record(actor=officer, data=post())
    t = services.takedown_request(actor=officer, post_id=p.pk, reference="武教函〔2026〕12号")
    with pytest.raises(DomainError):
        services.takedown_request(actor=officer, post_id=p.pk)
    with pytest.raises(ValidationError):
        services.takedown_answer(
            actor=officer, takedown_id=t.pk, status="removed", answered_on=TODAY - timedelta(days=3)
        )
    services.takedown_answer(actor=officer, takedown_id=t.pk, status="removed", answer="已删除并封禁群")
    with pytest.raises(IllegalTransition):
        services.takedown_answer(actor=officer, takedown_id=t.pk, status="refused")
    services.patrol_record(
        actor=officer, data=post(platform="flyer", text="少儿街舞暑期班招生，专业老师授课。")
    )
    counts = {(c["platform"], c["month"]): c for c in selectors.patrol_counts(actor=officer)}
    wechat = counts[("wechat_group", TODAY.strftime("%Y-%m"))]
    assert (wechat["posts"], wechat["hits"], wechat["takedowns"], wechat["removed"]) == (1, 1, 1, 1)
    assert wechat["platform_name"] == "微信群"
    assert counts[("flyer", TODAY.strftime("%Y-%m"))]["hits"] == 0


def test_patrol_refuses_bad_input_and_other_places(county, officer):
    with pytest.raises(ValidationError) as e:
        services.patrol_record(actor=officer, data=post(text="", platform="qq", seen_on="2026-13-01"))
    assert {"text", "platform", "seen_on"} <= set(e.value.message_dict)
    with pytest.raises(PermissionDeniedError):
        services.patrol_record(actor=make_user("regulator_officer", prefixes=[OTHER_COUNTY]), data=post())
    with pytest.raises(PermissionDeniedError):
        services.patrol_record(actor=make_user("parent"), data=post())
    assert PatrolPost.objects.count() == 0 and Clue.objects.count() == 0


def test_patrol_import_is_all_or_nothing(county, officer):
    header = ["平台", "网址", "内容", "发现日期", "发布主体", "区划代码"]
    good = [
        "抖音",
        "https://v.example.cn/1",
        "暑期S学Y语提前学，私信报名",
        TODAY.isoformat(),
        "某工作室",
        TOWNSHIP,
    ]
    bad = ["微博", "", "内容", "昨天", "", TOWNSHIP]
    with pytest.raises(DomainError) as e:
        services.patrol_import(actor=officer, data=table_bytes(header, [good, bad]), name="p.csv")
    assert e.value.code == "bad_rows" and "第3行" in e.value.message
    assert PatrolPost.objects.count() == 0 and Clue.objects.count() == 0
    posts = services.patrol_import(actor=officer, data=table_bytes(header, [good], "xlsx"), name="p.xlsx")
    assert len(posts) == 1 and posts[0].platform == "douyin" and posts[0].hit
    assert TakedownRequest.objects.count() == 0
