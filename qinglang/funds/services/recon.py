"""Daily release and refund instructions per bank, bank statement import and
reconciliation (对账)."""

import csv
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from qinglang.accounts.permissions import system
from qinglang.accounts.scope import in_scope
from qinglang.core import bulk
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.exports import csv_text
from qinglang.core.money import MAX_FEN, fen_checked, format_yuan, yuan_to_fen
from qinglang.core.policy import Resolved, policy_resolve

from ..ledger import PostingSpec, account_get_or_create, post
from ..models import (
    REFUND_STATES,
    AccountKind,
    Bank,
    CustodyAccount,
    DifferenceKind,
    InstructionKind,
    InstructionLine,
    LedgerAccount,
    Order,
    OrderStatus,
    Payment,
    PostingCode,
    ReconciliationDifference,
    Refund,
    RefundStatus,
    StatementLine,
)
from . import bank_notices
from .common import is_bank_operator, is_regulator_writer, move
from .refunds import PAYER_FIELDS, destination_text, payer_of

RESERVE_KEY = "custody.min_balance_reserve_ratio"
RUNNING = (OrderStatus.PAID, OrderStatus.REFUND_REQUESTED)


def instructions_generate(*, actor=system("instructions"), day: date) -> int:
    """Pay out what is due: per institution, released fees from custody to its
    settlement account (not while releases are frozen); per refund, the refund from
    custody back to the payer's own account named in the payment notification
    (``refund.destination``). Idempotent per day and per refund."""
    new_lines: Counter = Counter()  # per bank
    with transaction.atomic():
        pending = defaultdict(list)
        for r in (
            # the one-to-one refund on the line stops a concurrent run paying twice
            Refund.objects.filter(posting_id__isnull=False, amount_fen__gt=0, instruction__isnull=True)
            .select_related("order")
            .order_by("id")
        ):
            pending[r.institution_id].append(r)
        for acc in CustodyAccount.objects.select_related("institution").order_by("id"):
            accs = {
                a.kind: a
                for a in LedgerAccount.objects.filter(
                    institution_id=acc.institution_id,
                    kind__in=[AccountKind.CUSTODY, AccountKind.SETTLEMENT, AccountKind.REFUNDS_PAYABLE],
                )
            }
            if AccountKind.CUSTODY not in accs:
                continue
            for refund in pending.get(acc.institution_id, []):
                new_lines[acc.bank_id] += _pay_out(
                    acc=acc,
                    src=accs.get(AccountKind.REFUNDS_PAYABLE),
                    custody=accs[AccountKind.CUSTODY],
                    day=day,
                    kind=InstructionKind.REFUND,
                    ref=f"{InstructionKind.REFUND}-{day:%Y%m%d}-{acc.institution_id}-{refund.pk}",
                    want=refund.amount_fen,
                    refund=refund,
                    actor=actor,
                )
            if not acc.releases_frozen:
                new_lines[acc.bank_id] += _pay_out(
                    acc=acc,
                    src=accs.get(AccountKind.SETTLEMENT),
                    custody=accs[AccountKind.CUSTODY],
                    day=day,
                    kind=InstructionKind.RELEASE,
                    ref=f"{InstructionKind.RELEASE}-{day:%Y%m%d}-{acc.institution_id}",
                    want=None,
                    reserve=reserve_required(acc.institution_id, acc.division_code),
                )
        n = sum(new_lines.values())
        if n:
            bank_notices.payouts_issued(day=day, new_lines=new_lines, actor=actor)
            audit_record(
                actor=actor,
                action="funds.instructions_generate",
                object_type="funds.instructionline",
                object_id=day.isoformat(),
                changes={"lines": n},
            )
    return n


@dataclass(frozen=True)
class Reserve:
    """What ``custody.min_balance_reserve_ratio`` keeps in an institution's custody
    account: the ratio of the fees paid (less refunds) on its orders still running."""

    fen: int
    rule: Resolved


def reserve_required(institution_id: int, division_code: str) -> Reserve | None:
    rule = policy_resolve(RESERVE_KEY, division_code)
    ratio = Fraction(str(rule.value or 0))
    if ratio <= 0:
        return None
    running = (
        Order.objects.filter(institution_id=institution_id, status__in=RUNNING)
        .aggregate(s=Sum(F("paid_fen") - F("refunded_fen")))
        .get("s")
        or 0
    )
    return Reserve(math.ceil(ratio * running), rule)


def _pay_out(
    *, acc, src, custody, day, kind, ref, want, refund=None, reserve: Reserve | None = None, actor=None
) -> int:
    """One instruction line moving money out of custody (what ``src`` holds, or ``want``
    of it), never more than custody holds, nor, for a release, what would leave custody
    below the reserve (the line is cut back and says so, citing the rule); 1 if a line
    was written. Settlement holds posted releases only: a lesson not yet confirmed is in
    the pending-release account and is never paid out."""
    if src is None or InstructionLine.objects.filter(ref=ref).exists():
        return 0
    src.refresh_from_db()
    custody.refresh_from_db()
    due = -src.balance_fen if want is None else min(want, -src.balance_fen)
    amount = min(due, custody.balance_fen)
    note = ""
    if reserve is not None and amount > custody.balance_fen - reserve.fen:
        cut = max(custody.balance_fen - reserve.fen, 0)
        r = reserve.rule
        note = r.sentence(
            f"按监管账户最低留存比例留存 {format_yuan(reserve.fen)}，本次少拨 {format_yuan(amount - cut)}"
        )[:300]
        amount = cut
    if note:  # the cut (whole or part) names the rule that made it
        audit_record(
            actor="system:instructions",
            action="funds.payout_withheld",
            object_type="funds.custodyaccount",
            object_id=str(acc.pk),
            division_code=acc.division_code,
            changes={
                "ref": ref,
                "due_fen": due,
                "paid_fen": max(amount, 0),
                "reserve_fen": reserve.fen,
                "note": note,
                **reserve.rule.cite(),
            },
        )
    if amount <= 0 or (refund is not None and amount < want):
        return 0  # a refund is paid whole or waits for custody to cover it
    payer = _refund_payer(refund) if refund is not None else None
    p = post(
        [
            PostingSpec(
                key=f"payout:{ref}",
                code=PostingCode.REFUND_PAYOUT if refund is not None else PostingCode.SETTLEMENT_PAYOUT,
                legs=((src.pk, amount), (custody.pk, -amount)),
                institution_id=acc.institution_id,
                division_code=acc.division_code,
                order_id=refund.order_id if refund is not None else None,
                bank_id=acc.bank_id,
                memo=destination_text(payer)
                if payer is not None
                else ("拨付至机构结算账户" + (f"；{note}" if note else ""))[:200],
            )
        ]
    )[0]
    InstructionLine.objects.create(
        bank_id=acc.bank_id,
        institution_id=acc.institution_id,
        day=day,
        kind=kind,
        ref=ref,
        amount_fen=amount,
        destination=payer["payer_account"] if payer else "settlement_account",
        destination_name=payer["payer_account_name"] if payer else "",
        destination_bank=payer["payer_bank"] if payer else "",
        original_txn_id=payer["payment_txn_id"] if payer else "",
        refund=refund,
        posting_id=p.pk,
        note=note,
        division_code=acc.division_code,
    )
    if refund is not None:  # the refund is now in a bank instruction (已下达指令), not yet paid
        move(REFUND_STATES, refund, RefundStatus.INSTRUCTED, actor=actor, reason=ref)
        refund.save(update_fields=["status"])
    return 1


def _refund_payer(refund: Refund) -> dict[str, str]:
    if refund.payer_account or refund.payment_txn_id:
        return {k: getattr(refund, k) for k in PAYER_FIELDS}
    return payer_of(refund.order)


INSTRUCTION_COLUMNS = [
    "ref",
    "day",
    "kind",
    "institution_id",
    "amount_fen",
    "destination_account",
    "destination_name",
    "destination_bank",
    "original_txn_id",
]


def instruction_file(lines, *, bank=None) -> str:
    """The day's instruction file for a bank (CSV, UTF-8, formula-safe through the one
    export writer): refunds name the payer's account, name and bank, and the original
    payment's transaction id."""
    rows = (
        [
            ln.ref,
            ln.day.isoformat(),
            ln.kind,
            ln.institution_id,
            ln.amount_fen,
            ln.destination,
            ln.destination_name,
            ln.destination_bank,
            ln.original_txn_id,
        ]
        for ln in lines
    )
    preamble = f"# {bank.code} {bank.name}\n" if bank is not None else ""
    return csv_text(INSTRUCTION_COLUMNS, rows, preamble=preamble, bom=False)


ROW_ERRORS_NAMED = 20  # bad rows a refusal's message names (all are in ``rows``)
PROGRESS_EVERY = 1000  # statement rows between two progress reports


class StatementRefused(ValidationError):
    """A statement with bad rows imports nothing. ``rows`` holds every error as
    ``{"row", "column", "message"}`` (row numbers as in the file, the header being row 1);
    the message names the first ``ROW_ERRORS_NAMED``."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        named = [f"第 {e['row']} 行{e['message']}" for e in rows[:ROW_ERRORS_NAMED]]
        if len(rows) > ROW_ERRORS_NAMED:
            named.append(f"共 {len(rows)} 处错误")
        super().__init__({"file": named})


class _RowError(Exception):
    def __init__(self, column: str, message: str):
        self.column, self.message = column, message


def _statement_row(row: dict) -> tuple[str, str, int]:
    """One line as (txn_id, direction, amount in fen), else ``_RowError``."""
    txn = (row.get("txn_id") or "").strip()
    direction = (row.get("direction") or "").strip()
    if not txn or direction not in ("in", "out"):
        raise _RowError("direction" if txn else "txn_id", "缺少流水号或方向(in/out)")
    column = "amount_fen" if row.get("amount_fen") else "amount_yuan"
    if row.get("amount_fen"):
        try:
            amount = int(row["amount_fen"])
        except ValueError:
            raise _RowError(column, f"金额不是整数(分)：{row['amount_fen']}") from None
    else:
        try:
            amount = yuan_to_fen(row.get("amount_yuan") or "")
        except ValidationError as exc:
            raise _RowError(column, exc.messages[0]) from None
    if amount <= 0:
        raise _RowError(column, "金额须为正数")
    if amount > MAX_FEN:
        raise _RowError(column, f"金额超出上限 {format_yuan(MAX_FEN)}")
    return txn, direction, amount


def _parse_statement(text: str, progress=None, total: int = 0) -> list[tuple[int, str, str, int]]:
    """Every row checked, as (row number, txn_id, direction, fen); blank rows are skipped.
    Any bad row (or a transaction id given twice) refuses the whole statement with all
    its errors (``StatementRefused``)."""
    rows, errors, seen = [], [], {}
    reader = csv.DictReader(io.StringIO(text))
    for n, row in enumerate(reader):
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n, total)
        i = reader.line_num
        if not any(isinstance(v, str) and v.strip() for v in row.values()):
            continue
        try:
            txn, direction, amount = _statement_row(row)
        except _RowError as exc:
            errors.append({"row": i, "column": exc.column, "message": exc.message})
            continue
        if txn in seen:
            errors.append({"row": i, "column": "txn_id", "message": f"流水号 {txn} 与第 {seen[txn]} 行重复"})
            continue
        seen[txn] = i
        rows.append((i, txn, direction, amount))
    if errors:
        raise StatementRefused(errors)
    return rows


def _refuse_other_days(bank: Bank, day: date, rows: list[tuple[int, str, str, int]]) -> None:
    """A transaction id the bank's statement of another day already carries is an error
    of its row (a bank's transaction ids are unique across days)."""
    where = f"SELECT txn_id, day FROM {StatementLine._meta.db_table} WHERE bank_id = %s AND day <> %s AND txn_id {{in}}"  # noqa: S608 -- fixed table, values bound
    taken = dict(bulk.select_in(where, [r[1] for r in rows], params=[bank.pk, day]))
    if taken:
        raise StatementRefused(
            [
                {
                    "row": i,
                    "column": "txn_id",
                    "message": format_lazy(
                        gettext_lazy("流水号 {t} 已在 {value} 的对账单中"), t=t, value=taken[t]
                    ),
                }
                for i, t, _, _ in rows
                if t in taken
            ]
        )


def statement_import(*, actor, bank_id: int, day: date, text: str, progress=None) -> dict:
    """Import a bank's daily statement (CSV: txn_id, direction, amount_fen or amount_yuan)
    and reconcile it with the ledger by transaction id and amount; all or nothing: a
    statement with a bad row imports nothing (``StatementRefused``, every row named).
    ``progress(done, total)`` (a background job's): rows read, then rows reconciled.
    Returns the lines, the differences, and the lines that matched the ledger."""
    total = 2 * max(text.count("\n") - 1, 1)
    rows = _parse_statement(text, progress, total)
    with transaction.atomic():
        bank = Bank.objects.filter(pk=bank_id).first()
        if bank is None or not (
            is_bank_operator(actor, bank.pk) or is_regulator_writer(actor, bank.division_code)
        ):
            raise NotFound(gettext_lazy("托管银行"))
        StatementLine.objects.filter(bank=bank, day=day).delete()
        _refuse_other_days(bank, day, rows)
        StatementLine.objects.bulk_create(
            [StatementLine(bank=bank, day=day, txn_id=t, direction=d, amount_fen=a) for _, t, d, a in rows],
            batch_size=2000,
        )
        if progress is not None:
            progress(total // 2, total)
        kinds = reconcile(bank=bank, day=day, progress=progress, total=total)
        diffs = sum(kinds.values())
        bank_notices.differences_found(bank=bank, day=day, kinds=kinds, actor=actor)
        audit_record(
            actor=actor,
            action="funds.statement_import",
            obj=bank,
            changes={"day": day.isoformat(), "lines": len(rows), "differences": diffs},
        )
    if progress is not None:
        progress(total, total)
    unmatched = kinds.get(DifferenceKind.AMOUNT_MISMATCH, 0) + kinds.get(DifferenceKind.EXTRA, 0)
    return {
        "lines": len(rows),
        "differences": diffs,
        "matched": len(rows) - unmatched,
        **{k: kinds.get(k, 0) for k in DifferenceKind.values},
    }


def reconcile(*, bank: Bank, day: date, progress=None, total: int = 0) -> dict[str, int]:
    """The day's differences between the ledger and the bank's statement, written anew
    (resolved ones are kept); returns their count by kind."""
    ledger: dict[str, tuple[int, int | None, str]] = {}
    for p in Payment.objects.filter(bank=bank, paid_at__date=day):
        ledger[p.txn_id] = (p.amount_fen, p.institution_id, p.division_code)
    for ln in InstructionLine.objects.filter(bank_id=bank.pk, day=day):
        ledger[ln.ref] = (ln.amount_fen, ln.institution_id, ln.division_code)
    bank_rows = {s.txn_id: s.amount_fen for s in StatementLine.objects.filter(bank=bank, day=day)}
    ReconciliationDifference.objects.filter(bank_id=bank.pk, day=day, resolved=False).delete()
    diffs = []
    for txn, (amount, inst, div) in ledger.items():
        if txn not in bank_rows:
            diffs.append(
                ReconciliationDifference(
                    bank_id=bank.pk,
                    day=day,
                    kind=DifferenceKind.MISSING,
                    txn_id=txn,
                    ledger_amount_fen=amount,
                    institution_id=inst,
                    division_code=div,
                )
            )
        elif bank_rows[txn] != amount:
            diffs.append(
                ReconciliationDifference(
                    bank_id=bank.pk,
                    day=day,
                    kind=DifferenceKind.AMOUNT_MISMATCH,
                    txn_id=txn,
                    ledger_amount_fen=amount,
                    bank_amount_fen=bank_rows[txn],
                    institution_id=inst,
                    division_code=div,
                )
            )
    for n, (txn, amount) in enumerate(bank_rows.items()):
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(total // 2 + n, total)
        if txn not in ledger:
            diffs.append(
                ReconciliationDifference(
                    bank_id=bank.pk,
                    day=day,
                    kind=DifferenceKind.EXTRA,
                    txn_id=txn,
                    bank_amount_fen=amount,
                    division_code=bank.division_code,
                )
            )
    ReconciliationDifference.objects.bulk_create(diffs, ignore_conflicts=True, batch_size=2000)
    _refunds_confirmed(bank_rows, day=day, bank=bank)
    return dict(Counter(d.kind for d in diffs))


def _refunds_confirmed(bank_rows: dict[str, int], *, day: date, bank: Bank) -> int:
    """Refunds whose instruction line the bank's statement carries, for its amount, are
    refunded (已退款): only the bank's confirmation says the money reached the payer."""
    lines = {
        ln.ref: (ln.refund_id, ln.amount_fen)
        for ln in InstructionLine.objects.filter(
            bank_id=bank.pk, day=day, kind=InstructionKind.REFUND, refund__status=RefundStatus.INSTRUCTED
        )
    }
    paid = [rid for ref, (rid, amount) in lines.items() if bank_rows.get(ref) == amount]
    if not paid:
        return 0
    actor = system("reconciliation")
    Refund.objects.filter(pk__in=paid).update(status=RefundStatus.REFUNDED)
    REFUND_STATES.record_many(
        [(rid, RefundStatus.INSTRUCTED, RefundStatus.REFUNDED) for rid in paid],
        actor=actor,
        reason=f"银行对账单 {day.isoformat()} 确认",
    )
    audit_record(
        actor=actor,
        action="funds.refunds_confirmed",
        object_type="funds.refund",
        object_id="*",
        division_code=bank.division_code,
        changes={"day": day.isoformat(), "refunds": sorted(paid)},
    )
    return len(paid)


def difference_resolve(
    *, actor, difference_id: int, resolution: str, correction_fen: int = 0
) -> ReconciliationDifference:
    """A regulator resolves a difference; a non-zero ``correction_fen`` posts a correcting
    entry between the institution's custody and suspense accounts (+ into custody)."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": gettext_lazy("请填写处理说明")})
    fen_checked(correction_fen, "correction_fen", positive=False)
    with transaction.atomic():
        d = ReconciliationDifference.objects.select_for_update(no_key=True).filter(pk=difference_id).first()
        if d is None or not in_scope(d, actor):
            raise NotFound(gettext_lazy("对账差异"))
        if not is_regulator_writer(actor, d.division_code):
            raise PermissionDeniedError(gettext_lazy("对账差异由监管部门处理"))
        if d.resolved:
            raise DomainError("already_resolved", gettext_lazy("该差异已处理"), None, status=409)
        if correction_fen:
            # a correction resolves the difference it names, and no more than its size
            # (either way: the bank may add the missing entry, or the ledger be corrected)
            gap = abs((d.bank_amount_fen or 0) - (d.ledger_amount_fen or 0))
            if abs(correction_fen) > gap:
                raise ValidationError(
                    {
                        "correction_fen": format_lazy(
                            gettext_lazy("更正金额不得超过差异金额 {gap}"), gap=format_yuan(gap)
                        )
                    }
                )
            if not d.institution_id:
                raise DomainError(
                    "no_institution", gettext_lazy("该差异无对应机构，不能记更正分录"), None, status=422
                )
            from qinglang.registry.models import Institution

            inst = Institution.objects.get(pk=d.institution_id)
            custody = account_get_or_create(institution=inst, kind=AccountKind.CUSTODY)
            suspense = account_get_or_create(institution=inst, kind=AccountKind.SUSPENSE)
            p = post(
                [
                    PostingSpec(
                        key=f"correction:{d.pk}",
                        code=PostingCode.CORRECTION,
                        legs=((custody.pk, correction_fen), (suspense.pk, -correction_fen)),
                        institution_id=inst.pk,
                        division_code=inst.division_code,
                        bank_id=d.bank_id,
                        memo=resolution[:200],
                    )
                ]
            )[0]
            d.correcting_posting_id = p.pk
        d.resolved = True
        d.resolution = resolution[:500]
        d.save(update_fields=["resolved", "resolution", "correcting_posting_id"])
        audit_record(
            actor=actor,
            action="funds.difference_resolve",
            obj=d,
            changes={"resolution": resolution, "correction_fen": correction_fen},
        )
    return d
