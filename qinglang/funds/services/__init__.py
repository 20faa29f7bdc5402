"""Every write of the funds app, re-exported by sub-domain."""

from .banks import (
    bank_create,
    bank_operator_grant,
    bank_secret,
    banks_administered,
    custody_account_open,
    releases_freeze,
    releases_unfreeze,
)
from .common import institution_may_take_orders
from .confirmation import lesson_confirm, lesson_dispute, lesson_dispute_resolve, lessons_deem_confirmed
from .consumption import lesson_batch_import
from .consumption_single import lesson_record
from .contracts import contract_accept, contract_docx
from .deposits import DepositRequirement, deposit_record, deposit_requirement
from .disputes import dispute_decide
from .indicators import declaration_submit, large_movement_check, obligation_signals_sweep
from .orders import OrderInput, order_cancel, order_create, payment_record, payment_refusal_log
from .paying_in import paying_in, payment_enter, payment_reference
from .receipts import receipt_verify, receipts_issue, receipts_issue_due
from .recon import (
    StatementRefused,
    difference_resolve,
    instruction_file,
    instructions_generate,
    statement_import,
)
from .refunds import refund_answer, refund_pro_rata, refund_request, refunds_deem_agreed, unconsumed_fen

__all__ = [
    "DepositRequirement",
    "OrderInput",
    "StatementRefused",
    "bank_create",
    "bank_operator_grant",
    "bank_secret",
    "banks_administered",
    "contract_accept",
    "contract_docx",
    "custody_account_open",
    "declaration_submit",
    "deposit_record",
    "deposit_requirement",
    "difference_resolve",
    "dispute_decide",
    "institution_may_take_orders",
    "instruction_file",
    "instructions_generate",
    "large_movement_check",
    "lesson_batch_import",
    "lesson_confirm",
    "lesson_dispute",
    "lesson_dispute_resolve",
    "lesson_record",
    "lessons_deem_confirmed",
    "obligation_signals_sweep",
    "order_cancel",
    "order_create",
    "paying_in",
    "payment_enter",
    "payment_record",
    "payment_reference",
    "payment_refusal_log",
    "receipt_verify",
    "receipts_issue",
    "receipts_issue_due",
    "refund_answer",
    "refund_pro_rata",
    "refund_request",
    "refunds_deem_agreed",
    "releases_freeze",
    "releases_unfreeze",
    "statement_import",
    "unconsumed_fen",
]
