"""Demo data of the risk app for the demo county: three institutions in trouble (a
township's report that the head is unreachable, runaway and wage-arrears complaints),
today's scoring over the whole county, and a guardian for the first of them."""

from datetime import timedelta

from django.utils import timezone


def seed_district(*, county: str, rng, log) -> dict[str, int]:
    from qinglang.accounts.models import User
    from qinglang.accounts.permissions import system
    from qinglang.clues.models import Clue
    from qinglang.registry.models import Institution

    from .models import RiskReport, RiskState
    from .scoring import score_day
    from .services import guardian_assign

    if RiskReport.objects.filter(division_code__startswith=county).exists():
        return {"risk_reports": 0}
    today = timezone.localdate()
    base = Institution.objects.filter(status="active", competent_department__isnull=False).exclude(
        category="subject"
    )
    insts = list(base.filter(division_code__startswith=f"{county}001").order_by("id")[:40]) or list(
        base.filter(division_code__startswith=county).order_by("id")[:40]
    )
    troubled = rng.sample(insts, min(3, len(insts)))
    n = 0
    for k, inst in enumerate(troubled):
        RiskReport.objects.create(
            institution=inst,
            kind="head_unreachable",
            source="township",
            reporter_unit="浆洗街街道办事处",
            observed_on=today - timedelta(days=k + 1),
            evidence="走访发现门店白天关闭，负责人电话关机，家长在门口聚集",
            division_code=inst.division_code,
        )
        texts = ["交了一年学费，机构突然关门，负责人联系不上", "申请退费一个月没有答复"]
        if k == 0:
            texts.append("老师反映机构拖欠工资两个月")
        for j, text in enumerate(texts):
            n += 1
            at = timezone.now() - timedelta(days=j + 1)
            Clue.objects.create(
                reference=f"RISK{inst.pk:06d}{j}",
                division_code=inst.division_code,
                institution=inst,
                category="runaway" if j == 0 else "refund_difficulty" if j == 1 else "other",
                category_source="reporter",
                summary=text,
                first_channel="hotline",
                received_at=at,
                last_reported_at=at,
            )
    run = score_day(today)
    grid = User.objects.filter(username="grid").first()
    guarded = 0
    if grid is not None and troubled:
        state = RiskState.objects.filter(institution=troubled[0]).first()
        if state and state.level in ("orange", "red"):
            guardian_assign(
                actor=system("seed_demo"),
                institution_id=troubled[0].pk,
                unit="浆洗街街道办事处",
                user_id=grid.pk,
            )
            guarded = 1
    log(f"risk: {run.signals} signals, {len(run.changes)} level changes, {guarded} guardian")
    return {"risk_reports": len(troubled), "risk_clues": n, "risk_signals": run.signals, "guardians": guarded}
