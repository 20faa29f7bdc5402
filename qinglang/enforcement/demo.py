"""Demo data for the demo county: cases escalated from overdue rectification, one decided
and published as a typical case."""

from django.db import transaction

from qinglang.accounts.models import Role, User
from qinglang.enforcement import services
from qinglang.enforcement.models import PenaltyCase


def seed_district(*, county, rng, log) -> dict[str, int]:
    if PenaltyCase.objects.filter(division_code__startswith=county).exists():
        return {"cases": 0}
    admin = User.objects.filter(memberships__role=Role.PLATFORM_ADMIN).first()
    escalated = services.escalate_overdue_items(limit=200)
    case = PenaltyCase.objects.filter(division_code__startswith=county).order_by("id").first()
    published = 0
    if case is not None and admin is not None:
        with transaction.atomic():
            services.case_start_investigation(actor=admin, case_id=case.pk)
            services.case_decide(
                actor=admin,
                case_id=case.pk,
                penalties=[{"kind": "warning"}, {"kind": "stop_enrollment"}],
                reasoning="逾期拒不整改，依据《校外培训行政处罚暂行办法》给予警告并责令停止招收学员",
            )
            services.case_publish(
                actor=admin,
                case_id=case.pk,
                title="某培训机构逾期拒不整改被责令停止招生",
                summary="该机构在联合执法检查中被责令限期整改，逾期十个工作日仍未整改，经立案调查，依法给予警告并责令停止招收学员。",
            )
            published = 1
    log(f"enforcement: {escalated} case(s) from overdue rectification, {published} published")
    return {"cases": escalated, "typical_cases": published}
