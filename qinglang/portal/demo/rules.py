"""Demo data of the rules in force (district scale), written through the services so that
it keeps their rules: approval applications in every state (draft, submitted, awaiting
correction, approved with the permit issued, refused, withdrawn, overdue), a person on
the practice-ban list (entered by another county's authority) whose hire was refused,
and training-hours violations. Disclosure gaps come with the generated institutions
(``generator.Generator``)."""

from __future__ import annotations

import contextlib
import random
from datetime import date, datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from qinglang.accounts.models import User
from qinglang.core.calendar import is_rest_day
from qinglang.core.errors import DomainError
from qinglang.registry import services
from qinglang.registry.models import Course, Institution, InstitutionStatus, Kind
from qinglang.registry.services.application_documents import DOC_LABELS

from .users import demo_institution
from .vocabulary import resident_id

PDF = b"%PDF-1.4\n% demo document\n"
BAN_COUNTY = "510104"  # 锦江区: another county of the same province decided the ban
BANNED_NAME = "张某某"
BANNED_DECISION = "锦公(治)行罚决字〔2026〕118号"


def _documents(kind: str, salt: str) -> dict:
    return {
        d: SimpleUploadedFile(f"{DOC_LABELS[d]}.pdf", PDF + f"{salt}-{d}".encode())
        for d in services.REQUIRED_DOCUMENTS[kind]
    }


def _establish(township: str, name: str, *, kind: str = "sports", **kw) -> dict:
    return {
        "name": name,
        "category": "non_subject",
        "kind": kind,
        "division_code": township,
        "address": f"{name}路{len(name)}号",
        "legal_representative": "陈刚",
        "site_area_sqm": 400,
        "planned_pupils": 120,
        "teachers": 8,
        "qualified_teachers": 3,
        **kw,
    }


def seed_applications(*, admin: User, organiser: User | None, township: str, today: date) -> dict[str, int]:
    """One application in each state, at the county's acceptance window (the platform
    admin stands in for the window and the department), plus the organiser's draft."""
    out: dict[str, int] = {}
    checks = {"fire_acceptance": True, "staff_ratio": True, "qualifications": True}

    def submit(name, salt, day=today, **kw):
        return services.application_submit(
            actor=admin,
            kind="establish",
            data=_establish(township, name, **kw),
            files=_documents("establish", salt),
            today=day,
        )

    out["submitted"] = submit("武侯跃动篮球培训中心", "a").pk
    corr = submit("武侯星河美术培训中心", "b", kind="arts")
    services.application_request_correction(
        actor=admin, application_id=corr.pk, note="消防验收意见书为复印件，请补充原件扫描件"
    )
    out["correcting"] = corr.pk
    ok = submit("武侯飞鱼游泳培训中心", "c", day=today - timedelta(days=10))
    services.application_decide(
        actor=admin,
        application_id=ok.pk,
        approve=True,
        reason="场地、消防、师资符合设置标准",
        checklist=checks,
        today=today - timedelta(days=3),
    )
    out["approved"] = ok.pk
    no = submit("武侯精英跆拳道俱乐部", "d", day=today - timedelta(days=12))
    services.application_decide(
        actor=admin,
        application_id=no.pk,
        approve=False,
        reason="教学用房位于地下室，不符合安全要求",
        today=today - timedelta(days=5),
    )
    out["rejected"] = no.pk
    late = submit("武侯童趣科创培训中心", "e", day=today - timedelta(days=45), kind="science_tech")
    out["overdue"] = late.pk
    gone = submit("武侯小蜜蜂舞蹈工作室", "f", kind="arts")
    services.application_withdraw(actor=admin, application_id=gone.pk, reason="举办者另行选址")
    out["withdrawn"] = gone.pk
    if organiser is not None:
        draft = services.application_draft_save(
            actor=organiser,
            kind="establish",
            data=_establish(township, "武侯晨曦武术培训中心", planned_pupils=""),
            files={"application_form": SimpleUploadedFile("申请书.pdf", PDF + b"draft")},
        )
        out["draft"] = draft.pk
    return out


def seed_practice_ban(*, admin: User, inst_admin: User | None, institution: Institution | None, today: date):
    """A person banned by another county's authority, and a refused hire in this one: the
    institution is told only "不符合从业条件"; the ban records the refusal."""
    rid = resident_id(random.Random(20261203))
    ban = services.practice_ban_enter(
        actor=admin,
        resident_id=rid,
        name=BANNED_NAME,
        authority="成都市公安局锦江区分局",
        decision_no=BANNED_DECISION,
        basis="《中华人民共和国未成年人保护法》第六十二条",
        division_code=BAN_COUNTY,
        starts_on=today - timedelta(days=200),
        source="other_authority",
    )
    if inst_admin is not None and institution is not None:
        with contextlib.suppress(DomainError):  # refused, as it must be; the ban keeps it
            services.staff_create(
                actor=inst_admin,
                institution_id=institution.pk,
                data={"name": BANNED_NAME, "resident_id": rid, "role": "teacher"},
            )
    return ban


def _evening(day: date, minutes: int) -> datetime:
    """A start so that a lesson of ``minutes`` ends at 21:15 (after 20:30 and 21:00)."""
    end = datetime.combine(day, time(21, 15))
    return timezone.make_aware(end - timedelta(minutes=minutes))


def seed_hours_violations(*, today: date, county: str, per_kind: int = 3) -> int:
    """Lessons recorded outside the allowed hours (late evenings for every kind, a rest
    day for subject courses): each leaves a violation record; subject ones are refused."""
    from qinglang.accounts.permissions import system

    actor = system("seed_demo")
    n = 0
    day = today - timedelta(days=1)
    rest = today - timedelta(days=1)
    while not is_rest_day(rest):
        rest -= timedelta(days=1)
    for kind in (Kind.SUBJECT, Kind.SPORTS, Kind.ARTS):
        courses = Course.objects.filter(
            kind=kind,
            institution__division_code__startswith=county,
            institution__status=InstitutionStatus.ACTIVE,
        ).order_by("id")[:per_kind]
        for i, c in enumerate(courses):
            starts = _evening(day - timedelta(days=7 * i), c.lesson_minutes)
            if kind == Kind.SUBJECT and i == 0:
                starts = timezone.make_aware(datetime.combine(rest, time(10, 0)))
            try:
                rows = services.lesson_hours_check(
                    actor=actor, course_id=c.pk, starts_at=starts, ref=f"demo-{c.pk}-{i}"
                )
                n += len(rows)
            except DomainError:
                n += 1  # a subject lesson refused, its record kept
    return n


def seed(*, today: date, county: str, township: str) -> dict:
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return {}
    inst_admin = User.objects.filter(username="inst-admin").first()
    out = {
        "applications": seed_applications(admin=admin, organiser=inst_admin, township=township, today=today),
        "ban": seed_practice_ban(
            admin=admin, inst_admin=inst_admin, institution=demo_institution(), today=today
        ).pk,
        "hours_violations": seed_hours_violations(today=today, county=county),
    }
    return out
