"""Intake, stage 4: what the earlier stages decided, written in bulk — the new cases, the
stored cases' report counts, the received → routed transitions and routing records, the
reports and their photos. COPY text lines on PostgreSQL, ``executemany`` elsewhere."""

import json
import time
from dataclasses import dataclass
from datetime import UTC

from django.db import connection
from django.utils import timezone

from qinglang.core import files
from qinglang.core.bulk import COPY_ESCAPES, Table, allocate_ids, chunks, copy_text, is_pg
from qinglang.core.crypto import blind_index, encrypt_many

from ..models import (
    Channel,
    Clue,
    CluePhoto,
    ClueReport,
    ClueRouting,
    ClueStatus,
    ClueTransition,
    RoutingAction,
)
from .common import random_codes
from .intake_drafts import Batch, Draft
from .intake_route import NewCase

ROUTING_RULE = "clue.routing"  # cited on each routing record it decided


def store_batch(drafts: list[Draft], b: Batch, created, touched, actor) -> list:
    """Everything the batch decided, written; returns the reports, one per draft."""
    t = time.perf_counter()
    _insert_clues([c for c, _ in created])
    t = b.lap("insert_clues", t)
    if touched:
        Clue.objects.bulk_update(
            list(touched.values()), ["report_count", "last_reported_at"], batch_size=2000
        )
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    transitions, routings = _transition_and_routing_rows(created, actor_id, b.now)
    _write(ClueTransition, TRANSITION_COLUMNS, transitions)
    _write(ClueRouting, ROUTING_COLUMNS, routings)
    t = b.lap("insert_transitions_routings", t)
    _stamp_open311_refs(drafts)
    reports = _insert_reports(drafts, b.now)
    t = b.lap("insert_reports", t)
    photos = []
    for d, r in zip(drafts, reports, strict=True):
        for data, ctype, ext, digest in d.sub.photos:
            photos.append(
                CluePhoto(
                    report_id=r.pk,
                    path=files.store(data, folder="clues", suffix=f".{ext}")[0],
                    sha256=digest,
                    size=len(data),
                    content_type=ctype,
                )
            )
    CluePhoto.objects.bulk_create(photos)
    return reports


TRANSITION_COLUMNS = ["clue_id", "from_status", "to_status", "reason", "actor_id", "at"]
ROUTING_COLUMNS = [
    "clue_id",
    "action",
    "department_id",
    "department_kind",
    "lead",
    "reason",
    "rule",
    "actor_id",
    "at",
]
ROUTED_REASON = "按分办矩阵自动分办"
ROUTED_MISSING_REASON = "按分办矩阵自动分办(该部门尚未建档，待补建)"


def _transition_and_routing_rows(created, actor_id, now) -> tuple[list, list]:
    """The received → routed transition and the assignments of each new case: COPY text
    lines on PostgreSQL (formatted in place; every text here is ours and needs no
    escaping), tuples elsewhere."""
    transitions, routings = [], []
    if is_pg():
        at, actor = now.isoformat(), _nul(actor_id)
        for case, deps in created:
            if deps:
                transitions.append(
                    f"{case.pk}\t{ClueStatus.RECEIVED}\t{ClueStatus.ROUTED}\t自动分办\t{actor}\t{at}\n"
                )
            for i, (k, _div, dep) in enumerate(deps):
                routings.append(
                    f"{case.pk}\t{RoutingAction.ASSIGN}\t{_nul(dep.pk if dep else None)}\t{k}\t{'t' if i == 0 else 'f'}\t"
                    f"{ROUTED_REASON if dep else ROUTED_MISSING_REASON}\t{ROUTING_RULE}\t{actor}\t{at}\n"
                )
        return transitions, routings
    at = connection.ops.adapt_datetimefield_value(now)
    for case, deps in created:
        if deps:
            transitions.append((case.pk, ClueStatus.RECEIVED, ClueStatus.ROUTED, "自动分办", actor_id, at))
        for i, (k, _div, dep) in enumerate(deps):
            reason = ROUTED_REASON if dep else ROUTED_MISSING_REASON
            routings.append(
                (
                    case.pk,
                    RoutingAction.ASSIGN,
                    dep.pk if dep else None,
                    k,
                    i == 0,
                    reason,
                    ROUTING_RULE,
                    actor_id,
                    at,
                )
            )
    return transitions, routings


def _write(model, columns: list[str], rows: list) -> None:
    """Rows of ``columns``: on PostgreSQL ready COPY text lines (``core.bulk.copy_text``,
    5,000 lines a write), elsewhere tuples (``core.bulk.Table``: one ``executemany``)."""
    if not rows:
        return
    if is_pg():
        copy_text(model._meta.db_table, columns, chunks(rows, 5000))
    else:
        Table(model, columns).insert(rows)


def _stamp_open311_refs(drafts: list[Draft]) -> None:
    """An Open311 report's source reference is the ``service_request_id`` its client
    received: the id of the case it landed in (known once the case is stored), kept on
    the report so a county can reconcile it even after a merge or split moves it."""
    for d in drafts:
        if d.sub.channel == Channel.OPEN311 and not d.sub.source_ref:
            d.sub.source_ref = str(d.case.pk)


REPORT_COLUMNS = [
    "clue_id",
    "channel",
    "source_ref",
    "tracking_code",
    "content",
    "institution_name",
    "uscc",
    "address",
    "division_code",
    "anonymous",
    "reporter_enc",
    "reporter_phone_index",
    "submitted_by_id",
    "open311_token",
    "url",
    "received_at",
    "satisfaction",
    "satisfaction_comment",
    "reopen_reason",
    "category",
    "similarity",
]


def _insert_reports(drafts: list[Draft], now) -> list[ClueReport]:
    """Reports are the bulk of an import (one per work order): inserted with executemany
    (COPY on PostgreSQL) rather than the ORM's per-field preparation, then read back for
    their ids when needed."""
    codes = random_codes(len(drafts), 12)
    rows = _report_lines(drafts, codes, now) if is_pg() else _report_rows(drafts, codes, now)
    _write(ClueReport, REPORT_COLUMNS, rows)
    if len(codes) > 50 and not any(d.sub.photos for d in drafts):
        return [ReportRef(None, c) for c in codes]  # a bulk import needs no report ids
    if len(codes) <= 50:
        by_code = {r.tracking_code: r for r in ClueReport.objects.filter(tracking_code__in=codes)}
        return [by_code[c] for c in codes]
    ids = {}
    for i in range(0, len(codes), 5000):
        ids.update(
            ClueReport.objects.filter(tracking_code__in=codes[i : i + 5000]).values_list(
                "tracking_code", "id"
            )
        )
    return [ReportRef(ids[c], c) for c in codes]


def _reporters(drafts: list[Draft]) -> list[tuple[str, str]]:
    """``_reporter`` of every draft, the contacts encrypted in one batch."""
    plains = [
        json.dumps({"name": d.sub.reporter_name, "phone": d.sub.reporter_phone}, ensure_ascii=False)
        if d.sub.reporter_name or d.sub.reporter_phone
        else ""
        for d in drafts
    ]
    return [
        (enc, blind_index(d.sub.reporter_phone) if plain else "")
        for d, plain, enc in zip(drafts, plains, encrypt_many(plains), strict=True)
    ]


def _report_lines(drafts: list[Draft], codes, now) -> list[str]:
    """COPY text lines of REPORT_COLUMNS, formatted in place (no per-value calls)."""
    e = COPY_ESCAPES
    out = []
    for d, code, (enc, idx) in zip(drafts, codes, _reporters(drafts), strict=True):
        s = d.sub
        out.append(
            f"{d.case.pk}\t{s.channel}\t{s.source_ref.translate(e)}\t{code}\t{s.content.translate(e)}\t"
            f"{s.institution_name.translate(e)}\t{s.uscc}\t{s.address.translate(e)}\t{s.division_code}\t"
            f"{'t' if s.anonymous else 'f'}\t{enc}\t{idx}\t{_nul(s.submitted_by_id)}\t{s.open311_token}\t"
            f"{s.url[:500].translate(e)}\t{d.at.isoformat()}\t\\N\t\t\t"
            f"{d.prediction.category}\t{_nul(d.placement.similarity)}\n"
        )
    return out


def _report_rows(drafts: list[Draft], codes, now) -> list[tuple]:
    sqlite = connection.vendor == "sqlite"
    rows = []
    for d, code, reporter in zip(drafts, codes, _reporters(drafts), strict=True):
        s = d.sub
        # what Django's SQLite adapter does (naive UTC text), without its per-call overhead
        at = str(d.at.astimezone(UTC).replace(tzinfo=None)) if sqlite else d.at
        rows.append(
            (
                d.case.pk,
                s.channel,
                s.source_ref,
                code,
                s.content,
                s.institution_name,
                s.uscc,
                s.address,
                s.division_code,
                s.anonymous,
                *reporter,
                s.submitted_by_id,
                s.open311_token,
                s.url[:500],
                at,
                None,
                "",
                "",
                d.prediction.category,
                d.placement.similarity,
            )
        )
    return rows


@dataclass
class ReportRef:
    """What a bulk import needs of an inserted report (no model instance per row)."""

    pk: int | None
    tracking_code: str


def _nul(v) -> str:
    return "\\N" if v is None else str(v)


CLUE_COLUMNS = [
    "reference",
    "division_code",
    "institution_id",
    "match_method",
    "match_score",
    "operator_name",
    "operator_address",
    "operator_key",
    "suspected_unlicensed",
    "category",
    "category_source",
    "category_confidence",
    "needs_triage",
    "summary",
    "first_channel",
    "status",
    "routed_kinds",
    "report_count",
    "received_at",
    "last_reported_at",
    "acknowledge_due",
    "resolve_due",
    "escalation_level",
    "finding",
    "feedback",
    "reopened",
    "import_batch_id",
    "created_at",
    "triage_rule",
]


def _insert_clues(clues: list) -> None:
    """New cases: through the ORM when few (``Clue`` instances), else (``NewCase``) ids
    reserved up front (``core.bulk.allocate_ids``, so nothing is read back) and one bulk
    write of rows formed in place (``_write``: COPY text lines on PostgreSQL)."""
    if not clues:
        return
    if isinstance(clues[0], Clue):  # the per-report path (few submissions)
        Clue.objects.bulk_create(clues)
        return
    now = timezone.now()
    ids = allocate_ids(Clue, len(clues))  # on SQLite under the write lock held since the batch row
    for c, pk in zip(clues, ids, strict=True):
        c.pk, c.created_at = pk, now
    rows = _clue_lines(clues, now) if is_pg() else _clue_rows(clues, now)
    _write(Clue, ["id", *CLUE_COLUMNS], rows)


def _clue_lines(clues: list[NewCase], now) -> list[str]:
    """COPY text lines of id + CLUE_COLUMNS, formatted in place."""
    e, created = COPY_ESCAPES, now.isoformat()
    return [
        f"{c.pk}\t{c.reference}\t{c.division_code}\t{_nul(c.institution_id)}\t{c.match_method}\t"
        f"{_nul(c.match_score)}\t{c.operator_name.translate(e)}\t{c.operator_address.translate(e)}\t"
        f"{c.operator_key.translate(e)}\t{'t' if c.suspected_unlicensed else 'f'}\t{c.category}\t"
        f"{c.category_source}\t{_nul(c.category_confidence)}\t{'t' if c.needs_triage else 'f'}\t"
        f"{c.summary.translate(e)}\t{c.first_channel}\t{c.status}\t"
        f"{c.routed_kinds}\t{c.report_count}\t{c.received_at.isoformat()}\t"
        f"{c.last_reported_at.isoformat()}\t{_nul(c.acknowledge_due)}\t{_nul(c.resolve_due)}\t"
        f"{c.escalation_level}\t{c.finding.translate(e)}\t{c.feedback.translate(e)}\t"
        f"{'t' if c.reopened else 'f'}\t{_nul(c.import_batch_id)}\t{created}\t{c.triage_rule}\n"
        for c in clues
    ]


def _clue_rows(clues: list[NewCase], now) -> list[tuple]:
    """Tuples of id + CLUE_COLUMNS, the timestamps as SQLite stores them (naive UTC text)."""
    utc = UTC
    created = str(now.astimezone(utc).replace(tzinfo=None))
    return [
        (
            c.pk,
            c.reference,
            c.division_code,
            c.institution_id,
            c.match_method,
            c.match_score,
            c.operator_name,
            c.operator_address,
            c.operator_key,
            c.suspected_unlicensed,
            c.category,
            c.category_source,
            c.category_confidence,
            c.needs_triage,
            c.summary,
            c.first_channel,
            c.status,
            c.routed_kinds,
            c.report_count,
            str(c.received_at.astimezone(utc).replace(tzinfo=None)),
            str(c.last_reported_at.astimezone(utc).replace(tzinfo=None)),
            c.acknowledge_due,
            c.resolve_due,
            c.escalation_level,
            c.finding,
            c.feedback,
            c.reopened,
            c.import_batch_id,
            created,
            c.triage_rule,
        )
        for c in clues
    ]
