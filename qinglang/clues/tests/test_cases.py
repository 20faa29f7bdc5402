"""One case per problem by the handler's hand: suggested duplicates with their similarity,
merge and split (audited, reasons kept, never two institutions, a refusal changes
nothing), and re-triage of an area's open clues (proposed, applied on confirmation,
audited; a large area in the background job) — services, API and console pages."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.clues import services
from qinglang.clues.models import (
    CaseChange,
    CaseChangeKind,
    CategorySource,
    Clue,
    ClueReport,
    ClueStatus,
    RetriageRun,
    RetriageStatus,
)
from qinglang.clues.services import cases
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.models import AuditEvent
from qinglang.testing import TOWNSHIP, make_institution, make_user

from .conftest import xlsx_bytes

pytestmark = pytest.mark.django_db

REFUND_1 = "孩子在这学画画，交了六千的课时费，想退剩下的钱一直不给退"
REFUND_2 = "画画班六千的课时费剩下的钱申请退了很久，还是不给退"
FIRE = "教室后面的安全出口被画架和纸箱堵死了，灭火器也过期了"


def _import(officer, rows):
    at = timezone.localtime().replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    data = xlsx_bytes([[no, at, "", "", text, org, "", TOWNSHIP] for no, text, org in rows])
    services.clue_import_hotline(actor=officer, division_code="510107", filename="gd.xlsx", data=data)


def _case(no) -> Clue:
    return ClueReport.objects.get(source_ref=no).clue


def _snapshot():
    return (
        sorted(Clue.objects.values_list("id", "status", "report_count", "category", "merged_into_id")),
        sorted(ClueReport.objects.values_list("id", "clue_id")),
        CaseChange.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def two_cases(officer, institution):
    """Two cases of one institution: a refund and a blocked exit."""
    _import(officer, [("M1", REFUND_1, institution.name), ("M2", FIRE, institution.name)])
    a, b = _case("M1"), _case("M2")
    assert a.pk != b.pk
    return a, b


def test_suggestions_show_similarity_and_the_intake_verdict(officer, institution, two_cases):
    refund, fire = two_cases
    # a refund report the intake kept apart on purpose (its text written unlike the first)
    other = Clue.objects.create(
        reference="XSMANUAL01",
        division_code=refund.division_code,
        institution=institution,
        category="refund_difficulty",
        category_source="model",
        summary=REFUND_2,
        first_channel="hotline",
        status=ClueStatus.ROUTED,
        received_at=refund.received_at,
        last_reported_at=refund.received_at,
    )
    got = services.duplicate_suggestions(actor=officer, clue_id=refund.pk)
    by_id = {d["clue"].pk: d for d in got}
    assert set(by_id) == {fire.pk, other.pk}
    assert by_id[other.pk]["suggested"] and not by_id[fire.pk]["suggested"]
    assert by_id[other.pk]["similarity"] > by_id[fire.pk]["similarity"]
    assert got[0]["clue"].pk == other.pk  # suggested first


def test_merge_moves_every_report_keeps_the_reason_and_audits(officer, two_cases):
    refund, fire = two_cases
    kept = services.clue_merge(
        actor=officer, clue_id=fire.pk, into_id=refund.pk, reason="核实为同一家长重复反映"
    )
    fire.refresh_from_db()
    assert fire.status == ClueStatus.MERGED and fire.merged_into_id == refund.pk and fire.report_count == 0
    assert kept.report_count == 2
    assert set(ClueReport.objects.filter(source_ref__in=["M1", "M2"]).values_list("clue_id", flat=True)) == {
        refund.pk
    }
    ch = CaseChange.objects.get(kind=CaseChangeKind.MERGE)
    assert (ch.clue_id, ch.other_id, ch.reason) == (refund.pk, fire.pk, "核实为同一家长重复反映")
    assert ch.similarity is not None and ch.report_ids == [ClueReport.objects.get(source_ref="M2").pk]
    ev = AuditEvent.objects.get(action="clue.merge")
    assert ev.changes["reason"] == "核实为同一家长重复反映" and ev.changes["merged"] == fire.pk
    assert fire.transitions.filter(to_status=ClueStatus.MERGED).exists()


def test_a_merge_never_joins_two_institutions_and_a_refusal_changes_nothing(officer, admin, two_cases):
    refund, _ = two_cases
    other_inst = make_institution(admin, name="博思教育", address="浆洗街90号", kind="arts")
    _import(officer, [("M3", REFUND_2, other_inst.name)])
    elsewhere = _case("M3")
    assert elsewhere.institution_id == other_inst.pk
    before = _snapshot()
    with pytest.raises(DomainError) as e:
        services.clue_merge(actor=officer, clue_id=elsewhere.pk, into_id=refund.pk, reason="看起来一样")
    assert e.value.code == "two_institutions"
    # unregistered operator vs registered institution: refused too
    _import(officer, [("M4", REFUND_2, "不详")])
    nobody = _case("M4")
    before = _snapshot()
    with pytest.raises(DomainError):
        services.clue_merge(actor=officer, clue_id=nobody.pk, into_id=refund.pk, reason="看起来一样")
    for bad in ("", " "):  # a reason is required
        with pytest.raises(Exception):
            services.clue_merge(actor=officer, clue_id=refund.pk, into_id=two_cases[1].pk, reason=bad)
    with pytest.raises(DomainError):
        services.clue_merge(actor=officer, clue_id=refund.pk, into_id=refund.pk, reason="自身")
    assert _snapshot() == before


def test_another_countys_case_is_not_found_however_it_is_named(officer, two_cases):
    """The scope is checked before anything about the ids: merging another county's case
    into itself answers 404, as a case that does not exist would, not 不能与自身并案."""
    refund, _ = two_cases
    outsider = make_user(Role.REGULATOR_OFFICER, prefixes=["510104"])
    before = _snapshot()
    for into in (refund.pk, 987654321):
        with pytest.raises(NotFound):
            services.clue_merge(actor=outsider, clue_id=refund.pk, into_id=into, reason="越权")
    assert _snapshot() == before
    with pytest.raises(DomainError) as e:  # in scope, the same refusal names the reason
        services.clue_merge(actor=officer, clue_id=refund.pk, into_id=refund.pk, reason="自身")
    assert e.value.code == "same_case"


def test_a_closed_or_merged_case_is_not_merged_again(officer, two_cases):
    refund, fire = two_cases
    services.clue_merge(actor=officer, clue_id=fire.pk, into_id=refund.pk, reason="同一问题")
    before = _snapshot()
    with pytest.raises(DomainError) as e:
        services.clue_merge(actor=officer, clue_id=fire.pk, into_id=refund.pk, reason="再并一次")
    assert e.value.code == "not_open"
    assert _snapshot() == before


def test_split_opens_a_new_case_for_the_other_problem(officer, institution):
    _import(officer, [("S1", REFUND_1, institution.name), ("S2", REFUND_2, institution.name)])
    case = _case("S1")
    assert _case("S2").pk == case.pk and case.report_count == 2
    r2 = ClueReport.objects.get(source_ref="S2")
    new = services.clue_split(
        actor=officer, clue_id=case.pk, report_ids=[r2.pk], reason="第二条反映的是另一笔费用"
    )
    case.refresh_from_db()
    r2.refresh_from_db()
    assert r2.clue_id == new.pk and new.report_count == 1 and case.report_count == 1
    assert new.institution_id == institution.pk and new.pk != case.pk
    assert new.routed_kinds == case.routed_kinds and new.status == ClueStatus.ROUTED
    assert new.routings.count() == case.routings.count()
    ch = CaseChange.objects.get(kind=CaseChangeKind.SPLIT)
    assert (ch.clue_id, ch.other_id, ch.reason, ch.report_ids) == (
        case.pk,
        new.pk,
        "第二条反映的是另一笔费用",
        [r2.pk],
    )
    assert AuditEvent.objects.filter(action="clue.split", object_id=str(case.pk)).exists()


def test_split_refusals_change_nothing(officer, institution):
    _import(officer, [("S1", REFUND_1, institution.name), ("S2", REFUND_2, institution.name)])
    case = _case("S1")
    ids = list(case.reports.values_list("id", flat=True))
    before = _snapshot()
    with pytest.raises(DomainError) as e:
        services.clue_split(actor=officer, clue_id=case.pk, report_ids=ids, reason="全部拆出")
    assert e.value.code == "split_all"
    with pytest.raises(Exception):
        services.clue_split(actor=officer, clue_id=case.pk, report_ids=[], reason="没有选")
    with pytest.raises(Exception):
        services.clue_split(actor=officer, clue_id=case.pk, report_ids=[999999], reason="别的线索的举报")
    assert _snapshot() == before


# --- re-triage ---------------------------------------------------------------------------


@pytest.fixture
def stale(officer, institution):
    """Open cases as an older model left them: the refund case filed as 'other', and a
    repeat of it kept as its own case."""
    _import(officer, [("R1", REFUND_1, institution.name), ("R2", FIRE, institution.name)])
    refund = _case("R1")
    Clue.objects.filter(pk=refund.pk).update(category="other")
    dup = Clue.objects.create(
        reference="XSOLDDUP01",
        division_code=refund.division_code,
        institution=institution,
        category="refund_difficulty",
        category_source="model",
        summary=REFUND_1 + "，到现在还没退",
        first_channel="hotline",
        status=ClueStatus.ROUTED,
        received_at=refund.received_at,
        last_reported_at=refund.received_at,
    )
    refund.refresh_from_db()
    return refund, dup


def test_retriage_proposes_and_changes_nothing_until_confirmed(officer, stale):
    refund, dup = stale
    before = sorted(Clue.objects.values_list("id", "category", "status"))
    run = services.retriage_start(actor=officer, division_code="510107")
    assert run.status == RetriageStatus.PROPOSED and run.clues == 3
    recl = [p for p in run.proposals if p["kind"] == "reclassify"]
    merges = [p for p in run.proposals if p["kind"] == "merge"]
    assert {"clue": refund.pk, "old": "other", "new": "refund_difficulty"}.items() <= recl[0].items()
    assert [(p["clue"], p["into"]) for p in merges] == [(dup.pk, refund.pk)] or [
        (p["clue"], p["into"]) for p in merges
    ] == [(refund.pk, dup.pk)]
    assert sorted(Clue.objects.values_list("id", "category", "status")) == before  # proposals only
    chosen = [recl[0]["n"], merges[0]["n"]]
    run = services.retriage_apply(actor=officer, run_id=run.pk, accept=chosen, reason="模型更新后重新研判")
    assert run.status == RetriageStatus.APPLIED and [a["n"] for a in run.applied if "n" in a] == sorted(
        chosen
    )
    refund.refresh_from_db()
    assert (
        refund.category == "refund_difficulty" or Clue.objects.get(pk=refund.pk).status == ClueStatus.MERGED
    )
    assert Clue.objects.filter(status=ClueStatus.MERGED).count() == 1
    assert CaseChange.objects.filter(kind=CaseChangeKind.RECLASSIFY, reason="模型更新后重新研判").count() == 1
    assert AuditEvent.objects.filter(action="clue.retriage_apply", object_id=str(run.pk)).exists()
    with pytest.raises(DomainError):  # once per run
        services.retriage_apply(actor=officer, run_id=run.pk, accept=chosen, reason="再来一次")


def test_retriage_skips_a_case_corrected_since(officer, stale):
    refund, _ = stale
    run = services.retriage_start(actor=officer, division_code="510107")
    n = next(p["n"] for p in run.proposals if p["kind"] == "reclassify" and p["clue"] == refund.pk)
    services.clue_reclassify(actor=officer, clue_id=refund.pk, category="price")
    run = services.retriage_apply(actor=officer, run_id=run.pk, accept=[n], reason="应用")
    refund.refresh_from_db()
    assert refund.category == "price" and refund.category_source == CategorySource.REGULATOR
    assert run.applied == [{"skipped": {"n": n, "why": f"线索{refund.reference}已变化，未重新分类"}}]


def test_retriage_of_a_large_area_runs_in_the_background_job(
    officer, stale, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(cases, "BACKGROUND_FROM", 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.retriage_start(actor=officer, division_code="510107")
    assert run.status == RetriageStatus.QUEUED and run.proposals == []
    for cb in callbacks:  # the commit enqueues the Huey task (immediate mode in tests)
        cb()
    run.refresh_from_db()
    assert run.status == RetriageStatus.PROPOSED and run.proposals


def test_retriage_outside_scope_is_refused(officer):
    with pytest.raises(Exception):
        services.retriage_start(actor=officer, division_code="510104")
    assert not RetriageRun.objects.exists()


# --- API and pages --------------------------------------------------------------------


def test_api_duplicates_merge_split_and_errors(officer, two_cases):
    refund, fire = two_cases
    c = Client()
    c.force_login(officer)
    r = c.get(f"/api/clues/clues/{refund.pk}/duplicates")
    assert r.status_code == 200 and r.json()[0]["clue"]["id"] == fire.pk
    assert "similarity" in r.json()[0]
    r = c.post(
        f"/api/clues/clues/{fire.pk}/merge",
        json.dumps({"into_id": refund.pk, "reason": ""}),
        content_type="application/json",
    )
    assert r.status_code in (400, 422) and {"code", "message"} <= set(r.json())
    assert Clue.objects.get(pk=fire.pk).status != ClueStatus.MERGED
    r = c.post(
        f"/api/clues/clues/{fire.pk}/merge",
        json.dumps({"into_id": refund.pk, "reason": "同一问题"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["report_count"] == 2
    rid = ClueReport.objects.get(source_ref="M2").pk
    r = c.post(
        f"/api/clues/clues/{refund.pk}/split",
        json.dumps({"report_ids": [rid], "reason": "其实是消防问题"}),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["id"] not in (refund.pk, fire.pk)


def test_api_retriage_start_get_apply(officer, stale):
    c = Client()
    c.force_login(officer)
    r = c.post(
        "/api/clues/retriage", json.dumps({"division_code": "510107"}), content_type="application/json"
    )
    assert r.status_code == 201
    run = r.json()
    assert c.get(f"/api/clues/retriage/{run['id']}").json()["proposals"] == run["proposals"]
    r = c.post(
        f"/api/clues/retriage/{run['id']}/apply",
        json.dumps({"accept": [run["proposals"][0]["n"]], "reason": "确认"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "applied"


def test_console_pages_merge_split_and_retriage(officer, two_cases):
    refund, fire = two_cases
    c = Client()
    c.force_login(officer)
    page = c.get(f"/console/clues/{refund.pk}/").content.decode()
    assert "疑似重复线索" in page and fire.reference in page and "文本相似度" in page
    r = c.post(f"/console/clues/{fire.pk}/", {"op": "merge", "into_id": refund.pk, "reason": ""})
    assert Clue.objects.get(pk=fire.pk).status != ClueStatus.MERGED  # refused: no reason
    r = c.post(f"/console/clues/{fire.pk}/", {"op": "merge", "into_id": refund.pk, "reason": "同一家长"})
    assert r.status_code == 302 and Clue.objects.get(pk=fire.pk).status == ClueStatus.MERGED
    page = c.get(f"/console/clues/{refund.pk}/").content.decode()
    assert "并案与拆分" in page and "同一家长" in page and "拆分" in page
    r = c.post("/console/clues/retriage/", {"division_code": "510107"})
    run = RetriageRun.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/console/clues/retriage/{run.pk}/")
    page = c.get(f"/console/clues/retriage/{run.pk}/").content.decode()
    assert "重新研判" in page and "<script>" not in page
    assert c.get("/console/clues/retriage/").status_code == 200
