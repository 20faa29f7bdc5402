"""Daily scoring: every computed signal once over the whole platform (set-based), the
thresholds, weights and reports' days of each institution's division applied (each
division's figures resolved once per run, not per institution), a score and a level per
institution, its history, and what follows a change (alerts, guardians)."""

import time as _time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from qinglang.accounts.permissions import system
from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record_many
from qinglang.registry.models import InstitutionStatus

from .models import LEVEL_RANK, Level, RiskScore, RiskSignal, RiskState
from .policy import LEVELS_KEY, MANUAL_DAYS_KEY, RiskPolicy, threshold_key, weight_key
from .signals import AT_MOST, COMPUTE, KINDS, SALES_KINDS, Window, order_evidence_ids

SCORED_STATUSES = [InstitutionStatus.ACTIVE, InstitutionStatus.SUSPENDED, InstitutionStatus.STOP_ENROLLMENT]
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


INSTITUTIONS_SQL = (
    "SELECT i.id, i.division_code, COALESCE(d.kind, '') FROM registry_institution i "
    "LEFT JOIN core_department d ON d.id = i.competent_department_id WHERE {status} i.id {in}"
)


def _institutions(ids: list[int], *, any_status: bool = False) -> dict[int, tuple[str, str]]:
    """id → (division code, competent department kind) of the institutions still operating
    (of any status with ``any_status``: an institution that closed falls to blue)."""
    if any_status:
        sql, params = INSTITUTIONS_SQL.replace("{status}", ""), []
    else:
        marks = ", ".join(["%s"] * len(SCORED_STATUSES))
        sql, params = (
            INSTITUTIONS_SQL.replace("{status}", f"i.status IN ({marks}) AND"),
            list(SCORED_STATUSES),
        )
    return {pk: (div, dept) for pk, div, dept in bulk.select_in(sql, ids, params=params)}


SIGNALS = bulk.Table(RiskSignal)
SCORES = bulk.Table(RiskScore)
STATES = bulk.Table(RiskState)


def _fired(day: date, pol: RiskPolicy, run: Run) -> tuple[dict, dict, dict]:
    """Every computed signal of ``day`` over the whole platform, kept where it reaches its
    threshold in the institution's division: (institution → fired signals, institution →
    (division, department), institution → the order ids that evidence its sales signals)."""
    w = Window(day)
    cache: dict = {}
    manual_days = pol.report_days()  # how long a report counts, per division
    candidates: dict[str, list] = {}
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
    return fired, info, order_ids


def _states(day: date, fired: dict, info: dict) -> tuple[dict, dict]:
    """The day's rows cleared (a rerun replaces them), and the level each institution had
    before it: (institution → previous level of a rerun day, institution → (level, since)).
    Institutions above blue without a signal today are added to ``info``: their level falls."""
    prev_scores = dict(RiskScore.objects.filter(day=day).values_list("institution_id", "previous_level"))
    RiskSignal.objects.filter(day=day).delete()
    RiskScore.objects.filter(day=day).delete()
    states = {}
    for pk, lv, since in RiskState.objects.exclude(level=Level.BLUE).values_list(
        "institution_id", "level", "since"
    ):
        states[pk] = (lv, since)
    extra = [i for i in fired if i not in states]
    for pk, lv, since in bulk.select_in(
        "SELECT institution_id, level, since FROM risk_riskstate WHERE institution_id {in}", extra
    ):
        states[pk] = (lv, since if isinstance(since, date) else date.fromisoformat(since))
    missing = [i for i in states if i not in fired and i not in info]
    info.update(_institutions(missing, any_status=True))
    return prev_scores, states


def _explanation(score: int, sigs: list, pol: RiskPolicy, div: str) -> dict:
    """Why an institution has its score: each signal with the rules of its threshold and
    weight as a record cites them (key, value, the division that set it, basis), the level
    thresholds and how long a report counts, both of the institution's division."""
    thresholds, levels_set_in = pol.levels(div)
    return {
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
                "cited": pol.cite(threshold_key(k), div),
                "weight_cited": pol.cite(weight_key(k), div),
            }
            for k, v, t, wt, si, wsi, _e in sigs
        ],
        "thresholds_rule": LEVELS_KEY,
        "thresholds": thresholds,
        "thresholds_set_in": levels_set_in,
        "reports_rule": MANUAL_DAYS_KEY,
        "reports_valid_days": int(pol.value(MANUAL_DAYS_KEY, div)),
        # the level lines and the reports' validity as records cite a rule
        "thresholds_cited": pol.cite(LEVELS_KEY, div),
        "reports_cited": pol.cite(MANUAL_DAYS_KEY, div),
    }


@dataclass
class _Rows:
    signals: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    states: list = field(default_factory=list)


def _score_rows(
    run: Run,
    pol: RiskPolicy,
    *,
    fired: dict,
    info: dict,
    order_ids: dict,
    prev_scores: dict,
    states: dict,
) -> _Rows:
    """The signal, score and state rows of every institution that has a signal today or
    had a level above blue; level changes go to ``run.changes``."""
    day = run.day
    out = _Rows()
    for inst in sorted(set(fired) | set(states)):
        meta = info.get(inst)
        if meta is None:
            continue
        div, dept = meta
        sigs = fired.get(inst, [])
        score = sum(s[3] for s in sigs)
        level = level_for(score, pol.levels(div)[0])
        old, since = states.get(inst, (Level.BLUE, day))
        old = prev_scores.get(inst, old)
        if not sigs and level == old:
            continue
        for kind, value, threshold, weight, set_in, _wsi, evidence in sigs:
            if kind in SALES_KINDS:
                evidence = {**evidence, "ids": order_ids.get(inst, [])}
            out.signals.append(
                SIGNALS.row(
                    institution_id=inst,
                    day=day,
                    kind=kind,
                    value=float(value),
                    threshold=float(threshold),
                    weight=weight,
                    set_in=set_in,
                    evidence=evidence,
                    division_code=div,
                    department_kind=dept,
                )
            )
        explanation = _explanation(score, sigs, pol, div)
        out.scores.append(
            SCORES.row(
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
        out.states.append(
            STATES.row(
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
    return out


def _replace_states(state_rows: list) -> None:
    """The states of the institutions scored: replaced (one delete, one COPY)."""
    at = STATES.columns.index("institution_id")
    scored_ids = [r[at] for r in state_rows]
    with connection.cursor() as cur:
        for chunk in bulk.chunks(scored_ids, bulk.in_chunk()):
            if bulk.is_pg():
                cur.execute("DELETE FROM risk_riskstate WHERE institution_id = ANY(%s)", [list(chunk)])
            else:
                marks = ",".join(["%s"] * len(chunk))
                cur.execute(f"DELETE FROM risk_riskstate WHERE institution_id IN ({marks})", list(chunk))  # noqa: S608
    STATES.insert(state_rows)


def _audit(run: Run, actor) -> None:
    """One event per level change and one for the run."""
    entries = [
        Entry(
            "risk.level_change",
            "registry.institution",
            str(inst),
            div,
            {"level": [old, new], "score": score, "day": run.day.isoformat()},
        )
        for inst, old, new, score, _e, div, _d in run.changes
    ]
    entries.append(
        Entry(
            "risk.score_day",
            "risk.riskscore",
            run.day.isoformat(),
            "",
            {"signals": run.signals, "scored": run.scored, "changes": len(run.changes)},
        )
    )
    audit_record_many(actor=actor, entries=entries)


def score_day(day: date, *, actor=system("risk-score"), after_change=True) -> Run:
    """Score every institution for ``day``. Idempotent: a rerun replaces the day's rows."""
    with bulk.gc_paused():
        return _score_day(day, actor=actor, after_change=after_change)


def _score_day(day: date, *, actor, after_change: bool) -> Run:
    run = Run(day)
    pol = RiskPolicy(day)
    t0 = _time.monotonic()
    fired, info, order_ids = _fired(day, pol, run)
    run.seconds["signals"] = round(_time.monotonic() - t0, 3)

    def lap(name: str, since: float) -> float:
        now = _time.monotonic()
        run.seconds[name] = round(now - since, 3)
        return now

    t = _time.monotonic()
    with transaction.atomic():
        prev_scores, states = _states(day, fired, info)
        t = lap("load_states", t)
        rows = _score_rows(
            run,
            pol,
            fired=fired,
            info=info,
            order_ids=order_ids,
            prev_scores=prev_scores,
            states=states,
        )
        t = lap("rows", t)
        SIGNALS.insert(rows.signals)
        t = lap("write_signals", t)
        SCORES.insert(rows.scores)
        t = lap("write_scores", t)
        _replace_states(rows.states)
        t = lap("write_states", t)
        run.signals, run.scored = len(rows.signals), len(rows.scores)
        _audit(run, actor)
        t = lap("audit", t)
        if after_change and run.changes:
            from .services import level_changes_follow

            level_changes_follow(run.changes, day=day, actor=actor)
            t = lap("follow", t)
    run.seconds["total"] = round(_time.monotonic() - t0, 3)
    return run


def rank(level: str) -> int:
    return LEVEL_RANK[level]
