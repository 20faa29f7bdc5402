"""Every read of the screening app, narrowed by ``accounts.scope.restrict``."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.scope import actor_for, restrict
from qinglang.core.errors import NotFound
from qinglang.core.models import Division

from .models import HoldStatus, PatrolPost, Platform, Sweep, SweepPlace, SweepVisit, TakedownRequest, TextHold


def hold_list(*, actor, status: str | None = HoldStatus.HELD):
    qs = restrict(TextHold.objects.all(), actor)
    return qs.filter(status=status) if status else qs


def patrol_list(*, actor, platform: str = "", hit: bool | None = None):
    qs = restrict(PatrolPost.objects.all(), actor)
    if platform:
        qs = qs.filter(platform=platform)
    if hit is not None:
        qs = qs.filter(hit=hit)
    return qs


def patrol_counts(*, actor) -> list[dict]:
    """Posts, hits, takedown requests and removals per platform and month (of the post)."""
    labels = {value: str(label) for value, label in Platform.choices}  # plain text: pages and the API
    out: dict[tuple, dict] = {}
    posts = (
        restrict(PatrolPost.objects.all(), actor)
        .annotate(month=TruncMonth("seen_on"))
        .values("platform", "month")
        .annotate(posts=Count("id"), hits=Count("id", filter=Q(hit=True)))
    )
    for r in posts:
        out[(r["platform"], r["month"])] = {**r, "takedowns": 0, "removed": 0}
    takedowns = (
        restrict(TakedownRequest.objects.all(), actor)
        .annotate(month=TruncMonth("post__seen_on"))
        .values("post__platform", "month")
        .annotate(n=Count("id"), removed=Count("id", filter=Q(status="removed")))
    )
    for r in takedowns:
        row = out.get((r["post__platform"], r["month"]))
        if row is not None:
            row["takedowns"], row["removed"] = r["n"], r["removed"]
    rows = sorted(out.values(), key=lambda r: (-r["month"].toordinal(), r["platform"]))
    return [
        {**r, "platform_name": labels[r["platform"]], "month": r["month"].strftime("%Y-%m")} for r in rows
    ]


def sweep_list(*, actor):
    """Sweeps within the actor's area, and those covering it (a township's grid worker
    works on the county's sweep: only the places in their township are theirs)."""
    a = actor_for(actor)
    covering = {p[:n] for p in a.division_prefixes for n in (2, 4, 6, 9, 12) if n < len(p)}
    within = restrict(Sweep.objects.all(), actor)
    if a.is_platform_admin or not covering:
        return within
    return Sweep.objects.filter(Q(pk__in=within.values("pk")) | Q(division_code__in=covering))


def sweep_get(*, actor, sweep_id: int) -> Sweep:
    s = sweep_list(actor=actor).filter(pk=sweep_id).first()
    if s is None:
        raise NotFound(_("专项摸排"))
    return s


def place_list(*, actor, sweep_id: int):
    sweep_get(actor=actor, sweep_id=sweep_id)
    open_visits = SweepVisit.objects.filter(place=OuterRef("pk"), closed_at__isnull=True).exclude(
        outcome="clear"
    )
    return (
        restrict(SweepPlace.objects.filter(sweep_id=sweep_id), actor)
        .annotate(visit_count=Count("visits"), has_open=Exists(open_visits))
        .order_by("division_code", "id")
    )


def place_get(*, actor, place_id: int) -> SweepPlace:
    p = restrict(SweepPlace.objects.select_related("sweep"), actor).filter(pk=place_id).first()
    if p is None:
        raise NotFound(_("摸排场所"))
    return p


def visit_list(*, actor, place_id: int):
    return restrict(SweepVisit.objects.filter(place_id=place_id), actor)


def open_findings(*, actor, sweep_id: int):
    return restrict(
        SweepVisit.objects.filter(place__sweep_id=sweep_id, closed_at__isnull=True).exclude(outcome="clear"),
        actor,
    ).select_related("place")


@dataclass
class TownshipRow:
    code: str
    name: str
    listed: int
    visited: int
    open_findings: int

    @property
    def zero(self) -> bool:
        """清零: every listed place visited and every finding closed."""
        return self.listed > 0 and self.visited == self.listed and self.open_findings == 0


def sweep_board(*, actor, sweep_id: int) -> list[TownshipRow]:
    """The 清零 board: per township, places listed, visited, open findings, zero or not."""
    places = place_list(actor=actor, sweep_id=sweep_id)
    by: dict[str, list[int]] = {}
    for code, visits in places.values_list("division_code", "visit_count"):
        t = by.setdefault(code[:9], [0, 0, 0])
        t[0] += 1
        t[1] += 1 if visits else 0
    findings = open_findings(actor=actor, sweep_id=sweep_id).values_list("place__division_code", flat=True)
    for code in findings:
        by.setdefault(code[:9], [0, 0, 0])[2] += 1
    names = dict(Division.objects.filter(code__in=list(by)).values_list("code", "name"))
    return [TownshipRow(c, names.get(c, c), *v) for c, v in sorted(by.items())]
