"""The random draw (双随机、一公开) of a campaign: the inspector pool, the pairs the draw must
not make, joint teams and one task per drawn site, set-based in one transaction; the
annual share of the year's draws; verifying and publishing a draw."""

import secrets
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.permissions import REGULATOR_WRITERS, lock_in_scope, require_role, user_id
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.calendar import is_working_day
from qinglang.core.errors import DomainError, IllegalTransition
from qinglang.core.i18n import chinese_display, chinese_label
from qinglang.core.policy import policy_resolve
from qinglang.registry.models import Institution, Site

from ..draw import Inspector, compute_draw, population_digest, target_count
from ..models import Campaign, CampaignStatus, Draw, Task, TaskOrigin, TaskStatus, Team, TeamMember
from . import inspector_notices
from .campaigns import LIVE_STATUSES, _standing_conflicts, population_for

Progress = Callable[..., None]  # progress(done, total): core.jobs' callback, or None
PROGRESS_EVERY = 500  # targets between two progress reports


def _inspector_pool(campaign: Campaign) -> list[Inspector]:
    """Inspectors whose area covers the campaign's division, from its departments."""
    pool = []
    seen = set()
    for m in Membership.objects.filter(role=Role.INSPECTOR, active=True).order_by("user_id"):
        prefixes = [p for p in (m.division_prefixes or []) if isinstance(p, str)]
        if not any(campaign.division_code.startswith(p) for p in prefixes):
            continue
        if campaign.departments and m.department_kind not in campaign.departments:
            continue
        if m.user_id in seen:
            continue
        seen.add(m.user_id)
        pool.append(Inspector(m.user_id, m.department_kind or ""))
    return pool


def _working_days(start: date, end: date) -> list[date]:
    days, d = [], start
    while d <= end:
        if is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days or [start]


def _check_draw_size(*, share: float | None, count: int | None, team_size: int) -> None:
    if share is not None and count is not None:
        raise ValidationError(
            {"share": _("请指定抽取比例或抽取数量(二选一)；都不填则按年度抽查比例下限抽取")}
        )
    if share is not None and not 0 < share <= 1:
        raise ValidationError({"share": _("抽取比例应在0到1之间")})
    if count is not None and count < 1:
        raise ValidationError({"count": _("抽取数量至少为1")})
    if not 1 <= team_size <= 10:
        raise ValidationError({"team_size": _("每组人数应在1-10之间")})


def _count_for_annual_share(c: Campaign, today: date) -> int:
    """Neither share nor count given: as many as the year's draws still need to reach the
    annual share (refused once it is reached)."""
    annual = annual_share_status(division_code=c.division_code, year=today.year)
    if annual["short_of_min"] == 0:
        raise annual["rule"].violation(
            format_lazy(
                _("本年度已抽查{drawn}/{institutions}家，已达到年度抽查比例下限"),
                drawn=annual["drawn"],
                institutions=annual["institutions"],
            ),
            drawn=annual["drawn"],
            institutions=annual["institutions"],
        )
    return annual["short_of_min"]


def _excluded_pairs(c: Campaign, pool_ids: list[int], today: date):
    """(gap rule, (inspector, institution) pairs inspected within the gap, standing
    conflicts of interest): the pairs the draw must not make."""
    gap = policy_resolve("random_inspection.same_inspector_gap_days", c.division_code)
    since = today - timedelta(days=int(gap.value))
    recent = set(
        Task.objects.filter(
            division_code__startswith=c.division_code,
            scheduled_on__gte=since,
            team__members__user_id__in=pool_ids,
        )
        .exclude(status=TaskStatus.CANCELLED)
        .values_list("team__members__user_id", "institution_id")
    )
    conflicts = set(
        _standing_conflicts().filter(inspector_id__in=pool_ids).values_list("inspector_id", "institution_id")
    )
    return gap, recent, conflicts


def _create_teams(c: Campaign, drawn_teams: list) -> list[Team]:
    teams = Team.objects.bulk_create(
        Team(campaign=c, division_code=c.division_code, name=f"第{i + 1}检查组")
        for i in range(len(drawn_teams))
    )
    TeamMember.objects.bulk_create(
        TeamMember(team=teams[i], user_id=m.user_id, department_kind=m.department)
        for i, members in enumerate(drawn_teams)
        for m in members
    )
    return teams


def _draw_tasks(
    c: Campaign, draw: Draw, result, teams: list[Team], divisions: dict, today: date, progress: Progress
) -> Iterator[tuple]:
    """One task row per active site of each drawn institution (one at its own place when
    it has none), spread over the campaign's working days; ``progress(done, total)`` by
    drawn institution as the rows go to the database. The sites are read here, before the
    rows stream (on PostgreSQL into a COPY, which leaves the connection no other query)."""
    days = _working_days(max(c.starts_on, today), c.ends_on) if c.ends_on >= today else [c.ends_on]
    # active sites of the drawn institutions: one query over the campaign's area (no list
    # of tens of thousands of ids), as plain tuples
    drawn = set(result.targets)
    sites: dict[int, list[tuple[int, str]]] = {}
    for sid, inst_id, code in (
        Site.objects.filter(active=True, institution__division_code__startswith=c.division_code)
        .order_by("id")
        .values_list("id", "institution_id", "division_code")
    ):
        if inst_id in drawn:
            sites.setdefault(inst_id, []).append((sid, code))
    return _task_rows(c, draw, result, teams, divisions, days, sites, progress)


def _task_rows(c, draw, result, teams, divisions, days, sites, progress: Progress) -> Iterator[tuple]:
    now = timezone.now()
    origin_ref = f"draw:{draw.pk}"
    total = len(result.targets)
    for n, inst_id in enumerate(result.targets):
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n, total)
        t_idx = result.assignment[inst_id]
        team_id = teams[t_idx].pk if t_idx is not None else None
        for site_id, code in sites.get(inst_id) or [(None, divisions[inst_id])]:
            yield TASKS.row(
                campaign_id=c.pk,
                team_id=team_id,
                institution_id=inst_id,
                site_id=site_id,
                division_code=code,
                scheduled_on=days[n % len(days)],
                due_on=c.ends_on,
                origin=TaskOrigin.DRAW,
                origin_ref=origin_ref,
                created_at=now,
            )
    if progress is not None:
        progress(total, total)


@transaction.atomic
def campaign_draw(
    *,
    actor,
    campaign_id: int,
    share: float | None = None,
    count: int | None = None,
    team_size: int = 2,
    seed: str | None = None,
    today: date | None = None,
    progress: Progress = None,
) -> Draw:
    """双随机: draw a share or a count of the population and joint teams of inspectors.
    An inspector is never drawn to an institution they inspected within
    ``random_inspection.same_inspector_gap_days`` or declared a conflict with. The seed
    is recorded, so the draw can be recomputed by anyone (``draw_verify``). All or
    nothing, in one transaction; ``progress(done, total)`` (a background job's) hears of
    the drawn institutions whose tasks are written."""
    c = lock_in_scope(Campaign, campaign_id, actor=actor, what="专项行动")
    require_role(actor, REGULATOR_WRITERS, division_code=c.division_code, message=_("无权执行随机抽取"))
    if c.status != CampaignStatus.DRAFT or Draw.objects.filter(campaign=c).exists():
        raise IllegalTransition(
            "campaign", chinese_display(c, "status"), chinese_label(CampaignStatus, CampaignStatus.DRAWN), []
        )
    _check_draw_size(share=share, count=count, team_size=team_size)
    today = today or timezone.localdate()
    seed = seed or secrets.token_hex(16)
    divisions = dict(population_for(c).order_by("id").values_list("id", "division_code"))
    population = list(divisions)
    if not population:
        raise DomainError("empty_population", _("检查对象为空：没有符合条件的机构"))
    if share is None and count is None:
        count = _count_for_annual_share(c, today)
    k = target_count(len(population), share=share, count=count)
    pool = _inspector_pool(c)
    if not pool:
        raise DomainError("no_inspectors", _("没有可抽取的执法检查人员(请核对参与部门和人员区划)"))
    pool_ids = [i.user_id for i in pool]
    gap, recent, conflicts = _excluded_pairs(c, pool_ids, today)
    result = compute_draw(
        seed=seed,
        population=population,
        k=k,
        pool=pool,
        team_size=team_size,
        recent=recent,
        conflicts=conflicts,
    )
    draw = Draw.objects.create(
        campaign=c,
        division_code=c.division_code,
        seed=seed,
        share=share,
        count=count,
        team_size=team_size,
        population_size=len(population),
        population_digest=population_digest(population),
        inspector_pool=sorted(pool_ids),
        target_count=k,
        targets=result.targets,
        exclusions=result.exclusions,
        drawn_on=today,
        drawn_by_id=user_id(actor),
    )
    teams = _create_teams(c, result.teams)
    # set-based, in the draw's transaction: a draw is all or nothing
    tasks = TASKS.insert(_draw_tasks(c, draw, result, teams, divisions, today, progress))
    c.status = CampaignStatus.DRAWN
    c.save(update_fields=["status"])
    inspector_notices.drawn(campaign=c, teams=teams, origin_ref=f"draw:{draw.pk}", actor=actor)
    audit_record(
        actor=actor,
        action="campaign.draw",
        obj=c,
        changes={
            "draw_id": draw.pk,
            "seed": seed,
            "population": len(population),
            "population_digest": draw.population_digest,
            "drawn": k,
            "teams": len(teams),
            "tasks": tasks,
            "excluded": len(result.exclusions),
            "gap_days": gap.value,
            "gap_rule": gap.cite(),  # who set the gap and on what basis
            "annual_share": _annual_summary(
                annual_share_status(division_code=c.division_code, year=today.year)
            ),
        },
    )
    return draw


TASKS = bulk.Table(Task)


def annual_share_status(*, division_code: str, year: int) -> dict:
    """How the draws dated in ``year`` stand against ``random_inspection.annual_share``: distinct
    institutions drawn ÷ operating institutions of the division, the bounds, how many more (or over)."""
    import math

    rule = policy_resolve("random_inspection.annual_share", division_code)
    lo, hi = rule.value or (0, 1)
    base = Institution.objects.filter(
        division_code__startswith=division_code, status__in=LIVE_STATUSES
    ).count()
    drawn: set[int] = set()
    for targets in Draw.objects.filter(
        division_code__startswith=division_code, drawn_on__year=year
    ).values_list("targets", flat=True):
        drawn.update(targets)
    n = len(drawn)
    share = n / base if base else 0.0
    return {
        "rule": rule,
        "year": year,
        "institutions": base,
        "drawn": n,
        "share": share,
        "min": lo,
        "max": hi,
        "short_of_min": max(0, math.ceil(lo * base - 1e-9) - n),
        "over_max": max(0, n - math.floor(hi * base + 1e-9)),
    }


def annual_share_text(status: dict) -> str:
    s = status
    text = (
        f"{s['year']}年度已抽查{s['drawn']}/{s['institutions']}家({s['share']:.1%})，"
        f"年度抽查比例{s['min']:.0%}–{s['max']:.0%}"
        f"(规则 {s['rule'].key}，由{s['rule'].source_label}设定)"
    )
    if s["short_of_min"]:
        return text + f"，距下限还差{s['short_of_min']}家"
    if s["over_max"]:
        return text + f"，超出上限{s['over_max']}家"
    return text + "，在规定范围内"


def _annual_summary(status: dict) -> dict:
    return {k: v for k, v in status.items() if k != "rule"} | {"text": annual_share_text(status)}


def draw_verify(*, draw: Draw) -> bool:
    """Recompute the targets from the recorded seed over the current population: true if
    the population is unchanged and the draw comes out the same."""
    population = list(population_for(draw.campaign).order_by("id").values_list("id", flat=True))
    if population_digest(population) != draw.population_digest:
        return False
    import random

    return random.Random(draw.seed).sample(sorted(population), draw.target_count) == draw.targets


@transaction.atomic
def draw_publish(*, actor, campaign_id: int) -> Draw:
    """一公开: show the draw (seed, population, drawn institutions) on the public site."""
    c = lock_in_scope(Campaign, campaign_id, actor=actor, what="专项行动")
    require_role(actor, REGULATOR_WRITERS, division_code=c.division_code, message=_("无权执行公开抽取结果"))
    draw = Draw.objects.select_for_update().filter(campaign=c).first()
    if draw is None:
        raise DomainError("not_drawn", _("尚未抽取，不能公开"))
    if draw.published:
        raise DomainError("already_published", _("抽取结果已公开"))
    draw.published = True
    draw.published_at = timezone.now()
    draw.save(update_fields=["published", "published_at"])
    audit_record(actor=actor, action="draw.publish", obj=draw, changes={"published": [False, True]})
    return draw
