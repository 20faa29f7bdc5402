"""Intake (受理登记) from every channel through one set-based path: validate, match,
classify, dedupe, route, set time limits — one transaction, bulk inserts, so a single
web report and a 34,447-row hotline file take the same road."""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from qinglang.accounts.permissions import INSPECTORS, REGULATORS, has_role, require_role
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import files, ratelimit
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.bulk import COPY_ESCAPES, Table, allocate_ids, chunks, copy_text, is_pg
from qinglang.core.crypto import blind_index, encrypt_many
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.models import Division
from qinglang.core.validators import validate_phone, validate_uscc

from .. import dedupe
from ..classify import Prediction, apply_hooks, model
from ..matching import NO_MATCH, Match, Matcher, operator_key, operator_name
from ..models import (
    OPEN_STATUSES,
    Channel,
    Clue,
    ClueImport,
    CluePhoto,
    ClueReport,
    ClueRouting,
    ClueStatus,
    ClueTransition,
    RoutingAction,
)
from ..routing import DEFAULT_MATRIX, DepartmentDirectory, department_kinds
from .common import (
    PolicyBatch,
    deadlines,
    random_codes,
    text_required,
)

MAX_TEXT = 2000
MIN_TEXT = 5
RATE_LIMITS = {"web": (5, 600), "open311": (60, 60), "parent": (10, 600), "grid": (60, 600)}

log = logging.getLogger(__name__)


@dataclass
class Submission:
    channel: str
    content: str
    division_code: str
    institution_name: str = ""
    uscc: str = ""
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    anonymous: bool = False
    submitted_by_id: int | None = None
    source_ref: str = ""
    url: str = ""
    received_at: datetime | None = None
    open311_token: str = ""
    photos: list = field(default_factory=list)  # [(bytes, content_type, ext, sha256)]


def rate_limit(kind: str, ident: str) -> None:
    """A per-source counter shared by every worker (``core.ratelimit``): a burst beyond the
    limit is refused. If the cache fails, the limit is not applied (logged): a lost report
    costs more than a burst let through."""
    ratelimit.check(f"clue-rate:{kind}", ident, *RATE_LIMITS[kind])


def validate_submission(s: Submission, *, phone_required: bool = False) -> Submission:
    errors = {}
    try:
        s.content = text_required(s.content, "content", "举报内容", max_len=MAX_TEXT, min_len=MIN_TEXT)
    except ValidationError as e:
        errors.update(e.message_dict)
    s.institution_name = (s.institution_name or "").strip()[:200]
    s.address = (s.address or "").strip()[:255]
    s.reporter_name = (s.reporter_name or "").strip()[:64]
    if s.uscc:
        try:
            s.uscc = validate_uscc(s.uscc.strip().upper())
        except ValidationError as e:
            errors["uscc"] = e.messages
    if s.anonymous:
        s.reporter_name = s.reporter_phone = ""
    elif s.reporter_phone or phone_required:
        try:
            s.reporter_phone = validate_phone(s.reporter_phone)
        except ValidationError:
            errors["reporter_phone"] = ["联系电话格式不正确(手机号码或带区号的固定电话)"]
    if not s.division_code or not Division.objects.filter(code=s.division_code).exists():
        errors["division_code"] = [f"所属区域无效：{s.division_code or '未填写'}"]
    if errors:
        raise ValidationError(errors)
    return s


@dataclass
class IngestResult:
    clues: list[Clue]  # per submission, the case it landed in
    reports: list[ClueReport]
    created: int
    merged: int
    timings: dict = field(default_factory=dict)
    missing_departments: list = field(default_factory=list)  # [{division_code, kind, clues}]


class NewCase:
    """A new case in a bulk import before it is inserted: the columns only (building a
    model instance per case costs more than matching it)."""

    def __init__(self, **kw):
        self.pk = None
        self.report_count = 1
        self.escalation_level = 0
        self.finding = self.feedback = ""
        self.reopened = False
        self.created_at = None
        self.__dict__.update(kw)


@dataclass
class Draft:
    """One submission on its way through the stages of :func:`ingest`."""

    sub: Submission
    at: datetime
    county: str
    operator: str = ""  # the name as given, "" when it names nobody (不详, 无, …)
    match: Match = NO_MATCH
    prediction: Prediction | None = None
    keys: tuple[str, ...] = ()
    placement: dedupe.Placement | None = None
    case: object = None  # the Clue / NewCase it lands in


@dataclass
class Batch:
    """What the stages share: the batch's policy figures, directories and timings."""

    now: datetime
    counties: set[str]
    limits: PolicyBatch
    windows: dict[str, int]
    matrices: dict[str, dict]
    triage_floor: dict[str, float]
    timings: dict = field(default_factory=dict)
    missing: dict[tuple[str, str], int] = field(default_factory=dict)  # (division, kind) → clues

    def lap(self, name: str, t: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - t
        return now


ROUTING_RULE = "clue.routing"  # cited on each routing record it decided
TRIAGE_RULE = "clue.triage_confidence"  # cited on each case it sends to the manual queue


def _batch(subs: list[Submission]) -> Batch:
    counties = {s.division_code[:6] for s in subs}
    limits = PolicyBatch(
        [
            "clue.acknowledge_days",
            "clue.resolve_days",
            "clue.dedupe_window_days",
            "clue.routing",
            "clue.triage_confidence",
        ]
    )
    divisions = counties | {s.division_code for s in subs}
    return Batch(
        now=timezone.now(),
        counties=counties,
        limits=limits,
        windows={c: int(limits.value("clue.dedupe_window_days", c)) for c in counties},
        matrices={d: {**DEFAULT_MATRIX, **(limits.value("clue.routing", d) or {})} for d in divisions},
        triage_floor={d: float(limits.value("clue.triage_confidence", d)) for d in divisions},
    )


def _stage_match(drafts: list[Draft], b: Batch) -> None:
    matcher = Matcher()
    matcher.preload(b.counties)
    for d in drafts:
        s = d.sub
        d.operator = operator_name(s.institution_name)
        d.match = matcher.match(
            division_code=s.division_code, name=d.operator, uscc=s.uscc, address=s.address
        )
        d.keys = dedupe.subject_keys(d.match.institution_id, d.operator, s.address)


def _problem_text(content: str, *names: str) -> str:
    """The report's words about the problem: the institution's names taken out (they say
    who, not what)."""
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 2:
            content = content.replace(name, " ")
    return content


def _open_cases(drafts: list[Draft], b: Batch) -> list[Clue]:
    """Stored open cases the batch's reports could join: same counties, first report within
    the window of the earliest submission; for a few submissions only their subjects."""
    earliest = min(d.at for d in drafts) - timedelta(days=max(b.windows.values()))
    qs = Clue.objects.filter(
        reduce(or_, (Q(division_code__startswith=c) for c in b.counties)),
        status__in=OPEN_STATUSES,
        received_at__gte=earliest,
    )
    if len(drafts) <= 50:
        inst = {d.match.institution_id for d in drafts if d.match.institution_id}
        unregistered = any(not d.match.institution_id and d.keys for d in drafts)
        qs = qs.filter(
            Q(institution_id__in=inst) | Q(institution__isnull=True)
            if unregistered
            else Q(institution_id__in=inst)
        )
    return list(
        qs.select_related("institution")
        .only(
            "id",
            "institution__name",
            "institution_id",
            "operator_key",
            "operator_name",
            "operator_address",
            "summary",
            "division_code",
            "received_at",
            "last_reported_at",
            "report_count",
        )
        .order_by("received_at")
    )


def _stage_classify_dedupe(drafts: list[Draft], b: Batch) -> None:
    """One vectorisation of every report (and of the stored open cases' first reports):
    the category and its confidence come from it, and so does the similarity that decides
    which case each report joins."""
    t = time.perf_counter()
    m = model()
    t = b.lap("model", t)
    stored = _open_cases(drafts, b)
    t = b.lap("dedupe_load", t)
    texts = [_problem_text(d.sub.content, d.operator, d.match.name) for d in drafts]
    texts += [
        _problem_text(c.summary, c.operator_name, c.institution.name if c.institution_id else "")
        for c in stored
    ]
    row_of: dict[str, int] = {}  # repeated texts are vectorised and classified once
    rows = [row_of.setdefault(x, len(row_of)) for x in texts]
    unique = list(row_of)
    vectors = m.vectors(unique)
    t = b.lap("vectorise", t)
    n = len(drafts)
    probs = m.proba(vectors, unique)  # also what dedupe compares as the topic of each text
    seen = sorted(set(rows[:n]))
    seen_texts = [unique[i] for i in seen]  # hooks too see each distinct text once
    hooked = apply_hooks(seen_texts, m.predict_vectors(None, seen_texts, probs[seen]))
    preds = dict(zip(seen, hooked, strict=True))
    for d, r in zip(drafts, rows, strict=False):
        d.prediction = preds[r]
    t = b.lap("classify", t)
    old = [
        dedupe.Item(
            dedupe.subject_keys(c.institution_id, c.operator_name, c.operator_address),
            c.division_code[:6],
            c.received_at,
            rows[n + i],
            c,
        )
        for i, c in enumerate(stored)
    ]
    new = [dedupe.Item(d.keys, d.county, d.at, rows[i]) for i, d in enumerate(drafts)]
    for d, p in zip(drafts, dedupe.place(old, new, vectors, b.windows, probs), strict=True):
        d.placement = p
    b.lap("dedupe", t)


def _stage_route_and_open(drafts: list[Draft], b: Batch, import_batch) -> tuple[list, dict, list]:
    """New cases for the reports that opened one (routed by the matrix, deadlines set);
    the stored cases that took reports. Returns (new cases with their departments, touched
    stored cases by id, the cases each draft landed in)."""
    directory = DepartmentDirectory()
    directory.preload(b.counties | {d.sub.division_code[:9] for d in drafts if len(d.sub.division_code) >= 9})
    make_case = Clue if len(drafts) <= 50 else NewCase  # no model instance per case in bulk
    tz = timezone.get_current_timezone()  # once: the lookup costs more than the conversion
    refs = iter(random_codes(len(drafts), 8))
    routes: dict[tuple, list] = {}
    kinds_of: dict[tuple, str] = {}  # routed_kinds of each routing key
    dues: dict[tuple, tuple] = {}
    opened: dict[int, object] = {}  # id(dedupe.Case) → new case
    created, touched = [], {}
    for d in drafts:
        p, s, m = d.placement, d.sub, d.match
        if p.similarity is not None:  # joins a case
            case = p.case.stored if p.case.stored is not None else opened[id(p.case)]
            case.report_count += 1
            case.last_reported_at = max(case.last_reported_at, d.at)
            if case.pk:
                touched[case.pk] = case
            d.case = case
            continue
        cat = d.prediction.category
        unregistered = m.institution_id is None
        county = d.county
        division = (
            m.division_code if m.institution_id and m.division_code.startswith(county) else s.division_code
        )
        rkey = (cat, m.kind, unregistered, division)
        deps = routes.get(rkey)
        if deps is None:  # the same answer for every case with this key: once per import
            kinds = department_kinds(
                cat, m.kind, unregistered=unregistered, matrix=b.matrices.get(s.division_code)
            )
            deps = routes[rkey] = directory.resolve(division, kinds)
            kinds_of[rkey] = ("|" + "|".join(k for k, _, _ in deps) + "|") if deps else ""
        for k, div, dep in deps:
            if dep is None:
                b.missing[(div, k)] = b.missing.get((div, k), 0) + 1
        on = d.at.astimezone(tz).date()
        due = dues.get((on, division))
        if due is None:
            due = dues[(on, division)] = deadlines(on, division, b.limits)
        ack, res = due
        floor = b.triage_floor.get(s.division_code, 0.5)
        case = make_case(
            reference=f"XS{on:%y%m%d}{next(refs)}",
            division_code=division,
            institution_id=m.institution_id,
            match_method=m.method,
            match_score=m.score,
            operator_name=d.operator,
            operator_address=s.address,
            operator_key="" if m.institution_id else operator_key(d.operator),
            suspected_unlicensed=unregistered and bool(d.operator),
            category=cat,
            category_source=d.prediction.source,
            category_confidence=d.prediction.confidence,
            needs_triage=d.prediction.confidence < floor,
            triage_rule=TRIAGE_RULE if d.prediction.confidence < floor else "",
            summary=s.content[:500],
            first_channel=s.channel,
            status=ClueStatus.ROUTED if deps else ClueStatus.RECEIVED,
            routed_kinds=kinds_of[rkey],
            report_count=1,
            received_at=d.at,
            last_reported_at=d.at,
            acknowledge_due=ack,
            resolve_due=res,
            import_batch_id=import_batch.pk if import_batch else None,
        )
        opened[id(p.case)] = case
        created.append((case, deps))
        d.case = case
    return created, touched, [d.case for d in drafts]


def _stage_store(drafts: list[Draft], b: Batch, created, touched, actor) -> list:
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


def ingest(*, actor, subs: list[Submission], import_batch: ClueImport | None = None) -> IngestResult:
    """Match, classify, dedupe, route and store validated submissions, in stages over
    drafts. The caller holds the transaction (and audits)."""
    t = time.perf_counter()
    b = _batch(subs)
    drafts = [Draft(s, s.received_at or b.now, s.division_code[:6]) for s in subs]
    t = b.lap("setup", t)
    _stage_match(drafts, b)
    t = b.lap("match", t)
    _stage_classify_dedupe(drafts, b)
    t = time.perf_counter()
    created, touched, landed = _stage_route_and_open(drafts, b, import_batch)
    b.lap("route_open", t)
    reports = _stage_store(drafts, b, created, touched, actor)
    missing = [{"division_code": div, "kind": k, "clues": n} for (div, k), n in sorted(b.missing.items())]
    return IngestResult(landed, reports, len(created), len(subs) - len(created), b.timings, missing)


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


def _audit_single(actor, res: IngestResult, channel: str) -> None:
    case, rep = res.clues[0], res.reports[0]
    audit_record_many(
        actor=actor,
        entries=[
            Entry(
                "clue.report" if res.merged else "clue.create",
                "clues.clue",
                str(case.pk),
                case.division_code,
                {
                    "channel": channel,
                    "report_id": rep.pk,
                    "category": case.category,
                    "institution_id": case.institution_id,
                    "merged": bool(res.merged),
                    "routed_kinds": case.routed_kinds,
                },
            )
        ],
    )


PUBLIC_CHANNELS = {Channel.WEB, Channel.PARENT, Channel.OPEN311}


@transaction.atomic
def clue_report_submit(*, actor, submission: Submission, source: str = "") -> ClueReport:
    """A report from the public web form, the parent end, an Open311 client or a grid
    worker. Anonymous reports are allowed (web/Open311); a named reporter gives a valid
    phone. Returns the report (its ``tracking_code`` is shown once to the reporter)."""
    s = submission
    a = actor_for(actor)
    if s.channel == Channel.PARENT:
        if not a.is_parent:
            raise PermissionDeniedError("只有家长账号可以从家长端举报")
        s.submitted_by_id = actor.pk
    elif s.channel == Channel.GRID:
        if not has_role(actor, REGULATORS):
            raise PermissionDeniedError("只有网格员和监管人员可以上报")
        if not division_in_scope(actor, s.division_code or ""):
            raise PermissionDeniedError("只能上报本网格(辖区)内的问题")
        s.submitted_by_id = actor.pk
    elif s.channel == Channel.OPEN311:
        s.submitted_by_id = getattr(actor, "pk", None)
    elif s.channel != Channel.WEB:
        raise DomainError("bad_channel", f"不支持的来源：{s.channel}")
    if source:
        rate_limit(
            {Channel.WEB: "web", Channel.PARENT: "parent", Channel.GRID: "grid"}.get(s.channel, "open311"),
            source,
        )
    validate_submission(s, phone_required=s.channel in (Channel.WEB, Channel.PARENT) and not s.anonymous)
    res = ingest(actor=actor, subs=[s])
    _audit_single(actor, res, s.channel)
    return res.reports[0]


@transaction.atomic
def clue_lead_create(*, actor, submission: Submission) -> ClueReport:
    """A covert-visit (暗访) or online-patrol (网上巡查) lead entered by a regulator."""
    s = submission
    require_role(actor, INSPECTORS, message="只有监管人员可以录入暗访和网上巡查线索")
    if s.channel not in (Channel.COVERT_VISIT, Channel.ONLINE_PATROL):
        raise ValidationError({"channel": "线索来源须为暗访或网上巡查"})
    if not division_in_scope(actor, s.division_code or ""):
        raise PermissionDeniedError("只能录入本辖区的线索")
    s.anonymous = True  # the regulator is not a reporter to protect; their id is on the audit event
    s.submitted_by_id = None
    validate_submission(s)
    res = ingest(actor=actor, subs=[s])
    _audit_single(actor, res, s.channel)
    return res.reports[0]
