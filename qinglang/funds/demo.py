"""Demo data for the demo county: a custody bank, custody accounts for whitelisted
institutions, some orders with payments, lessons and a refund."""

from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Sum

from qinglang.accounts.models import Membership, Role, User
from qinglang.accounts.permissions import system
from qinglang.registry.models import ApprovalStatus, Course, Institution

from . import services
from .models import (
    AccountKind,
    Bank,
    CustodyAccount,
    Entry,
    InstructionLine,
    Lesson,
    LessonStatus,
    Payment,
)
from .testing import term_input

ACTOR = system("demo")


def seed_district(*, county: str, rng, log) -> dict[str, int]:
    bank = _bank(county)
    counts = {"custody_accounts": 0, "orders": 0, "lessons": 0, "refunds": 0, "disputes": 0, "confirmed": 0}
    counts["custody_accounts"] = _custody_accounts(county, bank, rng)
    parent = _demo_parent()
    # institutions with their own users first: the demo institution's admin and staff then
    # have orders, lessons and a refund of their own to work on
    staffed = Membership.objects.filter(institution_id=OuterRef("institution_id"), active=True)
    accounts = list(
        CustodyAccount.objects.filter(division_code__startswith=county)
        .select_related("institution")
        .order_by(Exists(staffed).desc(), "id")[:15]
    )
    for acc in accounts:
        _orders_and_lessons(acc, bank, parent, rng, log, counts)
    counts["deemed"] = _deemed(accounts[:3], bank, parent, rng, log)
    counts["declarations"] = _declarations(
        CustodyAccount.objects.filter(division_code__startswith=county).order_by("id"), rng
    )
    counts["deposits"] = _deposits(accounts)
    counts["statement_differences"] = _statement(bank, rng, log)
    counts.update(_every_order_state(accounts, bank, parent, rng, log))
    counts["receipts"] = _receipts()
    return counts


def _bank(county: str) -> Bank:
    """The county's demo custody bank, registered on the first seed."""
    bank = Bank.objects.filter(code=f"DEMO{county}").first()
    if bank is None:
        bank, _ = services.bank_create(
            actor=ACTOR, code=f"DEMO{county}", name="成都银行武侯支行(托管)", division_code=county
        )
    return bank


def _custody_accounts(county: str, bank, rng) -> int:
    """Custody accounts at the bank for up to 40 whitelisted institutions that have none."""
    insts = list(
        Institution.objects.filter(
            division_code__startswith=county, whitelisted=True, custody_account__isnull=True
        ).order_by("id")[:40]
    )
    for i, inst in enumerate(insts):
        services.custody_account_open(
            actor=ACTOR,
            institution_id=inst.pk,
            bank_id=bank.pk,
            # a few in risk-deposit mode, so the console shows required against held
            mode="risk_deposit" if i % 10 == 9 else "bank_custody",
            account_number=f"6228{inst.pk:012d}",
            opened_on=date.today() - timedelta(days=rng.randint(30, 400)),
            required_deposit_fen=2_000_000 if i % 10 == 9 else 0,
        )
    return len(insts)


def _demo_parent() -> User:
    """The demo login "parent" (portal.demo.ensure_demo_users) owns the orders, so a
    visitor signing in as the demo parent sees orders in every state; a bare seed makes its
    own."""
    from qinglang.accounts.services import membership_grant, user_create

    parent = (
        User.objects.filter(username="parent", memberships__role=Role.PARENT).first()
        or User.objects.filter(username="demo-parent").first()
    )
    if parent is None:
        parent = user_create(
            actor=ACTOR,
            username="demo-parent",
            password="Qinglang-demo-2026",
            display_name="家长张女士",
            check_password=False,
        )
        membership_grant(actor=ACTOR, user=parent, role=Role.PARENT)
    return parent


def _demo_course(institution) -> Course | None:
    """The institution's first approved, priced course, if ten lessons of it cost at most
    5,000 yuan."""
    course = Course.objects.filter(
        institution=institution, approval_status=ApprovalStatus.APPROVED, unit_price_fen__gt=0
    ).first()
    if course is None or course.unit_price_fen * 10 > 500000:
        return None
    return course


def _orders_and_lessons(acc, bank, parent, rng, log, counts: dict[str, int]) -> None:
    """Two paid orders at the institution, each with a few lessons recorded; the parent
    confirms the first order's first lesson, asks for the second order's refund (three in
    all) and disputes a last lesson of the others (six in all)."""
    course = _demo_course(acc.institution)
    if course is None:
        return
    for k in range(2):
        try:
            order = services.order_create(
                actor=parent,
                data=term_input(
                    course,
                    learner_name=rng.choice(["张小明", "李思雨", "王子涵"]),
                    lessons=rng.randint(10, 30),
                ),
            )
            _pay(order, bank, rng, "张女士")
        except Exception as exc:
            log(f"funds demo: order skipped ({exc})")
            continue
        counts["orders"] += 1
        n = rng.randint(1, 5)
        services.lesson_batch_import(
            actor=ACTOR,
            institution_id=acc.institution_id,
            rows=[
                {"event_id": f"demo-{order.pk}-{i}", "order_id": order.pk, "given_at": _lesson_time()}
                for i in range(n)
            ],
        )
        counts["lessons"] += n
        recorded = Lesson.objects.filter(order=order, status=LessonStatus.RECORDED).order_by("id")
        if k == 0 and n > 1 and recorded.exists():  # the parent confirms the first lesson: its fee is posted
            services.lesson_confirm(actor=parent, lesson_id=recorded.first().pk)
            counts["confirmed"] = counts.get("confirmed", 0) + 1
        if k == 1 and counts["refunds"] < 3:
            services.refund_request(actor=parent, order_id=order.pk, reason="孩子时间冲突，申请退费")
            counts["refunds"] += 1
        elif counts["disputes"] < 6 and recorded.exists():
            _dispute(recorded.last(), parent, rng, counts)


def _dispute(lesson, parent, rng, counts: dict[str, int]) -> None:
    """The parent disputes the lesson; of the disputes, the regulator upholds one and
    rejects one in every three, the rest wait."""
    if lesson is None:
        return
    services.lesson_dispute(actor=parent, lesson_id=lesson.pk, reason=rng.choice(DISPUTE_REASONS))
    decision = {1: True, 2: False}.get(counts["disputes"] % 3)
    if decision is not None:
        services.dispute_decide(
            actor=ACTOR,
            lesson_id=lesson.pk,
            upheld=decision,
            reason="核实签到记录与监控" + ("，当日未上课" if decision else "，课程如期进行"),
        )
    counts["disputes"] += 1


def _pay(order, bank, rng, payer_name: str) -> None:
    """The custody bank's signed notification of the order's payment."""
    services.payment_record(
        actor=ACTOR,
        bank_id=bank.pk,
        txn_id=f"DEMO{order.pk}",
        order_id=order.pk,
        amount_fen=order.amount_fen,
        payer_account=f"62170038{rng.randint(10**7, 10**8 - 1)}",
        payer_account_name=payer_name,
        payer_bank=rng.choice(["中国建设银行成都分行", "成都银行武侯支行", "中国工商银行成都分行"]),
        signed=True,
    )


def _deemed(accounts, bank, parent, rng, log) -> int:
    """Orders bought six weeks ago whose lessons no parent answered: the deemed-confirm
    job posts them after ``lesson.parent_confirm_days`` working days."""
    from django.utils import timezone

    from .services.orders import latest_end_in_semester

    start = date.today() - timedelta(days=42)
    for acc in accounts:
        course = _demo_course(acc.institution)
        if course is None:
            continue
        div = course.institution.division_code
        try:
            order = services.order_create(
                actor=parent,
                data=services.OrderInput(
                    course_id=course.pk,
                    learner_name="刘一一",
                    lessons=10,
                    starts_on=start,
                    ends_on=latest_end_in_semester(div=div, starts_on=start, months=1),
                ),
                today=start,
            )
            _pay(order, bank, rng, "刘女士")
        except Exception as exc:
            log(f"funds demo: past order skipped ({exc})")
            continue
        given = timezone.make_aware(datetime(start.year, start.month, start.day, 16))
        services.lesson_batch_import(
            actor=ACTOR,
            institution_id=acc.institution_id,
            rows=[
                {
                    "event_id": f"demo-past-{order.pk}-{i}",
                    "order_id": order.pk,
                    "given_at": given + timedelta(days=i),
                }
                for i in range(3)
            ],
            now=given + timedelta(days=2, hours=2),
        )
    return services.lessons_deem_confirmed(actor=ACTOR)


DISPUTE_REASONS = ["当天老师请假停课，却记了消课", "孩子生病没去上课", "同一节课被记了两次"]


def _declarations(accounts, rng) -> int:
    """Weekly declarations for the last four weeks: each institution declares somewhat
    more than custody held at the end of that week (prepaid fees kept outside custody),
    so the coverage rate is below 100% and differs by township and department. Weeks in
    which custody held nothing for an institution (before its first order) are skipped."""
    from .services.indicators import week_end_instant

    n = 0
    monday = date.today() - timedelta(days=date.today().weekday())
    ids = [a.institution_id for a in accounts]
    for weeks_ago in range(4):
        week = monday - timedelta(days=7 * weeks_ago)
        held = dict(
            Entry.objects.filter(
                account__institution_id__in=ids,
                account__kind__in=[AccountKind.PREPAID, AccountKind.PENDING_RELEASE],
                posting__created_at__lt=week_end_instant(week),
            )
            .values("account__institution_id")
            .annotate(s=Sum("amount_fen"))
            .values_list("account__institution_id", "s")
        )
        for inst_id in ids:
            h = -(held.get(inst_id) or 0)
            if h <= 0:
                continue
            services.declaration_submit(
                actor=ACTOR,
                institution_id=inst_id,
                week_start=week,
                declared_fen=int(h * rng.uniform(1.0, 1.5)) // 100 * 100,
            )
            n += 1
    return n


def _deposits(accounts) -> int:
    """The local ratio for risk deposits, and a top-up for one of the risk-deposit
    institutions (the other stays short and cannot take new orders)."""
    from qinglang.core.services import policy_set

    risk = [a for a in accounts if a.mode == "risk_deposit"]
    if not risk:
        return 0
    county = risk[0].division_code[:6]
    policy_set(
        actor=ACTOR,
        key="custody.risk_deposit_ratio",
        division_code=county,
        value=0.2,
        basis="演示：区定风险保证金为预收费的20%，且不低于开户核定额",
    )
    acc = CustodyAccount.objects.get(pk=risk[0].pk)
    if acc.deposit_held_fen:  # seeded before
        return 0
    req = services.deposit_requirement(acc)
    services.deposit_record(
        actor=ACTOR,
        institution_id=acc.institution_id,
        amount_fen=req.required_fen,
        key="demo-initial",
        note="演示：首次足额缴存",
    )
    return 1


def _statement(bank, rng, log) -> int:
    """Today's instructions and a bank statement with a difference to resolve: one
    payment booked for a different amount, and one transaction the ledger does not know."""
    today = date.today()
    services.instructions_generate(actor=ACTOR, day=today)
    payments = list(Payment.objects.filter(bank=bank, paid_at__date=today).order_by("id"))
    if not payments:
        return 0
    lines = ["txn_id,direction,amount_fen"]
    for i, p in enumerate(payments):
        amount = p.amount_fen - 100 if i == 0 else p.amount_fen
        lines.append(f"{p.txn_id},in,{amount}")
    for ln in InstructionLine.objects.filter(bank_id=bank.pk, day=today):
        lines.append(f"{ln.ref},out,{ln.amount_fen}")
    lines.append(f"BANK{rng.randint(100000, 999999)},in,5000")
    out = services.statement_import(actor=ACTOR, bank_id=bank.pk, day=today, text="\n".join(lines) + "\n")
    return out["differences"]


def _every_order_state(accounts, bank, parent, rng, log) -> dict[str, int]:
    """The demo parent's orders in every state, with what parents keep: one waiting for
    payment (the page shows where to pay and the QR code), one cancelled, one completed,
    one refunded, one paid by a payment the bank's operator entered from a statement
    line, and the contract of the first order accepted."""
    from qinglang.accounts.models import Membership

    from .models import Order, OrderStatus, Refund, RefundStatus
    from .services.paying_in import payment_reference

    out = {"operator_entered": 0, "contracts_accepted": 0}
    course = next(
        (
            c
            for c in (_demo_course(acc.institution) for acc in accounts if acc.mode == "bank_custody")
            if c is not None
        ),
        None,
    )
    if course is None:
        return out
    try:
        services.order_create(actor=parent, data=term_input(course, learner_name="张小明", lessons=12))
        cancelled = services.order_create(
            actor=parent, data=term_input(course, learner_name="张小明", lessons=4)
        )
        services.order_cancel(actor=parent, order_id=cancelled.pk)
        done = services.order_create(actor=parent, data=term_input(course, learner_name="张小明", lessons=2))
        _pay(done, bank, rng, "张女士")
        services.lesson_batch_import(
            actor=ACTOR,
            institution_id=course.institution_id,
            rows=[
                {"event_id": f"demo-done-{done.pk}-{i}", "order_id": done.pk, "given_at": _lesson_time()}
                for i in range(2)
            ],
        )
        for lesson in Lesson.objects.filter(order=done).order_by("id"):
            services.lesson_confirm(actor=parent, lesson_id=lesson.pk)
        # the latest: the first, at the demo institution, waits for its admin's answer
        open_refund = (
            Refund.objects.filter(order__parent=parent, status=RefundStatus.REQUESTED).order_by("-id").first()
        )
        if open_refund is not None:
            services.refund_answer(actor=ACTOR, refund_id=open_refund.pk, agree=True, answer="同意退费")
        operator = (
            Membership.objects.filter(role=Role.BANK_OPERATOR, bank_id=bank.pk).select_related("user").first()
        )
        if operator is not None:
            entered = services.order_create(
                actor=parent, data=term_input(course, learner_name="张小明", lessons=6)
            )
            services.payment_enter(
                actor=operator.user,
                bank_id=bank.pk,
                reference=payment_reference(entered.pk),
                txn_id=f"STMT{entered.pk}",
                amount_fen=entered.amount_fen,
                paid_on=date.today(),
                note="演示：银行未发出到账通知，按当日对账单入账流水补录",
                payer_account="6217003800001234",
                payer_account_name="张女士",
                payer_bank="成都银行武侯支行",
            )
            out["operator_entered"] = 1
        first = (
            Order.objects.filter(parent=parent).exclude(status=OrderStatus.CANCELLED).order_by("id").first()
        )
        if first is not None:
            services.contract_accept(actor=parent, order_id=first.pk)
            out["contracts_accepted"] = 1
    except Exception as exc:
        log(f"funds demo: order states skipped ({exc})")
    out["order_states"] = len(set(Order.objects.filter(parent=parent).values_list("status", flat=True)))
    return out


def _receipts() -> int:
    """Receipts for every payment, posted lesson and refund seeded above."""
    from .models import Receipt

    services.receipts_issue_due()
    return Receipt.objects.count()


def _lesson_time():
    """When today's demo lessons were given: now, but no later than 16:00, so that a
    seed run late in the evening does not record lessons after the latest end of
    training (``training.latest_end_offline``), which subject courses refuse."""
    from django.utils import timezone

    now = timezone.localtime()
    return min(now, now.replace(hour=16, minute=0, second=0, microsecond=0))
