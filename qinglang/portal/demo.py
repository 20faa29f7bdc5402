"""Demo data (演示数据): a realistic county for ``make run`` and streamed national-scale
data for benchmarks.

``seed(scale=...)`` generates institutions with licences, sites, staff, courses, training
materials and white/black list entries, and a demo user for every role. Generated rows are
written set-based (``bulk_create``, or ``COPY`` on PostgreSQL) in chunks, one transaction
per chunk, so memory stays bounded at any scale. Derived fields follow the services'
rules: the licence status is what ``derive_licence_status`` gives for the licences written,
the competent department is the one ``competent_department_for`` gives, and only fully
licensed, active institutions are whitelisted (never also blacklisted).
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from qinglang.accounts.models import Membership, Role, User
from qinglang.accounts.permissions import system
from qinglang.accounts.services import membership_grant, user_create
from qinglang.core import bulk
from qinglang.core.audit import Entry, audit_record, audit_record_many
from qinglang.core.crypto import blind_index, encrypt
from qinglang.core.models import Department, DepartmentKind, Division, DivisionLevel
from qinglang.core.services import COUNTY_KINDS, department_ensure_for_division
from qinglang.core.validators import mask_resident_id
from qinglang.registry import public_cache
from qinglang.registry.models import (
    ApprovalStatus,
    Course,
    DisclosureItem,
    DisclosureNote,
    Institution,
    InstitutionCategory,
    InstitutionStatus,
    Kind,
    Licence,
    LicenceKind,
    LicenceStatus,
    ListEntry,
    ListKind,
    MaterialStatus,
    Nature,
    Site,
    Staff,
    StaffRole,
    Stage,
    TrainingMaterial,
)
from qinglang.registry.search import search_text_for
from qinglang.registry.services.institutions import derive_licence_status
from qinglang.registry.supervision import KIND_TO_DEPARTMENT

ACTOR = system("seed_demo")
DEMO_COUNTY = "510107"  # 四川省成都市武侯区
DEMO_TOWNSHIP = "510107001"  # 浆洗街街道
DEMO_PASSWORD = "Qinglang-demo-2026"

# scale → (where, about how many institutions)
SCALES: dict[str, tuple[str, int]] = {
    "district": (DEMO_COUNTY, 300),
    "city": ("5101", 6_000),
    "province": ("51", 50_000),
    "national": ("", 500_000),
}
# At these scales only every DETAIL_EVERY-th institution gets staff, courses and materials,
# and the audit trail gets one event per chunk instead of one per institution.
LARGE_SCALES = {"province", "national"}
DETAIL_EVERY = 25
GENERATED_TOWNSHIPS = 10

# (username, role, display name, scope description) — see ``ensure_demo_users``
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", Role.PLATFORM_ADMIN, "平台管理员"),
    ("leader", Role.REGULATOR_LEADER, "武侯区教育局 监管领导"),
    ("officer", Role.REGULATOR_OFFICER, "武侯区教育局 监管人员"),
    ("inspector", Role.INSPECTOR, "武侯区教育局 执法检查人员"),
    ("grid", Role.GRID_WORKER, "浆洗街街道 网格员"),
    ("inst-admin", Role.INSTITUTION_ADMIN, "机构管理员"),
    ("inst-staff", Role.INSTITUTION_STAFF, "机构工作人员"),
    ("bank", Role.BANK_OPERATOR, "托管银行操作员"),
    ("parent", Role.PARENT, "家长"),
]

KIND_WEIGHTS = [
    (Kind.SUBJECT, 8),
    (Kind.SPORTS, 22),
    (Kind.ARTS, 30),
    (Kind.SCIENCE_TECH, 14),
    (Kind.PRACTICE, 14),
    (Kind.MEAL_CARE, 12),
]
KIND_CATEGORY = {
    Kind.SUBJECT: InstitutionCategory.SUBJECT,
    Kind.MEAL_CARE: InstitutionCategory.MEAL_CARE,
    Kind.SPORTS: InstitutionCategory.NON_SUBJECT,
    Kind.ARTS: InstitutionCategory.NON_SUBJECT,
    Kind.SCIENCE_TECH: InstitutionCategory.NON_SUBJECT,
    Kind.PRACTICE: InstitutionCategory.NON_SUBJECT,
}
KIND_WORDS = {
    Kind.SUBJECT: ["学科辅导", "课外辅导", "文化课辅导", "英语", "数学思维"],
    Kind.SPORTS: ["篮球", "足球", "游泳", "跆拳道", "武术", "体能", "乒乓球", "羽毛球"],
    Kind.ARTS: ["美术", "书法", "舞蹈", "钢琴", "声乐", "艺术", "围棋", "播音主持"],
    Kind.SCIENCE_TECH: ["编程", "机器人", "科创", "航模", "人工智能"],
    Kind.PRACTICE: ["研学", "综合实践", "素质拓展", "自然探索"],
    Kind.MEAL_CARE: ["小饭桌", "课后托管", "午托"],
}
SUFFIXES = ["培训学校", "培训中心", "教育中心", "艺术中心", "俱乐部", "工作室", "学堂"]
SUFFIX_BY_KIND = {
    Kind.SUBJECT: ["培训学校", "培训中心", "学堂"],
    Kind.SPORTS: ["培训中心", "俱乐部", "运动馆"],
    Kind.ARTS: ["培训学校", "艺术中心", "工作室", "培训中心"],
    Kind.SCIENCE_TECH: ["培训中心", "科技中心", "工作室"],
    Kind.PRACTICE: ["教育中心", "营地", "培训中心"],
    Kind.MEAL_CARE: ["托管中心", "小饭桌"],
}
SUBJECTS = ["语文", "数学", "英语", "物理", "化学"]
LICENCE_WEIGHTS = [
    (LicenceStatus.FULLY_LICENSED, 62),
    (LicenceStatus.PERMIT_ONLY, 10),
    (LicenceStatus.LICENSE_ONLY, 16),
    (LicenceStatus.UNLICENSED, 12),
]
STATUS_WEIGHTS = [
    (InstitutionStatus.ACTIVE, 86),
    (InstitutionStatus.SUSPENDED, 4),
    (InstitutionStatus.STOP_ENROLLMENT, 3),
    (InstitutionStatus.CLOSED, 4),
    (InstitutionStatus.BANNED, 2),
    (InstitutionStatus.RUNAWAY, 1),
]
STAGE_LABELS = dict(Stage.choices)
# what the demo institutions publish on their boards (licences come from the registry)
DISCLOSURE_TEXTS = {
    DisclosureItem.TEACHERS: "专职教师均持证上岗，名单见前台公示栏",
    DisclosureItem.FEES: "按课时收费，一次收费不超过3个月或60课时，收费标准经备案",
    DisclosureItem.CONTENT: "课程内容与培训计划已备案，按备案内容开展培训",
    DisclosureItem.SAFETY: "消防设施定期检查，安全责任人：机构负责人，应急电话见门口",
    DisclosureItem.CUSTODY: "学员预收费全部进入监管银行托管账户，一课一消",
}
# birthplace codes for generated resident IDs (Sichuan counties that existed since 1990)
ID_AREAS = ["510104", "510105", "510106", "510107", "510108", "510112", "510113", "510114"]


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def resident_id(rng: random.Random) -> str:
    """A valid 公民身份号码 (GB 11643): real birthplace code, birth date, check digit."""
    from stdnum.cn import ric

    while True:
        born = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 32 * 365))
        body = f"{rng.choice(ID_AREAS)}{born:%Y%m%d}{rng.randrange(1, 999):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number


def uscc_for(n: int, division_code: str, non_profit: bool) -> str:
    """A valid 统一社会信用代码 unique by ``n`` (民办非企业 52…, 企业 91…)."""
    from stdnum.cn import uscc

    body = f"{'52' if non_profit else '91'}{division_code[:6]}{'MH' if non_profit else 'MB'}{n % 10**7:07d}"
    return body + uscc.calc_check_digit(body + "0")


class Pools:
    """Name pools drawn once from Faker (zh_CN); rows then pick from them cheaply."""

    def __init__(self, seed: int):
        from faker import Faker

        fk = Faker("zh_CN")
        fk.seed_instance(seed)
        self.brands = sorted({fk.company_prefix() for _ in range(600)})
        self.people = [fk.name() for _ in range(3000)]
        self.streets = sorted({fk.street_name() for _ in range(800)})
        self.publishers = [
            "人民教育出版社",
            "北京师范大学出版社",
            "四川教育出版社",
            "自编讲义",
            "人民音乐出版社",
        ]


@dataclass
class Place:
    county: str
    county_name: str
    township: str
    township_name: str
    communities: list[str]


@dataclass
class Batch:
    """Rows of one chunk, by table, ready for COPY or bulk_create."""

    institution: list[dict] = field(default_factory=list)
    licence: list[dict] = field(default_factory=list)
    site: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    course: list[dict] = field(default_factory=list)
    material: list[dict] = field(default_factory=list)
    listentry: list[dict] = field(default_factory=list)
    disclosure: list[dict] = field(default_factory=list)


TABLES = [
    ("institution", Institution),
    ("licence", Licence),
    ("site", Site),
    ("staff", Staff),
    ("course", Course),
    ("material", TrainingMaterial),
    ("listentry", ListEntry),
    ("disclosure", DisclosureNote),
]


@dataclass
class Stats:
    institutions: int = 0
    rows: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    counts: dict = field(default_factory=dict)
    rules: dict = field(default_factory=dict)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Generator:
    def __init__(self, *, seed: int, today: date, dept: dict[tuple[str, str], int], details: bool):
        self.rng = random.Random(seed)
        self.pools = Pools(seed)
        self.today = today
        self.now = datetime.now(UTC)
        self.dept = dept
        self.details_every = 1 if details else DETAIL_EVERY
        self.forced = 0  # first institutions cycle through every kind / state / status

    def institution(self, iid: int, place: Place, b: Batch) -> None:
        rng, p, today = self.rng, self.pools, self.today
        i = self.forced
        self.forced += 1
        kind = KIND_WEIGHTS[i][0] if i < len(KIND_WEIGHTS) else _weighted(rng, KIND_WEIGHTS)
        lic_state = LICENCE_WEIGHTS[i % 4][0] if i < 8 else _weighted(rng, LICENCE_WEIGHTS)
        status = STATUS_WEIGHTS[i - 8][0] if 8 <= i < 14 else _weighted(rng, STATUS_WEIGHTS)
        if status in (InstitutionStatus.BANNED, InstitutionStatus.RUNAWAY) and i >= 14 and rng.random() < 0.7:
            lic_state = LicenceStatus.UNLICENSED  # 取缔 is mostly of unlicensed operators
        category = KIND_CATEGORY[kind]
        non_profit = category == InstitutionCategory.SUBJECT or rng.random() < 0.08
        word = rng.choice(KIND_WORDS[kind])
        brand = rng.choice(p.brands)
        name = f"{place.county_name[:2]}{brand}{word}{rng.choice(SUFFIX_BY_KIND[kind])}"
        # unlicensed operators have no registration (hence no credit code)
        uscc = uscc_for(iid, place.county, non_profit) if lic_state != LicenceStatus.UNLICENSED else None
        founded = today - timedelta(days=rng.randrange(200, 6000))
        address = f"{place.township_name}{rng.choice(p.streets)}{rng.randrange(1, 400)}号"
        if kind == Kind.SUBJECT:
            stages = rng.choice(["primary", "junior", "primary,junior"])
        elif kind == Kind.MEAL_CARE:
            stages = "primary"
        else:
            stages = ",".join(s for s in Stage.values if rng.random() < 0.5) or "primary"

        # licences, so that derive_licence_status gives lic_state
        licences: list[dict] = []
        lic_kinds: list[str] = []
        if lic_state in (LicenceStatus.FULLY_LICENSED, LicenceStatus.PERMIT_ONLY):
            lic_kinds.append(LicenceKind.SCHOOL_PERMIT)
        if lic_state in (LicenceStatus.FULLY_LICENSED, LicenceStatus.LICENSE_ONLY):
            lic_kinds.append(
                LicenceKind.NONPROFIT_REGISTRATION if non_profit else LicenceKind.BUSINESS_LICENSE
            )
        if kind == Kind.MEAL_CARE and lic_state != LicenceStatus.UNLICENSED:
            lic_kinds.append(LicenceKind.FOOD_LICENCE)
        for lk in lic_kinds:
            start = today - timedelta(days=rng.randrange(30, 1500))
            until = (
                None
                if lk == LicenceKind.BUSINESS_LICENSE
                else today + timedelta(days=rng.randrange(60, 1500))
            )
            licences.append(self._licence(iid, lk, uscc, place, start, until))
        if lic_state == LicenceStatus.PERMIT_ONLY and rng.random() < 0.4:
            # a lapsed registration certificate: still 有证无照
            start = today - timedelta(days=rng.randrange(1500, 3000))
            licences.append(
                self._licence(
                    iid,
                    LicenceKind.NONPROFIT_REGISTRATION,
                    uscc,
                    place,
                    start,
                    today - timedelta(days=rng.randrange(1, 300)),
                )
            )
        assert (
            derive_licence_status(
                [
                    Licence(kind=x["kind"], valid_from=x["valid_from"], valid_until=x["valid_until"])
                    for x in licences
                ],
                today,
            )
            == lic_state
        )

        blacklisted = status in (InstitutionStatus.BANNED, InstitutionStatus.RUNAWAY) and (
            i < 14 or rng.random() < 0.75
        )
        whitelisted = (
            lic_state == LicenceStatus.FULLY_LICENSED
            and status == InstitutionStatus.ACTIVE
            and not blacklisted
            and (i < 14 or rng.random() < 0.85)
        )
        contact = rng.choice(p.people)
        b.institution.append(
            {
                "id": iid,
                "name": name,
                "registered_name": (
                    f"{place.county_name}{brand}{word}{'培训学校' if non_profit else '教育科技有限公司'}"
                    if uscc
                    else ""
                ),
                "uscc": uscc,
                "legal_representative": rng.choice(p.people),
                "contact_name": contact,
                "contact_phone": f"1{rng.choice('35789')}{rng.randrange(10**8, 10**9)}",
                "category": category,
                "kind": kind,
                "stages": stages,
                "mode": "online" if rng.random() < 0.05 else "offline",
                "nature": Nature.NON_PROFIT if non_profit else Nature.FOR_PROFIT,
                "nonprofit_conversion": "completed"
                if category == InstitutionCategory.SUBJECT
                else "not_applicable",
                "division_code": place.township,
                "address": address,
                "competent_department_id": self.dept.get((place.county, KIND_TO_DEPARTMENT[kind])),
                "competent_department_overridden": False,
                "licence_status": lic_state,
                "status": status,
                "whitelisted": whitelisted,
                "blacklisted": blacklisted,
                "party_organisation": rng.random() < 0.3,
                "party_charter_clause": rng.random() < 0.25,
                "search_text": "",
                "founded_on": founded,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        row = b.institution[-1]
        row["search_text"] = search_text_for(row["name"], row["registered_name"], row["uscc"])
        b.licence.extend(licences)
        decided = today - timedelta(days=rng.randrange(1, 400))
        if whitelisted:
            b.listentry.append(
                self._entry(iid, ListKind.WHITE, "证照齐全、正常办学，经审核列入白名单", decided)
            )
        if blacklisted:
            reason = (
                "无证无照违规办学，已依法取缔"
                if status == InstitutionStatus.BANNED
                else "预收费后停止办学、拒不退费(卷款跑路)"
            )
            b.listentry.append(self._entry(iid, ListKind.BLACK, reason, decided))

        for s in range(1 if rng.random() < 0.8 else 2):
            b.site.append(
                {
                    "institution_id": iid,
                    "name": name if s == 0 else f"{name}（{rng.choice(p.streets)}校区）",
                    "address": address
                    if s == 0
                    else f"{place.township_name}{rng.choice(p.streets)}{rng.randrange(1, 400)}号",
                    "division_code": rng.choice(place.communities) if place.communities else place.township,
                    "area_sqm": rng.randrange(80, 1500),
                    "is_primary": s == 0,
                    "active": status
                    in (
                        InstitutionStatus.ACTIVE,
                        InstitutionStatus.STOP_ENROLLMENT,
                        InstitutionStatus.SUSPENDED,
                    ),
                }
            )
        if i % self.details_every == 0:
            self._details(iid, kind, b)
        if status == InstitutionStatus.ACTIVE:
            self._disclosures(iid, whitelisted, b)

    def _disclosures(self, iid: int, whitelisted: bool, b: Batch) -> None:
        """What an active institution publishes on its board: every item when whitelisted
        (a gap bars the whitelist), most items for the rest, so that some have gaps.
        (Its own generator, so that the other rows stay as they were.)"""
        rng = random.Random(iid * 7919)
        items = list(DISCLOSURE_TEXTS)
        if not whitelisted and rng.random() < 0.5:
            for _ in range(rng.randrange(1, 4)):
                items.remove(rng.choice(items))
        for item in items:
            b.disclosure.append(
                {"institution_id": iid, "item": item, "text": DISCLOSURE_TEXTS[item], "updated_at": self.now}
            )

    def _licence(self, iid, lk, uscc, place, start, until) -> dict:
        rng = self.rng
        if lk == LicenceKind.SCHOOL_PERMIT:
            number, issuer = (
                f"教民{place.county}{rng.randrange(10**9, 10**10)}号",
                f"{place.county_name}教育局",
            )
        elif lk == LicenceKind.FOOD_LICENCE:
            number, issuer = f"JY{rng.randrange(10**13, 10**14)}", f"{place.county_name}市场监督管理局"
        elif lk == LicenceKind.BUSINESS_LICENSE:
            number, issuer = uscc or f"{rng.randrange(10**14, 10**15)}", f"{place.county_name}市场监督管理局"
        else:
            number, issuer = uscc or f"{rng.randrange(10**14, 10**15)}", f"{place.county_name}民政局"
        return {
            "institution_id": iid,
            "kind": lk,
            "number": number,
            "issuer": issuer,
            "valid_from": start,
            "valid_until": until,
            "revoked": False,
        }

    def _entry(self, iid, kind, reason, day) -> dict:
        return {
            "institution_id": iid,
            "list_kind": kind,
            "reason": reason,
            "decided_on": day,
            "decided_by_id": None,
            "decided_by_label": ACTOR,
            "removed_on": None,
            "removed_reason": "",
            "created_at": self.now,
        }

    def _details(self, iid: int, kind: str, b: Batch) -> None:
        rng, p, today = self.rng, self.pools, self.today
        seen: set[str] = set()
        for s in range(rng.randrange(2, 7)):
            rid = resident_id(rng)
            if rid in seen:
                continue
            seen.add(rid)
            role = (
                StaffRole.MANAGER
                if s == 0
                else (StaffRole.TEACHER if rng.random() < 0.85 else StaffRole.OTHER)
            )
            teaches = kind == Kind.SUBJECT and role == StaffRole.TEACHER
            qualified = role == StaffRole.TEACHER and (not teaches or rng.random() < 0.8)
            hired = today - timedelta(days=rng.randrange(10, 2500))
            b.staff.append(
                {
                    "institution_id": iid,
                    "name": rng.choice(p.people),
                    "resident_id_encrypted": encrypt(rid),
                    "resident_id_digest": blind_index(rid),
                    "resident_id_masked": mask_resident_id(rid),
                    "role": role,
                    "teaches_subject": teaches,
                    "subjects": rng.choice(SUBJECTS) if teaches else "",
                    "teacher_qualification_no": f"{rng.randrange(2005, 2024)}{rid[:6]}{rng.randrange(10**6, 10**7)}"
                    if qualified
                    else "",
                    "background_check_on": hired - timedelta(days=rng.randrange(1, 30))
                    if rng.random() < 0.9
                    else None,
                    "hired_on": hired,
                    "left_on": today - timedelta(days=rng.randrange(1, 9)) if rng.random() < 0.05 else None,
                }
            )
        for _ in range(rng.randrange(1, 5)):
            stage = rng.choice(["primary", "junior"] if kind == Kind.SUBJECT else Stage.values)
            word = rng.choice(KIND_WORDS[kind])
            b.course.append(
                {
                    "institution_id": iid,
                    "name": f"{word}{STAGE_LABELS[stage]}{rng.choice(['启蒙', '基础', '提高', '进阶'])}班",
                    "kind": kind,
                    "stage": stage,
                    "lessons": rng.choice([12, 16, 24, 32, 48]),
                    "lesson_minutes": rng.choice([40, 45, 60, 90]),
                    "unit_price_fen": rng.randrange(40, 300) * 100,
                    "class_size": rng.choice([None, 6, 10, 15, 20, 30]),
                    "approval_status": _weighted(
                        rng,
                        [
                            (ApprovalStatus.APPROVED, 70),
                            (ApprovalStatus.PENDING, 20),
                            (ApprovalStatus.REJECTED, 10),
                        ],
                    ),
                    "created_at": self.now,
                }
            )
        for m in range(rng.randrange(1, 4)):
            st = [MaterialStatus.SUBMITTED, MaterialStatus.APPROVED, MaterialStatus.REJECTED][(iid + m) % 3]
            b.material.append(
                {
                    "institution_id": iid,
                    "title": f"{rng.choice(KIND_WORDS[kind])}{rng.choice(['讲义', '练习册', '教程', '课件'])}（第{m + 1}册）",
                    "subject": rng.choice(KIND_WORDS[kind]),
                    "stage": rng.choice(Stage.values),
                    "publisher": rng.choice(p.publishers),
                    "status": st,
                    "reject_reason": "内容超出课程标准(超纲)，请修改后重新提交"
                    if st == MaterialStatus.REJECTED
                    else "",
                    "reviewed_by_id": None,
                    "reviewed_at": self.now if st != MaterialStatus.SUBMITTED else None,
                    "submitted_at": self.now,
                }
            )


# --- writing -------------------------------------------------------------------------


def write_batch(b: Batch) -> int:
    """Insert a chunk's rows (parents first), by name, with the one bulk writer (COPY on
    PostgreSQL)."""
    total = 0
    for attr, model in TABLES:
        rows = getattr(b, attr)
        if rows:
            # every column: those the rows leave out take the fields' defaults
            cols = [
                f.attname for f in model._meta.concrete_fields if not f.primary_key or f.attname in rows[0]
            ]
            total += bulk.Table(model, cols).insert(rows)
    return total


# --- places and departments -------------------------------------------------------------


def counties_for(where: str) -> list[Division]:
    qs = Division.objects.filter(level=DivisionLevel.COUNTY)
    if where:
        qs = qs.filter(code__startswith=where)
    return list(qs.order_by("code"))


def ensure_places(counties: list[Division], *, generate: bool) -> dict[str, list[Place]]:
    """Townships (and communities) of each county: the real ones where loaded, else
    generated townships ``county+001..010`` named 第N街道 (created in bulk)."""
    codes = [c.code for c in counties]
    townships: dict[str, list[Division]] = {c: [] for c in codes}
    communities: dict[str, list[str]] = {}
    for d in Division.objects.filter(level__in=[DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY]).only(
        "code", "name", "level"
    ):
        if d.level == DivisionLevel.TOWNSHIP and d.code[:6] in townships:
            townships[d.code[:6]].append(d)
        elif d.level == DivisionLevel.COMMUNITY:
            communities.setdefault(d.code[:9], []).append(d.code)
    new = []
    for c in counties:
        if not townships[c.code] and generate:
            for n in range(1, GENERATED_TOWNSHIPS + 1):
                name = f"第{n}街道"
                d = Division(
                    code=f"{c.code}{n:03d}",
                    name=name,
                    level=DivisionLevel.TOWNSHIP,
                    parent_id=c.code,
                    full_name=(c.full_name or c.name) + name,
                )
                new.append(d)
                townships[c.code].append(d)
    if new:
        Division.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        audit_record(
            actor=ACTOR,
            action="division.seed_townships",
            object_type="core.division",
            object_id="*",
            changes={"added": len(new)},
        )
    names = {c.code: c.name for c in counties}
    return {
        c: [Place(c, names[c], t.code, t.name, sorted(communities.get(t.code, []))) for t in ts]
        for c, ts in townships.items()
        if ts
    }


def ensure_departments(county_codes: list[str], township_codes: list[str]) -> dict[tuple[str, str], int]:
    """Departments of each county (every kind) and township (its government). Few
    divisions go through the service one by one; many are created in one bulk insert."""
    if len(county_codes) + len(township_codes) <= 50:
        for code in [*county_codes, *township_codes]:
            department_ensure_for_division(actor=ACTOR, division_code=code)
    else:
        have = set(
            Department.objects.filter(division_id__in=[*county_codes, *township_codes]).values_list(
                "division_id", "kind"
            )
        )
        labels = dict(DepartmentKind.choices)
        divs = {d.code: d for d in Division.objects.filter(code__in=[*county_codes, *township_codes])}
        new = []
        for code in county_codes:
            for k in COUNTY_KINDS:
                if (code, k) not in have:
                    new.append(Department(division_id=code, kind=k, name=f"{divs[code].name}{labels[k]}"))
        for code in township_codes:
            if (code, DepartmentKind.TOWNSHIP_GOVERNMENT) not in have:
                tn = divs[code].name
                new.append(
                    Department(
                        division_id=code,
                        kind=DepartmentKind.TOWNSHIP_GOVERNMENT,
                        name=tn + ("办事处" if tn.endswith("街道") else "人民政府"),
                    )
                )
        Department.objects.bulk_create(new, batch_size=2000)
        if new:
            audit_record(
                actor=ACTOR,
                action="department.seed",
                object_type="core.department",
                object_id="*",
                changes={"added": len(new)},
            )
    return {
        (division_id, kind): pk
        for pk, division_id, kind in Department.objects.filter(division_id__in=county_codes).values_list(
            "id", "division_id", "kind"
        )
    }


# --- demo users --------------------------------------------------------------------------


def demo_institution() -> Institution | None:
    """The institution whose admin and staff are demo users: a whitelisted one in the demo
    township if there is one."""
    qs = Institution.objects.order_by("id")
    return (
        qs.filter(division_code__startswith=DEMO_TOWNSHIP, whitelisted=True).first()
        or qs.filter(division_code__startswith=DEMO_COUNTY).first()
        or qs.first()
    )


def demo_bank():
    """The demo county's custody bank (funds' demo seeds its accounts there), created here
    when the demo users come first, so the bank operator is an operator of it whatever
    ids the database hands out."""
    from qinglang.funds import services as funds_services
    from qinglang.funds.models import Bank

    code = f"DEMO{DEMO_COUNTY}"
    bank = Bank.objects.filter(code=code).first()
    if bank is None:
        bank, _ = funds_services.bank_create(
            actor=ACTOR, code=code, name="成都银行武侯支行(托管)", division_code=DEMO_COUNTY
        )
    return bank


@transaction.atomic
def ensure_demo_users(*, password: str = DEMO_PASSWORD) -> list[User]:
    """One demo user for every role (existing ones are kept)."""
    inst = demo_institution()
    bank = demo_bank()
    scope = {
        Role.REGULATOR_LEADER: {"division_prefixes": [DEMO_COUNTY]},
        Role.REGULATOR_OFFICER: {"division_prefixes": [DEMO_COUNTY], "department_kind": "education"},
        Role.INSPECTOR: {"division_prefixes": [DEMO_COUNTY], "department_kind": "education"},
        Role.GRID_WORKER: {"division_prefixes": [DEMO_TOWNSHIP]},
        Role.INSTITUTION_ADMIN: {"institution_id": inst.pk if inst else None},
        Role.INSTITUTION_STAFF: {"institution_id": inst.pk if inst else None},
        Role.BANK_OPERATOR: {"bank_id": bank.pk},
    }
    users = []
    for username, role, display in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            kw = scope.get(role, {})
            if role in (Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF) and not kw["institution_id"]:
                continue
            if role == Role.INSTITUTION_ADMIN and inst:
                display = f"{inst.name} 管理员"
            elif role == Role.INSTITUTION_STAFF and inst:
                display = f"{inst.name} 工作人员"
            user = user_create(
                actor=ACTOR, username=username, password=password, display_name=display, check_password=False
            )
            membership_grant(actor=ACTOR, user=user, role=role, **kw)
        users.append(user)
    return users


def demo_login_rows() -> list[tuple[str, str, str, str]]:
    """(username, role label, display name, scope) of the demo users present."""
    labels = dict(Role.choices)
    rows = []
    for username, role, _ in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        m = Membership.objects.filter(user=user, role=role, active=True).first()
        scope = ""
        if m:
            if m.division_prefixes:
                scope = ",".join(m.division_prefixes) + (
                    f" ({m.department_kind})" if m.department_kind else ""
                )
            elif m.institution_id:
                scope = f"机构 #{m.institution_id}"
            elif m.bank_id:
                scope = f"银行 #{m.bank_id}"
        rows.append((username, labels[role], str(user), scope))
    return rows


# --- the seed ----------------------------------------------------------------------------


def _spread(rng: random.Random, places: dict[str, list[Place]], total: int) -> Iterator[Place]:
    """Yield one place per institution: ``total`` spread over counties (uneven, like real
    counties), then over each county's townships."""
    counties = sorted(places)
    weights = [rng.uniform(0.3, 1.7) for _ in counties]
    scale = total / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights]
    counts[-1] = max(1, counts[-1] + total - sum(counts))
    for county, n in zip(counties, counts, strict=True):
        ts = places[county]
        for _ in range(n):
            yield rng.choice(ts)


def seed(
    *,
    scale: str = "district",
    total: int | None = None,
    chunk: int = 5000,
    seed_value: int = 20260101,
    progress: Callable[[str], None] | None = None,
) -> Stats:
    """Seed demo data at ``scale``; returns counts, time and peak memory."""
    started = time.monotonic()
    where, default_total = SCALES[scale]
    total = total or default_total
    large = scale in LARGE_SCALES
    say = progress or (lambda _msg: None)
    today = date.today()

    with transaction.atomic():
        counties = counties_for(where)
        places = ensure_places(counties, generate=scale != "district")
        county_codes = sorted(places)
        township_codes = sorted(p.township for ps in places.values() for p in ps)
        dept = ensure_departments(county_codes, township_codes)
    say(f"{len(county_codes)} counties, {len(township_codes)} townships; generating {total} institutions")

    gen = Generator(seed=seed_value, today=today, dept=dept, details=not large)
    stats = Stats()
    place_iter = _spread(gen.rng, places, total)
    done = 0
    counts: dict[str, int] = {attr: 0 for attr, _ in TABLES}

    def flush(b: Batch) -> None:
        nonlocal done
        stats.rows += write_batch(b)
        for attr, _ in TABLES:
            counts[attr] += len(getattr(b, attr))
        if large:
            audit_record_many(
                actor=ACTOR,
                entries=[
                    Entry(
                        "institution.seed_batch",
                        "registry.institution",
                        f"{b.institution[0]['id']}-{b.institution[-1]['id']}",
                        "",
                        {
                            "institutions": len(b.institution),
                            "rows": sum(len(getattr(b, a)) for a, _ in TABLES),
                        },
                    )
                ],
            )
        else:
            audit_record_many(
                actor=ACTOR,
                entries=[
                    Entry(
                        "institution.seed",
                        "registry.institution",
                        str(r["id"]),
                        r["division_code"],
                        {
                            "name": r["name"],
                            "kind": r["kind"],
                            "licence_status": r["licence_status"],
                            "status": r["status"],
                            "whitelisted": r["whitelisted"],
                            "blacklisted": r["blacklisted"],
                        },
                    )
                    for r in b.institution
                ],
            )
        done += len(b.institution)

    # district: one transaction for everything; larger scales: one per chunk
    outer = transaction.atomic() if not large else _nullcontext()
    with outer:
        while done < total:
            n = min(chunk, total - done)
            with transaction.atomic():
                ids = bulk.allocate_ids(Institution, n)
                b = Batch()
                for iid in ids:
                    gen.institution(iid, next(place_iter), b)
                flush(b)
            if large or total > chunk:
                el = time.monotonic() - started
                say(
                    f"  {done:>8,}/{total:,} institutions  {el:7.1f} s  {done / el:8.0f}/s  peak RSS {peak_rss_mb():.0f} MB"
                )
        ensure_demo_users()
        if not large:
            from . import demo_rules

            stats.rules = demo_rules.seed(today=today, county=DEMO_COUNTY, township=DEMO_TOWNSHIP)
    public_cache.bump()  # as every write of institutions does (registry institution_save)

    stats.institutions = done
    stats.counts = counts
    stats.seconds = time.monotonic() - started
    stats.peak_rss_mb = peak_rss_mb()
    if connection.vendor == "postgresql" and large:
        with connection.cursor() as cur:
            for _, model in TABLES:
                cur.execute(f"ANALYZE {model._meta.db_table}")
    return stats


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
