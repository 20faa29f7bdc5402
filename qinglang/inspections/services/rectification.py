"""The rectification register (整改台账): issued → submitted → verified → closed_out, or
returned (and submitted again); one service per transition, an insert-only transition row
each time. Overdue items escalate — reminder letter, supervision letter, penalty case —
at working-day intervals from policy, by a set-based sweep that works from current state
(so a run after downtime catches up everything that fell due meanwhile)."""

import time
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import (
    INSPECTORS,
    REGULATOR_WRITERS,
    is_institution_user,
    is_system,
    lock_in_scope,
    require_role,
    system,
    user_id,
)
from qinglang.accounts.scope import actor_for
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.calendar import is_working_day, working_days_between
from qinglang.core.documents import allocate_numbers, document_number
from qinglang.core.errors import PermissionDeniedError
from qinglang.core.i18n import chinese_label
from qinglang.core.models import PolicyParameter
from qinglang.core.policy import policy_resolve

from .. import documents
from ..models import (
    OPEN_STATUSES,
    RECTIFICATION_STATES,
    Escalation,
    Evidence,
    Letter,
    LetterKind,
    RectificationItem,
    RectificationStatus,
    SweepRun,
    TeamMember,
)
from . import inspector_notices
from .records import place_name, place_names

LEVEL_KEYS = [
    (Escalation.REMINDER, "rectification.reminder_after_overdue_days", LetterKind.REMINDER),
    (Escalation.SUPERVISION, "rectification.supervision_letter_after_overdue_days", LetterKind.SUPERVISION),
    (Escalation.CASE_DUE, "rectification.case_after_overdue_days", None),
]


def require_reinspector(*, actor, item: RectificationItem) -> None:
    """复查 belongs to the issuing department — the item's responsible department, or a
    regulator of the area who belongs to no single department (the task force, a
    county-wide leader) — and to the members of the joint team whose inspection issued
    the notice. Other departments of the county read the item but do not reinspect it."""
    require_role(
        actor, INSPECTORS, division_code=item.division_code, message=gettext_lazy("无权执行检查或复查")
    )
    a = None if is_system(actor) else actor_for(actor)
    if a is None or a.is_platform_admin:
        return
    for prefixes, dept in a.regulator:
        if any(item.division_code.startswith(p) for p in prefixes) and dept in ("", item.department_kind):
            return
    team_id = item.notice.task.team_id
    if team_id and TeamMember.objects.filter(team_id=team_id, user_id=user_id(actor)).exists():
        return
    raise PermissionDeniedError(gettext_lazy("只有责任部门或该次检查的联合检查组成员可以复查"))


def _lock_item(actor, item_id: int, **kw) -> RectificationItem:
    return lock_in_scope(RectificationItem, item_id, actor=actor, what="整改事项", **kw)


@transaction.atomic
def rectification_submit(*, actor, item_id: int, measures: str, uploads: list) -> RectificationItem:
    """The institution reports its rectification with evidence (机构端提交整改材料)."""
    item = _lock_item(actor, item_id)
    if not (actor_for(actor).is_platform_admin or is_institution_user(actor, item.institution_id)):
        raise PermissionDeniedError(gettext_lazy("只有被检查机构可以提交整改材料"))
    measures = (measures or "").strip()
    if not measures:
        raise ValidationError({"measures": gettext_lazy("请说明整改措施")})
    RECTIFICATION_STATES.check(item.status, RectificationStatus.SUBMITTED)
    if not uploads:
        raise ValidationError({"files": gettext_lazy("请上传整改证明材料(照片或文件)")})
    checked = [files.check_upload(f) for f in uploads]
    created: list[str] = []
    try:
        rows = []
        for c in checked:
            rel, digest, new = files.store(c.data, folder="evidence")
            if new:
                created.append(rel)
            rows.append(
                Evidence(
                    institution_id=item.institution_id,
                    division_code=item.division_code,
                    rectification_item=item,
                    original_name=c.name,
                    content_type=c.content_type,
                    size=len(c.data),
                    sha256=digest,
                    path=rel,
                    uploaded_by_id=user_id(actor),
                )
            )
        Evidence.objects.bulk_create(rows)
        item.measures = measures
        item = RECTIFICATION_STATES.move(
            item,
            RectificationStatus.SUBMITTED,
            actor=actor,
            reason=measures,
            fields=["measures"],
            changes={"evidence": [r.sha256 for r in rows]},
        )
        inspector_notices.awaiting_reinspection(item=item, actor=actor)
        return item
    except BaseException:
        for rel in created:
            files.discard(rel)
        raise


@transaction.atomic
def rectification_verify(*, actor, item_id: int, note: str = "") -> RectificationItem:
    """复查: the reinspection confirms the rectification (the issuing department or the
    joint team's members, ``require_reinspector``)."""
    item = _lock_item(actor, item_id, regulator_department=False, related=("notice__task",))
    require_reinspector(actor=actor, item=item)
    return RECTIFICATION_STATES.move(
        item, RectificationStatus.VERIFIED, actor=actor, reason=(note or "复查合格").strip()
    )


@transaction.atomic
def rectification_return(*, actor, item_id: int, reason: str) -> RectificationItem:
    """复查不合格: back to the institution; the deadline keeps running."""
    item = _lock_item(actor, item_id, regulator_department=False, related=("notice__task",))
    require_reinspector(actor=actor, item=item)
    if not (reason or "").strip():
        raise ValidationError({"reason": gettext_lazy("请说明退回理由")})
    return RECTIFICATION_STATES.move(item, RectificationStatus.RETURNED, actor=actor, reason=reason.strip())


@transaction.atomic
def rectification_close_out(*, actor, item_id: int, note: str = "") -> RectificationItem:
    """销号."""
    item = _lock_item(actor, item_id)
    require_role(
        actor, REGULATOR_WRITERS, division_code=item.division_code, message=gettext_lazy("无权执行销号")
    )
    return RECTIFICATION_STATES.move(
        item, RectificationStatus.CLOSED_OUT, actor=actor, reason=(note or "整改到位，予以销号").strip()
    )


# --- overdue sweep --------------------------------------------------------------------------


def overdue_cutoff(today: date, n: int) -> date:
    """The latest deadline that is at least ``n`` working days overdue on ``today``:
    deadline <= cutoff  ⇔  working_days_between(deadline, today) >= n."""
    if n <= 0:
        return today - timedelta(days=1)
    d, count = today, 0
    while True:
        if is_working_day(d):
            count += 1
            if count >= n:
                return d - timedelta(days=1)
        d -= timedelta(days=1)


def _groups(today: date) -> list[tuple[str, list[str]]]:
    """(prefix, more specific prefixes to exclude): the national default plus every
    division that overrides one of the escalation intervals."""
    keys = [k for _, k, _ in LEVEL_KEYS]
    prefixes = sorted(
        set(
            PolicyParameter.objects.filter(key__in=keys, effective_from__lte=today)
            .exclude(division_code="")
            .values_list("division_code", flat=True)
        )
    )
    out = []
    for p in ["", *prefixes]:
        under = [q for q in prefixes if q != p and q.startswith(p)]
        # exclude only the nearest overrides; theirs handle what lies below them
        nearest = [q for q in under if not any(q != r and q.startswith(r) for r in under)]
        out.append((p, nearest))
    return out


def _where(prefix: str, excluded: list[str], col: str = "division_code") -> tuple[str, list]:
    sql, params = "", []
    if prefix:
        sql += f" AND {col} LIKE %s"
        params.append(prefix + "%")
    for q in excluded:
        sql += f" AND {col} NOT LIKE %s"
        params.append(q + "%")
    return sql, params


def _open_overdue(alias: str, geo_sql: str) -> str:
    """Open items below a level whose deadline is on or before a cutoff, in one group."""
    a = f"{alias}." if alias else ""
    return f" WHERE {a}status IN (%s, %s) AND {a}escalation < %s AND {a}deadline_on <= %s{geo_sql}"


def _count_by(cur, sql: str, params: list, col: str) -> dict:
    """Run a data-changing statement and count the changed rows by ``col`` (its value
    after the change), without shipping the rows to Python on PostgreSQL."""
    if connection.vendor == "postgresql":
        sql = f"WITH x AS ({sql} RETURNING {col}) SELECT {col}, count(*) FROM x GROUP BY {col}"  # noqa: S608 -- callers' SQL, values bound
        cur.execute(sql, params)
        return dict(cur.fetchall())
    cur.execute(f"{sql} RETURNING {col}", params)
    out: dict = {}
    for (k,) in cur.fetchall():
        out[k] = out.get(k, 0) + 1
    return out


def rectification_sweep_overdue(*, today: date | None = None, actor=system("overdue-sweep")) -> SweepRun:
    """Periodic job: escalate every open item whose deadline has passed by the policy's
    working days. Set-based: per policy group one INSERT … SELECT of the letters for every
    level an item crossed (reminder and supervision together, after downtime) and one
    UPDATE that sets the final level, whatever the number of items — each row is rewritten
    once. Letters' .docx files are rendered afterwards (``letters_render_pending``)."""
    today = today or timezone.localdate()
    t0 = time.monotonic()
    items = RectificationItem._meta.db_table
    letters = Letter._meta.db_table
    counts = {1: 0, 2: 0, 3: 0}
    entries = []
    with transaction.atomic():
        run = SweepRun.objects.create(ran_on=today)
        with connection.cursor() as cur:
            for prefix, excluded in _groups(today):
                place = prefix or "000000"
                geo_sql, geo_params = _where(prefix, excluded)
                geo_i, _ = _where(prefix, excluded, "i.division_code")
                levels = []  # (level, rule, letter kind, days, cutoff)
                for level, key, kind in LEVEL_KEYS:
                    rule = policy_resolve(key, place, on=today)
                    days = int(rule.value)
                    levels.append((int(level), rule, kind, days, overdue_cutoff(today, days)))
                top = int(Escalation.CASE_DUE)
                # letters: an item gets the letter of level L when it is below L and its
                # deadline is at or before L's cutoff (the same rule the level loop had)
                lettered = [lv for lv in levels if lv[2] is not None]
                values = ", ".join("(%s, %s, %s)" for _ in lettered)
                v_params = [p for lv, _k, kind, _d, cut in lettered for p in (lv, kind, cut)]
                by_kind = _count_by(
                    cur,
                    f"INSERT INTO {letters} (item_id, institution_id, division_code, kind, issued_on,"  # noqa: S608 -- table names from _meta; values bound
                    f" overdue_days, number, path, sha256) SELECT i.id, i.institution_id, i.division_code,"
                    f" v.column2, %s, 0, '', '', '' FROM {items} i JOIN (VALUES {values}) AS v"
                    f" ON i.escalation < v.column1 AND i.deadline_on <= v.column3{_open_overdue('i', geo_i)}",
                    [
                        today,
                        *v_params,
                        *OPEN_STATUSES,
                        max(lv for lv, *_ in lettered),
                        max(cut for *_, cut in lettered),
                        *geo_params,
                    ],
                    "kind",
                )
                # the level: the highest one whose cutoff the deadline has passed
                case_sql = " ".join(f"WHEN deadline_on <= %s THEN {lv}" for lv, *_ in reversed(levels))
                case_params = [cut for *_, cut in reversed(levels)]
                crossed = " OR ".join("(escalation < %s AND deadline_on <= %s)" for _ in levels)
                crossed_params = [p for lv, *_, cut in levels for p in (lv, cut)]
                by_level = _count_by(
                    cur,
                    f"UPDATE {items} SET escalation = CASE {case_sql} ELSE escalation END"  # noqa: S608
                    f"{_open_overdue('', geo_sql)} AND ({crossed})",
                    [
                        *case_params,
                        *OPEN_STATUSES,
                        top,
                        max(cut for *_, cut in levels),
                        *geo_params,
                        *crossed_params,
                    ],
                    "escalation",
                )
                for lv, rule, kind, days, cut in levels:
                    n = by_kind.get(kind, 0) if kind is not None else by_level.get(lv, 0)
                    counts[lv] += n
                    if n:
                        entries.append(
                            Entry(
                                f"rectification.escalate.{Escalation(lv).name.lower()}",
                                "inspections.sweeprun",
                                str(run.pk),
                                prefix,
                                # the rule crossed: key, figure, who set it, basis
                                {"items": n, **rule.cite(), "days": days, "deadline_on_or_before": cut},
                            )
                        )
        run.reminders, run.supervisions, run.cases_due = counts[1], counts[2], counts[3]
        run.seconds = time.monotonic() - t0
        run.save(update_fields=["reminders", "supervisions", "cases_due", "seconds"])
        audit_record_many(actor=actor, entries=entries)
    return run


def rectification_items_case_due(*, limit: int = 1000, lock: bool = False) -> list[RectificationItem]:
    """For the enforcement job: items the sweep marked for a penalty case, still open.
    ``lock``: lock the items (not the joined rows) for the caller's transaction, skipping
    items another run holds."""
    qs = RectificationItem.objects.filter(
        escalation=Escalation.CASE_DUE, case_id__isnull=True, status__in=OPEN_STATUSES
    ).select_related("institution", "notice")
    if lock:
        qs = qs.select_for_update(of=("self",), skip_locked=True)
    return list(qs.order_by("institution_id", "id")[:limit])


@transaction.atomic
def rectification_mark_case_filed(*, actor, item_ids: list[int], case_id: int) -> int:
    """Enforcement files a case for overdue items; the register records its id."""
    return rectification_mark_cases_filed(actor=actor, filed={case_id: item_ids})


@transaction.atomic
def rectification_mark_cases_filed(*, actor, filed: dict[int, list[int]]) -> int:
    """Enforcement filed cases for overdue items ({case id: item ids}); the register records
    the ids with one UPDATE and one audit event per case."""
    from django.db.models import Case, IntegerField, Value, When

    ids = [i for item_ids in filed.values() for i in item_ids]
    if not ids:
        return 0
    n = RectificationItem.objects.filter(pk__in=ids, case_id__isnull=True).update(
        case_id=Case(
            *[When(pk__in=item_ids, then=Value(case_id)) for case_id, item_ids in filed.items()],
            output_field=IntegerField(),
        ),
        escalation=Escalation.CASE_FILED,
    )
    audit_record_many(
        actor=actor,
        entries=[
            Entry(
                "rectification.case_filed", "enforcement.penaltycase", str(case_id), "", {"items": item_ids}
            )
            for case_id, item_ids in filed.items()
        ],
    )
    return n


# --- letters --------------------------------------------------------------------------------


@transaction.atomic
def letter_render(letter: Letter) -> Letter:
    """Render and store one letter's .docx (idempotent: content-addressed); a letter
    without a number takes the next one of its series."""
    place = place_name(letter.division_code)
    _number_letters([letter], {letter.division_code[:6]: place})
    _letter_file(letter, place)
    Letter.objects.filter(pk=letter.pk).update(
        number=letter.number, path=letter.path, sha256=letter.sha256, overdue_days=letter.overdue_days
    )
    return letter


def _number_letters(letters: list[Letter], places: dict[str, str]) -> None:
    """发文字号 for letters that have none: per county, series (提/督) and year, from the
    gapless counter, in id order. Runs in the caller's transaction."""
    todo: dict[tuple[str, str, int], list[Letter]] = {}
    for letter in sorted((x for x in letters if not x.number), key=lambda x: x.pk):
        unit = places.get(letter.division_code[:6]) or letter.division_code[:6]
        todo.setdefault((unit, documents.LETTER_SERIES[letter.kind], letter.issued_on.year), []).append(
            letter
        )
    for (unit, series, year), group in sorted(todo.items()):
        serials = allocate_numbers(unit=unit, series=series, year=year, count=len(group))
        for letter, serial in zip(group, serials, strict=True):
            letter.number = document_number(unit, series, year, serial)


def _letter_file(letter: Letter, place: str) -> None:
    """Render the letter (prepared template) and store it; sets path, sha256 and
    overdue_days on the instance."""
    item = letter.item
    overdue = working_days_between(item.deadline_on, letter.issued_on)
    supervision = letter.kind == LetterKind.SUPERVISION
    data = documents.letter_docx(
        kind_label=chinese_label(LetterKind, letter.kind),
        number=letter.number,
        institution=item.institution.name,
        place=place,
        notice_number=item.notice.number,
        item_title=item.title,
        deadline_on=item.deadline_on,
        overdue_days=overdue,
        issuers=documents.department_names(
            ["education", item.department_kind] if item.department_kind != "education" else ["education"],
            place,
        ),
        issued_on=letter.issued_on,
        address=item.institution.address,
        next_step="逾期仍不整改的，将依法立案查处。"
        if supervision
        else "请于收到本函后尽快整改到位，否则将发出督办函。",
    )
    letter.path, letter.sha256, _ = files.store(data, folder="letters", suffix=".docx")
    letter.overdue_days = min(overdue, 32767)


def letters_render_pending(*, limit: int = 500) -> int:
    """Render up to ``limit`` letters the sweep inserted without a file: one query for the
    letters with their items, one for the place names, one UPDATE for all their paths.
    The letters are locked (``SKIP LOCKED``), so two workers never number one letter twice."""
    with transaction.atomic():
        letters = list(
            Letter.objects.filter(path="")
            .select_related("item__institution", "item__notice")
            .select_for_update(of=("self",), skip_locked=True)
            .order_by("id")[:limit]
        )
        places = place_names(letter.division_code for letter in letters)
        _number_letters(letters, places)
        for letter in letters:
            _letter_file(letter, places.get(letter.division_code[:6], ""))
        Letter.objects.bulk_update(letters, ["number", "path", "sha256", "overdue_days"], batch_size=limit)
    return len(letters)
