"""Daily scoring: every computed signal once over the whole platform (set-based), the
thresholds and weights of each institution's division applied, a score and a level per
institution, its history, and what follows a change (alerts, guardians)."""

import time as _time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from qinglang.accounts.permissions import system
from qinglang.core.audit import Entry, audit_record_many
from qinglang.registry.models import Institution, Status

from .models import LEVEL_RANK, Level, RiskScore, RiskSignal, RiskState
from .policy import LEVELS_KEY, MANUAL_DAYS_KEY, RiskPolicy, threshold_key, weight_key
from .signals import AT_MOST, COMPUTE, KINDS, SALES_KINDS, Window, order_evidence_ids

CHUNK = 5000
SCORED_STATUSES = [Status.ACTIVE, Status.SUSPENDED, Status.STOP_ENROLLMENT]
LEVELS = [Level.YELLOW, Level.ORANGE, Level.RED]


def level_for(score: int, thresholds: list[int]) -> str:
    level = Level.BLUE
    for name, t in zip(LEVELS, thresholds, strict=False):
        if score >= t:
            level = name
    return level


def fires(kind: str, value: float, threshold) -> bool:
    if threshold is None:
        return False
    return value <= float(threshold) if kind in AT_MOST else value >= float(threshold)


@dataclass
class Run:
    day: date
    signals: int = 0
    scored: int = 0
    changes: list = field(default_factory=list)
    by_level: dict = field(default_factory=lambda: defaultdict(int))
    seconds: dict = field(default_factory=dict)


def _institutions(ids: list[int]) -> dict[int, tuple[str, str]]:
    """id → (division code, competent department kind) of the institutions still operating."""
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), CHUNK):
        for pk, div, dept in Institution.objects.filter(
            pk__in=ids[i : i + CHUNK], status__in=SCORED_STATUSES
        ).values_list("pk", "division_code", "competent_department__kind"):
            out[pk] = (div, dept or "")
    return out


def score_day(day: date, *, actor=system("risk-score"), after_change=True) -> Run:
    """Score every institution for ``day``. Idempotent: a rerun replaces the day's rows."""
    run = Run(day)
    pol = RiskPolicy(day)
    w = Window(day)
    cache: dict = {}
    t0 = _time.monotonic()
    candidates: dict[str, list] = {}
    manual_days = int(pol.value("risk.manual_signal_days", ""))
    for kind, fn in COMPUTE.items():
        t = _time.monotonic()
        candidates[kind] = list(fn(w, cache=cache, manual_days=manual_days))
        run.seconds[kind] = round(_time.monotonic() - t, 3)
    ids = sorted({inst for rows in candidates.values() for inst, _v, _e in rows})
    info = _institutions(ids)
    fired: dict[int, list] = defaultdict(list)
    for kind, rows in candidates.items():
        for inst, value, evidence in rows:
            meta = info.get(inst)
            if meta is None:
                continue
            threshold, set_in = pol.get(threshold_key(kind), meta[0])
            if fires(kind, value, threshold):
                weight, weight_set_in = pol.get(weight_key(kind), meta[0])
                fired[inst].append((kind, value, threshold, int(weight), set_in, weight_set_in, evidence))
    del candidates
    sales_fired = [i for i, sigs in fired.items() if any(s[0] in SALES_KINDS for s in sigs)]
    order_ids = order_evidence_ids(sales_fired, w) if sales_fired else {}
    run.seconds["signals"] = round(_time.monotonic() - t0, 3)

    with transaction.atomic():
        prev_scores = dict(RiskScore.objects.filter(day=day).values_list("institution_id", "previous_level"))
        RiskSignal.objects.filter(day=day).delete()
        RiskScore.objects.filter(day=day).delete()
        states = {}
        for pk, lv, since in RiskState.objects.exclude(level=Level.BLUE).values_list(
            "institution_id", "level", "since"
        ):
            states[pk] = (lv, since)
        extra = [i for i in fired if i not in states]
        for i in range(0, len(extra), CHUNK):
            for pk, lv, since in RiskState.objects.filter(
                institution_id__in=extra[i : i + CHUNK]
            ).values_list("institution_id", "level", "since"):
                states[pk] = (lv, since)
        # institutions that were above blue and have no signal today: their level falls
        missing = [i for i in states if i not in fired and i not in info]
        info.update(_institutions_any(missing))
        signal_rows, score_rows, state_rows = [], [], []
        for inst in sorted(set(fired) | set(states)):
            meta = info.get(inst)
            if meta is None:
                continue
            div, dept = meta
            sigs = fired.get(inst, [])
            score = sum(s[3] for s in sigs)
            thresholds, levels_set_in = pol.levels(div)
            level = level_for(score, thresholds)
            old, since = states.get(inst, (Level.BLUE, day))
            old = prev_scores.get(inst, old)
            if not sigs and level == old:
                continue
            for kind, value, threshold, weight, set_in, _wsi, evidence in sigs:
                if kind in SALES_KINDS:
                    evidence = {**evidence, "ids": order_ids.get(inst, [])}
                signal_rows.append(
                    RiskSignal(
                        institution_id=inst,
                        day=day,
                        kind=kind,
                        value=value,
                        threshold=float(threshold),
                        weight=weight,
                        set_in=set_in,
                        evidence=evidence,
                        division_code=div,
                        department_kind=dept,
                    )
                )
            explanation = {
                "score": score,
                "signals": [
                    {
                        "kind": k,
                        "label": KINDS[k],
                        "value": v,
                        "rule": threshold_key(k),
                        "threshold": t,
                        "set_in": si,
                        "weight_rule": weight_key(k),
                        "weight": wt,
                        "weight_set_in": wsi,
                    }
                    for k, v, t, wt, si, wsi, _e in sigs
                ],
                "thresholds_rule": LEVELS_KEY,
                "thresholds": thresholds,
                "thresholds_set_in": levels_set_in,
                "reports_rule": MANUAL_DAYS_KEY,
                "reports_valid_days": manual_days,
            }
            score_rows.append(
                RiskScore(
                    institution_id=inst,
                    day=day,
                    score=score,
                    level=level,
                    previous_level=old,
                    explanation=explanation,
                    division_code=div,
                    department_kind=dept,
                )
            )
            changed = level != old
            state_rows.append(
                RiskState(
                    institution_id=inst,
                    level=level,
                    score=score,
                    day=day,
                    since=day if changed else since,
                    division_code=div,
                    department_kind=dept,
                )
            )
            run.by_level[level] += 1
            if changed:
                run.changes.append((inst, old, level, score, explanation, div, dept))
        RiskSignal.objects.bulk_create(signal_rows, batch_size=CHUNK)
        RiskScore.objects.bulk_create(score_rows, batch_size=CHUNK)
        RiskState.objects.bulk_create(
            state_rows,
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["institution"],
            update_fields=["level", "score", "day", "since", "division_code", "department_kind"],
        )
        run.signals, run.scored = len(signal_rows), len(score_rows)
        entries = [
            Entry(
                "risk.level_change",
                "registry.institution",
                str(inst),
                div,
                {"level": [old, new], "score": score, "day": day.isoformat()},
            )
            for inst, old, new, score, _e, div, _d in run.changes
        ]
        entries.append(
            Entry(
                "risk.score_day",
                "risk.riskscore",
                day.isoformat(),
                "",
                {"signals": run.signals, "scored": run.scored, "changes": len(run.changes)},
            )
        )
        audit_record_many(actor=actor, entries=entries)
        if after_change and run.changes:
            from .services import level_changes_follow

            level_changes_follow(run.changes, day=day, actor=actor)
    run.seconds["total"] = round(_time.monotonic() - t0, 3)
    return run


def _institutions_any(ids: list[int]) -> dict[int, tuple[str, str]]:
    """As ``_institutions`` for any status (an institution that closed falls to blue)."""
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), CHUNK):
        for pk, div, dept in Institution.objects.filter(pk__in=ids[i : i + CHUNK]).values_list(
            "pk", "division_code", "competent_department__kind"
        ):
            out[pk] = (div, dept or "")
    return out


def rank(level: str) -> int:
    return LEVEL_RANK[level]
