"""The generated rows of one institution: the institution, its licences, sites, list
entries and board, and (every ``details_every``-th) its staff, courses and materials."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from qinglang.core.crypto import blind_index, encrypt
from qinglang.core.validators import mask_resident_id
from qinglang.registry.models import (
    ApprovalStatus,
    InstitutionCategory,
    InstitutionStatus,
    Kind,
    Licence,
    LicenceKind,
    LicenceStatus,
    ListKind,
    MaterialStatus,
    Nature,
    StaffRole,
    Stage,
)
from qinglang.registry.search import search_text_for
from qinglang.registry.services.institutions import derive_licence_status
from qinglang.registry.supervision import KIND_TO_DEPARTMENT

from .batch import Batch
from .common import ACTOR, DETAIL_EVERY
from .places import Place
from .vocabulary import (
    DISCLOSURE_TEXTS,
    KIND_CATEGORY,
    KIND_WEIGHTS,
    KIND_WORDS,
    LICENCE_WEIGHTS,
    STAGE_LABELS,
    STATUS_WEIGHTS,
    SUBJECTS,
    SUFFIX_BY_KIND,
    Pools,
    resident_id,
    uscc_for,
    weighted,
)


@dataclass
class Profile:
    """What is drawn first for one institution: its kind, licence state and status, and
    the name, credit code, address and stages that follow from them."""

    kind: str
    lic_state: str
    status: str
    category: str
    non_profit: bool
    brand: str
    word: str
    name: str
    uscc: str | None
    founded: date
    address: str
    stages: str


class Generator:
    """Rows of one institution after another, from one random generator: the draws come in
    a fixed order, so a seed value gives the same demo every time."""

    def __init__(self, *, seed: int, today: date, dept: dict[tuple[str, str], int], details: bool):
        self.rng = random.Random(seed)
        self.pools = Pools(seed)
        self.today = today
        self.now = datetime.now(UTC)
        self.dept = dept
        self.details_every = 1 if details else DETAIL_EVERY
        self.forced = 0  # first institutions cycle through every kind / state / status

    def institution(self, iid: int, place: Place, b: Batch) -> None:
        """The rows of institution ``iid`` in ``place``, added to ``b``."""
        i = self.forced
        self.forced += 1
        profile = self._profile(i, iid, place)
        licences = self._licences(iid, profile, place)
        blacklisted, whitelisted = self._listed(i, profile)
        b.institution.append(
            self._institution_row(iid, profile, place, whitelisted=whitelisted, blacklisted=blacklisted)
        )
        b.licence.extend(licences)
        self._list_entries(iid, profile.status, whitelisted=whitelisted, blacklisted=blacklisted, b=b)
        self._sites(iid, profile, place, b)
        if i % self.details_every == 0:
            self._details(iid, profile.kind, b)
        if profile.status == InstitutionStatus.ACTIVE:
            self._disclosures(iid, whitelisted, b)

    def _profile(self, i: int, iid: int, place: Place) -> Profile:
        """Kind, licence state and status (the first institutions cycle through each), then
        the name, credit code, founding day, address and stages."""
        rng, p, today = self.rng, self.pools, self.today
        kind = KIND_WEIGHTS[i][0] if i < len(KIND_WEIGHTS) else weighted(rng, KIND_WEIGHTS)
        lic_state = LICENCE_WEIGHTS[i % 4][0] if i < 8 else weighted(rng, LICENCE_WEIGHTS)
        status = STATUS_WEIGHTS[i - 8][0] if 8 <= i < 14 else weighted(rng, STATUS_WEIGHTS)
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
        stages = self._stages(kind)
        return Profile(
            kind=kind,
            lic_state=lic_state,
            status=status,
            category=category,
            non_profit=non_profit,
            brand=brand,
            word=word,
            name=name,
            uscc=uscc,
            founded=founded,
            address=address,
            stages=stages,
        )

    def _stages(self, kind: str) -> str:
        if kind == Kind.SUBJECT:
            return self.rng.choice(["primary", "junior", "primary,junior"])
        if kind == Kind.MEAL_CARE:
            return "primary"
        return ",".join(s for s in Stage.values if self.rng.random() < 0.5) or "primary"

    def _licences(self, iid: int, profile: Profile, place: Place) -> list[dict]:
        """Licences, so that derive_licence_status gives the drawn licence state."""
        rng, today, lic_state = self.rng, self.today, profile.lic_state
        licences: list[dict] = []
        lic_kinds: list[str] = []
        if lic_state in (LicenceStatus.FULLY_LICENSED, LicenceStatus.PERMIT_ONLY):
            lic_kinds.append(LicenceKind.SCHOOL_PERMIT)
        if lic_state in (LicenceStatus.FULLY_LICENSED, LicenceStatus.LICENSE_ONLY):
            lic_kinds.append(
                LicenceKind.NONPROFIT_REGISTRATION if profile.non_profit else LicenceKind.BUSINESS_LICENSE
            )
        if profile.kind == Kind.MEAL_CARE and lic_state != LicenceStatus.UNLICENSED:
            lic_kinds.append(LicenceKind.FOOD_LICENCE)
        for lk in lic_kinds:
            start = today - timedelta(days=rng.randrange(30, 1500))
            until = (
                None
                if lk == LicenceKind.BUSINESS_LICENSE
                else today + timedelta(days=rng.randrange(60, 1500))
            )
            licences.append(self._licence(iid, lk, profile.uscc, place, start, until))
        if lic_state == LicenceStatus.PERMIT_ONLY and rng.random() < 0.4:
            # a lapsed registration certificate: still 有证无照
            start = today - timedelta(days=rng.randrange(1500, 3000))
            licences.append(
                self._licence(
                    iid,
                    LicenceKind.NONPROFIT_REGISTRATION,
                    profile.uscc,
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
        return licences

    def _listed(self, i: int, profile: Profile) -> tuple[bool, bool]:
        """(blacklisted, whitelisted): banned and runaway operators are mostly blacklisted,
        fully licensed active ones mostly whitelisted, never both."""
        status = profile.status
        blacklisted = status in (InstitutionStatus.BANNED, InstitutionStatus.RUNAWAY) and (
            i < 14 or self.rng.random() < 0.75
        )
        whitelisted = (
            profile.lic_state == LicenceStatus.FULLY_LICENSED
            and status == InstitutionStatus.ACTIVE
            and not blacklisted
            and (i < 14 or self.rng.random() < 0.85)
        )
        return blacklisted, whitelisted

    def _institution_row(
        self, iid: int, profile: Profile, place: Place, *, whitelisted: bool, blacklisted: bool
    ) -> dict:
        rng, p = self.rng, self.pools
        kind, category, non_profit = profile.kind, profile.category, profile.non_profit
        contact = rng.choice(p.people)
        row = {
            "id": iid,
            "name": profile.name,
            "registered_name": (
                f"{place.county_name}{profile.brand}{profile.word}{'培训学校' if non_profit else '教育科技有限公司'}"
                if profile.uscc
                else ""
            ),
            "uscc": profile.uscc,
            "legal_representative": rng.choice(p.people),
            "contact_name": contact,
            "contact_phone": f"1{rng.choice('35789')}{rng.randrange(10**8, 10**9)}",
            "category": category,
            "kind": kind,
            "stages": profile.stages,
            "mode": "online" if rng.random() < 0.05 else "offline",
            "nature": Nature.NON_PROFIT if non_profit else Nature.FOR_PROFIT,
            "nonprofit_conversion": "completed"
            if category == InstitutionCategory.SUBJECT
            else "not_applicable",
            "division_code": place.township,
            "address": profile.address,
            "competent_department_id": self.dept.get((place.county, KIND_TO_DEPARTMENT[kind])),
            "competent_department_overridden": False,
            "licence_status": profile.lic_state,
            "status": profile.status,
            "whitelisted": whitelisted,
            "blacklisted": blacklisted,
            "party_organisation": rng.random() < 0.3,
            "party_charter_clause": rng.random() < 0.25,
            "search_text": "",
            "founded_on": profile.founded,
            "created_at": self.now,
            "updated_at": self.now,
        }
        row["search_text"] = search_text_for(row["name"], row["registered_name"], row["uscc"])
        return row

    def _list_entries(self, iid: int, status: str, *, whitelisted: bool, blacklisted: bool, b: Batch) -> None:
        decided = self.today - timedelta(days=self.rng.randrange(1, 400))
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

    def _sites(self, iid: int, profile: Profile, place: Place, b: Batch) -> None:
        """The primary site, and now and then a second campus."""
        rng, p = self.rng, self.pools
        for s in range(1 if rng.random() < 0.8 else 2):
            b.site.append(
                {
                    "institution_id": iid,
                    "name": profile.name if s == 0 else f"{profile.name}（{rng.choice(p.streets)}校区）",
                    "address": profile.address
                    if s == 0
                    else f"{place.township_name}{rng.choice(p.streets)}{rng.randrange(1, 400)}号",
                    "division_code": rng.choice(place.communities) if place.communities else place.township,
                    "area_sqm": rng.randrange(80, 1500),
                    "is_primary": s == 0,
                    "active": profile.status
                    in (
                        InstitutionStatus.ACTIVE,
                        InstitutionStatus.STOP_ENROLLMENT,
                        InstitutionStatus.SUSPENDED,
                    ),
                }
            )

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
                    "approval_status": weighted(
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
