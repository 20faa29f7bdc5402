"""The audit recorder (审计). Services call ``audit_record`` inside their transaction; the
event is chained to the one before it by HMAC-SHA-256 under the deployment's audit key
(``settings.AUDIT_KEY``, kept outside the database), so an edited, deleted or inserted row
is found by ``audit_verify``, and a database writer without the key cannot recompute the
chain. Signed checkpoints of the head, written outside the database
(``settings.AUDIT_CHECKPOINT_DIR``), catch a chain cut back at its end or wiped, head and
all. Never called through signals: bulk writes and jobs would escape them."""

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .context import current_request_id
from .i18n import chinese
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


class _NotPlain(Exception):
    pass


def _plain(value: Any) -> Any:
    """What the JSON round trip of ``_jsonable`` gives, for the usual changes (dicts with
    text keys, lists, text, numbers, booleans, None; text enums as their text), without
    encoding and parsing; anything else raises ``_NotPlain``."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotPlain
        return value
    if t is dict:
        if not all(type(k) is str for k in value):
            raise _NotPlain
        return {k: _plain(value[k]) for k in sorted(value)}
    if t is list or t is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, str):  # a TextChoices member: encoded as its text
        return str.__str__(value)
    raise _NotPlain


def _text(value: Any) -> str:
    """What JSON cannot hold as itself, as text; a lazy translation as its Chinese, so a
    record never depends on the language of the request that wrote it."""
    return chinese(value) if isinstance(value, Promise) else str(value)


def _jsonable(value: Any) -> Any:
    try:
        return _plain(value)
    except _NotPlain:
        return json.loads(json.dumps(value, ensure_ascii=False, default=_text, sort_keys=True))


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=4)
def _mac_base(key: bytes) -> "hmac.HMAC":
    return hmac.new(key, digestmod=hashlib.sha256)


def _mac(raw: bytes) -> str:
    m = _mac_base(settings.AUDIT_KEY).copy()
    m.update(raw)
    return m.hexdigest()


def _digest(fields: dict[str, Any]) -> str:
    """The link of every event written by this version: HMAC-SHA-256 under the audit key."""
    return _mac(_canonical(fields))


def _legacy_digest(fields: dict[str, Any]) -> str:
    """The unkeyed SHA-256 link of events written before the chain was keyed (seq below
    ``AuditHead.keyed_from``); only ``audit_verify`` uses it."""
    return hashlib.sha256(_canonical(fields)).hexdigest()


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


_ROWS_PER_COPY = 10_000  # a large batch: COPY lines sent per write


def _json_text(value) -> str:
    """JSON text of ``changes`` (already plain JSON types, see ``_jsonable``): orjson, or
    the standard encoder for what orjson refuses (an integer beyond 64 bits). The column
    is jsonb, so the spelling does not matter; the chain hashes ``_canonical``."""
    import orjson

    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _copy_events(cur, events: list[AuditEvent], head: tuple[int, str], table: str, move: str) -> None:
    """PostgreSQL, a large batch (a day's scoring writes hundreds of thousands of events):
    the ids reserved in one ``nextval`` query, the rows streamed by one COPY in text
    format (lines formatted here: binding every value as a query parameter cost more
    than the rest of the write), then the head moved. Same rows, same ids in order."""
    from .bulk import COPY_ESCAPES, allocate_ids, copy_text

    ids = allocate_ids(AuditEvent, len(events))
    esc = COPY_ESCAPES
    at = events[0].occurred_at.isoformat()

    def chunks():
        for i in range(0, len(events), _ROWS_PER_COPY):
            lines = []
            for pk, e in zip(ids[i : i + _ROWS_PER_COPY], events[i : i + _ROWS_PER_COPY], strict=True):
                e.pk = pk
                actor = "\\N" if e.actor_id is None else str(e.actor_id)
                lines.append(
                    f"{pk}\t{e.seq}\t{at}\t{actor}\t{e.actor_label.translate(esc)}\t"
                    f"{e.action.translate(esc)}\t{e.object_type.translate(esc)}\t"
                    f"{e.object_id.translate(esc)}\t{e.division_code.translate(esc)}\t"
                    f"{_json_text(e.changes).translate(esc)}\t{e.request_id.translate(esc)}\t"
                    f"{e.prev_hash}\t{e.hash}\n"
                )
            yield lines

    copy_text(table, ("id", *_COLS), chunks())
    cur.execute(move, head)
    alias = connection.alias
    for e in events:
        e._state.adding = False
        e._state.db = alias


def _insert(cur, events: list[AuditEvent], head: tuple[int, str]) -> None:
    """The events in multi-row INSERTs with their new ids (what ``bulk_create`` does,
    without compiling a query per call), and the head moved to the last of them (on
    PostgreSQL in the same statement as the last INSERT)."""
    changes = AuditEvent._meta.get_field("changes")
    at = connection.ops.adapt_datetimefield_value(events[0].occurred_at)
    table = AuditEvent._meta.db_table
    move = f"UPDATE {AuditHead._meta.db_table} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608
    pg = connection.vendor == "postgresql"
    if pg and len(events) > _ROWS_PER_INSERT:
        _copy_events(cur, events, head, table, move)
        return
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


def _event(**fields) -> AuditEvent:
    """An unsaved event with every field given (what ``AuditEvent(**fields)`` makes,
    without the model constructor's per-field work: a day's scoring builds hundreds of
    thousands)."""
    e = AuditEvent.__new__(AuditEvent)
    e._state = ModelState()
    e.__dict__.update(id=None, seq=None, prev_hash="", hash="", **fields)
    return e


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
        _event(
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


# --- checkpoints: the signed head, kept outside the database -----------------------------


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    keyed_from: int
    written_at: str
    path: Path | None = None


def _checkpoint_dir(directory: Path | str | None) -> Path:
    return Path(directory if directory is not None else settings.AUDIT_CHECKPOINT_DIR)


def _checkpoint_body(seq: int, hash_: str, keyed_from: int, written_at: str) -> dict[str, Any]:
    return {"v": 1, "seq": seq, "hash": hash_, "keyed_from": keyed_from, "written_at": written_at}


def read_head() -> tuple[int, str, int]:
    head = AuditHead.objects.filter(id=1).first()
    return (head.seq, head.hash, head.keyed_from) if head else (0, GENESIS, 1)


class CheckpointError(RuntimeError):
    pass


def latest_checkpoint(directory: Path | str | None = None) -> Checkpoint | None:
    """The checkpoint with the highest seq in the directory, its signature checked (a
    file that does not verify raises ``CheckpointError``: someone wrote there without the
    key). ``None`` when none has been written."""
    d = _checkpoint_dir(directory)
    if not d.is_dir():
        return None
    names = sorted((p for p in d.glob("checkpoint-*.json")), reverse=True)
    if not names:
        return None
    path = names[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        body = _checkpoint_body(
            int(data["seq"]), str(data["hash"]), int(data["keyed_from"]), data["written_at"]
        )
        mac = str(data["mac"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            format_lazy(_("检查点 {name} 无法读取：{exc}"), name=path.name, exc=exc)
        ) from exc
    if not hmac.compare_digest(_mac(_canonical(body)), mac):
        raise CheckpointError(
            format_lazy(_("检查点 {name} 的签名无效(不是用本部署的审计密钥写的)"), name=path.name)
        )
    return Checkpoint(body["seq"], body["hash"], body["keyed_from"], body["written_at"], path)


def checkpoint_line(directory: Path | str | None = None) -> str:
    """The last signed checkpoint in one line for a printed report (the daily report
    prints it, so a paper copy of the head exists outside the machine): its sequence
    number, the first 16 hex digits of the head's hash and when it was signed — or why
    there is none."""
    try:
        cp = latest_checkpoint(directory)
    except CheckpointError as exc:
        return f"审计链检查点异常：{exc}"
    if cp is None:
        return "审计链检查点：尚未写入"
    at = timezone.localtime(datetime.fromisoformat(cp.written_at)).strftime("%Y-%m-%d %H:%M")
    return f"审计链检查点：第{cp.seq}条，摘要 {cp.hash[:16]}，{at}签署"


def write_checkpoint(
    directory: Path | str | None = None, head: tuple[int, str, int] | None = None
) -> Checkpoint:
    """Sign the current head (seq, hash, keyed boundary; or ``head`` as read elsewhere,
    e.g. in a backup's snapshot) and write it to the checkpoint directory as
    ``checkpoint-<seq>.json`` (atomically: a temporary file, then rename)."""
    d = _checkpoint_dir(directory)
    d.mkdir(parents=True, exist_ok=True)
    seq, hash_, keyed_from = head if head is not None else read_head()
    path = d / f"checkpoint-{seq:015d}.json"
    written_at = datetime.now(UTC).isoformat(timespec="seconds")
    body = _checkpoint_body(seq, hash_, keyed_from, written_at)
    tmp = d / f".{path.name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({**body, "mac": _mac(_canonical(body))}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return Checkpoint(seq, hash_, keyed_from, written_at, path)


def audit_verify(*, chunk_size: int = 5000, checkpoint_dir: Path | str | None = None) -> VerifyResult:
    """Walk the chain in order and report the first broken link: an edited row (its hash no
    longer matches), a deleted row (a gap in seq, or a prev_hash that doesn't follow), or
    deleted newest rows (the head is ahead of the last row); then hold the chain against
    the last signed checkpoint: its event must still carry the checkpointed hash, and a
    head older than it (newest rows deleted and the head rewound, or the table wiped and
    the head reset) is refused. Events before ``AuditHead.keyed_from`` are checked by the
    unkeyed scheme they were written with."""
    try:
        cp = latest_checkpoint(checkpoint_dir)
    except CheckpointError as exc:
        return VerifyResult(False, 0, None, str(exc))
    head_seq, head_hash, keyed_from = read_head()
    if cp is not None and cp.keyed_from != keyed_from:
        return VerifyResult(
            False,
            0,
            min(cp.keyed_from, keyed_from),
            f"密钥起点被改动：检查点记录自 #{cp.keyed_from} 起加密钥，数据库记录为 #{keyed_from}",
        )
    prev_hash = GENESIS
    expected = 1
    checked = 0
    for e in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if e.seq != expected:
            return VerifyResult(False, checked, expected, f"事件 #{expected} 缺失(被删除)")
        if e.prev_hash != prev_hash:
            return VerifyResult(False, checked, e.seq, f"事件 #{e.seq} 的前序哈希不符(前一事件被改动或删除)")
        fields = _hash_fields(e)
        link = _digest(fields) if e.seq >= keyed_from else _legacy_digest(fields)
        if not hmac.compare_digest(link, e.hash):
            return VerifyResult(False, checked, e.seq, f"事件 #{e.seq} 内容与哈希不符(被直接修改)")
        if cp is not None and e.seq == cp.seq and e.hash != cp.hash:
            return VerifyResult(
                False, checked, e.seq, f"事件 #{e.seq} 与 {cp.written_at} 的签名检查点不符(链被重写)"
            )
        prev_hash = e.hash
        expected += 1
        checked += 1
    if head_seq != checked or head_hash != prev_hash:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"链头记录到 #{head_seq}，实际只有 #{checked}(末尾事件被删除)",
        )
    if cp is not None and checked < cp.seq:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"链头 #{checked} 早于 {cp.written_at} 的签名检查点 #{cp.seq}(末尾事件被删除、链头被回拨)",
        )
    return VerifyResult(True, checked)
