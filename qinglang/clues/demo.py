"""Demo clues for the demo county: reports across every channel and category (about a
tenth about operators not in the registry), some handled to the end, one whistle.
Also the hotline work-order generator used by ``bench/clue_import.py``."""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Membership, Role
from qinglang.accounts.permissions import system
from qinglang.core.audit import audit_record
from qinglang.core.models import Division

from .models import Channel, Clue

PROBLEMS = [
    "拒绝退还剩余课时费，申请退费两个月没有结果",
    "教室没有灭火器，安全出口被杂物堵住",
    "以家政服务名义上门一对一补习数学",
    "小学三年级就在教初中的数学内容，超前超纲",
    "一次性收取一年学费，还收资料费",
    "老板突然关门跑路，预交学费无法追回",
    "在小区电梯投放学科培训广告，宣传提分保过",
    "托管班午餐饭菜不新鲜，孩子吃了拉肚子",
    "授课老师没有教师资格证，还体罚学生",
    "组织小学生参加奥数杯赛并公布成绩排名",
    "没有办学许可证却在居民楼里招生上课",
    "机构周末上课噪音很大，影响邻居休息",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
UNKNOWN = ["阳光家政服务部", "小太阳工作室", "启航学习中心", "智慧树辅导班", "书香托管", "金牌私教工作室"]


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)]), "13" + "".join(
        rng.choice("0123456789") for _ in range(9)
    )


def _sentences() -> list[str]:
    """Caller's sentences for generated work orders: the training corpus (data/train.tsv),
    so a generated file reads like hotline text rather than a dozen repeated lines."""
    from .classify import DATA, read_tsv

    return [t for _, t in read_tsv(DATA)]


def hotline_rows(
    *, n: int, institutions: list[tuple], places: list[str], rng: random.Random, start: datetime
):
    """Rows of a hotline work-order file: (工单编号, 受理时间, 诉求人, 联系电话, 诉求内容,
    涉及机构, 事发地址, 所属区域). ``institutions`` are (name, address, division_code)."""
    sentences = _sentences()
    for i in range(n):
        at = start + timedelta(seconds=int(i * 86400 * 28 / max(n, 1)))
        name, phone = _person(rng)
        problem = rng.choice(PROBLEMS) if rng.random() < 0.5 else "，" + rng.choice(sentences)
        if institutions and rng.random() < 0.9:
            inst_name, addr, div = rng.choice(institutions)
            if rng.random() < 0.3:
                inst_name = inst_name[:-2] if len(inst_name) > 6 else inst_name  # a shortened name
        else:
            inst_name, addr, div = (
                rng.choice(UNKNOWN),
                "某小区" + str(rng.randint(1, 30)) + "栋",
                rng.choice(places),
            )
        anonymous = rng.random() < 0.15
        yield (
            f"GD{at:%Y%m%d}{i:06d}",
            at.strftime("%Y-%m-%d %H:%M:%S"),
            "" if anonymous else name,
            "" if anonymous else phone,
            f"{inst_name}{problem}",
            inst_name,
            addr,
            div,
        )


def seed_district(*, county: str, rng: random.Random, log) -> dict[str, int]:
    from qinglang.registry.models import Institution

    from . import services
    from .services.intake import Submission, ingest

    if Clue.objects.filter(division_code__startswith=county).exists():
        return {"clues": 0}
    insts = list(
        Institution.objects.filter(division_code__startswith=county)
        .order_by("id")
        .values_list("name", "address", "division_code", "uscc")[:300]
    )
    places = list(
        Division.objects.filter(code__startswith=county, level=4).values_list("code", flat=True)
    ) or [county]
    channels = [
        Channel.WEB,
        Channel.PARENT,
        Channel.HOTLINE,
        Channel.OPEN311,
        Channel.GRID,
        Channel.COVERT_VISIT,
        Channel.ONLINE_PATROL,
    ]
    now = timezone.now()
    subs = []
    for i, row in enumerate(
        hotline_rows(
            n=400,
            institutions=[(a, b, c) for a, b, c, _ in insts],
            places=places,
            rng=rng,
            start=now - timedelta(days=35),
        )
    ):
        ch = channels[i % len(channels)]
        no, at, name, phone, text, inst_name, addr, div = row
        anonymous = not name or ch in (Channel.COVERT_VISIT, Channel.ONLINE_PATROL, Channel.GRID)
        subs.append(
            Submission(
                channel=ch,
                content=text,
                division_code=div if len(div) >= 6 else county,
                institution_name=inst_name,
                address=addr,
                reporter_name="" if anonymous else name,
                reporter_phone="" if anonymous else phone,
                anonymous=anonymous,
                source_ref=no if ch == Channel.HOTLINE else "",
                received_at=timezone.make_aware(datetime.strptime(at, "%Y-%m-%d %H:%M:%S")),
            )
        )
    with transaction.atomic():
        res = ingest(actor=system("demo"), subs=subs)
        audit_record(
            actor=system("demo"),
            action="clue.demo_seed",
            object_type="clues.clue",
            object_id="*",
            division_code=county,
            changes={"reports": len(subs), "clues": res.created},
        )
    handled = 0
    admin = Membership.objects.filter(role=Role.PLATFORM_ADMIN, active=True).select_related("user").first()
    if admin:
        user = admin.user
        for c in Clue.objects.filter(division_code__startswith=county, status="routed").order_by(
            "received_at"
        )[:40]:
            services.clue_accept(actor=user, clue_id=c.pk)
            if handled % 2 == 0:
                services.clue_conclude(
                    actor=user, clue_id=c.pk, finding="经核查情况属实，已责令整改", substantiated=True
                )
                services.clue_feedback(actor=user, clue_id=c.pk, feedback="已责令机构整改，感谢您的监督")
            handled += 1
        township = places[0]
        if len(township) == 9:
            services.whistle_raise(
                actor=user,
                division_code=township,
                title="居民楼无证培训点联合处置",
                problem="网格员发现居民楼内无证培训点，涉及消防和无证经营，请教育、市场监管、消防报到",
                department_kinds=["education", "market_regulation", "fire"],
            )
        services.clue_escalate_overdue(actor=user)
        services.clue_trends_refresh(actor=user, week=now.date() - timedelta(days=7))
        services.clue_trends_refresh(actor=user)
    return {"reports": len(subs), "clues": res.created, "handled": handled, "whistles": 1 if admin else 0}
