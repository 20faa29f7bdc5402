"""Intake, stage 0: the submission as given, checked (:func:`validate_submission`), and
the drafts and batch figures the later stages of :func:`.intake.ingest` work on."""

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.models import Division
from qinglang.core.validators import validate_phone, validate_uscc

from .. import dedupe
from ..classify import Prediction
from ..matching import NO_MATCH, Match
from ..routing import DEFAULT_MATRIX
from .common import PolicyBatch, text_required

MAX_TEXT = 2000
MIN_TEXT = 5


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


def validate_submission(s: Submission, *, phone_required: bool = False) -> Submission:
    errors = {}
    try:
        s.content = text_required(s.content, "content", _("举报内容"), max_len=MAX_TEXT, min_len=MIN_TEXT)
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
            errors["reporter_phone"] = [_("联系电话格式不正确(手机号码或带区号的固定电话)")]
    if not s.division_code or not Division.objects.filter(code=s.division_code).exists():
        errors["division_code"] = [
            format_lazy(_("所属区域无效：{value}"), value=s.division_code or _("未填写"))
        ]
    if errors:
        raise ValidationError(errors)
    return s


@dataclass
class Draft:
    """One submission on its way through the stages of :func:`.intake.ingest`."""

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


def new_batch(subs: list[Submission]) -> Batch:
    """The policy figures of every county and division the submissions name, read once."""
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


def drafts_of(subs: list[Submission], b: Batch) -> list[Draft]:
    """One draft per submission, received now unless it says when."""
    return [Draft(s, s.received_at or b.now, s.division_code[:6]) for s in subs]
