"""One case per problem, by the handler's hand: suggested duplicates with their
similarity, merge (并案) and split (拆分), and re-triage (重新研判) of an area's open clues
— proposed, applied only on confirmation. Every write is audited and keeps its reason
(``CaseChange``); a refused request changes nothing.

A merge never joins two institutions: cases of two registered institutions, or of a
registered institution and an unregistered operator, are refused (correct the match
first). The similarity shown is the one the intake uses (``dedupe``), computed on the
same problem text."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import REGULATOR_WRITERS, lock_in_scope, require_role
from qinglang.accounts.scope import division_in_scope, restrict
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import chinese_display
from qinglang.core.policy import policy_resolve, policy_value

from .. import dedupe
from ..classify import apply_hooks, model
from ..models import (
    CLUE_STATES,
    MERGEABLE,
    OPEN_STATUSES,
    CaseChange,
    CaseChangeKind,
    CategorySource,
    Clue,
    ClueReport,
    ClueRouting,
    ClueStatus,
    RetriageRun,
    RetriageStatus,
    RoutingAction,
)
from .common import deadlines, random_codes, text_required

MAX_REASON = 1000
BACKGROUND_FROM = 500  # an area with more open clues is re-triaged by the background job


def _reason(reason: str) -> str:
    return text_required(reason, "reason", gettext_lazy("理由"), max_len=MAX_REASON, min_len=2)


def _problem(c: Clue) -> str:
    from .intake import _problem_text

    return _problem_text(c.summary, c.operator_name, c.institution.name if c.institution_id else "")


def _same_subject(a: Clue, b: Clue) -> bool:
    if a.institution_id or b.institution_id:
        return a.institution_id == b.institution_id
    ka = set(dedupe.subject_keys(None, a.operator_name, a.operator_address))
    kb = set(dedupe.subject_keys(None, b.operator_name, b.operator_address))
    return bool(ka & kb)


def _scores(texts: list[str]):
    """(text similarity matrix, category-probability cosine matrix) of texts."""
    import numpy as np

    m = model()
    v = m.vectors(texts)
    p = m.proba(v, texts)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-9)
    return (v @ v.T).toarray(), p @ p.T


def _same_problem(s: float, t: float) -> bool:
    return s >= dedupe.SAME_PROBLEM or (s >= dedupe.SAME_TOPIC_TEXT and t >= dedupe.SAME_TOPIC)


def duplicate_suggestions(*, actor, clue_id: int, limit: int = 8) -> list[dict]:
    """Other open cases of the same subject within the dedupe window of this case's first
    report, most alike first: ``{clue, similarity, topic, suggested}`` (``suggested``: the
    intake would have joined them)."""
    clue = restrict(Clue.objects.select_related("institution"), actor).filter(pk=clue_id).first()
    if clue is None:
        raise NotFound(gettext_lazy("线索"))
    if clue.status not in MERGEABLE:
        return []
    window = timedelta(days=int(policy_value("clue.dedupe_window_days", clue.division_code[:6])))
    qs = restrict(Clue.objects.select_related("institution"), actor).filter(
        status__in=MERGEABLE,
        division_code__startswith=clue.division_code[:6],
        received_at__gte=clue.received_at - window,
        received_at__lte=clue.received_at + window,
    )
    qs = (
        qs.filter(institution_id=clue.institution_id)
        if clue.institution_id
        else qs.filter(institution__isnull=True)
    )
    others = [c for c in qs.exclude(pk=clue.pk).order_by("received_at")[:500] if _same_subject(clue, c)]
    if not others:
        return []
    s, t = _scores([_problem(clue)] + [_problem(c) for c in others])
    out = [
        {
            "clue": c,
            "similarity": round(float(s[0, i + 1]), 3),
            "topic": round(float(t[0, i + 1]), 3),
            "suggested": _same_problem(float(s[0, i + 1]), float(t[0, i + 1])),
        }
        for i, c in enumerate(others)
    ]
    out.sort(key=lambda d: (not d["suggested"], -d["similarity"]))
    return out[:limit]


def _similarity(a: Clue, b: Clue) -> float:
    s, _ = _scores([_problem(a), _problem(b)])
    return round(float(s[0, 1]), 3)


@transaction.atomic
def clue_merge(*, actor, clue_id: int, into_id: int, reason: str) -> Clue:
    """并案: every report of ``clue_id`` joins ``into_id`` (the case that is kept); the
    merged case is closed as 已并案 pointing at it. Both open, in scope, the same subject."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以并案"))
    reason = _reason(reason)
    # lock in id order (no deadlock between two merges), and in scope before anything is
    # said about the ids: another county's case answers 404 however it is named
    locked = {
        pk: lock_in_scope(Clue, pk, actor=actor, what="线索", related=("institution",))
        for pk in sorted({clue_id, into_id})
    }
    if clue_id == into_id:
        raise DomainError("same_case", gettext_lazy("不能与自身并案"))
    clue, into = locked[clue_id], locked[into_id]
    for c in (clue, into):
        if c.status not in MERGEABLE:
            raise DomainError(
                "not_open",
                format_lazy(
                    gettext_lazy("线索{reference}已{c}，不能并案"),
                    reference=c.reference,
                    c=chinese_display(c, "status"),
                ),
            )
    if clue.division_code[:6] != into.division_code[:6]:
        raise DomainError("other_county", gettext_lazy("不同区县的线索不能并案"))
    if clue.institution_id != into.institution_id:
        raise DomainError(
            "two_institutions",
            gettext_lazy(
                "两条线索涉及不同机构(或一条为登记机构、一条为未登记经营者)，不能并案；请先更正机构匹配"
            ),
        )
    if not clue.institution_id and not _same_subject(clue, into):
        raise DomainError("two_operators", gettext_lazy("两条线索涉及不同的经营者或地点，不能并案"))
    similarity = _similarity(clue, into)
    # a merge the intake would not have made (first reports further apart than the window)
    # is allowed — the officer knows it is the same problem — and flagged, citing the rule
    window = policy_resolve("clue.dedupe_window_days", into.division_code[:6])
    apart = abs(clue.received_at - into.received_at)
    beyond = window.cite(days_apart=apart.days) if apart > timedelta(days=int(window.value)) else None
    report_ids = list(clue.reports.order_by("id").values_list("id", flat=True))
    ClueReport.objects.filter(pk__in=report_ids).update(clue=into)
    into.report_count = F("report_count") + len(report_ids)
    into.last_reported_at = max(into.last_reported_at, clue.last_reported_at)
    fields = ["report_count", "last_reported_at"]
    if clue.received_at < into.received_at:  # the window runs from the problem's first report
        into.received_at = clue.received_at
        fields.append("received_at")
    into.save(update_fields=fields)
    into.refresh_from_db(fields=["report_count"])
    clue.merged_into = into
    clue.report_count = 0
    CLUE_STATES.move(
        clue, ClueStatus.MERGED, actor=actor, reason=reason, fields=["merged_into", "report_count"]
    )
    now = timezone.now()
    CaseChange.objects.create(
        kind=CaseChangeKind.MERGE,
        clue=into,
        other=clue,
        division_code=into.division_code,
        report_ids=report_ids,
        similarity=similarity,
        reason=reason,
        actor_id=actor.pk,
        at=now,
    )
    audit_record(
        actor=actor,
        action="clue.merge",
        obj=into,
        changes={
            "merged": clue.pk,
            "reference": clue.reference,
            "reports": report_ids,
            "similarity": similarity,
            "reason": reason,
            **({"beyond_window": beyond} if beyond else {}),
        },
    )
    return into


@transaction.atomic
def clue_split(*, actor, clue_id: int, report_ids: list[int], reason: str) -> Clue:
    """拆分: the chosen reports leave the case for a new one (another problem): classified
    afresh, routed to the same departments, its time limits from its first report. At
    least one report stays."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以拆分线索"))
    reason = _reason(reason)
    ids = sorted({int(i) for i in report_ids or []})
    if not ids:
        raise ValidationError({"report_ids": gettext_lazy("请选择要拆出的举报")})
    clue = lock_in_scope(Clue, clue_id, actor=actor, what="线索", related=("institution",))
    if clue.status not in MERGEABLE:
        raise DomainError(
            "not_open",
            format_lazy(gettext_lazy("线索已{clue}，不能拆分"), clue=chinese_display(clue, "status")),
        )
    reports = list(clue.reports.filter(pk__in=ids).order_by("received_at", "id"))
    if len(reports) != len(ids):
        raise ValidationError({"report_ids": gettext_lazy("所选举报不属于该线索")})
    remaining = clue.reports.exclude(pk__in=ids)
    if not remaining.exists():
        raise DomainError("split_all", gettext_lazy("至少保留一条举报在原线索中"))
    first = reports[0]
    m = model()
    text = first.content
    pred = apply_hooks([text], m.predict([text]))[0]
    on = timezone.localtime(first.received_at).date()
    ack, res = deadlines(on, clue.division_code)
    now = timezone.now()
    new = Clue.objects.create(
        reference=f"XS{on:%y%m%d}{random_codes(1, 8)[0]}",
        division_code=clue.division_code,
        institution_id=clue.institution_id,
        match_method=clue.match_method,
        match_score=clue.match_score,
        operator_name=clue.operator_name,
        operator_address=clue.operator_address,
        operator_key=clue.operator_key,
        suspected_unlicensed=clue.suspected_unlicensed,
        category=pred.category,
        category_source=pred.source,
        category_confidence=pred.confidence,
        summary=text[:500],
        first_channel=first.channel,
        status=ClueStatus.RECEIVED,
        report_count=len(reports),
        received_at=first.received_at,
        last_reported_at=max(r.received_at for r in reports),
        acknowledge_due=ack,
        resolve_due=res,
    )
    ClueReport.objects.filter(pk__in=ids).update(clue=new, similarity=None)
    rest = list(remaining.order_by("received_at", "id"))
    clue.report_count = len(rest)
    clue.last_reported_at = max(r.received_at for r in rest)
    clue.received_at = rest[0].received_at  # the window runs from the first report it keeps
    clue.save(update_fields=["report_count", "last_reported_at", "received_at"])
    deps = list(
        clue.routings.filter(action=RoutingAction.ASSIGN, department__isnull=False)
        .order_by("-lead", "id")
        .values_list("department_kind", "department_id")
    )
    seen = {}
    for k, d in deps:
        seen.setdefault(k, d)
    if seen and clue.routed_kinds:
        for i, (k, d) in enumerate(seen.items()):
            ClueRouting.objects.create(
                clue=new,
                action=RoutingAction.ASSIGN,
                department_id=d,
                department_kind=k,
                lead=i == 0,
                reason=f"自线索{clue.reference}拆分，按原承办部门分办",
                actor_id=actor.pk,
                at=now,
            )
        new.routed_kinds = "|" + "|".join(seen) + "|"
        CLUE_STATES.move(new, ClueStatus.ROUTED, actor=actor, reason=reason, fields=["routed_kinds"])
    CaseChange.objects.create(
        kind=CaseChangeKind.SPLIT,
        clue=clue,
        other=new,
        division_code=clue.division_code,
        report_ids=ids,
        similarity=_similarity(clue, new),
        reason=reason,
        actor_id=actor.pk,
        at=now,
    )
    audit_record(
        actor=actor,
        action="clue.split",
        obj=clue,
        changes={"new_case": new.pk, "reference": new.reference, "reports": ids, "reason": reason},
    )
    return new


# --- re-triage ---------------------------------------------------------------------------


def _area(actor, division_code: str) -> str:
    code = (division_code or "").strip()
    if len(code) < 6:
        raise ValidationError({"division_code": gettext_lazy("请选择区县或乡镇(街道)")})
    if not division_in_scope(actor, code):
        raise PermissionDeniedError(gettext_lazy("只能重新研判本辖区的线索"))
    return code


def retriage_compute(run: RetriageRun) -> RetriageRun:
    """Fill ``run.proposals``: every open case of the area (not corrected by a regulator)
    whose category the current model reads differently, and pairs of open cases of one
    subject the duplicate test now joins. Writes nothing but the run."""
    clues = list(
        Clue.objects.select_related("institution")
        .filter(division_code__startswith=run.division_code, status__in=MERGEABLE)
        .order_by("received_at", "id")
    )
    props: list[dict] = []
    if clues:
        m = model()
        texts = [_problem(c) for c in clues]
        vectors = m.vectors(texts)
        probs = m.proba(vectors, texts)
        preds = apply_hooks(texts, m.predict_vectors(None, texts, probs))
        for c, p in zip(clues, preds, strict=True):
            if c.category_source != CategorySource.REGULATOR and p.category != c.category:
                props.append(
                    {
                        "kind": "reclassify",
                        "clue": c.pk,
                        "reference": c.reference,
                        "summary": c.summary[:80],
                        "old": c.category,
                        "new": p.category,
                        "confidence": p.confidence,
                    }
                )
        windows = {run.division_code[:6]: int(policy_value("clue.dedupe_window_days", run.division_code[:6]))}
        items = [
            dedupe.Item(
                dedupe.subject_keys(c.institution_id, c.operator_name, c.operator_address),
                c.division_code[:6],
                c.received_at,
                i,
            )
            for i, c in enumerate(clues)
        ]
        placed = dedupe.place([], items, vectors, windows, probs)
        first: dict[int, int] = {}
        for i, pl in enumerate(placed):
            if pl.similarity is None:
                first[id(pl.case)] = i
            else:
                keep = clues[first[id(pl.case)]]
                c = clues[i]
                if c.institution_id != keep.institution_id:
                    continue  # never two institutions
                props.append(
                    {
                        "kind": "merge",
                        "clue": c.pk,
                        "reference": c.reference,
                        "summary": c.summary[:80],
                        "into": keep.pk,
                        "into_reference": keep.reference,
                        "similarity": pl.similarity,
                    }
                )
    run.clues = len(clues)
    run.proposals = [{"n": i, **p} for i, p in enumerate(props)]
    run.status = RetriageStatus.PROPOSED
    run.finished_at = timezone.now()
    run.save(update_fields=["clues", "proposals", "status", "finished_at"])
    return run


@transaction.atomic
def retriage_start(*, actor, division_code: str) -> RetriageRun:
    """Start a re-triage of the area's open clues: computed now for a small area, else by
    the background job (``tasks.retriage``); the result page shows the proposals."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以重新研判"))
    code = _area(actor, division_code)
    n = Clue.objects.filter(division_code__startswith=code, status__in=MERGEABLE).count()
    run = RetriageRun.objects.create(division_code=code, actor_id=actor.pk, clues=n)
    audit_record(actor=actor, action="clue.retriage_start", obj=run, division_code=code, changes={"clues": n})
    if n > BACKGROUND_FROM:
        from ..tasks import retriage

        transaction.on_commit(lambda: retriage(run.pk))
        return run
    run.status = RetriageStatus.RUNNING
    return retriage_compute(run)


def retriage_run_job(run_id: int) -> None:
    """The background job's body: compute the run's proposals (a failure is kept on it)."""
    run = RetriageRun.objects.filter(pk=run_id, status=RetriageStatus.QUEUED).first()
    if run is None:
        return
    run.status = RetriageStatus.RUNNING
    run.save(update_fields=["status"])
    try:
        with transaction.atomic():
            retriage_compute(run)
    except Exception as exc:  # kept on the run for the page; the job itself is not retried
        RetriageRun.objects.filter(pk=run_id).update(status=RetriageStatus.FAILED, error=str(exc)[:2000])
        raise


@transaction.atomic
def retriage_apply(*, actor, run_id: int, accept: list[int], reason: str) -> RetriageRun:
    """Apply the chosen proposals (by their number) of a proposed run, each as the
    handler's own change (reclassification, merge) with the reason; a proposal whose case
    changed since (closed, merged, corrected) is skipped and listed. Once per run."""
    require_role(actor, REGULATOR_WRITERS, message=gettext_lazy("只有监管领导和监管人员可以应用重新研判结果"))
    reason = _reason(reason)
    run = lock_in_scope(RetriageRun, run_id, actor=actor, what="重新研判")
    if run.status != RetriageStatus.PROPOSED:
        raise DomainError(
            "not_proposed",
            format_lazy(gettext_lazy("该次研判{run}，不能应用"), run=chinese_display(run, "status")),
        )
    chosen = {int(n) for n in accept or []}
    if not chosen:
        raise ValidationError({"accept": gettext_lazy("请选择要应用的变更")})
    by_n = {p["n"]: p for p in run.proposals}
    unknown = sorted(chosen - set(by_n))
    if unknown:
        raise ValidationError(
            {"accept": format_lazy(gettext_lazy("没有这些变更：{unknown}"), unknown=unknown)}
        )
    applied, skipped = [], []
    for n in sorted(chosen):
        p = by_n[n]
        try:
            with transaction.atomic():
                if p["kind"] == "reclassify":
                    _apply_reclassify(actor, p, reason)
                else:
                    clue_merge(actor=actor, clue_id=p["clue"], into_id=p["into"], reason=reason)
            applied.append(n)
        except (DomainError, NotFound) as exc:
            skipped.append({"n": n, "why": exc.chinese_message})
    run.applied = [{"n": n} for n in applied] + [{"skipped": s} for s in skipped]
    run.status = RetriageStatus.APPLIED
    run.applied_at = timezone.now()
    run.save(update_fields=["applied", "status", "applied_at"])
    audit_record(
        actor=actor,
        action="clue.retriage_apply",
        obj=run,
        division_code=run.division_code,
        changes={"applied": applied, "skipped": skipped, "reason": reason},
    )
    return run


def _apply_reclassify(actor, p: dict, reason: str) -> None:
    clue = lock_in_scope(Clue, p["clue"], actor=actor, what="线索")
    if clue.status not in OPEN_STATUSES or clue.category != p["old"]:
        raise DomainError(
            "changed",
            format_lazy(gettext_lazy("线索{reference}已变化，未重新分类"), reference=clue.reference),
        )
    if clue.category_source == CategorySource.REGULATOR:
        raise DomainError(
            "corrected",
            format_lazy(
                gettext_lazy("线索{reference}的类别已由监管人员更正，未重新分类"), reference=clue.reference
            ),
        )
    clue.category, clue.category_source = p["new"], CategorySource.MODEL
    clue.category_confidence = p.get("confidence")
    clue.save(update_fields=["category", "category_source", "category_confidence"])
    CaseChange.objects.create(
        kind=CaseChangeKind.RECLASSIFY,
        clue=clue,
        division_code=clue.division_code,
        before=p["old"],
        after=p["new"],
        reason=reason,
        actor_id=actor.pk,
        at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="clue.retriage_reclassify",
        obj=clue,
        changes={"category": [p["old"], p["new"]], "reason": reason},
    )
