"""Demo data for the demo county: cases escalated from overdue rectification, one decided
and published as a typical case; and a case from an inspection whose decision bans a
teacher from practice (限制从业), which puts the person on the registry's ban list."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Role, User
from qinglang.enforcement import services
from qinglang.enforcement.models import PenaltyCase
from qinglang.registry.models import InstitutionStatus, Staff, StaffRole

BAN_YEARS = 3


def _banned_teacher(county: str) -> Staff | None:
    """A serving teacher with a recorded resident ID at an operating institution of the
    county that is not whitelisted and has no case yet (so the ban changes no list)."""
    return (
        Staff.objects.filter(
            institution__division_code__startswith=county,
            institution__status=InstitutionStatus.ACTIVE,
            institution__whitelisted=False,
            left_on__isnull=True,
            role=StaffRole.TEACHER,
        )
        .exclude(resident_id_digest="")
        .exclude(institution_id__in=PenaltyCase.objects.values("institution_id"))
        .select_related("institution")
        .order_by("id")
        .first()
    )


def seed_practice_ban(*, admin: User, county: str) -> int:
    """立案 → 调查 → 决定: a warning for the institution and a practice ban for the teacher
    who ran disguised subject classes; the ban cites the decision. Returns the bans entered."""
    teacher = _banned_teacher(county)
    if teacher is None:
        return 0
    today = timezone.localdate()
    case = services.case_file(
        actor=admin,
        institution_id=teacher.institution_id,
        case_type="disguised_training",
        origin="inspection",
        facts=f"该机构教师{teacher.name}以“托管辅导”名义在居民住宅内组织义务教育阶段学科类培训",
    )
    services.case_start_investigation(actor=admin, case_id=case.pk, note="调取招生记录、询问家长")
    decision = services.case_decide(
        actor=admin,
        case_id=case.pk,
        penalties=[{"kind": "warning"}, {"kind": "practice_ban"}],
        reasoning="以托管名义变相开展学科类培训，依据《校外培训行政处罚暂行办法》第十八条给予警告，对直接责任人员限制从业",
        decided_on=today - timedelta(days=20),
        banned=[{"staff_id": teacher.pk}],
        ban_ends_on=today - timedelta(days=20) + timedelta(days=365 * BAN_YEARS),
    )
    return sum(1 for e in decision.effects if e["effect"] == "practice_ban")


def seed_district(*, county, rng, log) -> dict[str, int]:
    if PenaltyCase.objects.filter(division_code__startswith=county).exists():
        return {"cases": 0}
    admin = User.objects.filter(memberships__role=Role.PLATFORM_ADMIN).first()
    escalated = services.escalate_overdue_items(limit=200)
    case = PenaltyCase.objects.filter(division_code__startswith=county).order_by("id").first()
    published = bans = 0
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
    if admin is not None:
        with transaction.atomic():
            bans = seed_practice_ban(admin=admin, county=county)
    log(
        f"enforcement: {escalated} case(s) from overdue rectification, {published} published, "
        f"{bans} practice ban(s) decided"
    )
    return {"cases": escalated, "typical_cases": published, "practice_bans": bans}
