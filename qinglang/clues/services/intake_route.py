"""Intake, stage 3: a new case for each report that opened one, routed by the county's
matrix to its departments, with its time limits; the stored cases that took reports."""

from django.utils import timezone

from ..matching import operator_key
from ..models import Clue, ClueStatus
from ..routing import DepartmentDirectory, department_kinds
from .common import deadlines, random_codes
from .intake_drafts import Batch, Draft

TRIAGE_RULE = "clue.triage_confidence"  # cited on each case it sends to the manual queue


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


def route_and_open(drafts: list[Draft], b: Batch, import_batch) -> tuple[list, dict, list]:
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
