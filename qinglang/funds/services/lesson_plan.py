"""What one lesson does to its order, decided by one pure function that the single
(API) and the batch consumption paths share: whether it is refused, how much of the
order's prepaid fees it moves into a pending release (一课一消: the price of a lesson
waits in custody until the parent confirms), and what the order's counters and status
become. The paths keep only their own locking and writing."""

from dataclasses import dataclass

from qinglang.core.i18n import chinese_display
from qinglang.core.policy import policy_resolve

from ..models import ORDER_STATES, Order, OrderStatus

CONSUMABLE = {OrderStatus.PAID, OrderStatus.REFUND_REQUESTED}
STAGED_KEY = "custody.staged_release"


def staged_rule(division_code: str, memo: dict[str, list] | None = None) -> list:
    """``custody.staged_release`` in force for a division (memoised per call's orders)."""
    if memo is not None and division_code in memo:
        return memo[division_code]
    rule = policy_resolve(STAGED_KEY, division_code).value or []
    if memo is not None:
        memo[division_code] = rule
    return rule


def release_target(order: Order, consumed: int, stages: dict[str, list] | None = None) -> int:
    """How much of the order should have left its prepaid account (pending or posted)
    after ``consumed`` lessons under its release rule: ``per_lesson`` the unit price per
    lesson; ``staged`` follows ``custody.staged_release`` ([lessons numerator,
    denominator, percent] steps). Never more than paid minus refunded. ``stages``
    memoises the staged rule per division across one call's orders."""
    cap = order.paid_fen - order.refunded_fen
    if order.release_rule == "staged" and order.status != OrderStatus.REFUNDED:
        rule = staged_rule(order.division_code, {} if stages is None else stages)
        pct = sum(p for num, den, p in rule if consumed * den >= num * order.lessons)
        return min(cap, order.paid_fen * min(pct, 100) // 100)
    target = consumed * order.unit_price_fen
    return target if target < cap else cap


def refusal_of(order: Order | None, order_id: int) -> tuple[str, str] | None:
    """Why a lesson cannot be consumed against ``order`` (reason, code), or None."""
    if order is None:
        return f"订单 {order_id} 不存在或不属于本机构", "unknown_order"
    if order.status == OrderStatus.COMPLETED or (order.status in CONSUMABLE and order.lessons_remaining <= 0):
        return "已超过所购课时数", "no_lessons_left"
    if order.status not in CONSUMABLE:
        return f"订单状态为“{chinese_display(order, 'status')}”，不能消课", "order_not_active"
    return None


def date_refusal(order: Order, given_on) -> tuple[str, str] | None:
    """A lesson dated before the order's start or after its charge period is refused."""
    if order.starts_on and given_on < order.starts_on:
        return f"上课日期 {given_on} 早于订单开课日期 {order.starts_on}", "lesson_before_order"
    if order.ends_on and given_on > order.ends_on:
        return f"上课日期 {given_on} 晚于订单收费期截止 {order.ends_on}", "lesson_after_order"
    return None


@dataclass(frozen=True, slots=True)
class LessonPlan:
    """The outcome of one lesson: a refusal (reason, code), or the amount moved into
    pending and the order's counters and status afterwards."""

    refusal: tuple[str, str] | None
    amount: int = 0
    lessons_consumed: int = 0
    pending_fen: int = 0
    status: str = ""


def plan_lesson(
    order: Order | None, order_id: int, *, frozen: bool, given_on=None, stages: dict | None = None
) -> LessonPlan:
    """Pure: reads ``order`` (its counters as they stand, under the caller's lock),
    changes nothing. While releases are frozen a lesson moves nothing (the freeze's
    catch-up stages it on unfreeze)."""
    refusal = refusal_of(order, order_id)
    if refusal is None and given_on is not None:
        refusal = date_refusal(order, given_on)
    if refusal:
        return LessonPlan(refusal)
    consumed = order.lessons_consumed + 1
    amount = 0
    if not frozen:
        amount = release_target(order, consumed, stages) - order.released_fen - order.pending_fen
        amount = amount if amount > 0 else 0
    status = order.status
    if status == OrderStatus.PAID and order.lessons - consumed - order.lessons_refunded == 0:
        ORDER_STATES.check(status, OrderStatus.COMPLETED)
        status = OrderStatus.COMPLETED
    return LessonPlan(None, amount, consumed, order.pending_fen + amount, status)
