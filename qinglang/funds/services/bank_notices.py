"""What a custody bank's operators hear of, once the service's transaction commits: the
day's payout instructions written for their bank, a release line taken back before they
pay it, releases frozen or resumed on an account at their bank, and a statement that
left reconciliation differences. Only that bank's operators: never another bank's."""

from datetime import date

from django.db.models import Count, Sum
from django.urls import reverse

from qinglang.accounts.notifications import Message, bank_operators, notify_many_on_commit
from qinglang.core.i18n import chinese
from qinglang.core.money import format_yuan

from ..models import Bank, CustodyAccount, DifferenceKind, InstructionLine


def _instructions_link(bank_id: int, day: date) -> str:
    return reverse("portal:bank_instructions", args=[bank_id]) + f"?day={day.isoformat()}"


def payouts_issued(*, day: date, new_lines: dict[int, int], actor) -> None:
    """Per bank with new lines for ``day``: how many, and the day's whole instruction."""
    banks = [b for b, n in new_lines.items() if n]
    if not banks:
        return
    day_totals = {
        r["bank_id"]: r
        for r in InstructionLine.objects.filter(bank_id__in=banks, day=day)
        .values("bank_id")
        .annotate(n=Count("id"), fen=Sum("amount_fen"))
    }
    divisions = dict(Bank.objects.filter(pk__in=banks).values_list("pk", "division_code"))
    operators = bank_operators(banks)
    notify_many_on_commit(
        [
            Message(
                users=operators.get(b, []),
                kind="bank.payout.issued",
                title=f"{day.isoformat()} 拨付指令已下达：新增 {new_lines[b]} 笔",
                body=(
                    f"当日指令共 {day_totals[b]['n']} 笔，合计 {format_yuan(day_totals[b]['fen'] or 0)}；"
                    "请下载当日指令文件，按指令办理拨付和退费。"
                ),
                link=_instructions_link(b, day),
                division_code=divisions.get(b, ""),
                about=("funds.bank", str(b)),
            )
            for b in banks
        ],
        actor=actor,
    )


def payouts_withdrawn(*, acc: CustodyAccount, day: date, refs: list[str], actor) -> None:
    if not refs:
        return
    notify_many_on_commit(
        [
            Message(
                users=bank_operators([acc.bank_id]).get(acc.bank_id, []),
                kind="bank.payout.withdrawn",
                title=f"撤回拨付指令：{acc.institution.name} {day.isoformat()} {len(refs)} 笔",
                body=f"该机构已暂停拨付，以下指令已从当日指令文件撤回，请勿办理：{'、'.join(refs)}"[:1000],
                link=_instructions_link(acc.bank_id, day),
                division_code=acc.division_code,
                about=("funds.custodyaccount", str(acc.pk)),
            )
        ],
        actor=actor,
    )


def releases_frozen(*, acc: CustodyAccount, frozen: bool, reason: str, actor) -> None:
    """Releases frozen or resumed on an account at the bank (only on a change)."""
    what = "暂停拨付" if frozen else "恢复拨付"
    then = "暂停期间不下达拨付指令，退费照常" if frozen else "此后按确认的课时恢复下达拨付指令"
    notify_many_on_commit(
        [
            Message(
                users=bank_operators([acc.bank_id]).get(acc.bank_id, []),
                kind=f"bank.freeze.{'on' if frozen else 'off'}",
                title=f"{what}：{acc.institution.name}",
                body=f"监管账户 {acc.account_number}：{then}。理由：{reason}"[:1000],
                link=reverse("portal:bank_instructions", args=[acc.bank_id]),
                division_code=acc.division_code,
                about=("funds.custodyaccount", str(acc.pk)),
            )
        ],
        actor=actor,
    )


def differences_found(*, bank: Bank, day: date, kinds: dict[str, int], actor) -> None:
    """A statement left differences: the bank's operators hear of it (but the operator
    who imported it, who has just read the result)."""
    total = sum(kinds.values())
    if not total:
        return
    me = getattr(actor, "pk", None)
    parts = "，".join(f"{chinese(k.label)} {kinds.get(k, 0)} 条" for k in DifferenceKind if kinds.get(k))
    notify_many_on_commit(
        [
            Message(
                users=[u for u in bank_operators([bank.pk]).get(bank.pk, []) if u != me],
                kind="bank.recon.differences",
                title=f"{day.isoformat()} 对账发现差异 {total} 条",
                body=f"{parts}；待监管部门核实处理，需要银行补正的请配合。",
                link=reverse("portal:bank_statements", args=[bank.pk]) + f"?day={day.isoformat()}",
                division_code=bank.division_code,
                about=("funds.bank", str(bank.pk)),
            )
        ],
        actor=actor,
    )
