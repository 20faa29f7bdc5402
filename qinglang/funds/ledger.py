"""The double-entry ledger, after TigerBeetle: a posting is a set of entries summing to
zero with a code saying why money moved and a client-chosen idempotency key; entries are
immutable; balances are kept on the accounts and checked against balance rules (flags)
before anything is written. Called by the funds services inside their transaction; the
set-based ``post`` takes many postings at once (one lock per account, aggregated balance
updates, bulk inserts)."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from qinglang.core import bulk
from qinglang.core.errors import DomainError

from .models import (
    NON_NEGATIVE_CREDIT,
    NON_NEGATIVE_DEBIT,
    AccountKind,
    Entry,
    LedgerAccount,
    Posting,
    PostingCode,
)

CHUNK = 900  # below SQLite's bound-parameter limit


@dataclass(frozen=True)
class PostingSpec:
    key: str
    code: str
    legs: tuple[tuple[int, int], ...]  # (account id, amount: + debit / − credit)
    institution_id: int
    division_code: str
    order_id: int | None = None
    bank_id: int | None = None
    reverses_id: int | None = None
    memo: str = field(default="", compare=False)

    def payload_hash(self) -> str:
        """sha256 of ``json.dumps([code, sorted legs, institution, order, reverses])``
        (compact separators), written out directly: the batch path hashes one per event."""
        legs = ",".join(f"[{_js(a)},{_js(m)}]" for a, m in sorted(self.legs))
        raw = f"[{_js(self.code)},[{legs}],{_js(self.institution_id)},{_js(self.order_id)},{_js(self.reverses_id)}]"
        return hashlib.sha256(raw.encode()).hexdigest()


_CODE_JSON = {c: json.dumps(c) for c in PostingCode.values}


def _js(v) -> str:
    """``json.dumps(v)`` for the payload's values, quick for ints, None and codes."""
    if type(v) is int:
        return str(v)
    if v is None:
        return "null"
    return _CODE_JSON.get(v) or json.dumps(v)


def _check_legs(spec: PostingSpec) -> None:
    if not spec.key or len(spec.key) > 120:
        raise DomainError("bad_idempotency_key", gettext_lazy("幂等键为空或过长"), {"key": spec.key[:130]})
    if len(spec.legs) < 2:
        raise DomainError("unbalanced_posting", gettext_lazy("记账凭证至少两条分录"), {"key": spec.key})
    for _, amount in spec.legs:
        if type(amount) is not int or amount == 0:
            raise DomainError(
                "bad_amount",
                gettext_lazy("分录金额须为非零整数(分)"),
                {"key": spec.key, "amount": str(amount)},
            )
    if sum(a for _, a in spec.legs) != 0:
        raise DomainError("unbalanced_posting", gettext_lazy("记账凭证借贷不平"), {"key": spec.key})


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    return bulk.chunks(seq, n)


def _existing(keys: list[str]) -> dict[str, tuple[int, str]]:
    """key -> (posting id, payload hash), one query per chunk (one on PostgreSQL)."""
    rows = bulk.select_in(
        f"SELECT idempotency_key, id, payload_hash FROM {Posting._meta.db_table} "  # noqa: S608
        "WHERE idempotency_key {in}",
        keys,
    )
    return {k: (pk, h) for k, pk, h in rows}


def lock_accounts(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock accounts in id order (a fixed order, so concurrent writers cannot deadlock).
    The accounts come back with id, kind and balance only (what the rules need)."""
    ids = sorted(set(ids))
    lock = " FOR NO KEY UPDATE" if bulk.is_pg() else ""
    rows = bulk.select_in(
        f"SELECT id, kind, balance_fen FROM {LedgerAccount._meta.db_table} "  # noqa: S608
        f"WHERE id {{in}} ORDER BY id{lock}",
        ids,
    )
    out = {pk: LedgerAccount(id=pk, kind=kind, balance_fen=bal) for pk, kind, bal in rows}
    missing = set(ids) - set(out)
    if missing:
        raise DomainError("unknown_account", gettext_lazy("账户不存在"), {"accounts": sorted(missing)})
    return out


def check_balance_rules(account: LedgerAccount, new_balance: int) -> None:
    if account.kind in NON_NEGATIVE_DEBIT and new_balance < 0:
        raise DomainError(
            "insufficient_custody",
            gettext_lazy("监管账户余额不足"),
            {"account": account.id, "kind": account.kind, "balance": account.balance_fen},
            status=409,
        )
    if account.kind in NON_NEGATIVE_CREDIT and new_balance > 0:
        raise DomainError(
            "exceeds_balance",
            gettext_lazy("出账金额超过账户余额"),
            {"account": account.id, "kind": account.kind, "balance": -account.balance_fen},
            status=409,
        )


def post(specs: Sequence[PostingSpec], *, now=None) -> list[Posting]:
    """Apply postings; return one Posting per spec (the original for a retried key). A
    key reused with a different payload raises ``idempotency_conflict``. All or nothing:
    a balance rule broken by any posting refuses the whole call."""
    ids = post_ids(specs, now=now)
    by_id: dict[int, Posting] = {}
    for chunk in _chunks(sorted(set(ids)), bulk.in_chunk()):
        by_id.update(Posting.objects.in_bulk(chunk))
    return [by_id[i] for i in ids]


def post_ids(specs: Sequence[PostingSpec], *, now=None, keys_new: bool = False) -> list[int]:
    """``post`` for the bulk paths: the posting ids only, without loading rows back.
    ``keys_new``: the caller knows no key was posted before (a batch of lesson events
    found unseen under the institution's lock), so the look-up is skipped; the unique
    index on the key still refuses the whole call if that were ever wrong."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the service's transaction")
    if not specs:
        return []
    for s in specs:
        _check_legs(s)
    now = now or timezone.now()
    if keys_new and len({s.key for s in specs}) == len(specs):
        # nothing to compare the payloads with: they are hashed while the postings
        # stream into the database (on PostgreSQL the server inserts meanwhile)
        return _apply(specs, None, now)
    hashes = [s.payload_hash() for s in specs]
    found = {} if keys_new else _existing([s.key for s in specs])
    fresh: dict[str, tuple[PostingSpec, str]] = {}
    for s, h in zip(specs, hashes, strict=True):
        prior = found.get(s.key)
        if prior is not None:
            if prior[1] != h:
                raise _conflict(s.key)
            continue
        if s.key in fresh:
            if fresh[s.key][1] != h:
                raise _conflict(s.key)
            continue
        fresh[s.key] = (s, h)
    if fresh:
        new = [s for s, _ in fresh.values()]
        ids = _apply(new, [h for _, h in fresh.values()], now)
        found.update((s.key, (pk, "")) for s, pk in zip(new, ids, strict=True))
    return [found[s.key][0] for s in specs]


def _conflict(key: str) -> DomainError:
    return DomainError("idempotency_conflict", "同一幂等键已用于内容不同的记账请求", {"key": key}, status=409)


POSTING_COLS = (
    "id",
    "idempotency_key",
    "payload_hash",
    "code",
    "institution_id",
    "order_id",
    "bank_id",
    "division_code",
    "amount_fen",
    "reverses_id",
    "memo",
    "created_at",
)

POSTINGS = bulk.Table(Posting, POSTING_COLS)
ENTRIES = bulk.Table(Entry, ("posting_id", "account_id", "amount_fen"))
BALANCES = bulk.Table(LedgerAccount, ("balance_fen",))


def _posting_row(s: PostingSpec, h: str, now) -> tuple:
    """A posting's columns after ``id`` (POSTING_COLS[1:])."""
    return (
        s.key,
        h,
        s.code,
        s.institution_id,
        s.order_id,
        s.bank_id,
        s.division_code,
        sum(a for _, a in s.legs if a > 0),
        s.reverses_id,
        s.memo[:200],
        now,
    )


def _apply(specs: list[PostingSpec], hashes: list[str] | None, now) -> list[int]:
    """Lock the touched accounts (id order), check balance rules on the net effect,
    insert postings and entries in bulk, write the new balances in one statement.
    ``hashes``: the specs' payload hashes, or None to compute them as the rows are
    written. Returns the new postings' ids, in the order of ``specs``."""
    delta: dict[int, int] = defaultdict(int)
    for s in specs:
        for acc, amount in s.legs:
            delta[acc] += amount
    accounts = _lock_and_check(delta)
    ids = bulk.allocate_ids(Posting, len(specs))
    now = connection.ops.adapt_datetimefield_value(now)
    entries = []

    def postings():  # rows built while the COPY sends them: the server inserts meanwhile
        for pk, s, h in zip(ids, specs, hashes or map(PostingSpec.payload_hash, specs), strict=True):
            entries.extend((pk, acc, amount) for acc, amount in s.legs)
            yield (pk, *_posting_row(s, h, now))

    rows = postings()
    POSTINGS.insert(rows if bulk.is_pg() else list(rows))
    ENTRIES.insert(entries)
    _write_deltas(accounts, delta)
    return ids


def _lock_and_check(delta: dict[int, int]) -> dict[int, LedgerAccount]:
    accounts = lock_accounts(delta)
    # Balance rules are checked on the net effect per account. Within one call the order
    # of postings is the caller's; callers that need a per-posting order check it first.
    for acc_id, d in delta.items():
        a = accounts[acc_id]
        check_balance_rules(a, a.balance_fen + d)
    return accounts


def _write_deltas(accounts: dict[int, LedgerAccount], delta: dict[int, int]) -> None:
    changed = []
    for acc_id, d in delta.items():
        if d:
            a = accounts[acc_id]
            a.balance_fen += d
            changed.append(a)
    _write_balances(changed)


@dataclass
class Pending:
    """A posting written whose balance changes are still to apply: ``apply()`` locks the
    accounts (id order), checks the balance rules and writes the balances. The caller
    runs it as its last ledger step, so the hot accounts are held only until commit."""

    posting_id: int
    delta: dict[int, int]

    def apply(self) -> None:
        if not self.delta:
            return
        if bulk.is_pg():
            _lock_add_check(self.delta)
        else:
            _write_deltas(_lock_and_check(self.delta), self.delta)
        self.delta = {}


# PostgreSQL: lock the accounts in id order (the materialized CTE sorts, then locks) and
# add the deltas in the same statement, where the balance rules hold (the table's check
# constraints would refuse the rest with a bare integrity error). An account the rules
# refuse is left out; its balance, read under the lock, gives the rule's own refusal, and
# the service's transaction takes back whatever the statement did change.
_LOCK_ADD_SQL = (
    f"WITH l AS MATERIALIZED (SELECT id FROM {LedgerAccount._meta.db_table} "  # noqa: S608 - our table
    "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE) "
    f"UPDATE {LedgerAccount._meta.db_table} AS t SET balance_fen = t.balance_fen + v.d "
    "FROM l, unnest(%s::bigint[], %s::bigint[]) AS v(id, d) WHERE t.id = l.id AND v.id = l.id "
    "AND NOT (t.kind = ANY(%s) AND t.balance_fen + v.d < 0) "
    "AND NOT (t.kind = ANY(%s) AND t.balance_fen + v.d > 0) "
    "RETURNING t.id"
)
_DEBIT_KINDS = sorted(str(k) for k in NON_NEGATIVE_DEBIT)
_CREDIT_KINDS = sorted(str(k) for k in NON_NEGATIVE_CREDIT)


def _lock_add_check(delta: dict[int, int]) -> None:
    """``_lock_and_check`` and ``_write_deltas`` in one statement (PostgreSQL, the
    single-event hot paths)."""
    ids = sorted(delta)
    with connection.cursor() as cur:
        cur.execute(_LOCK_ADD_SQL, [ids, ids, [delta[i] for i in ids], _DEBIT_KINDS, _CREDIT_KINDS])
        written = {pk for (pk,) in cur.fetchall()}
    if len(written) == len(ids):
        return
    # refused or unknown: the rules' own refusal (the rows are locked by the statement)
    accounts = lock_accounts(set(ids) - written)
    for pk, a in accounts.items():
        check_balance_rules(a, a.balance_fen + delta[pk])
    raise DomainError("unknown_account", gettext_lazy("账户不存在"), {"accounts": sorted(set(ids) - written)})


class AlreadyPosted(Exception):
    """``post_one(..., retry_ok=False)``: the key was posted before (by another
    transaction that got there first)."""


def post_one(spec: PostingSpec, *, now=None, retry_ok: bool = True) -> Pending:
    """One posting for the single-event hot paths (a lesson through the API): the rules
    of ``post`` in fewer statements and with the account locks taken last. The posting
    goes in first with ``ON CONFLICT DO NOTHING``: a retried key returns the original
    (nothing to apply), the same key with a different payload is a conflict; callers
    for whom a posted key means they lost a race pass ``retry_ok=False`` and get
    ``AlreadyPosted``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the service's transaction")
    _check_legs(spec)
    h = spec.payload_hash()
    now = connection.ops.adapt_datetimefield_value(now or timezone.now())
    insert = (
        f"INSERT INTO {Posting._meta.db_table} ({', '.join(POSTING_COLS[1:])}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * (len(POSTING_COLS) - 1))}) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    entries = f"INSERT INTO {Entry._meta.db_table} (posting_id, account_id, amount_fen) "
    pg = bulk.is_pg()
    with connection.cursor() as cur:
        if pg:  # posting and entries in one statement (no entries when the key existed)
            legs = ", ".join(["(%s::bigint, %s::bigint)"] * len(spec.legs))
            cur.execute(
                f"WITH p AS ({insert}), e AS ({entries}SELECT p.id, v.a, v.m FROM p, "  # noqa: S608
                f"(VALUES {legs}) AS v(a, m)) SELECT id FROM p",
                [*_posting_row(spec, h, now), *(x for leg in spec.legs for x in leg)],
            )
        else:
            cur.execute(insert, _posting_row(spec, h, now))
        row = cur.fetchone()
        if row is None:
            if not retry_ok:
                raise AlreadyPosted(spec.key)
            pk, prior = _existing([spec.key])[spec.key]
            if prior != h:
                raise _conflict(spec.key)
            return Pending(pk, {})
        if not pg:
            cur.execute(
                entries + "VALUES " + ", ".join(["(%s, %s, %s)"] * len(spec.legs)),
                [x for acc, amount in spec.legs for x in (row[0], acc, amount)],
            )
    delta: dict[int, int] = defaultdict(int)
    for acc, amount in spec.legs:
        delta[acc] += amount
    return Pending(row[0], dict(delta))


def _write_balances(accounts: list[LedgerAccount]) -> None:
    """Absolute balances computed under the row locks (so a missing lock would lose
    updates and ``ledger_verify`` would see it)."""
    BALANCES.update([(a.pk, a.balance_fen) for a in sorted(accounts, key=lambda a: a.pk)])


def account_get_or_create(*, institution, kind: str, bank_id: int | None = None) -> LedgerAccount:
    acc, _ = LedgerAccount.objects.get_or_create(
        institution_id=institution.pk,
        kind=kind,
        order=None,
        defaults={"division_code": institution.division_code, "bank_id": bank_id},
    )
    return acc


def institution_accounts(institution, bank_id: int | None) -> dict[str, LedgerAccount]:
    return {
        k: account_get_or_create(institution=institution, kind=k, bank_id=bank_id)
        for k in (
            AccountKind.CUSTODY,
            AccountKind.SETTLEMENT,
            AccountKind.REFUNDS_PAYABLE,
            AccountKind.RISK_DEPOSIT,
            AccountKind.SUSPENSE,
        )
    }
