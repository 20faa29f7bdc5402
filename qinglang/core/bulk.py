"""Set-based writes, below the ORM: the one bulk writer and id allocator every app uses.

One statement per table per batch instead of one model instance (and one compiled INSERT)
per row:

- ``Table(Model, columns)`` derives everything from the model: the database column of each
  field, its PostgreSQL type (for a binary COPY) and how SQLite wants its values. Rows are
  built by name — ``table.row(order_id=…, status=…)`` gives a tuple in the table's column
  order, with the fields' defaults for what is left out — or given as mappings; never by
  position in a hand-kept tuple of types.
- ``table.insert(rows)``: COPY (binary) on PostgreSQL, one ``executemany`` elsewhere.
- ``table.update(rows)``: many rows' columns in one ``UPDATE … FROM unnest(…)`` on
  PostgreSQL, an ``executemany`` of a keyed UPDATE on SQLite. Rows are (id, *values).
- ``allocate_ids(Model, n)`` reserves ids up front (``nextval`` over ``generate_series``
  on PostgreSQL; on SQLite the transaction holds the database's write lock, so
  max(id)+1… is safe), so child rows can name their parents without a round trip.
- ``select_in(sql, values)`` runs a raw ``IN`` query over any number of values.

Callers run inside their service's transaction, hold the row locks they need, and audit
what they wrote (``core.audit.audit_record_many``)."""

import gc
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property

from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED


@contextmanager
def gc_paused():
    """The cyclic garbage collector held off for a bulk job's duration: with hundreds of
    thousands of rows alive, each of its full passes walks them all, and it runs every
    few thousand allocations (a quarter of a day's scoring went to it). Nothing of a bulk
    job is freed by it anyway (rows are not cycles); it runs once at the end."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def in_chunk() -> int:
    """How many values one ``IN (…)`` may carry: SQLite's bound-parameter limit, and
    below psycopg's 65,535 on PostgreSQL."""
    return 30_000 if is_pg() else 900


def chunks(seq: Sequence, n: int) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


# PostgreSQL's spelling of a column type → the name psycopg's binary COPY knows it by
_PG_NAMES = {
    "timestamp with time zone": "timestamptz",
    "character varying": "varchar",
    "double precision": "float8",
    "serial": "integer",
    "bigserial": "bigint",
    "smallserial": "smallint",
}


def _pg_type(field: models.Field) -> str:
    t = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    t = re.sub(r"\(.*\)", "", t or "").strip().lower()
    return _PG_NAMES.get(t, t)


def _sqlite_adapter(field: models.Field) -> Callable | None:
    """How a Python value becomes what SQLite stores (None: as it is). Values already
    adapted (a string for a datetime) pass through, so callers may adapt shared values
    once themselves."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        memo: dict = {}  # a batch shares a few timestamps: adapt each once

        def dt(v):
            if not isinstance(v, datetime):
                return v
            if v not in memo:
                memo[v] = ops.adapt_datetimefield_value(v)
            return memo[v]

        return dt
    if isinstance(field, models.DateField):
        return lambda v: ops.adapt_datefield_value(v) if isinstance(v, date) else v
    if isinstance(field, (models.JSONField, models.DecimalField, models.UUIDField, models.TimeField)):
        return lambda v: field.get_db_prep_save(v, connection)
    return None


def _json_dumps(value) -> bytes | str:
    """orjson for a jsonb column (several times faster than the standard encoder on the
    explanations a day's scoring writes; jsonb stores the value, not its spelling), the
    standard encoder for what orjson refuses (an integer beyond 64 bits, keys that are
    not strings)."""
    import orjson

    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value)


def _pg_adapter(field: models.Field) -> Callable | None:
    if isinstance(field, models.JSONField):
        from psycopg.types.json import Jsonb

        return lambda v: None if v is None else Jsonb(v, dumps=_json_dumps)
    return None


class Table:
    """A model's table for bulk writes, over ``columns`` (field names or attnames; by
    default every concrete field but an automatic primary key)."""

    def __init__(self, model: type[models.Model], columns: Sequence[str] | None = None):
        opts = model._meta
        by_name = {f.name: f for f in opts.concrete_fields} | {f.attname: f for f in opts.concrete_fields}
        if columns is None:
            columns = [f.attname for f in opts.concrete_fields if not isinstance(f, models.AutoField)]
        unknown = [c for c in columns if c not in by_name]
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {unknown}")
        self.model = model
        self.fields = [by_name[c] for c in columns]
        self.columns = tuple(f.attname for f in self.fields)
        self.db_table = opts.db_table
        self._index = {c: i for i, c in enumerate(self.columns)}
        for f in self.fields:  # field names may name the row too (``order`` for ``order_id``)
            self._index.setdefault(f.name, self._index[f.attname])
        self._defaults = tuple(self._default(f) for f in self.fields)
        self._plans: dict[tuple[str, ...], tuple[list[int], list[tuple[int, Callable]]]] = {}
        # columns an insert may leave out: the automatic id and nullable columns (an
        # update table names only what it changes)
        self._left_out = [
            f.attname
            for f in opts.concrete_fields
            if f.attname not in self.columns and not (isinstance(f, models.AutoField) or f.null)
        ]

    @staticmethod
    def _default(f: models.Field):
        if f.has_default():
            return f.get_default  # called per row: a callable default differs per row
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            from django.utils import timezone

            return timezone.now
        if f.null:
            return lambda: None
        if f.empty_strings_allowed:  # as Django's own default for a text column
            return lambda: ""
        return NOT_PROVIDED

    # --- rows by name ----------------------------------------------------------------
    def row(self, **values) -> list:
        """One row, by field name, in the table's column order (a list: a caller may set
        a column later by ``table.set(row, name, value)``). Columns left out take the
        field's default; a column without one is an error, as is an unknown name."""
        plan = self._plans.get(tuple(values))
        if plan is None:
            plan = self._plan(tuple(values))
        where, fill = plan
        out = [None] * len(self.columns)
        for i, v in zip(where, values.values(), strict=True):
            out[i] = v
        for i, d in fill:
            out[i] = d()
        return out

    def _plan(self, names: tuple[str, ...]) -> tuple[list[int], list[tuple[int, Callable]]]:
        """Where each given name goes and the defaults of the rest, worked out once per
        set of names (a call site builds its rows with the same names)."""
        where = []
        for name in names:
            i = self._index.get(name)
            if i is None:
                raise TypeError(f"{self.model.__name__} bulk row: unknown column {name!r}")
            where.append(i)
        fill = []
        for i, d in enumerate(self._defaults):
            if i not in where:
                if d is NOT_PROVIDED:
                    raise TypeError(f"{self.model.__name__} bulk row: {self.columns[i]} is required")
                fill.append((i, d))
        if len(set(where)) != len(where):  # ``order`` and ``order_id`` both given: the last wins
            return where, fill
        self._plans[names] = (where, fill)
        return where, fill

    def set(self, row: list, name: str, value) -> None:
        """Set one column of a row built by ``row`` (e.g. an id known only later)."""
        row[self._index[name]] = value

    def _as_rows(self, rows: Iterable) -> Iterable[Sequence]:
        for r in rows:
            yield self.row(**r) if isinstance(r, Mapping) else r

    # --- writing ----------------------------------------------------------------------
    def insert(self, rows: Iterable) -> int:
        """Insert rows (from ``row`` or mappings by name). Returns how many."""
        if self._left_out:
            raise ValueError(f"{self.model.__name__} insert leaves out required columns {self._left_out}")
        cols = ", ".join(f.column for f in self.fields)
        n = 0
        if is_pg():
            connection.ensure_connection()
            prep, types = self._pg_copy
            sql = f"COPY {self.db_table} ({cols}) FROM STDIN (FORMAT BINARY)"
            # the raw psycopg connection is in the same transaction as Django's cursor
            with connection.connection.cursor() as cur, cur.copy(sql) as cp:
                cp.set_types(types)
                for r in self._as_rows(rows):
                    if prep:
                        r = list(r)
                        for i, a in prep:
                            r[i] = a(r[i])
                    cp.write_row(r)
                    n += 1
            return n
        adapters = [_sqlite_adapter(f) for f in self.fields]
        prep = [(i, a) for i, a in enumerate(adapters) if a is not None]

        def adapted():
            nonlocal n
            for r in self._as_rows(rows):
                if prep:
                    r = list(r)
                    for i, a in prep:
                        r[i] = a(r[i])
                n += 1
                yield tuple(r)

        marks = ", ".join(["%s"] * len(self.fields))
        with connection.cursor() as cur:
            cur.executemany(f"INSERT INTO {self.db_table} ({cols}) VALUES ({marks})", list(adapted()))  # noqa: S608
        return n

    @cached_property
    def _pg_copy(self) -> tuple[list[tuple[int, Callable]], list[str]]:
        """PostgreSQL: the columns' value adapters (where one is needed) and types for a
        binary COPY, worked out once per table (a single-row insert on a hot path would
        otherwise spend more on them than on its row)."""
        adapters = [_pg_adapter(f) for f in self.fields]
        return [(i, a) for i, a in enumerate(adapters) if a is not None], [_pg_type(f) for f in self.fields]

    def update(self, rows: Sequence[Sequence]) -> None:
        """``rows`` are (id, *values of the table's columns)."""
        if not rows:
            return
        with connection.cursor() as cur:
            if is_pg():
                prep, types = self._pg_copy
                if prep:  # e.g. JSON: a VALUES list
                    self._update_values(cur, rows)
                    return
                # one array per column, unnested on the server: a few parameters per
                # statement instead of one per value, whatever the number of rows
                sets = ", ".join(f"{f.column} = v.{f.column}" for f in self.fields)
                names = ", ".join(["id", *(f.column for f in self.fields)])
                arrays = ", ".join(["%s::bigint[]", *(f"%s::{t}[]" for t in types)])
                sql = (
                    f"UPDATE {self.db_table} AS t SET {sets} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
                    "WHERE t.id = v.id"
                )
                for chunk in chunks(rows, 50_000):
                    cur.execute(sql, [list(col) for col in zip(*chunk, strict=True)])
                return
            adapters = [_sqlite_adapter(f) for f in self.fields]
            sets = ", ".join(f"{f.column} = %s" for f in self.fields)
            cur.executemany(
                f"UPDATE {self.db_table} SET {sets} WHERE id = %s",  # noqa: S608
                [(*(a(v) if a else v for a, v in zip(adapters, r[1:], strict=True)), r[0]) for r in rows],
            )

    def _update_values(self, cur, rows: Sequence[Sequence]) -> None:
        """PostgreSQL, for columns whose values need wrapping (JSON): a VALUES list."""
        sets = ", ".join(f"{f.column} = v.{f.column}::{_pg_type(f)}" for f in self.fields)
        names = ", ".join(["id", *(f.column for f in self.fields)])
        width = len(self.fields) + 1
        prep = [(i + 1, a) for i, a in enumerate(_pg_adapter(f) for f in self.fields) if a is not None]
        rows = [list(r) for r in rows]
        for r in rows:
            for i, a in prep:
                r[i] = a(r[i])
        for chunk in chunks(rows, 5000):
            values = ",".join(["(" + ",".join(["%s"] * width) + ")"] * len(chunk))
            cur.execute(
                f"UPDATE {self.db_table} AS t SET {sets} FROM (VALUES {values}) AS v({names}) "  # noqa: S608
                f"WHERE t.id = v.id::bigint",
                [x for r in chunk for x in r],
            )


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})  # text COPY


def copy_text(db_table: str, columns: Sequence[str], chunks_of_lines: Iterable[list[str]]) -> None:
    """PostgreSQL: a COPY in text format of lines the caller formats itself (each value
    escaped with ``COPY_ESCAPES``, ``\\N`` for NULL, tab-separated, newline-ended), for the
    largest writes, where building each line in place costs less than binding every value.
    Lines come in chunks (lists), each sent as one write."""
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cur,
        cur.copy(f"COPY {db_table} ({', '.join(columns)}) FROM STDIN") as cp,
    ):
        for lines in chunks_of_lines:
            cp.write("".join(lines).encode("utf-8"))


_SEQUENCES: dict[tuple[str, str], str] = {}  # (database, table) → its id sequence


def allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """Reserve ``n`` ids of ``model`` (inside the transaction that inserts them)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cur:
        if is_pg():
            key = (connection.settings_dict["NAME"], table)
            if key not in _SEQUENCES:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                _SEQUENCES[key] = cur.fetchone()[0]
            # the sequence named once: looked up per row, it was ~4x the cost of nextval itself
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_SEQUENCES[key], n])
            return [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - table names are ours
        top = cur.fetchone()[0]
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cur.fetchone()
        top = max(top, row[0] if row else 0)
    return list(range(top + 1, top + 1 + n))


def select_in(sql: str, values: Sequence, *, params: Sequence = ()) -> list[tuple]:
    """Run ``sql`` (ending in ``IN``'s place with ``{in}``) for every chunk of ``values``:
    raw SQL, because compiling a 900-value ORM filter costs more than running it."""
    out: list[tuple] = []
    with connection.cursor() as cur:
        for chunk in chunks(list(values), in_chunk()):
            if is_pg():
                cur.execute(sql.format(**{"in": "= ANY(%s)"}), [*params, list(chunk)])
            else:
                marks = ",".join(["%s"] * len(chunk))
                cur.execute(sql.format(**{"in": f"IN ({marks})"}), [*params, *chunk])
            out.extend(cur.fetchall())
    return out
