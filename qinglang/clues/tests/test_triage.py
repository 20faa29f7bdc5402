"""Triage on hotline text: duplicates by content from the case's first report, matching by
address, 不详 is nobody, the routing matrix with missing departments reported, the
low-confidence queue, source references, and bad hotline files."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from qinglang.clues import services
from qinglang.clues.models import Clue, ClueImport, ClueReport
from qinglang.core.models import Department
from qinglang.testing import TOWNSHIP

from .conftest import xlsx_bytes

pytestmark = pytest.mark.django_db


def _hotline(officer, rows):
    return services.clue_import_hotline(
        actor=officer, division_code="510107", filename="gd.xlsx", data=xlsx_bytes(rows)
    )


def _row(no, text, org="星辰艺术培训中心", address="", at=None, area=TOWNSHIP):
    at = at or timezone.localtime().replace(tzinfo=None)
    return [no, at.strftime("%Y-%m-%d %H:%M:%S"), "", "", text, org, address, area]


def _case(no) -> Clue:
    return ClueReport.objects.get(channel="hotline", source_ref=no).clue


def test_misclassified_later_report_still_joins_its_case(officer, institution):
    first = "孩子在这学画画，交了六千的课时费，想退剩下的钱一直不给退"
    later = "画画班六千的课时费，我想不学了拿回剩下的钱，他们说门都没有，是不是要关门了"
    _hotline(officer, [_row("A1", first), _row("A2", later)])
    a, b = _case("A1"), _case("A2")
    assert a.pk == b.pk and a.report_count == 2
    r2 = ClueReport.objects.get(source_ref="A2")
    assert r2.similarity and r2.similarity >= 0.3  # the handler sees how alike they are


def test_two_problems_of_one_institution_from_one_caller_stay_apart(officer, institution):
    row1 = _row("B1", "星辰艺术培训中心的老师用戒尺打孩子手心，手都肿了")
    row2 = _row("B2", "星辰艺术培训中心的老师没有教师资格证，也没做背景审查")
    for r in (row1, row2):
        r[2], r[3] = "王芳", "13812345678"
    _hotline(officer, [row1, row2])
    assert _case("B1").pk != _case("B2").pk
    assert _case("B1").institution_id == _case("B2").institution_id == institution.pk


def test_31_days_after_the_first_report_is_a_new_case(officer, institution):
    t0 = timezone.localtime().replace(tzinfo=None) - timedelta(days=40)
    text = "星辰艺术培训中心音乐班老师上课一直玩手机，一节课只教十分钟"
    _hotline(
        officer,
        [
            _row("C1", text, at=t0),
            _row("C2", text + "，还是老样子", at=t0 + timedelta(days=20)),
            _row("C3", text, at=t0 + timedelta(days=31)),
        ],
    )
    assert _case("C1").pk == _case("C2").pk  # within 30 days of the first
    assert _case("C3").pk != _case("C1").pk  # 31 days after the first, though one came at day 20


def test_address_only_report_finds_its_institution_and_unknown_is_no_operator(officer, institution):
    _hotline(
        officer,
        [
            _row(
                "D1",
                "楼里有个培训点教室没有灭火器，安全出口堵了",
                org="",
                address="武侯区浆洗街街道浆洗街八十八号",
            ),
            _row("D2", "楼里有个补习班晚上十点还在上课太吵了", org="不详", address="某小区3栋"),
        ],
    )
    d1 = _case("D1")
    assert d1.institution_id == institution.pk and d1.match_method == "address"
    d2 = _case("D2")
    assert d2.institution_id is None and d2.operator_name == "" and not d2.suspected_unlicensed


def test_routing_matrix_township_share_and_missing_department_reported(officer, county):
    Department.objects.filter(division_id=TOWNSHIP, kind="township_government").delete()
    b = _hotline(officer, [_row("E1", "小区里有人以家政名义上门给初中生补数学", org="某家政服务部")])
    c = _case("E1")
    assert c.category == "disguised_training"
    assert c.routed_kind_list == ["education", "township_government"]  # kept, though its row is missing
    assert b.missing_departments and b.missing_departments[0]["kind"] == "township_government"
    assert b.missing_departments[0]["division_name"]
    assert ClueImport.objects.get(pk=b.pk).missing_departments == b.missing_departments


def test_low_confidence_goes_to_the_manual_queue_and_source_ref_is_searchable(officer, institution):
    from django.test import Client

    from qinglang.clues import selectors
    from qinglang.core.models import PolicyParameter

    PolicyParameter.objects.create(
        key="clue.triage_confidence",
        division_code="510107",
        value=0.99,
        basis="测试",
        effective_from="2020-01-01",
    )
    _hotline(officer, [_row("GD2026120300017", "星辰艺术培训中心那边最近怎么样")])
    c = _case("GD2026120300017")
    assert c.needs_triage and c.category_confidence < 0.99
    assert list(selectors.clue_list(actor=officer, q="GD2026120300017")) == [c]
    assert c in selectors.clue_list(actor=officer, triage=True)
    web = Client()
    web.force_login(officer)
    page = web.get("/console/clues/", {"triage": "1"}).content.decode()
    assert c.reference in page and "GD2026120300017" in page
    csv = web.get("/console/clues/", {"export": "csv"}).content.decode()
    assert "GD2026120300017" in csv
    services.clue_reclassify(actor=officer, clue_id=c.pk, category="other")
    c.refresh_from_db()
    assert not c.needs_triage and c.category_source == "regulator"


def test_bad_hotline_file_nothing_doubled_nothing_half_written(officer, institution):
    now = timezone.localtime().replace(tzinfo=None)
    text = "星辰艺术培训中心一次性收了一年的学费两万四"
    rows = [
        _row("F1", text),
        [
            "F2",
            now.strftime("%Y/%m/%d %H:%M"),
            "",
            "",
            "星辰艺术培训中心门口发传单说保过",
            "星辰艺术培训中心",
            "",
            TOWNSHIP,
        ],
        [
            "F3",
            now.strftime("%Y年%m月%d日 %H:%M"),
            "",
            "",
            "星辰艺术培训中心老师骂孩子笨",
            "星辰艺术培训中心",
            "",
            TOWNSHIP,
        ],
        [
            "F4",
            datetime(now.year, now.month, now.day, 8, 0),
            "",
            "",
            "星辰艺术培训中心暑假讲下学期课",
            "星辰艺术培训中心",
            "",
            TOWNSHIP,
        ],
        _row("F1", "同一个工单编号又出现一次"),
        _row("F5", "字" * 100_000),
    ]
    b = _hotline(officer, rows)
    errs = {e["row"]: e["errors"] for e in b.errors}
    assert errs == {6: ["文件内工单编号重复"], 7: ["诉求内容超过2000字"]}
    assert b.created + b.merged == 4
    assert set(ClueReport.objects.values_list("source_ref", flat=True)) == {"F1", "F2", "F3", "F4"}
    again = _hotline(officer, rows)
    assert (again.created, again.merged, again.skipped) == (0, 0, 4)
    assert ClueReport.objects.count() == 4 and Clue.objects.count() == b.created


def test_three_date_formats_are_read_as_the_same_moment(officer, institution):
    at = datetime(2026, 11, 20, 9, 30)
    rows = [
        _row("T1", "星辰艺术培训中心一次性收了一年的学费两万四", at=at),
        [
            "T2",
            "2026/11/20 09:30",
            "",
            "",
            "星辰艺术培训中心门口发传单说保过",
            "星辰艺术培训中心",
            "",
            TOWNSHIP,
        ],
        [
            "T3",
            "2026年11月20日 09:30",
            "",
            "",
            "星辰艺术培训中心老师骂孩子笨",
            "星辰艺术培训中心",
            "",
            TOWNSHIP,
        ],
    ]
    b = _hotline(officer, rows)
    assert not b.errors
    got = {
        r.source_ref: timezone.localtime(r.received_at).replace(tzinfo=None)
        for r in ClueReport.objects.filter(source_ref__in=["T1", "T2", "T3"])
    }
    assert got == {"T1": at, "T2": at, "T3": at}


def test_missing_column_refuses_the_file_and_writes_nothing(officer, institution):
    from qinglang.core.errors import DomainError
    from qinglang.core.models import AuditEvent

    header = ["工单编号", "受理时间", "诉求人", "联系电话", "诉求内容", "涉及机构", "所属区域"]  # no 事发地址
    row = [
        "X1",
        "2026-11-20 09:30",
        "",
        "",
        "星辰艺术培训中心一次性收了一年的学费两万四",
        "星辰艺术培训中心",
        TOWNSHIP,
    ]
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as e:
        services.clue_import_hotline(
            actor=officer, division_code="510107", filename="gd.xlsx", data=xlsx_bytes([row], header=header)
        )
    assert "事发地址" in e.value.message
    assert not ClueImport.objects.exists() and not ClueReport.objects.exists() and not Clue.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_repeat_in_other_words_joins_by_topic_when_the_text_alone_is_not_enough(officer, institution):
    """The dedupe's second test: text somewhat alike and the classifier reading both as
    the same kind of problem (thresholds chosen on data/train_dedupe.tsv and dev_dedupe.tsv)."""
    from qinglang.clues import dedupe
    from qinglang.clues.classify import model

    first = "消防通道被纸箱堵死了，教室里的灭火器也过期了"
    later = "安全出口堵着杂物，灭火器早过期，孩子们在里面上课"
    m = model()
    v = m.vectors([first, later])
    s = float((v[0] @ v[1].T).toarray()[0, 0])
    assert dedupe.SAME_TOPIC_TEXT <= s < dedupe.SAME_PROBLEM  # text alone would keep them apart
    _hotline(officer, [_row("P1", first), _row("P2", later)])
    assert _case("P1").pk == _case("P2").pk
