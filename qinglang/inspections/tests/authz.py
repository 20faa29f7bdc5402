"""Authorization sweep plug-in (see qinglang/portal/tests/test_authorization.py): each
world gets a campaign with a draw, a task (A's assigned to the inspector persona), a
record with a rectification finding, its notice, a rectification item with evidence and a letter.
Only A's draw is published, so B never appears on the public site."""

import io
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from qinglang.accounts.models import Role
from qinglang.inspections import services
from qinglang.inspections.checklists import task_items
from qinglang.inspections.models import Letter, Notice, RectificationItem, Task
from qinglang.testing import make_user

PARAM_RULES = [
    ({"campaign_id"}, None, "campaign"),
    ({"task_id"}, None, "task"),
    ({"item_id"}, None, "rectification_item"),
    ({"notice_id"}, None, "notice"),
    ({"letter_id"}, None, "letter"),
    ({"evidence_id"}, None, "evidence"),
    ({"draw_id"}, None, "draw"),
    ({"template_id"}, None, "template"),
    ({"checklist_item_id"}, None, "checklist_item"),
    ({"conflict_id"}, None, "conflict"),
    ({"inspector_id"}, None, "inspector"),  # the side's inspector (conflict declarations)
]


def _docx(text: str) -> SimpleUploadedFile:
    from docx import Document

    doc = Document()
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return SimpleUploadedFile(f"整改材料{text}.docx", buf.getvalue())


def build_side(*, admin, side, users, which) -> dict:
    tag, county = side.tag, side.division[:6]
    inspector = users["inspector"] if which == "A" else make_user(Role.INSPECTOR, prefixes=[county])
    today = timezone.localdate()
    c = services.campaign_create(
        actor=admin,
        data={
            "name": f"{side.name}专项{tag}",
            "campaign_type": "general",
            "division_code": county,
            "starts_on": today,
            "ends_on": today + timedelta(days=30),
        },
    )
    draw = services.campaign_draw(actor=admin, campaign_id=c.pk, share=1.0, team_size=1, seed=f"seed-{tag}")
    if which == "A":
        services.draw_publish(actor=admin, campaign_id=c.pk)
    tasks = Task.objects.filter(campaign=c, institution=side.institution).order_by("id")
    task, spare = tasks[0], tasks[len(tasks) - 1]
    services.task_assign(actor=admin, task_id=task.pk, inspector_ids=[inspector.pk])
    if spare.pk != task.pk:
        services.task_assign(actor=admin, task_id=spare.pk, inspector_ids=[inspector.pk])
    items = task_items(task)[0]
    services.inspection_record_submit(
        actor=admin,
        task_id=task.pk,
        inspected_on=today,
        results=[
            {
                "item_id": i.pk,
                "outcome": "rectification" if i.code in ("F01", "N01") else "compliant",
                "description": f"{side.name}问题{tag}" if i.code in ("F01", "N01") else "",
                "files": [_docx(f"{side.name}现场照片{tag}")] if i.code == "F01" else [],
            }
            for i in items
        ],
    )
    notice = Notice.objects.get(task=task)
    item, other = RectificationItem.objects.filter(notice=notice).order_by("id")[:2]
    services.rectification_submit(
        actor=admin, item_id=item.pk, measures=f"整改措施{tag}", uploads=[_docx(f"{side.name}整改{tag}")]
    )
    letter = Letter.objects.create(
        item=other,
        institution_id=side.institution.pk,
        division_code=other.division_code,
        kind="reminder",
        issued_on=date.today(),
    )
    services.letter_render(letter)
    from qinglang.inspections.checklists import default_template

    template = services.checklist_template_copy(
        actor=admin,
        template_id=default_template("general").pk,
        division_code=county,
        name=f"{side.name}清单{tag}",
    )
    conflict = services.conflict_declare(
        actor=inspector, institution_id=side.institution.pk, reason=f"{side.name}亲属任职{tag}"
    )
    return {
        "template": template,
        "checklist_item": template.items.order_by("position", "id").first(),
        "conflict": conflict,
        "inspector": inspector,
        "campaign": c,
        "draw": draw,
        "task": task,
        "notice": notice,
        "rectification_item": item,
        "letter": letter,
        "evidence": item.evidence.get(),
    }


def markers(side) -> list[str]:
    return [
        side.extra["campaign"].name,
        side.extra["notice"].number,
        side.extra["draw"].seed,
        side.extra["template"].name,
        side.extra["conflict"].reason,
    ]


def audit_ids(side) -> dict:
    return {
        "inspections.campaign": side.extra["campaign"],
        "inspections.task": side.extra["task"],
        "inspections.notice": side.extra["notice"],
        "inspections.rectificationitem": side.extra["rectification_item"],
        "inspections.draw": side.extra["draw"],
        "inspections.checklisttemplate": side.extra["template"],
        "inspections.conflictofinterest": side.extra["conflict"],
    }
