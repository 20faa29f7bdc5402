"""Demo data for the demo county: a campaign with a published draw, inspected tasks with
findings, notices, rectification items at every stage and escalation letters."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from qinglang.accounts.models import Role, User
from qinglang.accounts.permissions import system
from qinglang.inspections import services
from qinglang.inspections.checklists import task_items
from qinglang.inspections.models import Campaign, RectificationItem, Task

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


def _notice_for_demo_institution(admin, today) -> int:
    """The demo institution (whose admin is the demo user ``inst-admin``) holds a notice
    still to answer, so its users can log in and submit rectification material."""
    from qinglang.accounts.models import Membership
    from qinglang.inspections.models import RectificationStatus, TaskOrigin

    iid = (
        Membership.objects.filter(user__username="inst-admin", role=Role.INSTITUTION_ADMIN, active=True)
        .values_list("institution_id", flat=True)
        .first()
    )
    if (
        iid is None
        or RectificationItem.objects.filter(institution_id=iid, status=RectificationStatus.ISSUED).exists()
    ):
        return 0
    task = services.inspection_task_create_adhoc(
        actor=admin,
        institution_id=iid,
        due_on=today + timedelta(days=7),
        reason="群众反映消防通道堵塞，到场核查",
        origin=TaskOrigin.ADHOC,
    )
    team = list(
        User.objects.filter(username__in=["inspector", "inspector-fire"]).values_list("id", flat=True)
    )
    services.task_assign(actor=admin, task_id=task.pk, inspector_ids=team)
    items = task_items(Task.objects.get(pk=task.pk))[0]
    services.inspection_record_submit(
        actor=admin,
        task_id=task.pk,
        inspected_on=today,
        results=[
            {
                "item_id": i.pk,
                "outcome": "rectification" if n == 0 else "compliant",
                "description": f"检查发现：{i.title}不符合要求" if n == 0 else "",
            }
            for n, i in enumerate(items)
        ],
    )
    return 1


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
        # the demo inspector (education) is in the pool, so the draw puts them in a team
        tasks = list(Task.objects.filter(campaign=c, team__isnull=False).order_by("id"))
        done = tasks[: int(len(tasks) * 0.7)]
        for n, t in enumerate(done):
            items = task_items(t)[0]  # the template's, plus a follow-up item where one is due
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
        register = list(RectificationItem.objects.filter(notice__task__campaign=c).order_by("id"))
        from django.core.files.uploadedfile import SimpleUploadedFile

        photo = b"\x89PNG\r\n\x1a\n" + bytes(64)
        for i, item in enumerate(register):
            if i % 3 == 0:
                services.rectification_submit(
                    actor=admin,
                    item_id=item.pk,
                    measures="已按要求整改",
                    uploads=[SimpleUploadedFile("整改照片.png", photo)],
                )
                services.rectification_verify(actor=admin, item_id=item.pk, note="复查合格")
                services.rectification_close_out(actor=admin, item_id=item.pk)
            elif i % 3 == 1:
                services.rectification_submit(
                    actor=admin,
                    item_id=item.pk,
                    measures="已整改，请复查",
                    uploads=[SimpleUploadedFile("整改照片.png", photo)],
                )
        notified = _notice_for_demo_institution(admin, today)
    run = services.rectification_sweep_overdue(today=today)
    letters = services.letters_render_pending(limit=200)
    log(f"inspections: draw seed {draw.seed}, {len(done)} of {len(tasks)} tasks inspected")
    return {
        "campaigns": 1,
        "tasks": len(tasks),
        "inspected": len(done),
        "rectification_items": len(register),
        "reminders": run.reminders,
        "letters": letters,
        "demo_institution_notices": notified,
    }
