"""core.bulk: the one bulk writer (columns and types from the model, rows by name, COPY on
PostgreSQL) and the id allocator."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from qinglang.core import bulk
from qinglang.core.models import Division, PolicyParameter

SH = ZoneInfo("Asia/Shanghai")


def test_rows_are_built_by_name_with_the_models_defaults():
    table = bulk.Table(PolicyParameter, ["key", "division_code", "value", "basis", "effective_from"])
    row = table.row(key="k", basis="b", effective_from=date(2026, 1, 1), value=[1, 2])
    assert row == ["k", "", [1, 2], "b", date(2026, 1, 1)]  # division_code: the field's default
    with pytest.raises(TypeError, match="unknown column 'valu'"):
        table.row(key="k", basis="b", effective_from=date(2026, 1, 1), valu=1)
    with pytest.raises(TypeError, match="effective_from is required"):
        table.row(key="k", basis="b")
    with pytest.raises(ValueError, match="no fields"):
        bulk.Table(PolicyParameter, ["nope"])
    table.set(row, "division_code", "51")
    assert row[1] == "51"
    # default columns: every concrete field but the automatic id; field names work too
    assert "id" not in bulk.Table(PolicyParameter).columns
    assert bulk.Table(Division, ["code", "parent"]).columns == ("code", "parent_id")


@pytest.mark.django_db(transaction=True)
def test_insert_and_update_write_every_type_in_one_statement_each():
    table = bulk.Table(
        PolicyParameter, ["key", "division_code", "value", "basis", "effective_from", "created_at"]
    )
    at = datetime(2026, 3, 1, 9, 30, tzinfo=SH)
    rows = [
        table.row(
            key="bulk.a",
            value={"n": 1, "中": "文"},
            basis="甲",
            effective_from=date(2026, 1, 1),
            created_at=at,
        ),
        {
            "key": "bulk.b",
            "division_code": "51",
            "value": None,
            "basis": "乙",
            "effective_from": date(2026, 2, 1),
        },
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as q:
        n = table.insert(rows)
    assert n == 2
    if connection.vendor == "sqlite":  # PostgreSQL's COPY is not a captured query
        assert len(q.captured_queries) == 1
    a = PolicyParameter.objects.get(key="bulk.a")
    b = PolicyParameter.objects.get(key="bulk.b")
    assert (a.division_code, a.value, a.basis, a.effective_from, a.created_at) == (
        "",
        {"n": 1, "中": "文"},
        "甲",
        date(2026, 1, 1),
        at,
    )
    assert b.value is None and b.division_code == "51" and b.created_at is not None  # auto_now_add
    values = bulk.Table(PolicyParameter, ["basis", "effective_from"])
    with transaction.atomic(), CaptureQueriesContext(connection) as q:
        values.update([(a.pk, "甲改", date(2026, 1, 2)), (b.pk, "乙改", date(2026, 2, 2))])
    assert len(q.captured_queries) == 1
    assert sorted(
        PolicyParameter.objects.filter(key__startswith="bulk.").values_list("basis", "effective_from")
    ) == [
        ("乙改", date(2026, 2, 2)),
        ("甲改", date(2026, 1, 2)),
    ]
    # a JSON column updates from Python values on both databases
    bulk.Table(PolicyParameter, ["value"]).update([(a.pk, {"改": [1, 2]}), (b.pk, None)])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.value, b.value) == ({"改": [1, 2]}, None)


@pytest.mark.django_db(transaction=True)
def test_allocated_ids_are_fresh_and_usable():
    with transaction.atomic():
        ids = bulk.allocate_ids(PolicyParameter, 3)
        assert len(set(ids)) == 3
        assert not PolicyParameter.objects.filter(pk__in=ids).exists()
        assert min(ids) > (PolicyParameter.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        with pytest.raises(ValueError, match="division_code"):  # no column silently NULL
            bulk.Table(PolicyParameter, ["id", "key", "basis", "effective_from", "created_at"]).insert([])
        table = bulk.Table(
            PolicyParameter, ["id", "key", "division_code", "basis", "effective_from", "created_at"]
        )
        table.insert(table.row(id=i, key=f"ids.{i}", basis="x", effective_from=date(2026, 1, 1)) for i in ids)
    assert sorted(PolicyParameter.objects.filter(key__startswith="ids.").values_list("pk", flat=True)) == ids
    # the next ORM insert does not collide with them
    p = PolicyParameter.objects.create(key="ids.next", basis="x", effective_from=date(2026, 1, 1))
    assert p.pk > max(ids)
    with transaction.atomic():
        assert bulk.allocate_ids(PolicyParameter, 0) == []
        assert min(bulk.allocate_ids(PolicyParameter, 2)) > p.pk


@pytest.mark.django_db
def test_select_in_runs_over_any_number_of_values():
    codes = list(Division.objects.values_list("code", flat=True)[:5])
    many = codes + [f"x{i}" for i in range(2500)]  # more than one chunk on SQLite
    got = bulk.select_in(f"SELECT code FROM {Division._meta.db_table} WHERE code {{in}}", many)
    assert sorted(r[0] for r in got) == sorted(codes)


def test_one_bulk_writer():
    """The apps' own COPY writers, COPY escapes and id allocators are gone: COPY, its text
    escapes and sequence look-ups are written in core.bulk only (the clue import formats
    its lines with ``bulk.COPY_ESCAPES`` and sends them through ``bulk.copy_text``)."""
    from pathlib import Path

    pkg = Path(bulk.__file__).resolve().parents[1]
    offenders = []
    for path in pkg.rglob("*.py"):
        if "tests" in path.parts or (path.name == "bulk.py" and path.parent.name == "core"):
            continue
        text = path.read_text(encoding="utf-8")
        markers = ("FROM STDIN", "generate_series(1", "pg_get_serial_sequence", r'"\t": "\\t"')
        if any(m in text for m in markers):
            offenders.append(str(path.relative_to(pkg)))
    assert offenders == []
    assert not (pkg / "funds" / "bulk.py").exists()
