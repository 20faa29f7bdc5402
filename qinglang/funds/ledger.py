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

from qinglang.core.errors import DomainError

from .models import NON_NEGATIVE_CREDIT, NON_NEGATIVE_DEBIT, AccountKind, Entry, LedgerAccount, Posting

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
        legs = sorted(self.legs)
        raw = json.dumps(
            [self.code, legs, self.institution_id, self.order_id, self.reverses_id], separators=(",", ":")
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def _check_legs(spec: PostingSpec) -> None:
    if not spec.key or len(spec.key) > 120:
        raise DomainError("bad_idempotency_key", "幂等键为空或过长", {"key": spec.key[:130]})
    if len(spec.legs) < 2:
        raise DomainError("unbalanced_posting", "记账凭证至少两条分录", {"key": spec.key})
    for _, amount in spec.legs:
        if type(amount) is not int or amount == 0:
            raise DomainError(
                "bad_amount", "分录金额须为非零整数(分)", {"key": spec.key, "amount": str(amount)}
            )
    if sum(a for _, a in spec.legs) != 0:
        raise DomainError("unbalanced_posting", "记账凭证借贷不平", {"key": spec.key})


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def existing_postings(keys: list[str]) -> dict[str, Posting]:
    out: dict[str, Posting] = {}
    for chunk in _chunks(keys):
        for p in Posting.objects.filter(idempotency_key__in=chunk):
            out[p.idempotency_key] = p
    return out


def lock_accounts(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock accounts in id order (a fixed order, so concurrent writers cannot deadlock)."""
    ids = sorted(set(ids))
    out: dict[int, LedgerAccount] = {}
    for chunk in _chunks(ids):
        for a in LedgerAccount.objects.select_for_update(no_key=True).filter(id__in=chunk).order_by("id"):
            out[a.id] = a
    missing = set(ids) - set(out)
    if missing:
        raise DomainError("unknown_account", "账户不存在", {"accounts": sorted(missing)})
    return out


def check_balance_rules(account: LedgerAccount, new_balance: int) -> None:
    if account.kind in NON_NEGATIVE_DEBIT and new_balance < 0:
        raise DomainError(
            "insufficient_custody",
            "监管账户余额不足",
            {"account": account.id, "kind": account.kind, "balance": account.balance_fen},
            status=409,
        )
    if account.kind in NON_NEGATIVE_CREDIT and new_balance > 0:
        raise DomainError(
            "exceeds_balance",
            "出账金额超过账户余额",
            {"account": account.id, "kind": account.kind, "balance": -account.balance_fen},
            status=409,
        )


def post(specs: Sequence[PostingSpec], *, now=None) -> list[Posting]:
    """Apply postings; return one Posting per spec (the original for a retried key). A
    key reused with a different payload raises ``idempotency_conflict``. All or nothing:
    a balance rule broken by any posting refuses the whole call."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the service's transaction")
    if not specs:
        return []
    for s in specs:
        _check_legs(s)
    hashes = [s.payload_hash() for s in specs]
    found = existing_postings([s.key for s in specs])
    fresh: dict[str, tuple[PostingSpec, str]] = {}
    for s, h in zip(specs, hashes, strict=True):
        prior = found.get(s.key)
        if prior is not None:
            if prior.payload_hash != h:
                raise _conflict(s.key)
            continue
        if s.key in fresh:
            if fresh[s.key][1] != h:
                raise _conflict(s.key)
            continue
        fresh[s.key] = (s, h)
    if fresh:
        _apply(list(fresh.values()), now or timezone.now())
        found.update(existing_postings(list(fresh)))
    return [found[s.key] for s in specs]


def _conflict(key: str) -> DomainError:
    return DomainError("idempotency_conflict", "同一幂等键已用于内容不同的记账请求", {"key": key}, status=409)


def _apply(items: list[tuple[PostingSpec, str]], now) -> None:
    delta: dict[int, int] = defaultdict(int)
    for s, _ in items:
        for acc, amount in s.legs:
            delta[acc] += amount
    accounts = lock_accounts(delta)
    # Balance rules are checked on the net effect per account. Within one call the order
    # of postings is the caller's; callers that need a per-posting order check it first.
    for acc_id, d in delta.items():
        a = accounts[acc_id]
        check_balance_rules(a, a.balance_fen + d)
    postings = [
        Posting(
            idempotency_key=s.key,
            payload_hash=h,
            code=s.code,
            institution_id=s.institution_id,
            order_id=s.order_id,
            bank_id=s.bank_id,
            division_code=s.division_code,
            amount_fen=sum(a for _, a in s.legs if a > 0),
            reverses_id=s.reverses_id,
            memo=s.memo[:200],
            created_at=now,
        )
        for s, h in items
    ]
    Posting.objects.bulk_create(postings, batch_size=2000)
    if any(p.pk is None for p in postings):  # old SQLite without RETURNING
        ids = {p.idempotency_key: p.pk for p in existing_postings([p.idempotency_key for p in postings])}
        for p in postings:
            p.pk = p.id = ids[p.idempotency_key]
    entries = [
        Entry(posting_id=p.pk, account_id=acc, amount_fen=amount)
        for p, (s, _) in zip(postings, items, strict=True)
        for acc, amount in s.legs
    ]
    Entry.objects.bulk_create(entries, batch_size=5000)
    changed = []
    for acc_id, d in delta.items():
        if d:
            a = accounts[acc_id]
            a.balance_fen += d
            changed.append(a)
    _write_balances(changed)


def _write_balances(accounts: list[LedgerAccount]) -> None:
    """Absolute balances computed under the row locks (so a missing lock would lose
    updates and ``ledger_verify`` would see it)."""
    if len(accounts) <= 3:
        for a in accounts:
            LedgerAccount.objects.filter(pk=a.pk).update(balance_fen=a.balance_fen)
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for chunk in _chunks(accounts, 5000):
                values = ",".join(["(%s,%s)"] * len(chunk))
                params = [x for a in chunk for x in (a.pk, a.balance_fen)]
                cur.execute(
                    f"UPDATE funds_ledgeraccount AS t SET balance_fen = v.b::bigint "  # noqa: S608
                    f"FROM (VALUES {values}) AS v(id, b) WHERE t.id = v.id::bigint",
                    params,
                )
        return
    LedgerAccount.objects.bulk_update(accounts, ["balance_fen"], batch_size=400)


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
