"""The seed: places and departments, then institutions in chunks (one transaction per
chunk at large scales), the demo users and the rules in force."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record_many
from qinglang.registry import public_cache
from qinglang.registry.models import Institution

from . import rules
from .batch import TABLES, Batch, write_batch
from .common import ACTOR, DEMO_COUNTY, DEMO_TOWNSHIP, LARGE_SCALES, SCALES
from .generator import Generator
from .places import Place, counties_for, ensure_departments, ensure_places, spread
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

    places, dept = _places_and_departments(where, generate=scale != "district")
    townships = sum(len(ps) for ps in places.values())
    say(f"{len(places)} counties, {townships} townships; generating {total} institutions")

    gen = Generator(seed=seed_value, today=today, dept=dept, details=not large)
    stats = Stats(counts={attr: 0 for attr, _ in TABLES})
    # district: one transaction for everything; larger scales: one per chunk
    with contextlib.nullcontext() if large else transaction.atomic():
        _write_chunks(
            gen,
            spread(gen.rng, places, total),
            stats,
            total=total,
            chunk=chunk,
            large=large,
            started=started,
            say=say,
        )
        ensure_demo_users()
        if not large:
            stats.rules = rules.seed(today=today, county=DEMO_COUNTY, township=DEMO_TOWNSHIP)
    public_cache.bump()  # as every write of institutions does (registry institution_save)

    stats.seconds = time.monotonic() - started
    stats.peak_rss_mb = peak_rss_mb()
    if connection.vendor == "postgresql" and large:
        _analyze()
    return stats


def _places_and_departments(where: str, *, generate: bool) -> tuple[dict[str, list[Place]], dict]:
    """The counties under ``where`` with their townships, and their departments (one
    transaction)."""
    with transaction.atomic():
        places = ensure_places(counties_for(where), generate=generate)
        county_codes = sorted(places)
        township_codes = sorted(p.township for ps in places.values() for p in ps)
        return places, ensure_departments(county_codes, township_codes)


def _write_chunks(
    gen: Generator,
    place_iter: Iterator[Place],
    stats: Stats,
    *,
    total: int,
    chunk: int,
    large: bool,
    started: float,
    say: Callable[[str], None],
) -> None:
    """``total`` institutions, ``chunk`` to a transaction: ids allocated, rows generated,
    written and audited; progress said at large scales."""
    while stats.institutions < total:
        n = min(chunk, total - stats.institutions)
        with transaction.atomic():
            ids = bulk.allocate_ids(Institution, n)
            b = Batch()
            for iid in ids:
                gen.institution(iid, next(place_iter), b)
            _write(b, stats, large=large)
        if large or total > chunk:
            done, el = stats.institutions, time.monotonic() - started
            say(
                f"  {done:>8,}/{total:,} institutions  {el:7.1f} s  {done / el:8.0f}/s  peak RSS {peak_rss_mb():.0f} MB"
            )


def _write(b: Batch, stats: Stats, *, large: bool) -> None:
    """Write a chunk and audit it: one event per institution, or one for the chunk at
    large scales."""
    stats.rows += write_batch(b)
    for attr, _ in TABLES:
        stats.counts[attr] += len(getattr(b, attr))
    audit_record_many(actor=ACTOR, entries=[_chunk_entry(b)] if large else _institution_entries(b))
    stats.institutions += len(b.institution)


def _chunk_entry(b: Batch) -> Entry:
    return Entry(
        "institution.seed_batch",
        "registry.institution",
        f"{b.institution[0]['id']}-{b.institution[-1]['id']}",
        "",
        {
            "institutions": len(b.institution),
            "rows": sum(len(getattr(b, a)) for a, _ in TABLES),
        },
    )


def _institution_entries(b: Batch) -> list[Entry]:
    return [
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
    ]


def _analyze() -> None:
    """Fresh planner statistics after a large load (PostgreSQL)."""
    with connection.cursor() as cur:
        for _, model in TABLES:
            cur.execute(f"ANALYZE {model._meta.db_table}")
