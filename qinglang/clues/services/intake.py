"""Intake (受理登记) from every channel through one set-based path: validate, match,
classify, dedupe, route, set time limits — one transaction, bulk inserts, so a single
web report and a 34,447-row hotline file take the same road."""

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qinglang.accounts.permissions import INSPECTORS, REGULATORS, has_role, require_role
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import files
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.crypto import blind_index, encrypt
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.files import EXTENSIONS, PHOTOS, sniff_allowed
from qinglang.core.models import Division
from qinglang.core.validators import validate_phone, validate_uscc

from ..classify import classify, model
from ..matching import Matcher, normalise
from ..models import (
    OPEN_STATUSES,
    Channel,
    Clue,
    ClueImport,
    CluePhoto,
    ClueReport,
    ClueRouting,
    ClueTransition,
    RoutingAction,
    Status,
)
from ..routing import DepartmentDirectory, department_kinds
from .common import (
    PolicyBatch,
    RateLimited,
    deadlines,
    random_codes,
    text_required,
)

MAX_TEXT = 2000
MIN_TEXT = 5
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
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
    """A per-source counter in the Django cache: a burst beyond the limit is refused. If the
    cache server fails, the limit is not applied (logged): a lost report costs more than a
    burst let through."""
    limit, window = RATE_LIMITS[kind]
    key = f"qinglang:clue-rate:{kind}:{hashlib.sha256(ident.encode()).hexdigest()[:24]}"
    try:
        if cache.add(key, 1, window):
            return
        try:
            n = cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)
            return
    except Exception:
        log.warning("clue rate limit not applied (cache unavailable)", exc_info=True)
        return
    if n > limit:
        raise RateLimited(window)


def check_photo(data: bytes, name: str = "") -> tuple[str, str, str]:
    """(content_type, ext, sha256) of an image, judged by its first bytes."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError({"photos": f"照片“{name}”超过{MAX_PHOTO_BYTES // 1024 // 1024}MB"})
    ctype = sniff_allowed(data, PHOTOS)
    if ctype is None:
        raise ValidationError({"photos": f"文件“{name}”不是有效的图片(仅接受 JPEG/PNG/GIF/WebP/HEIC)"})
    return ctype, EXTENSIONS[ctype], hashlib.sha256(data).hexdigest()


def read_photos(files) -> list[tuple[bytes, str, str, str]]:
    files = list(files or [])
    if len(files) > MAX_PHOTOS:
        raise ValidationError({"photos": f"最多上传{MAX_PHOTOS}张照片"})
    out = []
    for f in files:
        if f.size > MAX_PHOTO_BYTES:
            raise ValidationError({"photos": f"照片“{f.name}”超过{MAX_PHOTO_BYTES // 1024 // 1024}MB"})
        data = f.read()
        ctype, ext, digest = check_photo(data, f.name)
        out.append((data, ctype, ext, digest))
    return out


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


def ingest(*, actor, subs: list[Submission], import_batch: ClueImport | None = None) -> IngestResult:
    """Match, classify, dedupe, route and store validated submissions. The caller holds
    the transaction (and audits)."""
    t0 = time.perf_counter()
    now = timezone.now()
    nb = model()
    matcher = Matcher()
    counties = {s.division_code[:6] for s in subs}
    matcher.preload(counties)
    directory = DepartmentDirectory()
    directory.preload(counties | {s.division_code[:9] for s in subs if len(s.division_code) >= 9})
    limits = PolicyBatch(["clue.acknowledge_days", "clue.resolve_days", "clue.dedupe_window_days"])
    windows = {c: int(limits.value("clue.dedupe_window_days", c)) for c in counties}
    earliest = min((s.received_at or now) for s in subs) - timedelta(days=max(windows.values()))

    open_cases: dict[tuple, Clue] = {}
    make_case = Clue if len(subs) <= 50 else NewCase  # no model instance per case in bulk
    tz = timezone.get_current_timezone()  # once: the lookup costs more than the conversion
    refs = iter(random_codes(len(subs), 8))
    routes: dict[tuple, list] = {}
    dues: dict[tuple, tuple] = {}
    timings = {"setup": time.perf_counter() - t0}
    t = time.perf_counter()
    from functools import reduce
    from operator import or_

    from django.db.models import Q

    existing = Clue.objects.filter(
        reduce(or_, (Q(division_code__startswith=c) for c in counties)),
        status__in=OPEN_STATUSES,
        last_reported_at__gte=earliest,
    ).only(
        "id",
        "institution_id",
        "operator_key",
        "category",
        "division_code",
        "last_reported_at",
        "report_count",
    )
    for c in existing.order_by("received_at"):
        open_cases[(c.division_code[:6], c.institution_id or c.operator_key, c.category)] = c

    new_clues: list[Clue] = []
    touched: dict[int, Clue] = {}
    landed: list[Clue] = []
    routings: list[tuple[Clue, list]] = []
    for s in subs:
        at = s.received_at or now
        county = s.division_code[:6]
        m = matcher.match(
            division_code=s.division_code, name=s.institution_name, uscc=s.uscc, address=s.address
        )
        cat, source = classify(s.content, nb=nb)
        op_key = "" if m.institution_id else (normalise(s.institution_name) or "")
        key = (county, m.institution_id or op_key, cat)
        case = open_cases.get(key) if (m.institution_id or op_key) else None
        if case is not None and case.last_reported_at >= at - timedelta(days=windows[county]):
            case.report_count += 1
            case.last_reported_at = max(case.last_reported_at, at)
            if case.pk:
                touched[case.pk] = case
            landed.append(case)
            continue
        unlicensed = m.institution_id is None and bool(s.institution_name)
        division = (
            m.division_code if m.institution_id and m.division_code.startswith(county) else s.division_code
        )
        rkey = (cat, m.kind, unlicensed, division)
        deps = routes.get(rkey)
        if deps is None:  # the same answer for every case with this key: once per import
            kinds = department_kinds(cat, m.kind, unlicensed=unlicensed)
            deps = routes[rkey] = [(k, d) for k, d in directory.resolve(division, kinds) if d is not None]
        on = at.astimezone(tz).date()
        dkey = (on, division)
        due = dues.get(dkey)
        if due is None:
            due = dues[dkey] = deadlines(on, division, limits)
        ack, res = due
        case = make_case(
            reference=f"XS{on:%y%m%d}{next(refs)}",
            division_code=division,
            institution_id=m.institution_id,
            match_method=m.method,
            match_score=m.score,
            operator_name=s.institution_name,
            operator_address=s.address,
            operator_key=op_key,
            suspected_unlicensed=unlicensed,
            category=cat,
            category_source=source,
            summary=s.content[:500],
            first_channel=s.channel,
            status=Status.ROUTED if deps else Status.RECEIVED,
            routed_kinds=("|" + "|".join(k for k, _ in deps) + "|") if deps else "",
            report_count=1,
            received_at=at,
            last_reported_at=at,
            acknowledge_due=ack,
            resolve_due=res,
            import_batch_id=import_batch.pk if import_batch else None,
        )
        new_clues.append(case)
        routings.append((case, deps))
        if m.institution_id or op_key:
            open_cases[key] = case
        landed.append(case)
    timings["match_classify_dedupe_route"] = time.perf_counter() - t
    t = time.perf_counter()
    _insert_clues(new_clues)
    timings["insert_clues"] = time.perf_counter() - t
    t = time.perf_counter()
    if touched:
        Clue.objects.bulk_update(
            list(touched.values()), ["report_count", "last_reported_at"], batch_size=2000
        )
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    from django.db import connection

    pg = connection.vendor == "postgresql"
    at = now.isoformat() if pg else connection.ops.adapt_datetimefield_value(now)
    transitions, routing_rows = [], []
    for case, deps in routings:
        if deps:
            transitions.append((case.pk, Status.RECEIVED, Status.ROUTED, "自动分办", actor_id, at))
        for i, (k, d) in enumerate(deps):
            routing_rows.append(
                (case.pk, RoutingAction.ASSIGN, d.pk, k, i == 0, "按主管部门和问题类别自动分办", actor_id, at)
            )
    _raw_insert(
        ClueTransition, ["clue_id", "from_status", "to_status", "reason", "actor_id", "at"], transitions
    )
    _raw_insert(
        ClueRouting,
        ["clue_id", "action", "department_id", "department_kind", "lead", "reason", "actor_id", "at"],
        routing_rows,
    )
    timings["insert_transitions_routings"] = time.perf_counter() - t
    t = time.perf_counter()
    reports = _insert_reports(subs, landed, now)
    timings["insert_reports"] = time.perf_counter() - t
    photos = []
    for s, r in zip(subs, reports, strict=True):
        for data, ctype, ext, digest in s.photos:
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
    return IngestResult(landed, reports, len(new_clues), len(subs) - len(new_clues), timings)


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
]


def _insert_reports(subs: list[Submission], landed: list[Clue], now) -> list[ClueReport]:
    """Reports are the bulk of an import (one per work order): inserted with executemany
    rather than the ORM's per-field preparation, then read back for their ids."""
    from django.db import connection

    codes = random_codes(len(subs), 12)
    if connection.vendor == "postgresql":
        rows = _report_lines(subs, landed, codes, now)
    else:
        rows = _report_rows(subs, landed, codes, now)
    _raw_insert(ClueReport, REPORT_COLUMNS, rows)
    if len(codes) > 50 and not any(s.photos for s in subs):
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


def _reporter(s: Submission) -> tuple[str, str]:
    """(encrypted name and phone, phone digest) of a report."""
    if not (s.reporter_name or s.reporter_phone):
        return "", ""
    plain = json.dumps({"name": s.reporter_name, "phone": s.reporter_phone}, ensure_ascii=False)
    return encrypt(plain), blind_index(s.reporter_phone)


def _report_lines(subs, landed, codes, now) -> list[str]:
    """COPY text lines of REPORT_COLUMNS, formatted in place (no per-value calls)."""
    e = _COPY_ESCAPES
    out = []
    for s, case, code in zip(subs, landed, codes, strict=True):
        enc, idx = _reporter(s)
        out.append(
            f"{case.pk}\t{s.channel}\t{s.source_ref.translate(e)}\t{code}\t{s.content.translate(e)}\t"
            f"{s.institution_name.translate(e)}\t{s.uscc}\t{s.address.translate(e)}\t{s.division_code}\t"
            f"{'t' if s.anonymous else 'f'}\t{enc}\t{idx}\t{_nul(s.submitted_by_id)}\t{s.open311_token}\t"
            f"{s.url[:500].translate(e)}\t{(s.received_at or now).isoformat()}\t\\N\t\t\n"
        )
    return out


def _report_rows(subs, landed, codes, now) -> list[tuple]:
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    rows = []
    for s, case, code in zip(subs, landed, codes, strict=True):
        at = s.received_at or now
        # what Django's SQLite adapter does (naive UTC text), without its per-call overhead
        at = str(at.astimezone(UTC).replace(tzinfo=None)) if sqlite else at
        rows.append(
            (
                case.pk,
                s.channel,
                s.source_ref,
                code,
                s.content,
                s.institution_name,
                s.uscc,
                s.address,
                s.division_code,
                s.anonymous,
                *_reporter(s),
                s.submitted_by_id,
                s.open311_token,
                s.url[:500],
                at,
                None,
                "",
                "",
            )
        )
    return rows


@dataclass
class ReportRef:
    """What a bulk import needs of an inserted report (no model instance per row)."""

    pk: int | None
    tracking_code: str


def _raw_insert(model, columns: list[str], rows: list[tuple] | list[str]) -> None:
    """Rows as tuples, or on PostgreSQL as ready COPY text lines."""
    from django.db import connection

    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":  # COPY: one round trip for the whole batch
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                lines = rows if type(rows[0]) is str else None
                for i in range(0, len(rows), 5000):
                    chunk = lines[i : i + 5000] if lines else [_copy_line(r) for r in rows[i : i + 5000]]
                    cp.write("".join(chunk).encode("utf-8"))
            return
        for i in range(0, len(rows), 5000):
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows[i : i + 5000])  # noqa: S608 (names from model meta)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(v) -> str:
    if v is None:
        return "\\N"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, str):
        return v.translate(_COPY_ESCAPES)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _nul(v) -> str:
    return "\\N" if v is None else str(v)


def _copy_line(row: tuple) -> str:
    """One line of COPY text format (psycopg's write_row is ~10x slower per row)."""
    return "\t".join([v.translate(_COPY_ESCAPES) if type(v) is str else _copy_value(v) for v in row]) + "\n"


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
]


def _insert_clues(clues: list[Clue]) -> None:
    """New cases: through the ORM when few, else a raw bulk insert (COPY on PostgreSQL) and
    the ids read back by the unique reference."""
    from django.db import connection

    if not clues:
        return
    if isinstance(clues[0], Clue):  # the per-report path (few submissions)
        Clue.objects.bulk_create(clues)
        return
    sqlite = connection.vendor == "sqlite"
    now = timezone.now()

    def v(x):
        if sqlite and isinstance(x, datetime):
            return str(x.astimezone(UTC).replace(tzinfo=None))
        if sqlite and hasattr(x, "isoformat"):
            return x.isoformat()
        return x

    if connection.vendor == "postgresql":  # ids from the sequence, then one COPY
        with connection.cursor() as cur:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Clue._meta.db_table, len(clues)],
            )
            ids = [r[0] for r in cur.fetchall()]
        e, created = _COPY_ESCAPES, now.isoformat()
        lines = []
        for c, pk in zip(clues, ids, strict=True):
            c.pk, c.created_at = pk, now
            lines.append(  # CLUE_COLUMNS, formatted in place
                f"{pk}\t{c.reference}\t{c.division_code}\t{_nul(c.institution_id)}\t{c.match_method}\t"
                f"{_nul(c.match_score)}\t{c.operator_name.translate(e)}\t{c.operator_address.translate(e)}\t"
                f"{c.operator_key.translate(e)}\t{'t' if c.suspected_unlicensed else 'f'}\t{c.category}\t"
                f"{c.category_source}\t{c.summary.translate(e)}\t{c.first_channel}\t{c.status}\t"
                f"{c.routed_kinds}\t{c.report_count}\t{c.received_at.isoformat()}\t"
                f"{c.last_reported_at.isoformat()}\t{_nul(c.acknowledge_due)}\t{_nul(c.resolve_due)}\t"
                f"{c.escalation_level}\t{c.finding.translate(e)}\t{c.feedback.translate(e)}\t"
                f"{'t' if c.reopened else 'f'}\t{_nul(c.import_batch_id)}\t{created}\n"
            )
        _raw_insert(Clue, ["id", *CLUE_COLUMNS], lines)
        return
    rows = []
    for c in clues:
        c.created_at = now
        rows.append(tuple(v(getattr(c, f)) for f in CLUE_COLUMNS))
    _raw_insert(Clue, CLUE_COLUMNS, rows)
    refs = [c.reference for c in clues]
    ids = {}
    for i in range(0, len(refs), 5000):
        ids.update(Clue.objects.filter(reference__in=refs[i : i + 5000]).values_list("reference", "id"))
    for c in clues:
        c.pk = ids[c.reference]
        if isinstance(c, Clue):
            c._state.adding = False


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
