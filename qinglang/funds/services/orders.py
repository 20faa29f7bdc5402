"""Orders under every fee rule of POLICY.md, and payments into custody."""

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.notifications import notify_on_commit
from qinglang.accounts.permissions import is_system
from qinglang.accounts.scope import actor_for, in_scope
from qinglang.core.audit import audit_record
from qinglang.core.errors import DomainError, NotFound, PermissionDeniedError
from qinglang.core.i18n import choice_label
from qinglang.core.money import MAX_FEN, format_yuan
from qinglang.core.policy import policy_resolve
from qinglang.registry.models import ApprovalStatus, Course, Kind
from qinglang.registry.services import rules as registry_rules

from ..ledger import PostingSpec, institution_accounts, post
from ..models import (
    ORDER_STATES,
    AccountKind,
    Bank,
    CustodyMode,
    LedgerAccount,
    NotificationRefusal,
    Order,
    OrderStatus,
    Payment,
    PostingCode,
)
from .common import (
    first_row,
    institution_may_take_orders,
    is_bank_operator,
    is_institution_user,
    lock_institution_row,
    move,
)
from .lesson_plan import STAGED_KEY

CONTRACT_TEMPLATE = (
    "《中小学生校外培训服务合同(示范文本)》(教育部、国家市场监督管理总局 2021年修订)\n"
    "培训机构：{institution}\n课程：{course}\n学员：{learner}\n课时数：{lessons}\n课时单价：{price}\n"
    "合计：{amount}\n开课日期：{starts_on}\n收费期至：{ends_on}\n"
    "预收费全部进入监管账户({bank} {account})，按“一课一消”拨付；未消课部分可申请退费，原路退回。"
)


@dataclass(frozen=True)
class OrderInput:
    course_id: int
    learner_name: str
    lessons: int
    starts_on: date
    months: int = 1
    top_up_of_id: int | None = None
    training_loan: bool = False
    external_ref: str = ""
    ends_on: date | None = None  # the charge period's last day; None: ``months`` from the start


def _months_ok(value) -> bool:
    return type(value) is int and value >= 1


def charge_period_end(starts_on: date, months: int) -> date:
    """The last day a charge of ``months`` months starting on ``starts_on`` covers
    (1 month from 3 Mar runs to 2 Apr; from 31 Jan to 28/29 Feb)."""
    m = starts_on.month - 1 + months
    year, month = starts_on.year + m // 12, m % 12 + 1
    try:
        day = min(starts_on.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) - timedelta(days=1)
    except (ValueError, OverflowError):  # past the calendar's last year (9999)
        raise ValidationError({"months": _("开课日期加收费月数超出可用的日期范围")}) from None


def semester_boundary(start: date, end: date, starts: list) -> date | None:
    """The first semester start in (start, end], if any: a charge period containing one
    spans two semesters. ``starts`` are "MM-DD" strings (``fees.semester_starts``)."""
    found = []
    for year in range(start.year, end.year + 1):
        for mmdd in starts:
            month, day = (int(x) for x in str(mmdd).split("-"))
            b = date(year, month, min(day, calendar.monthrange(year, month)[1]))
            if start < b <= end:
                found.append(b)
    return min(found) if found else None


def period_end(data: OrderInput) -> date:
    return data.ends_on or charge_period_end(data.starts_on, data.months)


def _semester_starts(div: str):
    s = policy_resolve("fees.semester_starts", div)
    return s, list(s.value or [])


def latest_end_in_semester(*, div: str, starts_on: date, months: int) -> date:
    """The last day an order starting on ``starts_on`` may cover under ``months`` and,
    where crossing semesters is not allowed, before the next semester begins (what a
    form offers as the default end of the charge period)."""
    end = charge_period_end(starts_on, months)
    if policy_resolve("fees.cross_semester_allowed", div).value:
        return end
    try:
        boundary = semester_boundary(starts_on, end, _semester_starts(div)[1])
    except (TypeError, ValueError):
        return end
    return end if boundary is None else boundary - timedelta(days=1)


def check_cross_semester(*, div: str, starts_on: date, ends_on: date) -> None:
    """``fees.cross_semester_allowed``: when false, an order's charge period (start date
    to its end, given or ``months`` from the start) may not run into the next semester.
    Semesters begin on the days of ``fees.semester_starts`` (the school calendar, itself
    a policy parameter with its basis)."""
    r = policy_resolve("fees.cross_semester_allowed", div)
    if r.value:
        return
    s, starts = _semester_starts(div)
    end = ends_on
    try:
        boundary = semester_boundary(starts_on, end, starts)
    except (TypeError, ValueError):
        raise DomainError(
            "policy_misconfigured",
            format_lazy(
                _("学期起始日参数设置有误：{value}(由{source_label}设定)"),
                value=s.value,
                source_label=s.source_label,
            ),
            {"rule": s.key, "value": s.value, "set_by": s.division_code or "national"},
            status=422,
        )
    if boundary is not None:
        raise r.violation(
            format_lazy(
                _("收费期 {starts_on} 至 {end} 跨越学期({boundary} 开始新学期)"),
                starts_on=starts_on.isoformat(),
                end=end.isoformat(),
                boundary=boundary.isoformat(),
            ),
            period_end=end.isoformat(),
            semester_starts_on=boundary.isoformat(),
            semester_rule={
                "rule": s.key,
                "value": s.value,
                "set_by": s.division_code or "national",
                "basis": s.basis,
            },
        )


def check_fee_rules(*, inst, course: Course, data: OrderInput, today: date) -> None:
    """Every fee rule of POLICY.md, against the parameters in force for the institution's
    division; the first broken rule is raised naming key, value, setter and basis."""
    div = inst.division_code
    if course.approval_status != ApprovalStatus.APPROVED:
        raise DomainError(
            "course_not_approved", _("课程未经审核核准，不得收费"), {"course_id": course.pk}, status=422
        )
    registry_rules.course_sellable(course)  # materials reviewed (materials.review_required)
    r = policy_resolve("fees.max_lessons_per_charge", div)
    if r.value is not None and data.lessons > int(r.value):
        raise r.violation(
            format_lazy(_("单次收费课时数 {lessons} 超过上限"), lessons=data.lessons), lessons=data.lessons
        )
    r = policy_resolve("fees.max_months_per_charge", div)
    if r.value is not None and data.months > int(r.value):
        raise r.violation(
            format_lazy(_("单次收费时间跨度 {months} 个月超过上限"), months=data.months), months=data.months
        )
    amount = data.lessons * course.unit_price_fen
    r = policy_resolve("fees.max_amount_per_charge_fen", div)
    if r.value is not None and amount > int(r.value):
        raise r.violation(
            format_lazy(_("单次收费金额 {amount} 超过上限"), amount=format_yuan(amount)), amount_fen=amount
        )
    if course.kind == Kind.SUBJECT:
        r = policy_resolve("guided_price.subject_per_lesson_fen", div)
        if r.value is not None and course.unit_price_fen > int(r.value):
            raise r.violation(
                format_lazy(
                    _("课时单价 {unit_price_fen} 分高于政府指导价"), unit_price_fen=course.unit_price_fen
                ),
                unit_price_fen=course.unit_price_fen,
            )
    r = policy_resolve("fees.earliest_charge_before_start_days", div)
    days_before = (data.starts_on - today).days
    if r.value is not None and days_before > int(r.value):
        raise r.violation(
            format_lazy(_("距开课还有 {days_before} 天，收费过早"), days_before=days_before),
            days_before=days_before,
        )
    check_cross_semester(div=div, starts_on=data.starts_on, ends_on=period_end(data))
    if data.training_loan:
        r = policy_resolve("fees.training_loans_allowed", div)
        if not r.value:
            raise r.violation(_("不得使用培训贷缴费"))
    if data.top_up_of_id is not None:
        prev = (
            Order.objects.select_for_update(no_key=True)
            .filter(pk=data.top_up_of_id, institution_id=inst.pk)
            .first()
        )
        if prev is None:
            raise DomainError(
                "unknown_order", _("续费所依据的原订单不存在"), {"top_up_of": data.top_up_of_id}, status=422
            )
        r = policy_resolve("fees.per_lesson_charge_when_remaining_at_most", div)
        if r.value is not None and prev.lessons_remaining > int(r.value):
            raise r.violation(
                format_lazy(
                    _("原订单剩余 {lessons_remaining} 课时，尚不得续费"),
                    lessons_remaining=prev.lessons_remaining,
                ),
                remaining=prev.lessons_remaining,
            )


def order_create(*, actor, data: OrderInput, today: date | None = None) -> Order:
    """A parent (for themself) or an institution's system creates an order; refused
    unless every fee rule holds."""
    today = today or timezone.localdate()
    _check_order_input(data)
    with transaction.atomic():
        course = Course.objects.select_related("institution").filter(pk=data.course_id).first()
        if course is None:
            raise NotFound(_("课程"))
        inst = lock_institution_row(course.institution_id)
        parent_id = _buyer(actor, inst)
        _check_top_up_owner(data, parent_id)
        custody = _custody_taking_orders(inst)
        check_fee_rules(inst=inst, course=course, data=data, today=today)
        if custody.mode == CustodyMode.RISK_DEPOSIT:
            from .deposits import check_deposit_sufficient

            check_deposit_sufficient(custody)
        release = policy_resolve("custody.release_rule", inst.division_code)
        rule = release.value or "per_lesson"
        order = _new_order(inst, course, data, parent_id=parent_id, custody=custody, rule=rule)
        order.save()
        first_row(ORDER_STATES, order, actor=actor)
        LedgerAccount.objects.create(
            kind=AccountKind.PREPAID,
            institution=inst,
            order=order,
            bank_id=custody.bank_id,
            division_code=inst.division_code,
        )
        audit_record(
            actor=actor,
            action="funds.order_create",
            obj=order,
            changes={
                "course_id": course.pk,
                "lessons": data.lessons,
                "amount_fen": order.amount_fen,
                "release_rule": rule,
                # the rule that chose it (and, staged, the stages in force when it was sold)
                "release_rule_cited": release.cite(),
                **(
                    {"staged_release_cited": policy_resolve(STAGED_KEY, inst.division_code).cite()}
                    if rule == "staged"
                    else {}
                ),
            },
        )
    return order


def _check_order_input(data: OrderInput) -> None:
    """The order's own figures, before anything is read: lessons, months, the learner,
    and an end of the charge period within its months."""
    if type(data.lessons) is not int or data.lessons < 1:
        raise ValidationError({"lessons": _("课时数须为正整数")})
    if not _months_ok(data.months):
        raise ValidationError({"months": _("收费月数须为正整数")})
    if not (data.learner_name or "").strip():
        raise ValidationError({"learner_name": _("请填写学员姓名")})
    if data.ends_on is not None:
        if data.ends_on < data.starts_on:
            raise ValidationError({"ends_on": _("收费期截止日期不能早于开课日期")})
        if data.ends_on > charge_period_end(data.starts_on, data.months):
            raise ValidationError(
                {
                    "ends_on": format_lazy(
                        _("收费期截止日期超出所填收费时长({months} 个月)，请增加月数或提前截止日期"),
                        months=data.months,
                    )
                }
            )


def _buyer(actor, inst) -> int | None:
    """Who may order at the institution: a parent (for themself: their id), the
    institution's users or system, a platform admin (None); anyone else is refused."""
    a = None if is_system(actor) else actor_for(actor)
    if a is not None and a.is_parent and not a.institution_ids:
        return a.user_id  # parents may buy from any whitelisted institution
    if not (is_system(actor) or (a and a.is_platform_admin) or is_institution_user(actor, inst.pk)):
        if a is None or not in_scope(inst, actor, regulator_department=False):
            raise NotFound(_("课程"))
        raise PermissionDeniedError(_("仅家长或机构可以下单"))
    return None


def _check_top_up_owner(data: OrderInput, parent_id: int | None) -> None:
    """A parent tops up their own order only (another's is as unknown as a missing one)."""
    if (
        data.top_up_of_id is not None
        and parent_id is not None
        and not Order.objects.filter(pk=data.top_up_of_id, parent_id=parent_id).exists()
    ):
        raise DomainError(
            "unknown_order", _("续费所依据的原订单不存在"), {"top_up_of": data.top_up_of_id}, status=422
        )


def _custody_taking_orders(inst):
    """The institution's custody account, if it may take orders under a custody mode
    allowed locally."""
    custody = institution_may_take_orders(inst)
    modes = policy_resolve("custody.modes_allowed", inst.division_code)
    if custody.mode not in (modes.value or []):
        raise modes.violation(
            format_lazy(
                _("机构的监管方式“{CustodyMode}”本地不允许"),
                CustodyMode=choice_label(CustodyMode, custody.mode),
            ),
            mode=custody.mode,
        )
    return custody


def _new_order(inst, course: Course, data: OrderInput, *, parent_id: int | None, custody, rule: str) -> Order:
    """The order, not yet saved, with its contract's text."""
    amount = data.lessons * course.unit_price_fen
    return Order(
        institution=inst,
        course=course,
        parent_id=parent_id,
        external_ref=(data.external_ref or "")[:64],
        learner_name=data.learner_name.strip()[:64],
        lessons=data.lessons,
        unit_price_fen=course.unit_price_fen,
        amount_fen=amount,
        months=data.months,
        starts_on=data.starts_on,
        ends_on=period_end(data),
        top_up_of_id=data.top_up_of_id,
        release_rule=rule,
        bank_id=custody.bank_id,
        division_code=inst.division_code,
        contract_text=CONTRACT_TEMPLATE.format(
            institution=inst.name,
            course=course.name,
            learner=data.learner_name.strip(),
            lessons=data.lessons,
            price=f"{course.unit_price_fen / 100:.2f}元",
            amount=f"{amount / 100:.2f}元",
            starts_on=data.starts_on.isoformat(),
            ends_on=period_end(data).isoformat(),
            bank=custody.bank.name,
            account=custody.account_number,
        ),
    )


def order_cancel(*, actor, order_id: int) -> Order:
    from .common import lock_order

    with transaction.atomic():
        order = lock_order(actor=actor, order_id=order_id, parent=True, institution=True, regulator=True)
        move(ORDER_STATES, order, OrderStatus.CANCELLED, actor=actor)
        order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="funds.order_cancel",
            obj=order,
            changes={"status": ["pending_payment", "cancelled"]},
        )
    return order


def notification_hash(
    *,
    txn_id: str,
    order_id: int,
    amount_fen: int,
    payer_account: str,
    payer_name: str = "",
    payer_bank: str = "",
) -> str:
    fields: list = [txn_id, order_id, amount_fen, payer_account]
    if payer_name or payer_bank:  # hashes of notifications without them stay as they were
        fields += [payer_name, payer_bank]
    raw = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def notification_refuse(*, bank_id: int | None, txn_id: str, code: str, reason: str, body: str = "") -> None:
    """Log a refused notification (its own transaction: the refusal survives the error)."""
    NotificationRefusal.objects.create(
        bank_id=bank_id, txn_id=txn_id[:64], code=code, reason=reason[:300], body=body[:2000]
    )


def payment_record(
    *,
    actor,
    bank_id: int,
    txn_id: str,
    order_id: int,
    amount_fen: int,
    payer_account: str = "",
    payer_account_name: str = "",
    payer_bank: str = "",
    paid_at: datetime | None = None,
    signed: bool = False,
) -> tuple[Payment, bool]:
    """Money into custody for an order: from the bank's signed notification (``signed``)
    or entered by the bank's operator. Idempotent on (bank, transaction id): the same
    notification again returns the original (created=False); the same id with other
    content, an unknown order or an amount that doesn't match the order is refused. The
    paying account (number, name, bank) is kept: refunds go back to it
    (``refund.destination``)."""
    payer_account, payer_account_name, payer_bank, txn_id = _check_payment_input(
        payer_account, payer_account_name, payer_bank, txn_id, amount_fen
    )
    h = notification_hash(
        txn_id=txn_id,
        order_id=order_id,
        amount_fen=amount_fen,
        payer_account=payer_account,
        payer_name=payer_account_name,
        payer_bank=payer_bank,
    )
    with transaction.atomic():
        bank = _paying_bank(actor, bank_id, signed=signed)
        prior = _prior_payment(bank, txn_id, h)
        if prior is not None:
            return prior, False
        order = _lock_payable_order(bank, order_id, amount_fen)
        inst = order.institution
        posting = _post_payment(order, bank, txn_id, amount_fen)
        move(ORDER_STATES, order, OrderStatus.PAID, actor=actor, reason=f"缴费 {txn_id}")
        order.paid_fen += amount_fen
        order.save(update_fields=["status", "paid_fen"])
        payment = Payment.objects.create(
            bank=bank,
            txn_id=txn_id,
            order=order,
            institution=inst,
            amount_fen=amount_fen,
            payer_account=payer_account,
            payer_account_name=payer_account_name,
            payer_bank=payer_bank,
            payload_hash=h,
            posting_id=posting.pk,
            division_code=order.division_code,
            paid_at=paid_at or timezone.now(),
        )
        audit_record(
            actor=actor if not signed else f"bank:{bank.code}",
            action="funds.payment_record",
            obj=payment,
            changes={"order_id": order.pk, "amount_fen": amount_fen, "txn_id": txn_id},
        )
        from .indicators import large_movement_check

        large_movement_check(institution=inst, amount_fen=amount_fen, posting_id=posting.pk)
        if order.parent_id:
            _notify_paid(order, amount_fen, actor=actor if not signed else f"bank:{bank.code}")
    return payment, True


def _check_payment_input(
    payer_account: str, payer_account_name: str, payer_bank: str, txn_id: str, amount_fen
) -> tuple[str, str, str, str]:
    """The notification's fields trimmed and checked: the payer's account, name and bank
    and the transaction id (as trimmed), a positive amount within the bound."""
    payer_account = (payer_account or "").strip()
    payer_account_name = (payer_account_name or "").strip()
    payer_bank = (payer_bank or "").strip()
    if len(payer_account) > 64 or len(payer_account_name) > 100 or len(payer_bank) > 100:
        raise ValidationError({"payer_account": _("付款账号、户名或开户行过长")})
    txn_id = (txn_id or "").strip()
    if not txn_id or len(txn_id) > 64:
        raise ValidationError({"txn_id": _("银行交易流水号为空或过长")})
    if type(amount_fen) is not int or not 0 < amount_fen <= MAX_FEN:
        raise DomainError(
            "bad_amount", _("金额须为正整数(分)且不超过上限"), {"amount_fen": str(amount_fen)}, status=422
        )
    return payer_account, payer_account_name, payer_bank, txn_id


def _paying_bank(actor, bank_id: int, *, signed: bool) -> Bank:
    """The custody bank, for its signed notification, its own operator or a platform
    admin; unknown to anyone else."""
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:
        raise NotFound(_("托管银行"))
    if (
        not signed
        and not is_bank_operator(actor, bank.pk)
        and not (not is_system(actor) and actor_for(actor).is_platform_admin)
    ):
        raise NotFound(_("托管银行"))
    return bank


def _prior_payment(bank: Bank, txn_id: str, payload_hash: str) -> Payment | None:
    """The payment already recorded under the transaction id, if its content is the
    same; the same id with other content is refused."""
    prior = Payment.objects.filter(bank_id=bank.pk, txn_id=txn_id).first()
    if prior is not None and prior.payload_hash != payload_hash:
        raise DomainError(
            "notification_altered", _("同一交易流水号的通知内容不一致"), {"txn_id": txn_id}, status=409
        )
    return prior


def _lock_payable_order(bank: Bank, order_id: int, amount_fen: int) -> Order:
    """The order, locked: in custody at this bank, waiting for payment, of this amount."""
    order = Order.objects.select_for_update(no_key=True).filter(pk=order_id, bank_id=bank.pk).first()
    if order is None:
        raise DomainError("unknown_order", _("订单不存在或不在本行托管"), {"order_id": order_id}, status=422)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise DomainError("order_not_payable", _("订单不在待缴费状态"), {"status": order.status}, status=409)
    if amount_fen != order.amount_fen:
        raise DomainError(
            "amount_mismatch",
            _("到账金额与订单金额不符"),
            {"expected": order.amount_fen, "got": amount_fen},
            status=422,
        )
    return order


def _post_payment(order: Order, bank: Bank, txn_id: str, amount_fen: int):
    """The money into custody, owed to the order (custody debited, prepaid credited)."""
    inst = order.institution
    accs = institution_accounts(inst, bank.pk)
    prepaid = LedgerAccount.objects.get(order_id=order.pk)
    return post(
        [
            PostingSpec(
                key=f"payment:{bank.pk}:{txn_id}",
                code=PostingCode.PAYMENT,
                legs=((accs[AccountKind.CUSTODY].pk, amount_fen), (prepaid.pk, -amount_fen)),
                institution_id=inst.pk,
                division_code=order.division_code,
                order_id=order.pk,
                bank_id=bank.pk,
            )
        ]
    )[0]


def _notify_paid(order: Order, amount_fen: int, *, actor) -> None:
    """The parent told, once the payment commits, that custody holds the money."""
    notify_on_commit(
        [order.parent_id],
        kind="order.paid",
        title=f"订单{order.pk}已缴费，资金由托管银行监管",
        body=f"{order.institution.name}：学员{order.learner_name}，缴费{format_yuan(amount_fen)}。"
        "课时消课后请及时确认。",
        link=reverse("portal:parent_order", args=[order.pk]),
        actor=actor,
        division_code=order.division_code,
        about=("funds.order", order.pk),
    )


def payment_refusal_log(
    *, bank_id: int | None, code: str, reason: str, body: bytes = b"", txn_id: str = ""
) -> None:
    """Keep a refused bank notification for the regulator (outside the refused write)."""
    notification_refuse(
        bank_id=bank_id, txn_id=txn_id, code=code, reason=reason, body=body.decode("utf-8", "replace")
    )
