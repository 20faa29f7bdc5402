"""``qinglang bench campaign``: a province campaign over Sichuan (prefix 51) with 50,000
institutions in the population — the draw, task creation and notice generation
throughput, on a scratch database (never ``test``).

Phases, each timed on its own:
1. draw: ``campaign_draw`` with share 1.0 (every institution a target, the usual full
   coverage goal) — population read, pure ``compute_draw`` (seeded sample, joint teams,
   gap and conflict rules), then teams and one task per active site written set-based.
   The pure draw is also timed alone by recomputing it from the recorded seed.
2. reference: a plain ``INSERT … SELECT`` of the same number of task rows (rolled back),
   in the same run — the ratio is tasks/s of the draw against rows/s of that INSERT.
3. notices, one per submission: ``inspection_record_submit`` on N tasks with two
   rectification findings each (record, results, notice .docx rendered and stored, notice
   row, rectification items and transitions, audit) — notices/s end to end, as inspectors submit.
4. notices in the batch job: M more records submitted with ``defer_notice`` (a batch
   sync), then ``notices_issue_pending`` (the Huey job's work, run here in-process):
   notices issued set-based, 500 records per transaction — notices/s of the job.
5. the .docx rendering alone, serially and in a process pool.

Data are prepared by the run: if the database has fewer than 50,000 institutions under
51, the province seed runs first. Everything the run creates is removed afterwards
(``--keep`` keeps it)."""

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

PROVINCE = "51"
DEPARTMENTS = ("education", "market_regulation", "fire", "public_security", "culture_tourism")


def _refuse_test_db() -> None:
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if str(name) in ("test", "test_test") or str(name).endswith("/test"):
        raise SystemExit("refusing to write benchmark data into the test database")


def _ensure_province(n: int) -> int:
    from django.core.management import call_command

    from qinglang.portal import demo
    from qinglang.registry.models import Institution

    call_command("migrate", verbosity=0)  # a fresh clone's database has no tables yet
    have = Institution.objects.filter(division_code__startswith=PROVINCE).count()
    if have < n:
        print(f"{have:,} institutions under {PROVINCE}: running the province seed first …", flush=True)
        st = demo.seed(scale="province", progress=lambda m: print(m, flush=True))
        print(f"seeded {st.institutions:,} institutions in {st.seconds:.1f} s", flush=True)
        have = Institution.objects.filter(division_code__startswith=PROVINCE).count()
    return have


def _inspectors(n: int, tag: str) -> list:
    """N inspectors of the province from several departments (bulk, bench-only users)."""
    from qinglang.accounts.models import Membership, Role, User

    users = User.objects.bulk_create(
        User(username=f"bench-insp-{tag}-{i}", display_name=f"检查员{i}", is_active=True) for i in range(n)
    )
    Membership.objects.bulk_create(
        Membership(
            user=u,
            role=Role.INSPECTOR,
            division_prefixes=[PROVINCE],
            department_kind=DEPARTMENTS[i % len(DEPARTMENTS)],
            active=True,
        )
        for i, u in enumerate(users)
    )
    return users


def _render_one(args: dict) -> int:
    from qinglang.inspections import documents

    return len(documents.notice_docx(**args))


def _render_object_model(args: dict) -> int:
    """Reference: the notice built through python-docx's object model and saved, per
    notice (how it was rendered before the prepared template), in the same run."""
    import io

    from qinglang.inspections import documents as d

    doc = d._base(f"{args['place']}校外培训联合执法检查组", "整改通知书", args["number"])
    doc.add_paragraph(f"{args['institution']}：")
    doc.add_paragraph(
        f"{d._cn_date(args['inspected_on'])}，联合执法检查组对你单位({args['address']})进行了检查。"
    )
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("序号", "问题", "依据", "整改要求"), strict=True):
        cell.text = text
    for i, f in enumerate(args["findings"], 1):
        row = table.add_row().cells
        row[0].text, row[1].text = str(i), f"{f['title']}：{f['description']}"
        row[2].text, row[3].text = f["basis"], f["requirement"]
    doc.add_paragraph(f"请你单位于{d._cn_date(args['deadline_on'])}前完成整改。")
    d._sign(doc, args["issuers"], args["issued_on"])
    buf = io.BytesIO()
    doc.save(buf)
    return len(buf.getvalue())


def _pool_init() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglang.config.settings")
    django.setup()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench campaign")
    p.add_argument("--population", type=int, default=50_000, help="institutions required under 51")
    p.add_argument("--share", type=float, default=1.0, help="share of the population drawn")
    p.add_argument("--inspectors", type=int, default=400)
    p.add_argument("--team-size", type=int, default=2)
    p.add_argument("--notices", type=int, default=300, help="tasks inspected with findings, one by one")
    p.add_argument("--batch", type=int, default=2000, help="records synced with defer_notice, then the job")
    p.add_argument("--render", type=int, default=5000, help=".docx rendered alone (serial and pool)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="process pool size")
    p.add_argument("--keep", action="store_true", help="keep the campaign, tasks and notices")
    p.add_argument(
        "--profile", action="store_true", help="cProfile the notices phase (top 25 by cumulative time)"
    )
    a = p.parse_args(argv)
    _refuse_test_db()

    from django.db import connection, transaction
    from django.utils import timezone

    from bench._common import db_label
    from qinglang.accounts.models import Membership, User
    from qinglang.inspections import documents, services
    from qinglang.inspections.draw import Inspector, compute_draw
    from qinglang.inspections.models import (
        Campaign,
        Draw,
        Evidence,
        Notice,
        Record,
        RectificationItem,
        RectificationItemTransition,
        Result,
        Task,
        Team,
        TeamMember,
    )
    from qinglang.inspections.services.campaigns import population_for
    from qinglang.inspections.services.records import place_name

    have = _ensure_province(a.population)
    print(
        f"database {db_label()}; {have:,} institutions under {PROVINCE}; machine: {os.cpu_count()} CPUs",
        flush=True,
    )
    tag = str(int(time.time()))
    users = _inspectors(a.inspectors, tag)
    leader = User.objects.create(username=f"bench-leader-{tag}", display_name="省厅负责人")
    Membership.objects.create(user=leader, role="regulator_leader", division_prefixes=[PROVINCE])
    users.append(leader)
    today = timezone.localdate()
    starts = today + timedelta(days=1)
    campaign = services.campaign_create(
        actor=leader,
        data={
            "name": f"全省校外培训专项检查(bench {tag})",
            "campaign_type": "general",
            "division_code": PROVINCE,
            "starts_on": starts,
            "ends_on": starts + timedelta(days=90),
            "departments": [],
        },
    )
    created_files: list[str] = []
    try:
        # 1. the draw, with teams and tasks
        t0 = time.monotonic()
        draw = services.campaign_draw(
            actor=leader,
            campaign_id=campaign.pk,
            share=a.share,
            team_size=a.team_size,
            seed=f"bench-{tag}",
            today=today,
        )
        draw_s = time.monotonic() - t0
        n_tasks = Task.objects.filter(campaign=campaign).count()
        n_teams = Team.objects.filter(campaign=campaign).count()
        # the pure draw alone, recomputed from the recorded seed
        population = list(population_for(campaign).order_by("id").values_list("id", flat=True))
        pool = [
            Inspector(m.user_id, m.department_kind)
            for m in Membership.objects.filter(user__in=users, role="inspector").order_by("user_id")
        ]
        t0 = time.monotonic()
        again = compute_draw(
            seed=draw.seed,
            population=population,
            k=draw.target_count,
            pool=pool,
            team_size=a.team_size,
            recent=set(),
            conflicts=set(),
        )
        pure_s = time.monotonic() - t0
        assert again.targets == draw.targets, "the draw is not reproducible"
        print(
            f"draw: population {draw.population_size:,}, {draw.target_count:,} targets, {n_teams} teams,"
            f" {n_tasks:,} tasks in {draw_s:.2f} s → {draw.target_count / draw_s:,.0f} targets/s,"
            f" {n_tasks / draw_s:,.0f} tasks/s (pure compute_draw {pure_s:.2f} s)",
            flush=True,
        )

        # 2. reference: a plain INSERT … SELECT of the same number of task rows, rolled back
        class _Rollback(Exception):
            pass

        ref_s = 0.0
        try:
            with transaction.atomic(), connection.cursor() as cur:
                t0 = time.monotonic()
                cur.execute(
                    f"INSERT INTO {Task._meta.db_table} (campaign_id, team_id, institution_id, site_id,"
                    " division_code, scheduled_on, due_on, status, origin, origin_ref, reason, created_at)"
                    " SELECT campaign_id, team_id, institution_id, site_id, division_code, scheduled_on,"
                    f" due_on, status, origin, 'ref', reason, now() FROM {Task._meta.db_table} WHERE campaign_id = %s",
                    [campaign.pk],
                )
                ref_rows = cur.rowcount
                ref_s = time.monotonic() - t0
                raise _Rollback
        except _Rollback:
            pass
        print(
            f"reference: INSERT … SELECT of {ref_rows:,} task rows in {ref_s:.2f} s → {ref_rows / ref_s:,.0f} rows/s",
            flush=True,
        )

        # 3. notices through the real service: two rectification findings per task
        tasks = list(
            Task.objects.filter(campaign=campaign, team__isnull=False)
            .select_related("institution", "team")
            .order_by("id")[: a.notices + a.batch]
        )
        members = _members(tasks)
        items = list(campaign.template.active_items().order_by("position", "id"))
        rect = {items[0].pk, items[1].pk}
        inspected = today

        def submit(t, **kw):
            services.inspection_record_submit(
                actor=members[t.pk],
                task_id=t.pk,
                inspected_on=inspected,
                results=[
                    {
                        "item_id": i.pk,
                        "outcome": "rectification" if i.pk in rect else "compliant",
                        "description": "现场检查发现问题" if i.pk in rect else "",
                        "requirement": "限期整改到位" if i.pk in rect else "",
                    }
                    for i in items
                ],
                **kw,
            )

        prof = None
        if a.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.monotonic()
        for t in tasks[: a.notices]:
            submit(t)
        notices_s = time.monotonic() - t0
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        n_notices = Notice.objects.filter(task__campaign=campaign).count()
        print(
            f"notices, one per submission (inspection_record_submit: record, results, notice .docx stored,"
            f" 2 rectification items, audit): {n_notices:,} in {notices_s:.2f} s → {n_notices / notices_s:,.1f} notices/s",
            flush=True,
        )

        # 3b. a batch of synced records (defer_notice), then the job that issues their
        # notices set-based (the bench runs the job itself instead of a Huey worker)
        from qinglang.inspections.services import records as records_module

        records_module._enqueue_pending_notices = lambda: None
        t0 = time.monotonic()
        for t in tasks[a.notices :]:
            submit(t, defer_notice=True)
        deferred_s = time.monotonic() - t0
        t0 = time.monotonic()
        batch_n = services.notices_issue_pending(limit=500)
        batch_s = time.monotonic() - t0
        n_batch = Notice.objects.filter(task__campaign=campaign).count() - n_notices
        assert n_batch == batch_n == len(tasks) - a.notices, (n_batch, batch_n)
        print(
            f"batch: {batch_n:,} records submitted with defer_notice in {deferred_s:.2f} s"
            f" ({batch_n / deferred_s:,.1f} records/s); notices_issue_pending issued {n_batch:,} notices"
            f" in {batch_s:.2f} s → {n_batch / batch_s:,.1f} notices/s",
            flush=True,
        )
        notices = list(Notice.objects.filter(task__campaign=campaign))
        created_files += [n.path for n in notices if n.path]

        # the .docx alone: serial and in a process pool
        place = place_name(tasks[0].division_code) if tasks else "四川省"
        args = [
            {
                "number": f"BENCH〔{today.year}〕{i:06d}号",
                "institution": f"测试培训机构{i}",
                "address": "成都市武侯区测试路1号",
                "place": place,
                "inspected_on": inspected,
                "findings": [
                    {
                        "title": it.title,
                        "description": "现场检查发现问题",
                        "basis": it.basis,
                        "requirement": "限期整改",
                    }
                    for it in items[:2]
                ],
                "deadline_days": 15,
                "deadline_on": inspected + timedelta(days=21),
                "issuers": documents.department_names(["education", "fire"], place),
                "issued_on": inspected,
            }
            for i in range(a.render)
        ]
        t0 = time.monotonic()
        for x in args:
            _render_one(x)
        serial_s = time.monotonic() - t0
        n_ref = max(1, a.render // 20)
        t0 = time.monotonic()
        for x in args[:n_ref]:
            _render_object_model(x)
        ref_docx_s = time.monotonic() - t0
        t0 = time.monotonic()
        with ProcessPoolExecutor(max_workers=a.workers, initializer=_pool_init) as ex:
            list(ex.map(_render_one, args, chunksize=max(1, a.render // (a.workers * 4))))
        pool_s = time.monotonic() - t0
        print(
            f".docx alone: {a.render} serial in {serial_s:.2f} s → {a.render / serial_s:,.0f}/s;"
            f" process pool of {a.workers} in {pool_s:.2f} s → {a.render / pool_s:,.0f}/s;"
            f" reference, python-docx object model per notice: {n_ref} in {ref_docx_s:.2f} s"
            f" → {n_ref / ref_docx_s:,.0f}/s ({(a.render / serial_s) / (n_ref / ref_docx_s):,.0f}× faster)",
            flush=True,
        )

        tasks_per_s = n_tasks / draw_s
        ref_per_s = ref_rows / ref_s if ref_s else 0.0
        ratio = tasks_per_s / ref_per_s if ref_per_s else 0.0
        print(
            f"summary: {draw.target_count / draw_s:,.0f} targets/s, {tasks_per_s:,.0f} tasks/s,"
            f" {n_notices / notices_s:,.1f} notices/s one per submission,"
            f" {n_batch / batch_s:,.1f} notices/s in the batch job"
            f" (docx alone {a.render / serial_s:,.0f}/s serial, {a.render / pool_s:,.0f}/s pool)"
        )
        print(
            f"RESULT campaign {tasks_per_s:.0f} tasks/s ratio={ratio:.3f}"
            f" ref=insert-select:{ref_per_s:.0f}rows/s/{ref_rows}rows"
            f" targets/s={draw.target_count / draw_s:.0f} notices/s={n_notices / notices_s:.1f}"
            f" batch_notices/s={n_batch / batch_s:.1f}"
        )
    finally:
        if not a.keep:
            from qinglang.core import files

            with transaction.atomic():
                notices = Notice.objects.filter(task__campaign=campaign)
                RectificationItemTransition.objects.filter(item__notice__in=notices).delete()
                RectificationItem.objects.filter(notice__in=notices).delete()
                notices.delete()
                Evidence.objects.filter(result__record__task__campaign=campaign).delete()
                Result.objects.filter(record__task__campaign=campaign).delete()
                Record.objects.filter(task__campaign=campaign).delete()
                Task.objects.filter(campaign=campaign).delete()
                TeamMember.objects.filter(team__campaign=campaign).delete()
                Team.objects.filter(campaign=campaign).delete()
                Draw.objects.filter(campaign=campaign).delete()
                Campaign.objects.filter(pk=campaign.pk).delete()
                Membership.objects.filter(user__in=users).delete()
                User.objects.filter(pk__in=[u.pk for u in users]).delete()
            for rel in created_files:
                files.discard(rel)
    return 0


def _members(tasks) -> dict:
    """A member of each task's team (the inspection is submitted by an inspector), looked
    up before the timing starts."""
    from qinglang.accounts.models import User
    from qinglang.inspections.models import TeamMember

    first: dict[int, int] = {}
    for team_id, uid in (
        TeamMember.objects.filter(team_id__in={t.team_id for t in tasks})
        .order_by("team_id", "user_id")
        .values_list("team_id", "user_id")
    ):
        first.setdefault(team_id, uid)
    users = User.objects.in_bulk(set(first.values()))
    return {t.pk: users[first[t.team_id]] for t in tasks}
