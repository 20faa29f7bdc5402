"""Demo data for the demo county: a campaign with a published draw, inspected tasks with
findings, notices, ledger items at every stage and escalation letters."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Role, User
from qinglang.accounts.permissions import system
from qinglang.inspections import services
from qinglang.inspections.models import Campaign, LedgerItem, Task

ACTOR = system("demo")


def _inspectors(county: str) -> list[User]:
    """The demo inspector plus one per joint department (created once)."""
    from qinglang.accounts.services import membership_grant, user_create

    out = []
    for dept, label in (
        ("education", "教育局"),
        ("market_regulation", "市场监管局"),
        ("fire", "消防救援大队"),
        ("public_security", "公安分局"),
    ):
        name = f"inspector-{dept.replace('_', '-')}"
        u = User.objects.filter(username=name).first()
        if u is None:
            u = user_create(
                actor=ACTOR,
                username=name,
                password="Qinglang-demo-2026",
                display_name=f"武侯区{label} 执法检查人员",
                check_password=False,
            )
            membership_grant(
                actor=ACTOR, user=u, role=Role.INSPECTOR, division_prefixes=[county], department_kind=dept
            )
        out.append(u)
    return out


def seed_district(*, county, rng, log) -> dict[str, int]:
    if Campaign.objects.filter(division_code=county, name__startswith="【演示】").exists():
        return {"campaigns": 0}
    admin = User.objects.filter(memberships__role=Role.PLATFORM_ADMIN).first() or ACTOR
    today = timezone.localdate()
    with transaction.atomic():
        _inspectors(county)
        c = services.campaign_create(
            actor=admin,
            data={
                "name": "【演示】武侯区校外培训机构联合执法检查",
                "campaign_type": "general",
                "division_code": county,
                "starts_on": today - timedelta(days=40),
                "ends_on": today + timedelta(days=20),
                "departments": ["education", "market_regulation", "fire", "public_security"],
            },
        )
        draw = services.campaign_draw(
            actor=admin,
            campaign_id=c.pk,
            count=40,
            team_size=2,
            seed=f"demo-{rng.randrange(10**9)}",
            today=c.starts_on,
        )
        services.draw_publish(actor=admin, campaign_id=c.pk)
        # the demo inspector joins the first team, so their task list is not empty
        demo_inspector = User.objects.filter(username="inspector").first()
        first_team = c.teams.order_by("id").first()
        if demo_inspector and first_team:
            first_team.members.get_or_create(user=demo_inspector, defaults={"department_kind": ""})
        tasks = list(Task.objects.filter(campaign=c, team__isnull=False).order_by("id"))
        done = tasks[: int(len(tasks) * 0.7)]
        items = list(c.template.active_items())
        for n, t in enumerate(done):
            day = c.starts_on + timedelta(days=1 + n % 20)
            bad = {i.code for i in items if rng.random() < 0.08}
            services.inspection_record_submit(
                actor=admin,
                task_id=t.pk,
                inspected_on=day,
                results=[
                    {
                        "item_id": i.pk,
                        "outcome": ("rectification" if rng.random() < 0.7 else "fixed_on_site")
                        if i.code in bad
                        else "compliant",
                        "description": f"检查发现：{i.title}不符合要求" if i.code in bad else "",
                    }
                    for i in items
                ],
            )
        # some institutions rectify, some are late, some never do
        ledger = list(LedgerItem.objects.filter(notice__task__campaign=c).order_by("id"))
        from django.core.files.uploadedfile import SimpleUploadedFile

        photo = b"\x89PNG\r\n\x1a\n" + bytes(64)
        for i, item in enumerate(ledger):
            if i % 3 == 0:
                services.ledger_submit(
                    actor=admin,
                    item_id=item.pk,
                    measures="已按要求整改",
                    uploads=[SimpleUploadedFile("整改照片.png", photo)],
                )
                services.ledger_verify(actor=admin, item_id=item.pk, note="复查合格")
                services.ledger_close_out(actor=admin, item_id=item.pk)
            elif i % 3 == 1:
                services.ledger_submit(
                    actor=admin,
                    item_id=item.pk,
                    measures="已整改，请复查",
                    uploads=[SimpleUploadedFile("整改照片.png", photo)],
                )
    run = services.ledger_sweep_overdue(today=today)
    letters = services.letters_render_pending(limit=200)
    log(f"inspections: draw seed {draw.seed}, {len(done)} of {len(tasks)} tasks inspected")
    return {
        "campaigns": 1,
        "tasks": len(tasks),
        "inspected": len(done),
        "ledger_items": len(ledger),
        "reminders": run.reminders,
        "letters": letters,
    }
