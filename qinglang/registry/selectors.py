"""Reads of the registry, each narrowed by ``restrict`` to what the user may see."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from qinglang.accounts.permissions import REGULATOR_WRITERS, has_role
from qinglang.accounts.scope import actor_for, restrict
from qinglang.core.errors import NotFound
from qinglang.core.models import AuditEvent
from qinglang.core.pagination import Page, keyset_values_page

from .models import (
    Course,
    CourseSlot,
    HoursViolation,
    Institution,
    InstitutionStatus,
    InstitutionTransition,
    Licence,
    ListEntry,
    ListKind,
    PracticeBan,
    Site,
    Staff,
    TrainingMaterial,
)
from .search import name_search_q


@dataclass(frozen=True)
class InstitutionFilter:
    division: str = ""
    category: str = ""
    kind: str = ""
    status: str = ""
    licence_status: str = ""
    whitelisted: bool | None = None
    blacklisted: bool | None = None
    q: str = ""


def apply_institution_filter(qs: QuerySet, f: InstitutionFilter) -> QuerySet:
    if f.division:
        qs = qs.filter(division_code__startswith=f.division)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.licence_status:
        qs = qs.filter(licence_status=f.licence_status)
    if f.whitelisted is not None:
        qs = qs.filter(whitelisted=f.whitelisted)
    if f.blacklisted is not None:
        qs = qs.filter(blacklisted=f.blacklisted)
    if f.q and f.q.strip():
        qs = qs.filter(name_search_q(f.q))
    return qs


def institution_list(*, actor, filters: InstitutionFilter | None = None) -> QuerySet:
    qs = restrict(Institution.objects.all(), actor, regulator_department=False)
    return apply_institution_filter(qs, filters or InstitutionFilter()).select_related("competent_department")


def institution_page(*, actor, filters: InstitutionFilter, fields: tuple[str, ...], cursor, limit) -> Page:
    """A cursor page of ``institution_list`` as ``.values(*fields)`` rows — the API's hot
    list, with its compiled statement kept per (scope, filters, fields)."""
    key = ("registry.institution_list", actor_for(actor).signature(), filters, fields)
    return keyset_values_page(
        key,
        lambda: institution_list(actor=actor, filters=filters).values(*fields),
        cursor=cursor,
        limit=limit,
    )


def institution_get(*, actor, institution_id: int) -> Institution:
    inst = institution_list(actor=actor).filter(pk=institution_id).first()
    if inst is None:
        raise NotFound(_("机构"))
    return inst


def institution_counts(*, actor) -> dict:
    """Key counts for the console home, in one query."""
    qs = restrict(Institution.objects.all(), actor, regulator_department=False)
    return qs.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=InstitutionStatus.ACTIVE)),
        whitelisted=Count("id", filter=Q(whitelisted=True)),
        blacklisted=Count("id", filter=Q(blacklisted=True)),
        fully_licensed=Count("id", filter=Q(licence_status="fully_licensed")),
        unlicensed=Count("id", filter=Q(licence_status="unlicensed")),
        subject=Count("id", filter=Q(category="subject")),
    )


def _children(model, *, actor, institution_id: int) -> QuerySet:
    institution_get(actor=actor, institution_id=institution_id)  # 404 outside scope
    return restrict(model.objects.filter(institution_id=institution_id), actor, regulator_department=False)


def licence_list(*, actor, institution_id: int) -> QuerySet:
    return _children(Licence, actor=actor, institution_id=institution_id).order_by("kind")


def site_list(*, actor, institution_id: int) -> QuerySet:
    return _children(Site, actor=actor, institution_id=institution_id)


def staff_list(*, actor, institution_id: int) -> QuerySet:
    return _children(Staff, actor=actor, institution_id=institution_id)


def course_list(*, actor, institution_id: int) -> QuerySet:
    return _children(Course, actor=actor, institution_id=institution_id)


def material_list(*, actor, institution_id: int) -> QuerySet:
    return _children(TrainingMaterial, actor=actor, institution_id=institution_id)


def status_history(*, actor, institution_id: int) -> QuerySet:
    return _children(InstitutionTransition, actor=actor, institution_id=institution_id)


def list_entries(*, actor, kind: str, open_only: bool = True) -> QuerySet:
    qs = restrict(ListEntry.objects.filter(list_kind=kind), actor).select_related("institution")
    return qs.filter(removed_on__isnull=True) if open_only else qs


def institution_history(*, actor, institution_id: int) -> QuerySet:
    """The institution's history from the audit trail: its own events and its children's."""
    inst = institution_get(actor=actor, institution_id=institution_id)
    q = Q(object_type="registry.institution", object_id=str(inst.pk))
    for rel, label in (
        (inst.licences, "registry.licence"),
        (inst.sites, "registry.site"),
        (inst.staff, "registry.staff"),
        (inst.courses, "registry.course"),
        (inst.materials, "registry.trainingmaterial"),
    ):
        ids = [str(pk) for pk in rel.values_list("pk", flat=True)]
        if ids:
            q |= Q(object_type=label, object_id__in=ids)
    return AuditEvent.objects.filter(q).order_by("-seq")


def staff_may_see_resident_id(*, actor) -> bool:
    """Full ID numbers are for the platform admin and regulators (leader/officer) only."""
    return has_role(actor, REGULATOR_WRITERS)


# --- public reads (no login): whitelist, disclosure board, blacklist --------------------

PUBLIC_FIELDS = [
    "id",
    "name",
    "category",
    "kind",
    "division_code",
    "address",
    "mode",
    "licence_status",
    "whitelisted",
]


def public_whitelist_search(
    *, q: str = "", division: str = "", category: str = "", kind: str = ""
) -> QuerySet:
    qs = Institution.objects.filter(whitelisted=True, status=InstitutionStatus.ACTIVE)
    return apply_institution_filter(
        qs, InstitutionFilter(division=division, category=category, kind=kind, q=q)
    )


def public_whitelist_page(*, filters: InstitutionFilter, fields: tuple[str, ...], cursor, limit) -> Page:
    """A cursor page of the public whitelist search (statement kept per filters)."""
    f = filters
    key = ("registry.public_whitelist", f, fields)
    return keyset_values_page(
        key,
        lambda: public_whitelist_search(q=f.q, division=f.division, category=f.category, kind=f.kind).values(
            *fields
        ),
        cursor=cursor,
        limit=limit,
        max_limit=100,
    )


def public_institution_get(*, institution_id: int) -> Institution:
    """The public page shows whitelisted and blacklisted institutions only."""
    inst = Institution.objects.filter(Q(whitelisted=True) | Q(blacklisted=True), pk=institution_id).first()
    if inst is None:
        raise NotFound(_("机构"))
    return inst


def public_blacklist() -> QuerySet:
    return (
        ListEntry.objects.filter(list_kind=ListKind.BLACK, removed_on__isnull=True)
        .select_related("institution")
        .order_by("-decided_on", "-id")
    )


@dataclass
class Disclosure:
    """What an institution's public disclosure board (办学信息公示) may show: current
    licences by kind, serving teachers, approved courses and materials, active sites."""

    licences: dict
    teachers: QuerySet
    courses: QuerySet
    materials: QuerySet
    sites: QuerySet


def public_disclosure(*, institution_id: int) -> Disclosure:
    inst = public_institution_get(institution_id=institution_id)
    return Disclosure(
        licences={lic.kind: lic for lic in inst.licences.filter(revoked=False)},
        teachers=inst.staff.filter(role="teacher", left_on__isnull=True).order_by("id"),
        courses=inst.courses.filter(approval_status="approved").order_by("id"),
        materials=inst.materials.filter(status="approved").order_by("id"),
        sites=inst.sites.filter(active=True),
    )


def course_get(*, actor, course_id: int) -> Course:
    c = restrict(Course.objects.filter(pk=course_id), actor, regulator_department=False).first()
    if c is None:
        raise NotFound(_("课程"))
    return c


def slot_list(*, actor, course_id: int) -> QuerySet:
    course_get(actor=actor, course_id=course_id)
    return CourseSlot.objects.filter(course_id=course_id).select_related("teacher", "course")


def hours_violations(*, actor, institution_id: int) -> QuerySet:
    return _children(HoursViolation, actor=actor, institution_id=institution_id).select_related("course")


def practice_bans(*, actor) -> QuerySet:
    """The practice-ban list: regulators of the division that entered it and above, and
    the platform admin. Institutions see none of it (restrict gives them nothing)."""
    return restrict(PracticeBan.objects.all(), actor, regulator_department=False)


def practice_ban_get(*, actor, ban_id: int) -> PracticeBan:
    b = practice_bans(actor=actor).filter(pk=ban_id).first()
    if b is None:
        raise NotFound(_("限制从业记录"))
    return b


def disclosure_gap_list(*, actor, limit: int = 500) -> list[tuple[Institution, list[str]]]:
    """Active institutions in scope whose board misses a required item (console list),
    computed for all of them at once (``disclosure_gaps_many``: a fixed number of queries)."""
    from .services.disclosure import disclosure_gaps_many

    qs = restrict(Institution.objects.filter(status="active"), actor, regulator_department=False)
    gaps = disclosure_gaps_many(qs)
    first = sorted(gaps)[:limit]
    insts = Institution.objects.in_bulk(first)
    return [(insts[i], gaps[i]) for i in first]


def application_list(*, actor) -> QuerySet:
    """Applications in scope: a department's officers see their department's; leaders of
    the division all; an institution its own."""
    from qinglang.accounts.scope import scope_q

    from .models import Application, ApplicationStatus

    qs = Application.objects.select_related("department", "institution")
    q = scope_q(Application, actor)
    uid = getattr(actor, "pk", None)
    mine = Q(submitted_by_id=uid) if uid else Q(pk__in=[])
    if q is not None:
        # an organiser follows the establishment application it submitted
        qs = qs.filter(q | mine)
    # a draft is the applicant's alone
    return qs.exclude(Q(status=ApplicationStatus.DRAFT) & ~mine)


def application_get(*, actor, application_id: int):
    a = application_list(actor=actor).filter(pk=application_id).first()
    if a is None:
        raise NotFound(_("申请"))
    return a


def approvals_overview(*, actor) -> dict:
    """The console's figures: 营转非 completion rate of subject-type institutions in scope
    and the applications pending per department with their nearest deadline."""
    from django.db.models import Min
    from django.utils import timezone

    from .models import ApplicationStatus, NonprofitConversion

    insts = restrict(Institution.objects.filter(category="subject"), actor, regulator_department=False)
    conv = insts.aggregate(
        done=Count("id", filter=Q(nonprofit_conversion=NonprofitConversion.COMPLETED)),
        pending=Count("id", filter=Q(nonprofit_conversion=NonprofitConversion.PENDING)),
    )
    total = conv["done"] + conv["pending"]
    today = timezone.localdate()
    pending = (
        application_list(actor=actor)
        .filter(status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.CORRECTING])
        .values("department__name", "department__division__name")
        .annotate(
            n=Count("id"),
            nearest=Min("due_on"),
            overdue=Count("id", filter=Q(due_on__lt=today, status=ApplicationStatus.SUBMITTED)),
        )
        .order_by("nearest")
    )
    return {
        "conversion_done": conv["done"],
        "conversion_total": total,
        "conversion_rate": (conv["done"] / total) if total else None,
        "pending": list(pending),
    }
