"""What ``indicators-refresh`` adds to the national world of bench/_national.py, set-based
(INSERT … SELECT and UPDATE … FROM), so that every indicator reads rows the way the
platform writes them:

* funds (资金纳管率, 账户开通率): a custody account at the bank for nine in ten
  institutions with orders; the double-entry ledger behind the orders: a prepaid account
  per order and a settlement and a pending-release account per institution, the entries
  of the payment postings, and the lessons consumed released at two a week (one posting
  per week, ``release``, the last week still ``release_pending``) — ≈ 5,000,000 release
  postings on the national world, ≈ 6,000,000 in all, 12,000,000 entries; the orders'
  released and pending amounts and the ledger accounts' balances follow from them
  (custody balances stay as generated: the risk world's shortfalls); one in three
  institutions declares its prepaid fees for the current week;
* clues (线索按时办结率, 隐形变异线索超期未结): their acknowledge and resolve time limits
  (the policy's working days from the day received), one in twelve disguised training,
  concluded on time, late or not at all;
* inspections (检查覆盖率, 整改销号率): a general campaign per province under way
  (45 days each side of the day prepared), a task for one in twenty operating
  institutions, records of the tasks done, and for one in four a finding, its notice and
  its rectification item (ten working days), most of the past ones closed out;
* schools (课后服务覆盖率, 作业时长达标率): each township's school report at three dates.

Each stage runs once: a second ``top_up()`` adds nothing (the declarations are those of
the current week, added when it has none). ``one_day()`` writes one day's changes, dated
today, and marks the days they touch as the platform's saves do (analytics.hooks)."""

import time
from datetime import date, timedelta

from bench._national import insert

CAMPAIGN = "基准专项检查"
FINDING = "消防通道堵塞"


def _dues(first: date, last: date, days: int) -> str:
    """A SQL ``VALUES`` list of (day, the day ``days`` working days later), first..last."""
    from qinglang.core.calendar import add_working_days

    rows, d = [], first
    while d <= last:
        rows.append(f"(DATE '{d}', DATE '{add_working_days(d, days)}')")
        d += timedelta(days=1)
    return "VALUES " + ", ".join(rows)


def _exists(cur, sql: str) -> bool:
    cur.execute(f"SELECT EXISTS ({sql})")
    return cur.fetchone()[0]


def _unchecked(cur) -> None:
    """The foreign keys of the rows inserted next are not checked one by one (they are
    joined from the rows they name): on a superuser connection, for this transaction."""
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cur.fetchone()[0]:
        cur.execute("SET LOCAL session_replication_role = replica")


def _accounts(cur, today: date) -> None:
    from qinglang.funds.models import Bank, CustodyAccount, LedgerAccount

    if _exists(cur, "SELECT 1 FROM funds_ledgeraccount WHERE kind = 'prepaid'"):
        return
    bank = Bank.objects.order_by("id").first() or Bank.objects.create(
        code="BENCH", name="基准托管银行", division_code=""
    )
    insert(
        cur,
        CustodyAccount,
        {
            "institution_id": "i.id",
            "bank_id": str(bank.pk),
            "mode": "CASE WHEN mod(i.id, 7) = 0 THEN 'risk_deposit' ELSE 'bank_custody' END",
            "account_number": "'BENCH' || i.id",
            "opened_on": "(s.first - interval '7 days')::date",
            "division_code": "i.division_code",
        },
        """FROM registry_institution i
           JOIN (SELECT institution_id, min(created_at) AS first FROM funds_order GROUP BY 1) s
             ON s.institution_id = i.id
           WHERE mod(i.id, 10) <> 0
             AND NOT EXISTS (SELECT 1 FROM funds_custodyaccount c WHERE c.institution_id = i.id)""",
    )
    insert(
        cur,
        LedgerAccount,
        {"kind": "k.kind", "institution_id": "s.institution_id", "division_code": "s.division_code"},
        """FROM (SELECT DISTINCT institution_id, division_code FROM funds_order) s
           CROSS JOIN (VALUES ('settlement'), ('pending_release')) AS k(kind)""",
    )
    insert(
        cur,
        LedgerAccount,
        {
            "kind": "'prepaid'",
            "institution_id": "o.institution_id",
            "order_id": "o.id",
            "division_code": "o.division_code",
        },
        "FROM funds_order o",
    )


def _legs(debit: str, credit: str) -> dict[str, str]:
    """An Entry's columns for both legs of each posting ``p`` (``l.leg`` 1: the debit)."""
    return {
        "posting_id": "p.id",
        "account_id": f"CASE l.leg WHEN 1 THEN {debit} ELSE {credit} END",
        "amount_fen": "CASE l.leg WHEN 1 THEN p.amount_fen ELSE -p.amount_fen END",
    }


LEGS = "CROSS JOIN (VALUES (1), (2)) AS l(leg)"


def _payment_entries(cur, today: date) -> None:
    from qinglang.funds.models import Entry

    if _exists(
        cur, "SELECT 1 FROM funds_entry e JOIN funds_posting p ON p.id = e.posting_id AND p.code = 'payment'"
    ):
        return
    _unchecked(cur)
    insert(
        cur,
        Entry,
        _legs("c.id", "a.id"),  # into custody, owed to the learner (the order's prepaid)
        f"""FROM funds_posting p
            JOIN funds_ledgeraccount a ON a.order_id = p.order_id
            JOIN funds_ledgeraccount c ON c.institution_id = p.institution_id AND c.kind = 'custody'
            {LEGS} WHERE p.code = 'payment'""",
    )


def _releases(cur, today: date) -> None:
    from qinglang.funds.models import Entry, Posting

    if _exists(cur, "SELECT 1 FROM funds_posting WHERE code IN ('release', 'release_pending')"):
        return
    _unchecked(cur)
    # week j of m covers lessons 2j-1 and 2j (the last week may hold one), spread evenly
    # between the order and now; the last week still waits for the parents' confirmation
    insert(
        cur,
        Posting,
        {
            "idempotency_key": "'bench-rel-' || o.id || '-' || w.j",
            "payload_hash": "md5(o.id || '-' || w.j)",
            "code": "CASE WHEN w.j = w.m THEN 'release_pending' ELSE 'release' END",
            "institution_id": "o.institution_id",
            "order_id": "o.id",
            "division_code": "o.division_code",
            "amount_fen": "(least(2 * w.j, o.lessons_consumed) - 2 * (w.j - 1)) * o.unit_price_fen",
            "memo": "'消课拨付'",
            "created_at": "o.created_at + (now() - o.created_at) * w.j / (w.m + 1)",
        },
        """FROM funds_order o CROSS JOIN LATERAL (
             SELECT j, (o.lessons_consumed + 1) / 2 AS m FROM generate_series(1, (o.lessons_consumed + 1) / 2) AS j
           ) w""",
    )
    insert(
        cur,
        Entry,
        _legs("a.id", "t.id"),  # out of the order's prepaid, to settlement or pending
        f"""FROM funds_posting p
            JOIN funds_ledgeraccount a ON a.order_id = p.order_id
            JOIN funds_ledgeraccount t ON t.institution_id = p.institution_id
             AND t.kind = CASE p.code WHEN 'release' THEN 'settlement' ELSE 'pending_release' END
            {LEGS} WHERE p.code IN ('release', 'release_pending')""",
    )
    weeks = "((lessons_consumed + 1) / 2 - 1)"  # weeks released before the pending one
    cur.execute(f"""UPDATE funds_order SET released_fen = 2 * {weeks} * unit_price_fen,
                     pending_fen = (lessons_consumed - 2 * {weeks}) * unit_price_fen
                    WHERE lessons_consumed > 0""")
    cur.execute("""UPDATE funds_ledgeraccount a SET balance_fen = o.lessons_consumed * o.unit_price_fen - o.paid_fen
                   FROM funds_order o WHERE a.order_id = o.id""")
    cur.execute("""UPDATE funds_ledgeraccount a
                   SET balance_fen = -CASE a.kind WHEN 'settlement' THEN s.released ELSE s.pending END
                   FROM (SELECT institution_id, sum(released_fen) AS released, sum(pending_fen) AS pending
                         FROM funds_order GROUP BY 1) s
                   WHERE a.institution_id = s.institution_id AND a.kind IN ('settlement', 'pending_release')""")


def _declarations(cur, today: date) -> None:
    from qinglang.funds.models import PrepaidDeclaration
    from qinglang.funds.services.indicators import week_monday

    if _exists(cur, f"SELECT 1 FROM funds_prepaiddeclaration WHERE week_start = DATE '{week_monday(today)}'"):
        return
    insert(
        cur,
        PrepaidDeclaration,
        {
            "institution_id": "s.institution_id",
            "week_start": f"DATE '{week_monday(today)}'",
            "declared_fen": "s.held * (100 + mod(s.institution_id, 40)) / 100",
            "division_code": "s.division_code",
            "submitted_at": "now()",
        },
        """FROM (SELECT institution_id, min(division_code) AS division_code,
                        sum(paid_fen - lessons_consumed * unit_price_fen) AS held
                 FROM funds_order GROUP BY 1) s
           WHERE mod(s.institution_id, 3) = 0 ON CONFLICT DO NOTHING""",
    )


def _clue_deadlines(cur, today: date) -> None:
    from django.conf import settings
    from django.utils import timezone

    cur.execute("SELECT min(received_at), max(received_at) FROM clues_clue WHERE resolve_due IS NULL")
    lo, hi = cur.fetchone()
    if lo is None:
        return
    from qinglang.clues.services.common import deadlines

    first, last = timezone.localdate(lo), timezone.localdate(hi)
    rows, d = [], first
    while d <= last:
        ack, res = deadlines(d, "")
        rows.append(f"(DATE '{d}', DATE '{ack}', DATE '{res}')")
        d += timedelta(days=1)
    h, past = "mod(c.id, 100)", f"d.res < DATE '{today}'"
    done = f"(CASE WHEN {past} THEN {h} < 80 ELSE {h} < 30 END)"  # four in five of the past due
    at = (
        f"least(CASE WHEN {past} AND {h} >= 65 THEN (d.res + 3)::timestamp AT TIME ZONE '{settings.TIME_ZONE}'"
        " ELSE c.received_at + interval '3 days' END, now())"
    )
    t = time.perf_counter()
    cur.execute(f"""UPDATE clues_clue c SET acknowledge_due = d.ack, resolve_due = d.res,
          category = CASE WHEN mod(c.id, 12) = 0 THEN 'disguised_training' ELSE c.category END,
          status = CASE WHEN {done} THEN CASE WHEN mod(c.id, 2) = 0 THEN 'closed' ELSE 'concluded' END
                        WHEN c.received_at < now() - interval '1 day' THEN 'investigating' ELSE c.status END,
          accepted_at = CASE WHEN c.received_at < now() - interval '1 day' THEN c.received_at + interval '1 day' END,
          concluded_at = CASE WHEN {done} THEN {at} END,
          closed_at = CASE WHEN {done} AND mod(c.id, 2) = 0 THEN least({at} + interval '1 day', now()) END
        FROM (VALUES {", ".join(rows)}) AS d(day, ack, res)
        WHERE (c.received_at AT TIME ZONE '{settings.TIME_ZONE}')::date = d.day AND c.resolve_due IS NULL""")
    print(
        f"  clues.Clue: time limits and progress of {cur.rowcount:,} rows in {time.perf_counter() - t:.1f} s"
    )


def findings(cur, tasks: str, number: str, day_expr: str, dues: str, status: str) -> None:
    """Records of the completed tasks ``tasks`` (a FROM clause naming them ``t``) and, for
    one in four, a finding, its notice (number ``number``) and its rectification item
    (deadline from ``dues``: a VALUES list of day → due), in ``status``."""
    from qinglang.inspections.checklists import default_template
    from qinglang.inspections.models import CampaignType, Notice, Record, RectificationItem, Result

    item = default_template(CampaignType.GENERAL).items.order_by("position", "id").first()
    insert(
        cur,
        Record,
        {
            "task_id": "t.id",
            "division_code": "t.division_code",
            "inspected_on": day_expr,
            "summary": "'现场检查完成'",
            "deadline_days": "CASE WHEN mod(t.id, 4) = 0 THEN 10 END",
            "notice_pending": "FALSE",
        },
        tasks,
    )

    def mine(joins: str = "") -> str:
        return f"{tasks} JOIN inspections_record r ON r.task_id = t.id {joins} WHERE mod(t.id, 4) = 0"

    insert(
        cur,
        Result,
        {
            "record_id": "r.id",
            "item_id": str(item.pk),
            "outcome": "'rectification'",
            "description": f"'{FINDING}'",
            "requirement": "'限期整改'",
        },
        mine(),
    )
    insert(
        cur,
        Notice,
        {
            "number": number,
            "task_id": "t.id",
            "institution_id": "t.institution_id",
            "division_code": "t.division_code",
            "issued_on": "r.inspected_on",
            "deadline_days": "10",
            "deadline_on": "due.due",
            "departments": """'["education"]'""",
        },
        mine(f"JOIN ({dues}) AS due(day, due) ON due.day = r.inspected_on"),
    )
    insert(
        cur,
        RectificationItem,
        {
            "notice_id": "n.id",
            "result_id": "x.id",
            "institution_id": "n.institution_id",
            "division_code": "n.division_code",
            "department_kind": "coalesce(dep.kind, 'education')",
            "title": f"'{FINDING}'",
            "requirement": "'限期整改'",
            "deadline_on": "n.deadline_on",
            "status": status,
            "updated_at": "now()",
        },
        mine("""JOIN inspections_notice n ON n.task_id = t.id JOIN inspections_result x ON x.record_id = r.id
                JOIN registry_institution i ON i.id = t.institution_id
                LEFT JOIN core_department dep ON dep.id = i.competent_department_id"""),
    )


def _inspections(cur, today: date) -> None:
    from qinglang.inspections.checklists import default_template
    from qinglang.inspections.models import Campaign, CampaignType, Task

    if Campaign.objects.filter(name=CAMPAIGN).exists():
        return
    start, end = today - timedelta(days=45), today + timedelta(days=45)
    tpl = default_template(CampaignType.GENERAL)
    insert(
        cur,
        Campaign,
        {
            "name": f"'{CAMPAIGN}'",
            "campaign_type": "'general'",
            "division_code": "p.code",
            "starts_on": f"DATE '{start}'",
            "ends_on": f"DATE '{end}'",
            "template_id": str(tpl.pk),
            "status": "'drawn'",
        },
        "FROM (SELECT DISTINCT left(division_code, 2) AS code FROM registry_institution) p",
    )
    on = "k.starts_on + mod(i.id * 7, 91)::int"
    insert(
        cur,
        Task,
        {
            "campaign_id": "k.id",
            "institution_id": "i.id",
            "division_code": "i.division_code",
            "scheduled_on": on,
            "due_on": "k.ends_on",
            "status": f"""CASE WHEN {on} < DATE '{today}' AND mod(i.id, 10) < 8 THEN 'completed'
                               WHEN mod(i.id, 97) = 0 THEN 'cancelled' ELSE 'planned' END""",
            "origin": "'draw'",
        },
        f"""FROM registry_institution i JOIN inspections_campaign k
              ON k.name = '{CAMPAIGN}' AND k.division_code = left(i.division_code, 2)
            WHERE i.status = 'active' AND mod(i.id, 20) = 0""",
    )
    h = "mod(n.id, 100)"
    findings(
        cur,
        f"""FROM inspections_task t JOIN inspections_campaign k ON k.id = t.campaign_id AND k.name = '{CAMPAIGN}'
            AND t.status = 'completed'""",
        "'BN-' || t.id",
        "t.scheduled_on",
        _dues(start, today, 10),
        f"""CASE WHEN n.deadline_on < DATE '{today}'
                 THEN CASE WHEN {h} < 70 THEN 'closed_out' WHEN {h} < 85 THEN 'submitted' ELSE 'issued' END
                 ELSE CASE WHEN {h} < 20 THEN 'submitted' ELSE 'issued' END END""",
    )


def _school_reports(cur, today: date) -> None:
    from qinglang.analytics.models import SchoolReport

    if _exists(cur, "SELECT 1 FROM analytics_schoolreport"):
        return
    n = "(4 + mod(hashtext(s.code) & 1023, 15))"
    insert(
        cur,
        SchoolReport,
        {
            "division_code": "s.code",
            "department_kind": "'education'",
            "report_on": f"DATE '{today}' - m.ago",
            "schools": n,
            "after_school": f"{n} - mod((hashtext(s.code) & 1023) + m.ago, 3)",
            "homework_ok": f"{n} - mod((hashtext(s.code) & 1023) + m.ago, 2)",
        },
        """FROM (SELECT DISTINCT left(division_code, 9) AS code FROM registry_institution
                 WHERE length(division_code) >= 9) s
           CROSS JOIN (VALUES (60), (30), (1)) AS m(ago)""",
    )


STAGES = (
    _accounts,
    _payment_entries,
    _releases,
    _declarations,
    _clue_deadlines,
    _inspections,
    _school_reports,
)
TABLES = (
    "funds_custodyaccount",
    "funds_ledgeraccount",
    "funds_posting",
    "funds_entry",
    "funds_order",
    "funds_prepaiddeclaration",
    "clues_clue",
    "inspections_task",
    "inspections_record",
    "inspections_notice",
    "inspections_rectificationitem",
    "analytics_schoolreport",
)


def top_up() -> None:
    """The indicators' rows added to the generated world, each stage in its own
    transaction and only once."""
    from django.db import connection, transaction
    from django.utils import timezone

    today = timezone.localdate()
    t = time.monotonic()
    for stage in STAGES:
        with transaction.atomic(), connection.cursor() as cur:
            stage(cur, today)
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"ANALYZE {table}")
    print(f"indicators' rows ready in {time.monotonic() - t:.0f} s", flush=True)


def _day_postings(cur, n: int, today: date) -> int:
    """``n`` ledger postings dated now on as many orders: every other one a parent's
    confirmation of what waits (``release_post``: pending → settlement), the others a
    lesson given today (``release_pending``: prepaid → pending); orders and balances follow."""
    from qinglang.funds.models import Entry, Posting

    cur.execute("SELECT coalesce(max(id), 0) FROM funds_posting")
    before = cur.fetchone()[0]
    cur.execute(
        """CREATE TEMP TABLE bench_day_orders ON COMMIT DROP AS
           SELECT o.id, o.institution_id, o.division_code,
                  CASE WHEN mod(row_number() OVER (ORDER BY md5(o.id || %s)), 2) = 0 THEN 'release_post'
                       ELSE 'release_pending' END AS code,
                  o.unit_price_fen, o.pending_fen
           FROM funds_order o
           WHERE o.status = 'paid' AND o.pending_fen > 0 AND o.lessons_consumed + o.lessons_refunded < o.lessons
           ORDER BY md5(o.id || %s) LIMIT %s""",
        [str(today), str(today), n],
    )
    insert(
        cur,
        Posting,
        {
            "idempotency_key": f"'bench-day-{today}-' || d.id",
            "payload_hash": f"md5('{today}-' || d.id)",
            "code": "d.code",
            "institution_id": "d.institution_id",
            "order_id": "d.id",
            "division_code": "d.division_code",
            "amount_fen": "CASE d.code WHEN 'release_post' THEN d.pending_fen ELSE d.unit_price_fen END",
            "memo": "'消课拨付'",
            "created_at": "now()",
        },
        "FROM bench_day_orders d",
    )
    made = cur.rowcount
    post = "p.code = 'release_post'"
    insert(
        cur,
        Entry,
        _legs(f"CASE WHEN {post} THEN w.id ELSE a.id END", f"CASE WHEN {post} THEN s.id ELSE w.id END"),
        f"""FROM funds_posting p
            JOIN funds_ledgeraccount a ON a.order_id = p.order_id
            JOIN funds_ledgeraccount w ON w.institution_id = p.institution_id AND w.kind = 'pending_release'
            JOIN funds_ledgeraccount s ON s.institution_id = p.institution_id AND s.kind = 'settlement'
            {LEGS} WHERE p.id > {before}""",
    )
    cur.execute(f"""UPDATE funds_ledgeraccount a SET balance_fen = a.balance_fen + e.v
                    FROM (SELECT account_id, sum(amount_fen) AS v FROM funds_entry
                          WHERE posting_id > {before} GROUP BY 1) e
                    WHERE a.id = e.account_id""")
    cur.execute("""UPDATE funds_order o SET
                     released_fen = o.released_fen + CASE d.code WHEN 'release_post' THEN o.pending_fen ELSE 0 END,
                     pending_fen = CASE d.code WHEN 'release_post' THEN 0 ELSE o.pending_fen + o.unit_price_fen END,
                     lessons_consumed = o.lessons_consumed + CASE d.code WHEN 'release_post' THEN 0 ELSE 1 END
                   FROM bench_day_orders d WHERE o.id = d.id""")
    return made


def _day_clues(cur, n: int, today: date) -> tuple[int, date]:
    """``n`` clues received today, their time limits the policy's."""
    from qinglang.clues.models import Clue
    from qinglang.clues.services.common import deadlines

    ack, res = deadlines(today, "")
    made = insert(
        cur,
        Clue,
        {
            "reference": f"'D{today:%y%m%d}-' || g",
            "division_code": "i.division_code",
            "institution_id": "i.id",
            "category": "(ARRAY['disguised_training','refund_difficulty','price','other','fire_safety'])[1 + g % 5]",
            "category_source": "'reporter'",
            "summary": "(ARRAY['周末以家政名义上数学课','申请退费没有答复','收费过高','上课时间经常调整'])[1 + g % 4]",
            "first_channel": "'hotline'",
            "status": "'received'",
            "received_at": "now() - g * interval '1 minute'",
            "last_reported_at": "now() - g * interval '1 minute'",
            "acknowledge_due": f"DATE '{ack}'",
            "resolve_due": f"DATE '{res}'",
            "report_count": "1",
            "escalation_level": "0",
            "reopened": "FALSE",
            "suspected_unlicensed": "FALSE",
        },
        f"""FROM generate_series(1, {int(n)}) g
            JOIN registry_institution i ON i.id = (SELECT min(id) FROM registry_institution)
                 + (g * 104729 + {today.toordinal()}) % (SELECT count(*) FROM registry_institution)""",
    )
    return made, res


def _day_inspections(cur, n: int, today: date) -> tuple[int, date]:
    """``n`` planned tasks of the campaigns under way inspected today (the earliest
    scheduled first), with their findings' notices and rectification items."""
    from qinglang.core.calendar import add_working_days

    cur.execute(
        f"""CREATE TEMP TABLE bench_day_tasks ON COMMIT DROP AS
            SELECT t.id FROM inspections_task t JOIN inspections_campaign k ON k.id = t.campaign_id
            WHERE k.name = '{CAMPAIGN}' AND t.status = 'planned' ORDER BY t.scheduled_on, t.id LIMIT {int(n)}"""
    )
    cur.execute(
        "UPDATE inspections_task SET status = 'completed' WHERE id IN (SELECT id FROM bench_day_tasks)"
    )
    made = cur.rowcount
    findings(
        cur,
        "FROM bench_day_tasks b JOIN inspections_task t ON t.id = b.id",
        f"'BD-{today}-' || t.id",
        f"DATE '{today}'",
        _dues(today, today, 10),
        "'issued'",
    )
    return made, add_working_days(today, 10)


def one_day(postings: int, clues: int, inspections: int) -> dict:
    """One day's changes, set-based and dated today (inside the caller's transaction):
    ledger postings, clues received, inspections done; the days their time limits fall on
    marked as the platform's saves mark them (``analytics.hooks.mark_days``)."""
    from django.db import connection
    from django.utils import timezone

    from qinglang.analytics.hooks import mark_days

    today = timezone.localdate()
    with connection.cursor() as cur:
        made = _day_postings(cur, postings, today)
        new_clues, clue_due = _day_clues(cur, clues, today)
        done, item_due = _day_inspections(cur, inspections, today)
        cur.execute("SELECT count(*) FROM inspections_notice WHERE number LIKE %s", [f"BD-{today}-%"])
        notices = cur.fetchone()[0]
    mark_days([clue_due] + ([item_due] if notices else []))
    return {"postings": made, "clues": new_clues, "inspections": done, "rectification_items": notices}
