"""The random draw (双随机) as a pure function: given a seed, the sorted population, the
inspector pool and the exclusion facts, it returns the same targets and teams every time.
``services.campaign_draw`` gathers the facts, calls it and stores the result with the seed,
so anyone can recompute a published draw (``draw_verify``)."""

import bisect
import hashlib
import math
import random
from dataclasses import dataclass, field

# an exclusion for the inspection gap cites the rule that set it
GAP_RULE = "random_inspection.same_inspector_gap_days"


@dataclass(frozen=True)
class Inspector:
    user_id: int
    department: str


@dataclass
class DrawResult:
    targets: list[int]  # institution ids, in draw order
    teams: list[list[Inspector]]
    assignment: dict[int, int | None]  # institution id -> team index (None: no eligible team)
    exclusions: list[dict] = field(default_factory=list)


def population_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()


def target_count(n: int, *, share: float | None, count: int | None) -> int:
    if count is not None:
        return max(0, min(n, count))
    return min(n, math.ceil(n * (share or 0) - 1e-9))


def form_teams(rng: random.Random, pool: list[Inspector], size: int) -> list[list[Inspector]]:
    """Joint teams: deal inspectors out department by department, so each team mixes
    departments as far as the pool allows."""
    by_dept: dict[str, list[Inspector]] = {}
    for ins in sorted(pool, key=lambda i: i.user_id):
        by_dept.setdefault(ins.department, []).append(ins)
    for lst in by_dept.values():
        rng.shuffle(lst)
    order: list[Inspector] = []
    depts = sorted(by_dept)
    while any(by_dept.values()):
        for d in depts:
            if by_dept[d]:
                order.append(by_dept[d].pop())
    n_teams = max(1, len(order) // max(size, 1)) if order else 0
    teams = [order[j * size : (j + 1) * size] for j in range(n_teams)]
    for i, ins in enumerate(order[n_teams * size :]):
        teams[i % n_teams].append(ins)
    return teams


def compute_draw(
    *,
    seed: str,
    population: list[int],
    k: int,
    pool: list[Inspector],
    team_size: int,
    recent: set[tuple[int, int]],  # (inspector user id, institution id) within the gap
    conflicts: set[tuple[int, int]],  # declared (inspector user id, institution id)
) -> DrawResult:
    rng = random.Random(seed)
    targets = rng.sample(sorted(population), k)
    teams = form_teams(rng, pool, team_size)
    # least-loaded eligible team, ties broken by a rotating start (deterministic): the
    # order is (load, (t - start) mod T). Teams are kept in buckets by load, each sorted by
    # index, so the order is walked without sorting every team for every target.
    n_teams = len(teams)
    buckets: list[list[int]] = [list(range(n_teams))]
    load = [0] * n_teams
    lowest = 0  # no team has a load below this
    assignment: dict[int, int | None] = {}
    exclusions: list[dict] = []
    start = 0
    for inst in targets:
        chosen = None
        for level in range(lowest, len(buckets)):
            bucket = buckets[level]
            i = bisect.bisect_left(bucket, start % n_teams) if n_teams else 0
            for t in bucket[i:] + bucket[:i]:
                bad = [
                    (m.user_id, "conflict" if (m.user_id, inst) in conflicts else GAP_RULE)
                    for m in teams[t]
                    if (m.user_id, inst) in conflicts or (m.user_id, inst) in recent
                ]
                if bad:
                    for uid, why in bad:
                        exclusions.append(
                            {"institution_id": inst, "team": t, "inspector_id": uid, "rule": why}
                        )
                    continue
                chosen = t
                break
            if chosen is not None:
                break
        if chosen is None:
            exclusions.append({"institution_id": inst, "team": None, "rule": "unstaffed"})
        else:
            buckets[load[chosen]].remove(chosen)
            load[chosen] += 1
            if len(buckets) <= load[chosen]:
                buckets.append([])
            bisect.insort(buckets[load[chosen]], chosen)
            while lowest < len(buckets) - 1 and not buckets[lowest]:
                lowest += 1
            start = chosen + 1
        assignment[inst] = chosen
    return DrawResult(targets, teams, assignment, exclusions)
