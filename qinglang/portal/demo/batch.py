"""One chunk's rows by table, and their set-based write."""

from __future__ import annotations

from dataclasses import dataclass, field

from qinglang.core import bulk
from qinglang.registry.models import (
    Course,
    DisclosureNote,
    Institution,
    Licence,
    ListEntry,
    Site,
    Staff,
    TrainingMaterial,
)


@dataclass
class Batch:
    """Rows of one chunk, by table, ready for COPY or bulk_create."""

    institution: list[dict] = field(default_factory=list)
    licence: list[dict] = field(default_factory=list)
    site: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    course: list[dict] = field(default_factory=list)
    material: list[dict] = field(default_factory=list)
    listentry: list[dict] = field(default_factory=list)
    disclosure: list[dict] = field(default_factory=list)


TABLES = [
    ("institution", Institution),
    ("licence", Licence),
    ("site", Site),
    ("staff", Staff),
    ("course", Course),
    ("material", TrainingMaterial),
    ("listentry", ListEntry),
    ("disclosure", DisclosureNote),
]


def write_batch(b: Batch) -> int:
    """Insert a chunk's rows (parents first), by name, with the one bulk writer (COPY on
    PostgreSQL)."""
    total = 0
    for attr, model in TABLES:
        rows = getattr(b, attr)
        if rows:
            # every column: those the rows leave out take the fields' defaults
            cols = [
                f.attname for f in model._meta.concrete_fields if not f.primary_key or f.attname in rows[0]
            ]
            total += bulk.Table(model, cols).insert(rows)
    return total
