"""The audit recorder (审计). Services call ``audit_record`` inside their transaction; the
event is chained to the one before it by SHA-256, so an edited or deleted row is found by
``audit_verify``. Never called through signals: bulk writes and jobs would escape them."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from .context import current_request_id
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))


def _digest(fields: dict[str, Any]) -> str:
    raw = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _hash_fields(e: AuditEvent) -> dict[str, Any]:
    at = e.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    return {
        "seq": e.seq,
        "at": at,
        "actor_id": e.actor_id,
        "actor_label": e.actor_label,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": str(e.object_id),
        "division_code": e.division_code,
        "changes": e.changes,
        "request_id": e.request_id,
        "prev_hash": e.prev_hash,
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """Changed fields as {field: [before, after]}."""
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    return _jsonable({f: getattr(obj, f) for f in fields})


@dataclass(frozen=True)
class Entry:
    action: str
    object_type: str
    object_id: str
    division_code: str = ""
    changes: dict | None = None


def _actor_fields(actor) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, str(actor) if isinstance(actor, str) else "system"
    return actor.pk, actor.get_username()


def _lock_head(cur) -> tuple[int, str]:
    """The chain head, locked until commit (``FOR UPDATE`` on PostgreSQL; SQLite's
    write transaction already excludes other writers). Raw SQL: this runs in every
    write, so it should cost one round trip and no query compilation."""
    sql = f"SELECT seq, hash FROM {AuditHead._meta.db_table} WHERE id = 1"  # noqa: S608
    if connection.vendor == "postgresql":
        sql += " FOR UPDATE"
    cur.execute(sql)
    row = cur.fetchone()
    if row is None:  # the very first event (get_or_create survives a race to create it)
        AuditHead.objects.get_or_create(id=1)
        cur.execute(sql)
        row = cur.fetchone()
    return row


_COLS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "division_code",
    "changes",
    "request_id",
    "prev_hash",
    "hash",
)
_ROWS_PER_INSERT = 80  # 12 columns: below SQLite's 999 bound parameters


def _insert(cur, events: list[AuditEvent], head: tuple[int, str]) -> None:
    """The events in multi-row INSERTs with their new ids (what ``bulk_create`` does,
    without compiling a query per call), and the head moved to the last of them (on
    PostgreSQL in the same statement as the last INSERT)."""
    changes = AuditEvent._meta.get_field("changes")
    at = connection.ops.adapt_datetimefield_value(events[0].occurred_at)
    table = AuditEvent._meta.db_table
    move = f"UPDATE {AuditHead._meta.db_table} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608
    pg = connection.vendor == "postgresql"
    for i in range(0, len(events), _ROWS_PER_INSERT):
        chunk = events[i : i + _ROWS_PER_INSERT]
        last = i + _ROWS_PER_INSERT >= len(events)
        row = "(" + ", ".join(["%s"] * len(_COLS)) + ")"
        params = []
        for e in chunk:
            params += [getattr(e, c) for c in _COLS]
            params[-4] = changes.get_db_prep_value(e.changes, connection)
            params[-11] = at
        sql = f"INSERT INTO {table} ({', '.join(_COLS)}) VALUES {', '.join([row] * len(chunk))} RETURNING id"  # noqa: S608
        if pg and last:
            sql = f"WITH e AS ({sql}), h AS ({move}) SELECT id FROM e"  # noqa: S608
            params += head
        cur.execute(sql, params)
        for e, (pk,) in zip(chunk, sorted(cur.fetchall()), strict=True):
            e.pk = pk
            e._state.adding = False
            e._state.db = connection.alias
    if not pg:
        cur.execute(move, head)


def audit_record_many(*, actor, entries: list[Entry]) -> list[AuditEvent]:
    """Append events for one write. Must run inside the write's transaction: the head row
    lock serialises appenders so the chain stays linear. Services call this as their
    last step, so the head is held only for these statements and the commit; the
    events are built and hashed before the lock is taken."""
    if not entries:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction")
    actor_id, actor_label = _actor_fields(actor)
    now = datetime.now(UTC)
    rid = current_request_id()
    events = [
        AuditEvent(
            occurred_at=now,
            actor_id=actor_id,
            actor_label=actor_label,
            action=en.action,
            object_type=en.object_type,
            object_id=str(en.object_id),
            division_code=en.division_code or "",
            changes=_jsonable(en.changes or {}),
            request_id=rid,
        )
        for en in entries
    ]
    with connection.cursor() as cur:
        seq, prev = _lock_head(cur)
        for e in events:
            seq += 1
            e.seq = seq
            e.prev_hash = prev
            e.hash = prev = _digest(_hash_fields(e))
        _insert(cur, events, (seq, prev))
    return events


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str | None = None,
    object_id: Any = None,
    division_code: str | None = None,
    changes: dict | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
        if division_code is None:
            division_code = getattr(obj, "division_code", "") or ""
    return audit_record_many(
        actor=actor,
        entries=[Entry(action, object_type or "", str(object_id), division_code or "", changes)],
    )[0]


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def audit_verify(*, chunk_size: int = 5000) -> VerifyResult:
    """Walk the chain in order and report the first broken link: an edited row (its hash no
    longer matches), a deleted row (a gap in seq, or a prev_hash that doesn't follow), or
    deleted newest rows (the head is ahead of the last row)."""
    prev_hash = GENESIS
    expected = 1
    checked = 0
    for e in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if e.seq != expected:
            return VerifyResult(False, checked, expected, f"事件 #{expected} 缺失(被删除)")
        if e.prev_hash != prev_hash:
            return VerifyResult(False, checked, e.seq, f"事件 #{e.seq} 的前序哈希不符(前一事件被改动或删除)")
        if _digest(_hash_fields(e)) != e.hash:
            return VerifyResult(False, checked, e.seq, f"事件 #{e.seq} 内容与哈希不符(被直接修改)")
        prev_hash = e.hash
        expected += 1
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head and (head.seq != checked or head.hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"链头记录到 #{head.seq}，实际只有 #{checked}(末尾事件被删除)",
        )
    return VerifyResult(True, checked)
