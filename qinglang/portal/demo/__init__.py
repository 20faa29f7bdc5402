"""Demo data (演示数据): a realistic county for ``make run`` and streamed national-scale
data for benchmarks.

``seed(scale=...)`` generates institutions with licences, sites, staff, courses, training
materials and white/black list entries, and a demo user for every role. Generated rows are
written set-based (``bulk_create``, or ``COPY`` on PostgreSQL) in chunks, one transaction
per chunk, so memory stays bounded at any scale. Derived fields follow the services'
rules: the licence status is what ``derive_licence_status`` gives for the licences written,
the competent department is the one ``competent_department_for`` gives, and only fully
licensed, active institutions are whitelisted (never also blacklisted).

One module per step, every name re-exported here (``from qinglang.portal import demo``):

- ``common``: the demo county and township, the scales, the demo users and their password
- ``vocabulary``: what generated rows are drawn from (weights, words, valid IDs and codes)
- ``places``: counties, townships and departments, and the spread of institutions over them
- ``generator``: the generated rows of one institution
- ``batch``: one chunk's rows by table and their set-based write
- ``users``: the demo users of every role
- ``seeding``: the seed itself, chunk by chunk
- ``rules``: the rules in force at district scale (applications, a practice ban, training-hours
  violations), written through the services
"""

from .batch import TABLES, Batch, write_batch
from .common import (
    ACTOR,
    DEMO_COUNTY,
    DEMO_PASSWORD,
    DEMO_TOWNSHIP,
    DEMO_USERS,
    DETAIL_EVERY,
    GENERATED_TOWNSHIPS,
    LARGE_SCALES,
    SCALES,
)
from .generator import Generator
from .places import Place, counties_for, ensure_departments, ensure_places, spread
from .seeding import Stats, peak_rss_mb, seed
from .users import demo_bank, demo_institution, demo_login_rows, ensure_demo_users
from .vocabulary import (
    DISCLOSURE_TEXTS,
    ID_AREAS,
    KIND_CATEGORY,
    KIND_WEIGHTS,
    KIND_WORDS,
    LICENCE_WEIGHTS,
    STAGE_LABELS,
    STATUS_WEIGHTS,
    SUBJECTS,
    SUFFIX_BY_KIND,
    SUFFIXES,
    Pools,
    resident_id,
    uscc_for,
    weighted,
)

__all__ = [
    "ACTOR",
    "DEMO_COUNTY",
    "DEMO_PASSWORD",
    "DEMO_TOWNSHIP",
    "DEMO_USERS",
    "DETAIL_EVERY",
    "DISCLOSURE_TEXTS",
    "GENERATED_TOWNSHIPS",
    "ID_AREAS",
    "KIND_CATEGORY",
    "KIND_WEIGHTS",
    "KIND_WORDS",
    "LARGE_SCALES",
    "LICENCE_WEIGHTS",
    "SCALES",
    "STAGE_LABELS",
    "STATUS_WEIGHTS",
    "SUBJECTS",
    "SUFFIXES",
    "SUFFIX_BY_KIND",
    "TABLES",
    "Batch",
    "Generator",
    "Place",
    "Pools",
    "Stats",
    "counties_for",
    "demo_bank",
    "demo_institution",
    "demo_login_rows",
    "ensure_demo_users",
    "ensure_departments",
    "ensure_places",
    "peak_rss_mb",
    "resident_id",
    "seed",
    "spread",
    "uscc_for",
    "weighted",
    "write_batch",
]
