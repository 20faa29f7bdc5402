"""Intake (受理登记) from every channel through one set-based path: validate, match,
classify, dedupe, route, set time limits — one transaction, bulk inserts, so a single
web report and a 34,447-row hotline file take the same road.

:func:`ingest` runs the stages in order over drafts, one module each:
``intake_drafts`` (the submission checked, drafts and the batch's policy figures),
``intake_match`` (the institution named), ``intake_classify`` (category and the case
each report joins), ``intake_route`` (new cases routed, time limits set) and
``intake_store`` (everything written in bulk)."""

import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import INSPECTORS, REGULATORS, has_role, require_role
from qinglang.accounts.scope import actor_for, division_in_scope
from qinglang.core import ratelimit
from qinglang.core.audit import Entry, audit_record_many
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.policy import PolicyBatch

from ..models import Channel, Clue, ClueImport, ClueReport
from .intake_classify import _problem_text, classify_and_dedupe
from .intake_drafts import MAX_TEXT, MIN_TEXT, Submission, drafts_of, new_batch, validate_submission
from .intake_match import match_institutions
from .intake_route import TRIAGE_RULE, route_and_open
from .intake_store import ROUTING_RULE, store_batch

__all__ = [
    "MAX_TEXT",
    "MIN_TEXT",
    "PUBLIC_CHANNELS",
    "RATE_LIMITS",
    "ROUTING_RULE",
    "TRIAGE_RULE",
    "IngestResult",
    "Submission",
    "_problem_text",
    "clue_lead_create",
    "clue_report_submit",
    "ingest",
    "rate_limit",
    "validate_submission",
]

RATE_LIMITS = {"web": (5, 600), "open311": (60, 60), "parent": (10, 600), "grid": (60, 600)}


def rate_limit(kind: str, ident: str) -> None:
    """A per-source counter shared by every worker (``core.ratelimit``): a burst beyond the
    limit is refused. If the cache fails, the limit is not applied (logged): a lost report
    costs more than a burst let through."""
    ratelimit.check(f"clue-rate:{kind}", ident, *RATE_LIMITS[kind])


@dataclass
class IngestResult:
    clues: list[Clue]  # per submission, the case it landed in
    reports: list[ClueReport]
    created: int
    merged: int
    timings: dict = field(default_factory=dict)
    missing_departments: list = field(default_factory=list)  # [{division_code, kind, clues}]
    limits: PolicyBatch | None = None  # the policy figures the batch was decided by


def ingest(*, actor, subs: list[Submission], import_batch: ClueImport | None = None) -> IngestResult:
    """Match, classify, dedupe, route and store validated submissions, in stages over
    drafts. The caller holds the transaction (and audits)."""
    t = time.perf_counter()
    b = new_batch(subs)
    drafts = drafts_of(subs, b)
    t = b.lap("setup", t)
    match_institutions(drafts, b)
    t = b.lap("match", t)
    classify_and_dedupe(drafts, b)  # laps its own steps
    t = time.perf_counter()
    created, touched, landed = route_and_open(drafts, b, import_batch)
    b.lap("route_open", t)
    reports = store_batch(drafts, b, created, touched, actor)  # laps its own steps
    missing = [{"division_code": div, "kind": k, "clues": n} for (div, k), n in sorted(b.missing.items())]
    return IngestResult(landed, reports, len(created), len(subs) - len(created), b.timings, missing, b.limits)


def _audit_single(actor, res: IngestResult, s: Submission) -> None:
    """A single report's event; a new case's also cites the rules that decided it: the
    routing matrix that chose its departments and, when it went to the manual queue, the
    confidence floor it fell short of."""
    case, rep = res.clues[0], res.reports[0]
    rules = {}
    if not res.merged:
        rules["routing_rule"] = res.limits.resolve(ROUTING_RULE, s.division_code).cite()
        if case.needs_triage:
            rules["triage_rule"] = res.limits.resolve(TRIAGE_RULE, s.division_code).cite()
    audit_record_many(
        actor=actor,
        entries=[
            Entry(
                "clue.report" if res.merged else "clue.create",
                "clues.clue",
                str(case.pk),
                case.division_code,
                {
                    "channel": s.channel,
                    "report_id": rep.pk,
                    "category": case.category,
                    "institution_id": case.institution_id,
                    "merged": bool(res.merged),
                    "routed_kinds": case.routed_kinds,
                    **rules,
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
            raise PermissionDeniedError(_("只有家长账号可以从家长端举报"))
        s.submitted_by_id = actor.pk
    elif s.channel == Channel.GRID:
        if not has_role(actor, REGULATORS):
            raise PermissionDeniedError(_("只有网格员和监管人员可以上报"))
        if not division_in_scope(actor, s.division_code or ""):
            raise PermissionDeniedError(_("只能上报本网格(辖区)内的问题"))
        s.submitted_by_id = actor.pk
    elif s.channel == Channel.OPEN311:
        s.submitted_by_id = getattr(actor, "pk", None)
    elif s.channel != Channel.WEB:
        raise DomainError("bad_channel", format_lazy(_("不支持的来源：{channel}"), channel=s.channel))
    if source:
        rate_limit(
            {Channel.WEB: "web", Channel.PARENT: "parent", Channel.GRID: "grid"}.get(s.channel, "open311"),
            source,
        )
    validate_submission(s, phone_required=s.channel in (Channel.WEB, Channel.PARENT) and not s.anonymous)
    res = ingest(actor=actor, subs=[s])
    _audit_single(actor, res, s)
    return res.reports[0]


@transaction.atomic
def clue_lead_create(*, actor, submission: Submission) -> ClueReport:
    """A covert-visit (暗访) or online-patrol (网上巡查) lead entered by a regulator."""
    s = submission
    require_role(actor, INSPECTORS, message=_("只有监管人员可以录入暗访和网上巡查线索"))
    if s.channel not in (Channel.COVERT_VISIT, Channel.ONLINE_PATROL):
        raise ValidationError({"channel": _("线索来源须为暗访或网上巡查")})
    if not division_in_scope(actor, s.division_code or ""):
        raise PermissionDeniedError(_("只能录入本辖区的线索"))
    s.anonymous = True  # the regulator is not a reporter to protect; their id is on the audit event
    s.submitted_by_id = None
    validate_submission(s)
    res = ingest(actor=actor, subs=[s])
    _audit_single(actor, res, s)
    return res.reports[0]
