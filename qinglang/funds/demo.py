"""Demo data for the demo county: a custody bank, custody accounts for whitelisted
institutions, some orders with payments, lessons and a refund."""

from datetime import date, timedelta

from qinglang.accounts.models import Role, User
from qinglang.registry.models import ApprovalStatus, Course, Institution

from . import services
from .models import Bank, CustodyAccount

ACTOR = "system:demo"


def seed_district(*, county: str, rng, log) -> dict[str, int]:
    from qinglang.accounts.services import membership_grant, user_create

    bank = Bank.objects.filter(code=f"DEMO{county}").first()
    if bank is None:
        bank, _ = services.bank_create(
            actor=ACTOR, code=f"DEMO{county}", name="成都银行武侯支行(托管)", division_code=county
        )
    insts = list(
        Institution.objects.filter(
            division_code__startswith=county, whitelisted=True, custody_account__isnull=True
        ).order_by("id")[:40]
    )
    counts = {"custody_accounts": 0, "orders": 0, "lessons": 0, "refunds": 0}
    for inst in insts:
        services.custody_account_open(
            actor=ACTOR,
            institution_id=inst.pk,
            bank_id=bank.pk,
            mode="bank_custody",
            account_number=f"6228{inst.pk:012d}",
            opened_on=date.today() - timedelta(days=rng.randint(30, 400)),
        )
        counts["custody_accounts"] += 1
    parent = User.objects.filter(username="demo-parent").first()
    if parent is None:
        parent = user_create(
            actor=ACTOR,
            username="demo-parent",
            password="Qinglang-demo-2026",
            display_name="家长张女士",
            check_password=False,
        )
        membership_grant(actor=ACTOR, user=parent, role=Role.PARENT)
    accounts = list(
        CustodyAccount.objects.filter(division_code__startswith=county).select_related("institution")[:15]
    )
    for acc in accounts:
        course = Course.objects.filter(
            institution=acc.institution, approval_status=ApprovalStatus.APPROVED, unit_price_fen__gt=0
        ).first()
        if course is None or course.unit_price_fen * 10 > 500000:
            continue
        for k in range(2):
            try:
                order = services.order_create(
                    actor=parent,
                    data=services.OrderInput(
                        course_id=course.pk,
                        learner_name=rng.choice(["张小明", "李思雨", "王子涵"]),
                        lessons=rng.randint(10, 30),
                        starts_on=date.today(),
                    ),
                )
                services.payment_record(
                    actor=ACTOR,
                    bank_id=bank.pk,
                    txn_id=f"DEMO{order.pk}",
                    order_id=order.pk,
                    amount_fen=order.amount_fen,
                    signed=True,
                )
            except Exception as exc:
                log(f"funds demo: order skipped ({exc})")
                continue
            counts["orders"] += 1
            n = rng.randint(1, 5)
            services.lesson_batch_import(
                actor=ACTOR,
                institution_id=acc.institution_id,
                rows=[{"event_id": f"demo-{order.pk}-{i}", "order_id": order.pk} for i in range(n)],
            )
            counts["lessons"] += n
            if k == 1 and counts["refunds"] < 3:
                services.refund_request(actor=parent, order_id=order.pk, reason="孩子时间冲突，申请退费")
                counts["refunds"] += 1
    return counts
