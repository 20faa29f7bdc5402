"""What generated rows are drawn from: kinds, licence states and statuses with their
weights, name words, disclosure texts, and valid resident IDs and credit codes."""

from __future__ import annotations

import random
from datetime import date, timedelta

from qinglang.core.i18n import chinese_labels
from qinglang.registry.models import (
    DisclosureItem,
    InstitutionCategory,
    InstitutionStatus,
    Kind,
    LicenceStatus,
    Stage,
)

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
STAGE_LABELS = chinese_labels(Stage)
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


def weighted(rng: random.Random, pairs) -> str:
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
