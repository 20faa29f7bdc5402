"""The seed: places and departments, then institutions in chunks (one transaction per
chunk at large scales), the demo users and the rules in force."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record_many
from qinglang.registry import public_cache
from qinglang.registry.models import Institution

from .batch import TABLES, Batch, write_batch
from .common import ACTOR, DEMO_COUNTY, DEMO_TOWNSHIP, LARGE_SCALES, SCALES
from .generator import Generator
from .places import counties_for, ensure_departments, ensure_places, spread
from .users import ensure_demo_users


@dataclass
class Stats:
    institutions: int = 0
    rows: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    counts: dict = field(default_factory=dict)
    rules: dict = field(default_factory=dict)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(
    *,
    scale: str = "district",
    total: int | None = None,
    chunk: int = 5000,
    seed_value: int = 20260101,
    progress: Callable[[str], None] | None = None,
) -> Stats:
    """Seed demo data at ``scale``; returns counts, time and peak memory."""
    started = time.monotonic()
    where, default_total = SCALES[scale]
    total = total or default_total
    large = scale in LARGE_SCALES
    say = progress or (lambda _msg: None)
    today = date.today()

    with transaction.atomic():
        counties = counties_for(where)
        places = ensure_places(counties, generate=scale != "district")
        county_codes = sorted(places)
        township_codes = sorted(p.township for ps in places.values() for p in ps)
        dept = ensure_departments(county_codes, township_codes)
    say(f"{len(county_codes)} counties, {len(township_codes)} townships; generating {total} institutions")

    gen = Generator(seed=seed_value, today=today, dept=dept, details=not large)
    stats = Stats()
    place_iter = spread(gen.rng, places, total)
    done = 0
    counts: dict[str, int] = {attr: 0 for attr, _ in TABLES}

    def flush(b: Batch) -> None:
        nonlocal done
        stats.rows += write_batch(b)
        for attr, _ in TABLES:
            counts[attr] += len(getattr(b, attr))
        if large:
            audit_record_many(
                actor=ACTOR,
                entries=[
                    Entry(
                        "institution.seed_batch",
                        "registry.institution",
                        f"{b.institution[0]['id']}-{b.institution[-1]['id']}",
                        "",
                        {
                            "institutions": len(b.institution),
                            "rows": sum(len(getattr(b, a)) for a, _ in TABLES),
                        },
                    )
                ],
            )
        else:
            audit_record_many(
                actor=ACTOR,
                entries=[
                    Entry(
                        "institution.seed",
                        "registry.institution",
                        str(r["id"]),
                        r["division_code"],
                        {
                            "name": r["name"],
                            "kind": r["kind"],
                            "licence_status": r["licence_status"],
                            "status": r["status"],
                            "whitelisted": r["whitelisted"],
                            "blacklisted": r["blacklisted"],
                        },
                    )
                    for r in b.institution
                ],
            )
        done += len(b.institution)

    # district: one transaction for everything; larger scales: one per chunk
    outer = transaction.atomic() if not large else _nullcontext()
    with outer:
        while done < total:
            n = min(chunk, total - done)
            with transaction.atomic():
                ids = bulk.allocate_ids(Institution, n)
                b = Batch()
                for iid in ids:
                    gen.institution(iid, next(place_iter), b)
                flush(b)
            if large or total > chunk:
                el = time.monotonic() - started
                say(
                    f"  {done:>8,}/{total:,} institutions  {el:7.1f} s  {done / el:8.0f}/s  peak RSS {peak_rss_mb():.0f} MB"
                )
        ensure_demo_users()
        if not large:
            from qinglang.portal import demo_rules

            stats.rules = demo_rules.seed(today=today, county=DEMO_COUNTY, township=DEMO_TOWNSHIP)
    public_cache.bump()  # as every write of institutions does (registry institution_save)

    stats.institutions = done
    stats.counts = counts
    stats.seconds = time.monotonic() - started
    stats.peak_rss_mb = peak_rss_mb()
    if connection.vendor == "postgresql" and large:
        with connection.cursor() as cur:
            for _, model in TABLES:
                cur.execute(f"ANALYZE {model._meta.db_table}")
    return stats


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
