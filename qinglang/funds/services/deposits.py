"""Risk deposits (风险保证金): in ``risk_deposit`` custody mode the institution keeps a
deposit at the custody bank sized by ``custody.risk_deposit_ratio`` — a share of the
prepaid fees it holds. Below the required deposit it takes no new orders; a regulator
records top-ups."""

import math
from dataclasses import dataclass
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, PermissionDeniedError
from qinglang.core.money import fen_checked
from qinglang.core.policy import Resolved, policy_resolve

from ..ledger import PostingSpec, institution_accounts, post
from ..models import AccountKind, CustodyAccount, CustodyMode, PostingCode, PrepaidDeclaration
from .common import is_bank_operator, is_regulator_writer, lock_institution_row
from .indicators import obligations_fen


@dataclass(frozen=True)
class DepositRequirement:
    """What an institution must hold as its risk deposit, and why."""

    mode: str
    ratio: Resolved
    base_fen: int  # prepaid fees held: the larger of the ledger's and the latest declaration
    obligations_fen: int  # unconsumed prepaid fees per the ledger
    declared_fen: int | None  # the latest weekly declaration, if any
    fixed_fen: int  # the minimum set when the account was opened
    required_fen: int
    held_fen: int

    @property
    def applies(self) -> bool:
        return self.mode == CustodyMode.RISK_DEPOSIT

    @property
    def shortfall_fen(self) -> int:
        return max(self.required_fen - self.held_fen, 0) if self.applies else 0


def _ratio(r: Resolved) -> Fraction | None:
    if r.value is None:
        return None  # "set locally": no share required until a place sets one
    try:
        ratio = Fraction(str(r.value))
    except (TypeError, ValueError):
        ratio = Fraction(-1)
    if isinstance(r.value, bool) or not 0 <= ratio <= 1:
        raise DomainError(
            "policy_misconfigured",
            format_lazy(
                _("风险保证金比例设置有误：{value}(应为0到1之间的小数，由{source_label}设定)"),
                value=r.value,
                source_label=r.source_label,
            ),
            {"rule": r.key, "value": r.value, "set_by": r.division_code or "national"},
            status=422,
        )
    return ratio


def deposit_requirement(acc: CustodyAccount) -> DepositRequirement:
    """Required deposit = max(the fixed minimum, ⌈ratio × prepaid fees held⌉), where the
    prepaid fees held are the larger of the ledger's unconsumed obligations and the latest
    weekly declaration — so under-declaring does not shrink the deposit."""
    r = policy_resolve("custody.risk_deposit_ratio", acc.division_code)
    ratio = _ratio(r)
    owed = obligations_fen(acc.institution_id)
    declared = (
        PrepaidDeclaration.objects.filter(institution_id=acc.institution_id)
        .order_by("-week_start")
        .values_list("declared_fen", flat=True)
        .first()
    )
    base = max(owed, declared or 0)
    share = math.ceil(ratio * base) if ratio is not None else 0
    return DepositRequirement(
        mode=acc.mode,
        ratio=r,
        base_fen=base,
        obligations_fen=owed,
        declared_fen=declared,
        fixed_fen=acc.required_deposit_fen,
        required_fen=max(acc.required_deposit_fen, share),
        held_fen=acc.deposit_held_fen,
    )


def check_deposit_sufficient(acc: CustodyAccount) -> None:
    """Called by ``order_create`` under the institution's lock: an institution in
    risk-deposit mode whose deposit held is below the required one takes no new order."""
    req = deposit_requirement(acc)
    if req.shortfall_fen:
        raise req.ratio.violation(
            format_lazy(
                _("风险保证金不足：应缴 {value} 元，已缴 {value2} 元，补足前不得收取新的预收费"),
                value=format(req.required_fen / 100, ".2f"),
                value2=format(req.held_fen / 100, ".2f"),
            ),
            required_fen=req.required_fen,
            held_fen=req.held_fen,
            base_fen=req.base_fen,
        )


def deposit_record(
    *, actor, institution_id: int, amount_fen: int, key: str, note: str = ""
) -> CustodyAccount:
    """A top-up of the risk deposit paid into the custody account, recorded by a
    regulator (or the custody bank's operator). ``key`` makes a retry harmless."""
    fen_checked(amount_fen, "amount_fen")
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise ValidationError({"key": _("缺少或过长的请求编号")})
    note = (note or "").strip()[:200]
    with transaction.atomic():
        inst = lock_institution_row(institution_id)
        acc = CustodyAccount.objects.select_for_update(no_key=True).filter(institution_id=inst.pk).first()
        if acc is None:
            raise DomainError("no_custody_account", _("机构未开立监管账户"), None, status=422)
        if not (is_regulator_writer(actor, inst.division_code) or is_bank_operator(actor, acc.bank_id)):
            raise PermissionDeniedError(_("保证金缴存由监管部门或托管银行登记"))
        if acc.mode != CustodyMode.RISK_DEPOSIT:
            raise DomainError(
                "not_risk_deposit_mode",
                _("该机构为银行托管方式，无需缴存风险保证金"),
                {"mode": acc.mode},
                status=409,
            )
        accs = institution_accounts(inst, acc.bank_id)
        posting = post(
            [
                PostingSpec(
                    key=f"deposit:{inst.pk}:{key}",
                    code=PostingCode.DEPOSIT,
                    legs=(
                        (accs[AccountKind.CUSTODY].pk, amount_fen),
                        (accs[AccountKind.RISK_DEPOSIT].pk, -amount_fen),
                    ),
                    institution_id=inst.pk,
                    division_code=inst.division_code,
                    bank_id=acc.bank_id,
                    memo=note or "缴存风险保证金",
                )
            ]
        )[0]
        before = acc.deposit_held_fen
        accs[AccountKind.RISK_DEPOSIT].refresh_from_db()
        acc.deposit_held_fen = -accs[AccountKind.RISK_DEPOSIT].balance_fen
        acc.save(update_fields=["deposit_held_fen"])
        if acc.deposit_held_fen != before:  # a retry of the same key changes nothing
            req = deposit_requirement(acc)
            audit_record(
                actor=actor,
                action="funds.deposit_record",
                obj=acc,
                changes={
                    "amount_fen": amount_fen,
                    "deposit_held_fen": [before, acc.deposit_held_fen],
                    "required_fen": req.required_fen,
                    "posting_id": posting.pk,
                    "note": note,
                },
            )
    return acc
