"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py)."""

from datetime import date

from qinglang.accounts.models import Membership, Role
from qinglang.funds import services
from qinglang.funds.models import (
    AccountKind,
    CustodyAccount,
    LedgerAccount,
    Lesson,
    Order,
    ReconciliationDifference,
    Refund,
)
from qinglang.testing import make_user

PARAM_RULES = [
    ({"order_id"}, None, "order"),
    ({"lesson_id"}, None, "lesson"),
    ({"refund_id"}, None, "refund"),
    ({"bank_id"}, None, "bank"),
    ({"difference_id"}, None, "difference"),
    ({"batch_id"}, None, "batch"),
    ({"receipt_id"}, None, "receipt"),
    # a verification code is a bearer secret: whoever holds B's code may check B's receipt
    # (that is what it is for), so B's "code" here is one never issued — what the sweep
    # proves is that no code but an issued one shows anything
    ({"verification"}, None, "receipt_code"),
]


class _Code:
    def __init__(self, code: str):
        self.pk = code


def build_side(*, admin, side, users, which) -> dict:
    from qinglang.registry.services import course_review

    tag = side.tag
    bank, _ = services.bank_create(
        actor=admin,
        code=f"BANK{tag}",
        name=f"{side.name}银行{tag}",
        division_code=side.division[:6],
        secret="s3cret",
    )
    if which == "A":
        Membership.objects.filter(user=users["bank_operator"], role=Role.BANK_OPERATOR).update(
            bank_id=bank.pk
        )
        users["bank_operator"].__dict__.pop("_qinglang_actor", None)
    inst = side.institution
    custody = services.custody_account_open(
        actor=admin,
        institution_id=inst.pk,
        bank_id=bank.pk,
        mode="bank_custody",
        account_number=f"6222{tag}",
        opened_on=date(2025, 1, 1),
    )
    course_review(actor=admin, course_id=side.course.pk, approve=True)
    parent = users["parent"] if which == "A" else make_user(Role.PARENT)
    orders = []
    for i in range(2):
        # B is not whitelisted, so orders are made directly (the sweep tests scope, not policy)
        o = Order.objects.create(
            institution=inst,
            course=side.course,
            parent=parent,
            learner_name=f"{side.name}学员{tag}",
            lessons=10,
            unit_price_fen=8000,
            amount_fen=80000,
            starts_on=date.today(),
            contract_text=f"合同{tag}",
            bank_id=bank.pk,
            division_code=inst.division_code,
        )
        LedgerAccount.objects.create(
            kind=AccountKind.PREPAID,
            institution=inst,
            order=o,
            bank_id=bank.pk,
            division_code=inst.division_code,
        )
        services.payment_record(
            actor=admin,
            bank_id=bank.pk,
            txn_id=f"T{tag}{i}",
            order_id=o.pk,
            amount_fen=80000,
            payer_account=f"6217{tag}{i}",
            payer_account_name=f"付款人{tag}",
            payer_bank=f"付款行{tag}",
        )
        orders.append(o)
    lesson, _ = services.lesson_record(
        actor=admin, institution_id=inst.pk, order_id=orders[0].pk, event_id=f"E{tag}"
    )
    refund = services.refund_request(actor=parent, order_id=orders[1].pk, reason=f"退费{tag}")
    diff = ReconciliationDifference.objects.create(
        bank_id=bank.pk,
        day=date.today(),
        kind="missing",
        txn_id=f"T{tag}X",
        ledger_amount_fen=100,
        institution_id=inst.pk,
        division_code=inst.division_code,
    )
    out = services.lesson_batch_import(
        actor=admin,
        institution_id=inst.pk,
        rows=[{"event_id": f"E{tag}2", "order_id": orders[0].pk}, "坏行"],
        filename=f"{tag}.csv",
    )
    disputed, _ = services.lesson_record(
        actor=admin, institution_id=inst.pk, order_id=orders[0].pk, event_id=f"D{tag}"
    )
    services.lesson_dispute(actor=parent, lesson_id=disputed.pk, reason=f"未上课{tag}")
    declaration = services.declaration_submit(
        actor=admin, institution_id=inst.pk, week_start=date.today(), declared_fen=170000
    )
    services.instructions_generate(day=date.today())
    receipt = services.receipts_issue(order=orders[0])[0]
    return {
        "receipt": receipt,
        "receipt_code": _Code(receipt.code if which == "A" else "ZZZZZZZZZZZZZZZZ"),
        "declaration": declaration,
        "bank": bank,
        "custody": custody,
        "order": orders[0],
        "lesson": Lesson.objects.get(pk=lesson.pk),
        "refund": Refund.objects.get(pk=refund.pk),
        "difference": diff,
        "batch": out.batch,
    }


def markers(side) -> list[str]:
    return [f"6222{side.tag}", f"BANK{side.tag}", f"T{side.tag}0", f"6217{side.tag}0", f"未上课{side.tag}"]


def audit_ids(side) -> dict:
    e = side.extra
    return {
        "funds.bank": e["bank"],
        "funds.custodyaccount": e["custody"],
        "funds.order": e["order"],
        "funds.lesson": e["lesson"],
        "funds.refund": e["refund"],
        "funds.reconciliationdifference": e["difference"],
        "funds.lessonbatch": e["batch"],
        "funds.prepaiddeclaration": e["declaration"],
    }


__all__ = ["PARAM_RULES", "CustodyAccount", "audit_ids", "build_side", "markers"]
