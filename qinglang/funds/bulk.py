"""Set-based writes for the ledger's hot paths, below the ORM: one statement per table
per batch instead of one model instance (and one compiled INSERT) per row.

- ids are allocated up front (``nextval`` over ``generate_series`` on PostgreSQL; on
  SQLite the transaction holds the database's write lock, so max(id)+1… is safe), so
  child rows can name their parents without a round trip;
- rows go in with COPY on PostgreSQL (psycopg 3) and ``executemany`` elsewhere;
- updates of many rows are one ``UPDATE … FROM (VALUES …)`` on PostgreSQL and an
  ``executemany`` of a keyed UPDATE on SQLite.

Callers run inside their service's transaction and hold the row locks they need."""

from collections.abc import Iterable, Sequence

from django.db import connection


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def in_chunk() -> int:
    """How many values one ``IN (…)`` may carry: SQLite's bound-parameter limit, and
    below psycopg's 65,535 on PostgreSQL."""
    return 30_000 if is_pg() else 900


def chunks(seq: Sequence, n: int) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


_SEQUENCES: dict[tuple[str, str], str] = {}  # (database, table) → its id sequence


def allocate_ids(table: str, n: int) -> list[int]:
    if n == 0:
        return []
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


def _adapt(rows: list[tuple], datetime_cols: Sequence[int], date_cols: Sequence[int]) -> list[tuple]:
    if not (datetime_cols or date_cols):
        return rows
    ops = connection.ops
    memo: dict = {}  # a batch shares a few timestamps: adapt each once

    def dt(v):
        if v not in memo:
            memo[v] = ops.adapt_datetimefield_value(v)
        return memo[v]

    out = []
    for r in rows:
        r = list(r)
        for i in datetime_cols:
            r[i] = dt(r[i])
        for i in date_cols:
            r[i] = ops.adapt_datefield_value(r[i])
        out.append(tuple(r))
    return out


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


def insert_rows(
    table: str,
    cols: Sequence[str],
    rows: list[tuple],
    *,
    datetime_cols: Sequence[int] = (),
    date_cols: Sequence[int] = (),
    pg_types: Sequence[str] = (),
) -> None:
    """With ``pg_types`` (the columns' SQL types) PostgreSQL gets a binary COPY: nothing
    to format on this side or to parse on the server's. The values must then be of the
    columns' Python types (datetime, date, int, str, None)."""
    if not rows:
        return
    if is_pg():
        connection.ensure_connection()
        # the raw psycopg connection is in the same transaction as Django's cursor
        sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN"
        if pg_types:
            sql += " (FORMAT BINARY)"
        with connection.connection.cursor() as cur, cur.copy(sql) as cp:
            if pg_types:
                cp.set_types(list(pg_types))
            for r in rows:
                cp.write_row(r)
        return
    rows = _adapt(rows, datetime_cols, date_cols)
    marks = ", ".join(["%s"] * len(cols))
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)  # noqa: S608


def update_rows(table: str, cols: Sequence[str], rows: list[tuple], *, pg_types: Sequence[str]) -> None:
    """``rows`` are (id, *values); ``pg_types`` the SQL types of the values."""
    if not rows:
        return
    with connection.cursor() as cur:
        if is_pg():
            sets = ", ".join(f"{c} = v.{c}::{t}" for c, t in zip(cols, pg_types, strict=True))
            names = ", ".join(["id", *cols])
            width = len(cols) + 1
            for chunk in chunks(rows, 5000):
                values = ",".join(["(" + ",".join(["%s"] * width) + ")"] * len(chunk))
                cur.execute(
                    f"UPDATE {table} AS t SET {sets} FROM (VALUES {values}) AS v({names}) "  # noqa: S608
                    f"WHERE t.id = v.id::bigint",
                    [x for r in chunk for x in r],
                )
            return
        sets = ", ".join(f"{c} = %s" for c in cols)
        cur.executemany(
            f"UPDATE {table} SET {sets} WHERE id = %s",  # noqa: S608
            [(*r[1:], r[0]) for r in rows],
        )


class Columns:
    """A table's columns for the set-based writes, each named with its PostgreSQL type
    (for binary COPY): rows are built by name (``row(**values)``) and their cells read by
    name (``index[name]``), never by position."""

    def __init__(self, *cols: tuple[str, str]):
        self.names = tuple(c for c, _ in cols)
        self.pg_types = tuple(t for _, t in cols)
        self.index = {c: i for i, c in enumerate(self.names)}

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def row(self, **values) -> list:
        """The row's cells in column order; a missing or unknown column is an error."""
        if len(values) != len(self.names):
            unknown = set(values) - set(self.names)
            missing = set(self.names) - set(values)
            raise TypeError(f"columns missing {sorted(missing)} or unknown {sorted(unknown)}")
        return [values[c] for c in self.names]
