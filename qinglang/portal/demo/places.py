"""Places of the demo: counties, their townships (generated where none are loaded) and
communities, their departments, and the spread of institutions over them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from qinglang.core.audit import audit_record
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import Department, DepartmentKind, Division, DivisionLevel
from qinglang.core.services import COUNTY_KINDS, department_ensure_for_division

from .common import ACTOR, GENERATED_TOWNSHIPS


@dataclass
class Place:
    county: str
    county_name: str
    township: str
    township_name: str
    communities: list[str]


def _audit_added(action: str, object_type: str, added: int) -> None:
    """One audit event for the rows of a kind added in bulk."""
    audit_record(actor=ACTOR, action=action, object_type=object_type, object_id="*", changes={"added": added})


def counties_for(where: str) -> list[Division]:
    qs = Division.objects.filter(level=DivisionLevel.COUNTY)
    if where:
        qs = qs.filter(code__startswith=where)
    return list(qs.order_by("code"))


def ensure_places(counties: list[Division], *, generate: bool) -> dict[str, list[Place]]:
    """Townships (and communities) of each county: the real ones where loaded, else
    generated townships ``county+001..010`` named 第N街道 (created in bulk)."""
    codes = [c.code for c in counties]
    townships: dict[str, list[Division]] = {c: [] for c in codes}
    communities: dict[str, list[str]] = {}
    for d in Division.objects.filter(level__in=[DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY]).only(
        "code", "name", "level"
    ):
        if d.level == DivisionLevel.TOWNSHIP and d.code[:6] in townships:
            townships[d.code[:6]].append(d)
        elif d.level == DivisionLevel.COMMUNITY:
            communities.setdefault(d.code[:9], []).append(d.code)
    new = []
    for c in counties:
        if not townships[c.code] and generate:
            for n in range(1, GENERATED_TOWNSHIPS + 1):
                name = f"第{n}街道"
                d = Division(
                    code=f"{c.code}{n:03d}",
                    name=name,
                    level=DivisionLevel.TOWNSHIP,
                    parent_id=c.code,
                    full_name=(c.full_name or c.name) + name,
                )
                new.append(d)
                townships[c.code].append(d)
    if new:
        Division.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        _audit_added("division.seed_townships", "core.division", len(new))
    names = {c.code: c.name for c in counties}
    return {
        c: [Place(c, names[c], t.code, t.name, sorted(communities.get(t.code, []))) for t in ts]
        for c, ts in townships.items()
        if ts
    }


def ensure_departments(county_codes: list[str], township_codes: list[str]) -> dict[tuple[str, str], int]:
    """Departments of each county (every kind) and township (its government). Few
    divisions go through the service one by one; many are created in one bulk insert."""
    if len(county_codes) + len(township_codes) <= 50:
        for code in [*county_codes, *township_codes]:
            department_ensure_for_division(actor=ACTOR, division_code=code)
    else:
        have = set(
            Department.objects.filter(division_id__in=[*county_codes, *township_codes]).values_list(
                "division_id", "kind"
            )
        )
        labels = chinese_labels(DepartmentKind)
        divs = {d.code: d for d in Division.objects.filter(code__in=[*county_codes, *township_codes])}
        new = []
        for code in county_codes:
            for k in COUNTY_KINDS:
                if (code, k) not in have:
                    new.append(Department(division_id=code, kind=k, name=f"{divs[code].name}{labels[k]}"))
        for code in township_codes:
            if (code, DepartmentKind.TOWNSHIP_GOVERNMENT) not in have:
                tn = divs[code].name
                new.append(
                    Department(
                        division_id=code,
                        kind=DepartmentKind.TOWNSHIP_GOVERNMENT,
                        name=tn + ("办事处" if tn.endswith("街道") else "人民政府"),
                    )
                )
        Department.objects.bulk_create(new, batch_size=2000)
        if new:
            _audit_added("department.seed", "core.department", len(new))
    return {
        (division_id, kind): pk
        for pk, division_id, kind in Department.objects.filter(division_id__in=county_codes).values_list(
            "id", "division_id", "kind"
        )
    }


def spread(rng: random.Random, places: dict[str, list[Place]], total: int) -> Iterator[Place]:
    """Yield one place per institution: ``total`` spread over counties (uneven, like real
    counties), then over each county's townships."""
    counties = sorted(places)
    weights = [rng.uniform(0.3, 1.7) for _ in counties]
    scale = total / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights]
    counts[-1] = max(1, counts[-1] + total - sum(counts))
    for county, n in zip(counties, counts, strict=True):
        ts = places[county]
        for _ in range(n):
            yield rng.choice(ts)
