"""Intake, stage 2: each report's category, and the case it joins (a stored open case,
another report of the batch, or a new one)."""

import time
from datetime import timedelta
from functools import reduce
from operator import or_

from django.db.models import Q

from .. import dedupe
from ..classify import apply_hooks, model
from ..models import OPEN_STATUSES, Clue
from .intake_drafts import Batch, Draft


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


def classify_and_dedupe(drafts: list[Draft], b: Batch) -> None:
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
