"""Prepaid fee custody (预收费资金监管): custody banks and accounts, orders, the
double-entry ledger, lesson consumption (消课), refunds, bank notifications, release and
refund instructions, reconciliation (对账), declarations and signals; one module per
sub-domain, every name re-exported here (``from qinglang.funds.models import Order``):

- ``accounts``: custody banks and accounts, ledger accounts, postings and entries
- ``orders``: orders and their states, payments and refused bank notifications
- ``lessons``: lessons consumed, their states and batch uploads
- ``refunds``: refunds and their states
- ``payouts``: release and refund instructions, bank statements, reconciliation differences
- ``oversight``: prepaid declarations and funds signals
- ``receipts``: receipts and contract acceptances (what parents keep)

Money is integer fen. Ledger sign convention: an entry's ``amount_fen`` is positive for a
debit and negative for a credit; every posting's entries sum to zero. Asset accounts
(custody) are debit-normal, liabilities (prepaid, settlement, refunds payable, risk
deposit) credit-normal; ``LedgerAccount.balance_fen`` is the signed sum of its entries and
``normal_balance`` shows it the natural way round."""

from .accounts import (
    DEBIT_NORMAL,
    NON_NEGATIVE_CREDIT,
    NON_NEGATIVE_DEBIT,
    AccountKind,
    Bank,
    CustodyAccount,
    CustodyMode,
    Entry,
    LedgerAccount,
    Posting,
    PostingCode,
)
from .lessons import (
    LESSON_PENDING,
    LESSON_POSTED,
    LESSON_STATES,
    LESSON_TRANSITIONS,
    LESSON_VOIDED,
    Lesson,
    LessonBatch,
    LessonStatus,
    LessonTransition,
)
from .orders import (
    ORDER_STATES,
    ORDER_TRANSITIONS,
    NotificationRefusal,
    Order,
    OrderStatus,
    OrderTransition,
    Payment,
)
from .oversight import (
    PrepaidDeclaration,
    Signal,
    SignalKind,
)
from .payouts import (
    DifferenceKind,
    InstructionKind,
    InstructionLine,
    ReconciliationDifference,
    StatementLine,
)
from .receipts import (
    ContractAcceptance,
    Receipt,
    ReceiptKind,
)
from .refunds import (
    REFUND_AGREED,
    REFUND_STATES,
    REFUND_TRANSITIONS,
    Refund,
    RefundStatus,
    RefundTransition,
)

__all__ = [
    "DEBIT_NORMAL",
    "LESSON_PENDING",
    "LESSON_POSTED",
    "LESSON_STATES",
    "LESSON_TRANSITIONS",
    "LESSON_VOIDED",
    "NON_NEGATIVE_CREDIT",
    "NON_NEGATIVE_DEBIT",
    "ORDER_STATES",
    "ORDER_TRANSITIONS",
    "REFUND_AGREED",
    "REFUND_STATES",
    "REFUND_TRANSITIONS",
    "AccountKind",
    "Bank",
    "ContractAcceptance",
    "CustodyAccount",
    "CustodyMode",
    "DifferenceKind",
    "Entry",
    "InstructionKind",
    "InstructionLine",
    "LedgerAccount",
    "Lesson",
    "LessonBatch",
    "LessonStatus",
    "LessonTransition",
    "NotificationRefusal",
    "Order",
    "OrderStatus",
    "OrderTransition",
    "Payment",
    "Posting",
    "PostingCode",
    "PrepaidDeclaration",
    "Receipt",
    "ReceiptKind",
    "ReconciliationDifference",
    "Refund",
    "RefundStatus",
    "RefundTransition",
    "Signal",
    "SignalKind",
    "StatementLine",
]
