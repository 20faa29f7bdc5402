import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from qinglang.accounts.models import Role
from qinglang.core.calendar import add_working_days, working_days_between
from qinglang.core.errors import DomainError, IllegalTransition, NotFound, PermissionDeniedError
from qinglang.core.models import AuditEvent
from qinglang.inspections import selectors, services
from qinglang.inspections.draw import Inspector, compute_draw
from qinglang.inspections.models import (
    Escalation,
    Evidence,
    Letter,
    Notice,
    Record,
    RectificationItem,
    RectificationStatus,
    Task,
    TaskStatus,
)
from qinglang.testing import OTHER_COUNTY, make_institution, make_user

from .helpers import answer_all, campaign_data, docx_bytes, fake_jpg, inspectors, png

pytestmark = pytest.mark.django_db


# --- working days ----------------------------------------------------------------------------


def test_deadline_crossing_national_day_lands_on_the_right_working_day():
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are make-up workdays
    assert add_working_days(date(2025, 9, 26), 10) == date(2025, 10, 16)
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1


def test_overdue_cutoff_counts_working_days():
    # on Thursday 9 Oct 2025 (first day back), an item due 30 Sep is 1 working day overdue
    assert services.overdue_cutoff(date(2025, 10, 9), 1) == date(2025, 10, 8)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) >= 1
    c5 = services.overdue_cutoff(date(2025, 10, 16), 5)
    assert working_days_between(c5, date(2025, 10, 16)) == 5
    assert working_days_between(c5 + timedelta(days=1), date(2025, 10, 16)) < 5


# --- a small inspected world --------------------------------------------------------------------


@pytest.fixture
def world(admin, leader):
    insts = [make_institution(admin, contact_name="张老师", contact_phone="13800001111") for _ in range(4)]
    team = inspectors(4)
    c = services.campaign_create(actor=leader, data=campaign_data())
    draw = services.campaign_draw(
        actor=leader, campaign_id=c.pk, share=1.0, seed="fixed-seed", today=date(2026, 3, 1)
    )
    return {"insts": insts, "inspectors": team, "campaign": c, "draw": draw, "leader": leader, "admin": admin}


def _task_of(world, inst):
    return Task.objects.get(campaign=world["campaign"], institution=inst)


def _member(task):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=task.team.members.first().user_id)


def test_draw_creates_tasks_teams_and_audit(world):
    draw = world["draw"]
    assert draw.population_size == 4 and draw.target_count == 4
    assert Task.objects.filter(campaign=world["campaign"]).count() == 4
    assert all(t.team_id for t in Task.objects.filter(campaign=world["campaign"]))
    assert AuditEvent.objects.filter(action="campaign.draw", object_id=str(world["campaign"].pk)).exists()
    assert services.draw_verify(draw=draw)


def test_inspector_sees_only_their_tasks(world):
    t = _task_of(world, world["insts"][0])
    member = _member(t)
    mine = set(selectors.task_list(actor=member).values_list("team_id", flat=True))
    assert mine and all(
        tid in {t2.team_id for t2 in Task.objects.filter(team__members__user=member)} for tid in mine
    )
    outsider = make_user(Role.INSPECTOR)
    assert selectors.task_list(actor=outsider).count() == 0
    with pytest.raises(NotFound):
        selectors.task_get(actor=outsider, task_id=t.pk)
    assert selectors.task_list(actor=world["leader"]).count() == 4


def test_record_with_rectification_issues_notice_docx_and_rectification_item(world, media_root):
    inst = world["insts"][0]
    t = _task_of(world, inst)
    rec = services.inspection_record_submit(
        actor=_member(t),
        task_id=t.pk,
        inspected_on=date(2025, 9, 26),
        results=answer_all(
            t,
            findings={"F01": "rectification", "D01": "fixed_on_site", "N01": "rectification"},
            files=[png()],
        ),
        deadline_days=10,
    )
    t.refresh_from_db()
    assert t.status == TaskStatus.COMPLETED
    notice = Notice.objects.get(task=t)
    assert notice.deadline_on == date(2025, 10, 16)
    assert notice.items.count() == 2
    full = Path(media_root) / notice.path
    assert full.exists() and notice.sha256
    _check_notice_docx(
        full,
        notice,
        inst,
        deadline="2025年10月16日",
        departments=["教育局", "消防救援大队", "市场监督管理局"],
    )
    assert Evidence.objects.filter(result__record=rec).count() == 3
    item = notice.items.get(department_kind="fire")
    assert item.contact_name == "张老师"
    # the institution sees its own notice, another institution does not
    own = make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk)
    other = make_user(Role.INSTITUTION_ADMIN, institution_id=world["insts"][1].pk)
    assert list(selectors.notice_list(actor=own)) == [notice]
    assert selectors.notice_list(actor=other).count() == 0
    with pytest.raises(NotFound):
        selectors.rectification_get(actor=other, item_id=item.pk)
    # the first notice of the county this year: serial 1 of its gapless counter
    assert notice.number.endswith("校外整改〔2025〕1号") and not notice.number[0].isdigit()
    # the print view: the same notice with its 送达回执, for the institution concerned only
    from django.test import Client

    c = Client()
    c.force_login(own)
    html = c.get(f"/inspections/notices/{notice.pk}/print/").content.decode()
    assert notice.number in html and "送达回执" in html and "二〇二五年九月二十六日" in html
    c.force_login(other)
    assert c.get(f"/inspections/notices/{notice.pk}/print/").status_code == 404


def _check_notice_docx(full: Path, notice, inst, *, deadline: str, departments: list[str]) -> None:
    """The stored file is a real .docx official document: number, institution, each
    finding with its legal basis and requirement, the deadline and the issuing departments."""
    import hashlib

    from docx import Document

    assert hashlib.sha256(full.read_bytes()).hexdigest() == notice.sha256
    doc = Document(str(full))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "整改通知书" in text and notice.number in text and f"{inst.name}：" in text
    assert deadline in text and f"{notice.deadline_days}个工作日" in text
    table, receipt = doc.tables  # the findings, then the 送达回执
    assert receipt.rows[0].cells[1].text == f"《整改通知书》({notice.number})"
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["序号", "问题", "依据", "整改要求"]
    items = list(notice.items.order_by("id"))
    assert len(rows) == 1 + len(items)
    for row, item in zip(rows[1:], items, strict=True):
        assert item.title in row[1] and row[2] == item.basis and row[2]
        assert row[3] == (item.result.requirement or "按规定整改到位")
    signed = [p.text for p in doc.paragraphs if p.alignment is not None and p.alignment == 2]
    for dept in departments:
        assert any(dept in line for line in signed), (dept, signed)


def test_wrong_evidence_file_refused_and_nothing_written(world, media_root):
    t = _task_of(world, world["insts"][1])
    before_audit = AuditEvent.objects.count()
    with pytest.raises(DomainError) as exc:
        services.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2026, 3, 3),
            results=answer_all(t, findings={"F01": "rectification"}, files=[png(), fake_jpg()]),
        )
    assert exc.value.code == "evidence_type_refused" and "virus.jpg" in exc.value.message
    assert not Record.objects.filter(task=t).exists() and not Notice.objects.filter(task=t).exists()
    assert AuditEvent.objects.count() == before_audit
    assert not any(Path(media_root).rglob("*.png")) if Path(media_root).exists() else True
    t.refresh_from_db()
    assert t.status == TaskStatus.PLANNED


def test_failure_after_files_stored_leaves_no_file(world, media_root, monkeypatch):
    t = _task_of(world, world["insts"][1])
    from qinglang.inspections.services import records

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(records, "audit_record_many", boom)  # after the files are stored
    with pytest.raises(RuntimeError):
        services.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2026, 3, 3),
            results=answer_all(t, findings={"F01": "rectification"}, files=[png("unique.png")]),
        )
    assert not Record.objects.filter(task=t).exists()
    assert not [p for p in Path(media_root).rglob("*") if p.is_file()]


def test_oversized_and_missing_answers_refused(world, monkeypatch):
    from qinglang.core import files

    t = _task_of(world, world["insts"][2])
    monkeypatch.setattr(files, "MAX_EVIDENCE_BYTES", 10)
    with pytest.raises(DomainError) as exc:
        services.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2026, 3, 3),
            results=answer_all(t, findings={"F01": "rectification"}, files=[png()]),
        )
    assert exc.value.code == "evidence_too_large"
    with pytest.raises(ValidationError):
        services.inspection_record_submit(
            actor=_member(t), task_id=t.pk, inspected_on=date(2026, 3, 3), results=answer_all(t)[1:]
        )


def test_non_member_inspector_cannot_record(world):
    t = _task_of(world, world["insts"][2])
    outsider = make_user(Role.INSPECTOR)
    with pytest.raises((PermissionDeniedError, NotFound)):
        services.inspection_record_submit(
            actor=outsider, task_id=t.pk, inspected_on=date(2026, 3, 3), results=answer_all(t)
        )


def _issue(world, inst, *, day=date(2026, 3, 3), codes=("F01",)):
    t = _task_of(world, inst)
    services.inspection_record_submit(
        actor=_member(t),
        task_id=t.pk,
        inspected_on=day,
        results=answer_all(t, findings=dict.fromkeys(codes, "rectification")),
    )
    return RectificationItem.objects.filter(institution=inst).order_by("id")


def test_rectification_state_machine_and_illegal_transitions(world):
    inst = world["insts"][0]
    item = _issue(world, inst).first()
    org = make_user(Role.INSTITUTION_ADMIN, institution_id=inst.pk)
    leader, t = world["leader"], _task_of(world, inst)
    with pytest.raises(IllegalTransition) as exc:
        services.rectification_verify(actor=leader, item_id=item.pk)
    assert exc.value.code == "illegal_transition" and "待整改" in exc.value.message
    with pytest.raises(ValidationError):
        services.rectification_submit(actor=org, item_id=item.pk, measures="已整改", uploads=[])
    with pytest.raises(DomainError):
        services.rectification_submit(actor=org, item_id=item.pk, measures="已整改", uploads=[fake_jpg()])
    item.refresh_from_db()
    assert item.status == RectificationStatus.ISSUED and not item.evidence.exists()
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.rectification_submit(
        actor=org,
        item_id=item.pk,
        measures="已清理通道",
        uploads=[SimpleUploadedFile("整改.docx", docx_bytes())],
    )
    assert item.evidence.get().content_type.endswith("wordprocessingml.document")
    services.rectification_return(actor=_member(t), item_id=item.pk, reason="仍有杂物")
    services.rectification_submit(actor=org, item_id=item.pk, measures="再次清理", uploads=[png()])
    with pytest.raises(PermissionDeniedError):
        services.rectification_close_out(actor=org, item_id=item.pk)
    services.rectification_verify(actor=_member(t), item_id=item.pk)
    services.rectification_close_out(actor=leader, item_id=item.pk)
    item.refresh_from_db()
    assert item.status == RectificationStatus.CLOSED_OUT
    assert [tr.to_status for tr in item.transitions.all()] == [
        "issued",
        "submitted",
        "returned",
        "submitted",
        "verified",
        "closed_out",
    ]
    with pytest.raises(IllegalTransition):
        services.rectification_submit(actor=org, item_id=item.pk, measures="x", uploads=[png()])
    other = make_user(Role.INSTITUTION_ADMIN, institution_id=world["insts"][1].pk)
    item2 = _issue(world, world["insts"][2]).first()
    with pytest.raises(NotFound):
        services.rectification_submit(actor=other, item_id=item2.pk, measures="x", uploads=[png()])


def test_sweep_escalates_by_working_days_and_catches_up(world):
    items = _issue(world, world["insts"][0], day=date(2025, 9, 26))  # deadline 2025-10-16
    item = items.first()
    assert item.deadline_on == date(2025, 10, 16)
    run = services.rectification_sweep_overdue(today=date(2025, 10, 16))
    assert run.reminders == 0
    services.rectification_sweep_overdue(today=date(2025, 10, 17))  # 1 working day overdue
    item.refresh_from_db()
    assert item.escalation == Escalation.REMINDER
    assert list(Letter.objects.filter(item=item).values_list("kind", flat=True)) == ["reminder"]
    services.rectification_sweep_overdue(today=date(2025, 10, 17))  # idempotent
    assert Letter.objects.filter(item=item).count() == 1
    # downtime: next run three weeks later catches up supervision and case-due at once
    run = services.rectification_sweep_overdue(today=date(2025, 11, 7))
    item.refresh_from_db()
    assert item.escalation == Escalation.CASE_DUE and run.supervisions == 1 and run.cases_due == 1
    assert services.letters_render_pending() == 2
    letter = Letter.objects.get(item=item, kind="supervision")
    assert letter.path and letter.overdue_days == working_days_between(date(2025, 10, 16), date(2025, 11, 7))
    # each escalation's record names the rule (policy key) whose working days it crossed
    cited = {
        e.action: e.changes["rule"]
        for e in AuditEvent.objects.filter(action__startswith="rectification.escalate.")
    }
    assert cited == {
        "rectification.escalate.reminder": "rectification.reminder_after_overdue_days",
        "rectification.escalate.supervision": "rectification.supervision_letter_after_overdue_days",
        "rectification.escalate.case_due": "rectification.case_after_overdue_days",
    }
    assert services.letters_render_pending() == 0
    # a real .docx: title, number, institution, the notice, the item, deadline and delay
    import hashlib

    from django.conf import settings
    from docx import Document

    full = Path(settings.MEDIA_ROOT) / letter.path
    assert hashlib.sha256(full.read_bytes()).hexdigest() == letter.sha256
    text = "\n".join(p.text for p in Document(str(full)).paragraphs)
    for part in (
        "整改督办函",
        letter.number,
        f"{world['insts'][0].name}：",
        item.notice.number,
        item.title,
        "2025年10月16日",
        f"已逾期{letter.overdue_days}个工作日",
        "依法立案查处",
    ):
        assert part in text, part


def test_sweep_respects_a_local_override(world, admin):
    from qinglang.core.services import policy_set

    policy_set(
        actor=admin,
        key="rectification.reminder_after_overdue_days",
        division_code="510107",
        value=3,
        basis="本区规定",
        effective_from=date(2025, 1, 1),
    )
    item = _issue(world, world["insts"][3], day=date(2025, 9, 26)).first()
    services.rectification_sweep_overdue(today=date(2025, 10, 17))
    item.refresh_from_db()
    assert item.escalation == Escalation.NONE
    services.rectification_sweep_overdue(today=date(2025, 10, 21))
    item.refresh_from_db()
    assert item.escalation == Escalation.REMINDER


# --- the draw ----------------------------------------------------------------------------------


def _pool(n):
    depts = ["education", "fire", "market_regulation"]
    return [Inspector(100 + i, depts[i % 3]) for i in range(n)]


def test_same_seed_same_draw_and_different_seed_differs():
    kw = {
        "population": list(range(1, 501)),
        "k": 60,
        "pool": _pool(9),
        "team_size": 3,
        "recent": set(),
        "conflicts": set(),
    }
    a, b = compute_draw(seed="s1", **kw), compute_draw(seed="s1", **kw)
    assert a.targets == b.targets and a.teams == b.teams and a.assignment == b.assignment
    shuffled = {**kw, "population": list(reversed(kw["population"]))}
    assert compute_draw(seed="s1", **shuffled).targets == a.targets  # order of input irrelevant
    assert compute_draw(seed="s2", **kw).targets != a.targets
    assert all(len({m.department for m in t}) == 3 for t in a.teams)  # joint teams


def test_draw_frequency_within_statistical_bounds():
    n, k, runs = 50, 10, 3000
    counts = dict.fromkeys(range(n), 0)
    for r in range(runs):
        for x in compute_draw(
            seed=f"seed-{r}",
            population=list(range(n)),
            k=k,
            pool=_pool(2),
            team_size=1,
            recent=set(),
            conflicts=set(),
        ).targets:
            counts[x] += 1
    p = k / n
    mean, sd = runs * p, (runs * p * (1 - p)) ** 0.5
    assert all(abs(c - mean) < 4.5 * sd for c in counts.values()), (
        mean,
        sd,
        min(counts.values()),
        max(counts.values()),
    )
    # chi-square goodness of fit, 49 d.f.: 99.9th percentile ≈ 85.4
    chi2 = sum((c - mean) ** 2 / mean for c in counts.values())
    assert chi2 < 85.4


def test_gap_and_conflict_rules_hold():
    pool = _pool(4)
    recent = {(100, 1), (101, 2)}
    conflicts = {(102, 3), (103, 1)}
    for r in range(200):
        res = compute_draw(
            seed=f"g{r}",
            population=list(range(1, 11)),
            k=10,
            pool=pool,
            team_size=1,
            recent=recent,
            conflicts=conflicts,
        )
        for inst, t in res.assignment.items():
            if t is None:
                continue
            for m in res.teams[t]:
                assert (m.user_id, inst) not in recent and (m.user_id, inst) not in conflicts


def test_draw_service_applies_gap_and_declared_conflicts(admin, leader):
    inst_a, _inst_b = make_institution(admin), make_institution(admin)
    a_ins, b_ins = inspectors(2, depts=("education",))
    services.conflict_declare(actor=a_ins, institution_id=inst_a.pk, reason="亲属在该机构任职")
    c1 = services.campaign_create(actor=leader, data=campaign_data(name="一", starts_on=date(2026, 3, 2)))
    services.campaign_draw(
        actor=leader, campaign_id=c1.pk, count=2, team_size=1, seed="x", today=date(2026, 3, 1)
    )
    t_a = Task.objects.get(campaign=c1, institution=inst_a)
    assert list(t_a.team.members.values_list("user_id", flat=True)) == [b_ins.pk]
    # b_ins inspected inst_a: within a year neither may go there again → unstaffed
    c2 = services.campaign_create(
        actor=leader, data=campaign_data(name="二", starts_on=date(2026, 4, 1), ends_on=date(2026, 4, 30))
    )
    draw2 = services.campaign_draw(
        actor=leader, campaign_id=c2.pk, count=2, team_size=1, seed="y", today=date(2026, 3, 20)
    )
    t_a2 = Task.objects.get(campaign=c2, institution=inst_a)
    assert t_a2.team_id is None
    rules = {e["rule"] for e in draw2.exclusions if e["institution_id"] == inst_a.pk}
    assert rules >= {"conflict", "random_inspection.same_inspector_gap_days", "unstaffed"}
    with pytest.raises(DomainError):
        services.task_assign(actor=leader, task_id=t_a2.pk, inspector_ids=[a_ins.pk])
    with pytest.raises(IllegalTransition):
        services.campaign_draw(actor=leader, campaign_id=c2.pk, count=1, today=date(2026, 3, 20))


def test_draw_refused_outside_scope_and_published(admin, leader):
    make_institution(admin)
    inspectors(2)
    c = services.campaign_create(actor=leader, data=campaign_data())
    other = make_user(Role.REGULATOR_LEADER, prefixes=[OTHER_COUNTY])
    with pytest.raises(NotFound):
        services.campaign_draw(actor=other, campaign_id=c.pk, share=1.0)
    with pytest.raises(PermissionDeniedError):
        services.campaign_create(actor=other, data=campaign_data())
    services.campaign_draw(actor=leader, campaign_id=c.pk, share=0.5, today=date(2026, 3, 1))
    assert selectors.public_draw_list().count() == 0
    services.draw_publish(actor=leader, campaign_id=c.pk)
    assert selectors.public_draw_list().count() == 1


def test_adhoc_task_for_clues(admin, leader):
    inst = make_institution(admin)
    task = services.inspection_task_create_adhoc(
        actor=leader,
        institution_id=inst.pk,
        due_on=date.today() + timedelta(days=5),
        reason="群众举报隐形变异培训",
        origin_ref="clue:7",
    )
    assert task.origin == "clue" and task.team_id is None
    ins = inspectors(1)[0]
    services.task_assign(actor=leader, task_id=task.pk, inspector_ids=[ins.pk])
    assert selectors.task_list(actor=ins).get() == task
    # a general checklist applies to an ad hoc task
    from qinglang.inspections.checklists import default_template

    items = default_template("general").items.all()
    services.inspection_record_submit(
        actor=ins,
        task_id=task.pk,
        inspected_on=date.today(),
        results=[{"item_id": i.pk, "outcome": "compliant"} for i in items],
    )


def test_frequency_test_helper_is_seeded():
    random.seed(0)  # nothing in the draw depends on the global generator
    a = compute_draw(
        seed="z", population=[1, 2, 3], k=2, pool=_pool(1), team_size=1, recent=set(), conflicts=set()
    )
    random.seed(1)
    b = compute_draw(
        seed="z", population=[1, 2, 3], k=2, pool=_pool(1), team_size=1, recent=set(), conflicts=set()
    )
    assert a.targets == b.targets


def test_sweep_after_long_downtime_sends_both_letters_in_one_run(world):
    item = _issue(world, world["insts"][0], day=date(2025, 9, 26)).first()  # deadline 2025-10-16
    run = services.rectification_sweep_overdue(today=date(2025, 11, 7))  # never swept before
    item.refresh_from_db()
    assert item.escalation == Escalation.CASE_DUE
    assert sorted(Letter.objects.filter(item=item).values_list("kind", flat=True)) == [
        "reminder",
        "supervision",
    ]
    assert (run.reminders, run.supervisions, run.cases_due) == (1, 1, 1)
    again = services.rectification_sweep_overdue(today=date(2025, 11, 7))
    assert (again.reminders, again.supervisions, again.cases_due) == (0, 0, 0)
    assert Letter.objects.filter(item=item).count() == 2


def test_deferred_records_get_their_notices_from_the_batch_job(world, media_root):
    """A batch of synced records (defer_notice): no notice until the job runs; the job
    issues them set-based in batches, one audit event per notice, deadlines counted from
    the inspection date (across the National Day holiday), real .docx files."""
    insts = world["insts"]
    findings = [{"F01": "rectification", "N01": "rectification"}, {}, {"Q02": "rectification"}]
    tasks = [_task_of(world, inst) for inst in insts[:3]]
    for t, f in zip(tasks, findings, strict=True):
        results = answer_all(t, findings=f)
        for r in results:
            if r["outcome"] == "rectification":
                r["requirement"] = "三日内清理疏散通道并报送照片"
        rec = services.inspection_record_submit(
            actor=_member(t),
            task_id=t.pk,
            inspected_on=date(2025, 9, 26),
            results=results,
            deadline_days=10,
            defer_notice=True,
        )
        assert rec.notice_pending == bool(f)
    assert not Notice.objects.exists() and not RectificationItem.objects.exists()
    before = AuditEvent.objects.filter(action="notice.issue").count()
    assert services.notices_issue_pending(limit=1) == 2  # two batches of one record
    assert services.notices_issue_pending() == 0
    assert not Record.objects.filter(notice_pending=True).exists()
    notices = {n.institution_id: n for n in Notice.objects.all()}
    assert set(notices) == {insts[0].pk, insts[2].pk}
    for inst, n_items in ((insts[0], 2), (insts[2], 1)):
        n = notices[inst.pk]
        assert n.deadline_on == date(2025, 10, 16) and n.issued_on == date(2025, 9, 26)
        assert n.items.count() == n_items and n.issued_by_id == _member(n.task).pk
        assert all(i.transitions.count() == 1 for i in n.items.all())
        _check_notice_docx(
            Path(media_root) / n.path, n, inst, deadline="2025年10月16日", departments=["教育局"]
        )
    assert AuditEvent.objects.filter(action="notice.issue").count() == before + 2
    # the institution sees its own notice
    own = make_user(Role.INSTITUTION_ADMIN, institution_id=insts[2].pk)
    assert list(selectors.notice_list(actor=own)) == [notices[insts[2].pk]]


def test_failed_notice_batch_leaves_records_pending_and_no_file(world, media_root, monkeypatch):
    t = _task_of(world, world["insts"][0])
    services.inspection_record_submit(
        actor=_member(t),
        task_id=t.pk,
        inspected_on=date(2026, 3, 3),
        results=answer_all(t, findings={"F01": "rectification"}),
        defer_notice=True,
    )
    from qinglang.inspections.services import records

    def boom(*a, **k):
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(records, "audit_record_many", boom)
    with pytest.raises(RuntimeError):
        services.notices_issue_pending()
    assert Record.objects.filter(notice_pending=True).count() == 1
    assert not Notice.objects.exists() and not RectificationItem.objects.exists()
    assert not (Path(media_root) / "notices").exists() or not any(
        p.is_file() for p in (Path(media_root) / "notices").rglob("*")
    )


def test_the_city_default_rectification_deadline_sets_the_notice_and_the_record_cites_the_rule(
    world, media_root
):
    from qinglang.accounts.permissions import system
    from qinglang.core.services import policy_set

    own, given = world["insts"][0], world["insts"][1]
    city = own.division_code[:4]
    policy_set(
        actor=system("test"),
        key="rectification.default_deadline_days",
        division_code=city,
        value=7,
        basis="成都市规定(测试)",
    )
    findings = {"F01": "rectification"}
    t = _task_of(world, own)
    rec = services.inspection_record_submit(
        actor=_member(t),
        task_id=t.pk,
        inspected_on=date(2025, 9, 26),
        results=answer_all(t, findings=findings),
    )
    notice = Notice.objects.get(task=t)
    # the city's 7 working days from 26 September, across the National Day holiday
    assert (notice.deadline_days, notice.deadline_on) == (7, add_working_days(date(2025, 9, 26), 7))
    cited = AuditEvent.objects.get(action="inspection.record", object_id=str(rec.pk)).changes
    assert (
        cited["deadline_days"] == 7
        and cited["deadline_rule"]["rule"] == "rectification.default_deadline_days"
    )
    assert (cited["deadline_rule"]["value"], cited["deadline_rule"]["set_by"]) == (7, city)
    assert cited["deadline_rule"]["basis"] == "成都市规定(测试)"
    # an inspector's own figure is not the rule's: the record cites no rule for it
    t2 = _task_of(world, given)
    rec2 = services.inspection_record_submit(
        actor=_member(t2),
        task_id=t2.pk,
        inspected_on=date(2025, 9, 26),
        results=answer_all(t2, findings=findings),
        deadline_days=12,
    )
    assert Notice.objects.get(task=t2).deadline_days == 12
    own_figure = AuditEvent.objects.get(action="inspection.record", object_id=str(rec2.pk)).changes
    assert own_figure["deadline_days"] == 12 and "deadline_rule" not in own_figure
