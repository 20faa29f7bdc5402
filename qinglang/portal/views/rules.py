"""Pages of the rules in force (registry.services: rules, staff_admission, disclosure): the
practice-ban list and the disclosure gaps in the console, an institution's disclosure
board and timetables at the institution end, and the printable A3 board with a QR code to
the public page."""

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from qinglang.core.errors import NotFound
from qinglang.registry import selectors as registry
from qinglang.registry import services
from qinglang.registry.models import DisclosureItem, Weekday

from ..forms_rules import (
    PROPOSED_LABELS,
    ApplicationDataForm,
    ApplicationDecisionForm,
    CorrectionForm,
    DisclosureForm,
    PracticeBanForm,
    ResubmitRefForm,
    SlotForm,
    application_data,
)
from .common import can_write, console_required, form_invalid, org_required, run_action, run_form


@console_required
def practice_bans(request):
    """限制从业名单: regulators see the entries of their divisions; a leader or officer
    enters a ban from another authority (penalty decisions enter theirs themselves)."""
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权录入"))
        run_form(
            request,
            PracticeBanForm,
            lambda d: services.practice_ban_enter(actor=request.user, source="other_authority", **d),
            "已列入限制从业名单",
        )
        return redirect("portal:practice_bans")
    rows = registry.practice_bans(actor=request.user)[:500]
    return render(request, "portal/rules/bans.html", {"rows": rows, "can_write": can_write(request.user)})


@console_required
def disclosure_gaps(request):
    rows = [
        (inst, [gettext(DisclosureItem(g).label) if g in DisclosureItem.values else g for g in gaps])
        for inst, gaps in registry.disclosure_gap_list(actor=request.user, limit=300)
    ]
    return render(request, "portal/rules/gaps.html", {"rows": rows})


@org_required
def org_disclosure(request, pk: int):
    inst = registry.institution_get(actor=request.user, institution_id=pk)
    if request.method == "POST":
        run_form(
            request,
            DisclosureForm,
            lambda d: services.disclosure_publish(actor=request.user, institution_id=pk, items=d["items"]),
            "公示内容已保存",
        )
        return redirect("portal:org_disclosure", pk=pk)
    notes = dict(inst.disclosures.values_list("item", "text"))
    return render(
        request,
        "portal/rules/org_disclosure.html",
        {
            "inst": inst,
            "section": "disclosure",
            "board": services.disclosure_board(inst),
            "fields": [(v, lbl, notes.get(v, "")) for v, lbl in DisclosureItem.choices],
        },
    )


@org_required
def org_course_slots(request, pk: int, course_id: int):
    inst = registry.institution_get(actor=request.user, institution_id=pk)
    course = registry.course_get(actor=request.user, course_id=course_id)
    if course.institution_id != inst.pk:
        raise NotFound(_("课程"))
    if request.method == "POST":
        run_form(
            request,
            SlotForm,
            lambda d: services.slot_create(actor=request.user, course_id=course.pk, data=d),
            "课表已添加",
        )
        return redirect("portal:org_course_slots", pk=pk, course_id=course.pk)
    return render(
        request,
        "portal/rules/org_slots.html",
        {
            "inst": inst,
            "section": "courses",
            "course": course,
            "slots": registry.slot_list(actor=request.user, course_id=course.pk),
            "teachers": registry.staff_list(actor=request.user, institution_id=pk).filter(
                left_on__isnull=True
            ),
            "weekdays": Weekday.choices,
        },
    )


@require_GET
def public_board_pdf(request, pk: int):
    """The premises' wall board: A3, each required item present or missing, with a QR
    code to the institution's public page."""
    import segno
    from reportlab.lib.pagesizes import A3
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    inst = registry.public_institution_get(institution_id=pk)
    board = services.disclosure_board(inst)
    url = request.build_absolute_uri(reverse("portal:public_institution", args=[pk]))
    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A3)
    c.setTitle(f"{inst.name} 办学信息公示")
    width, height = A3
    y = height - 30 * mm
    c.setFont(font, 30)
    c.drawCentredString(width / 2, y, "校外培训机构办学信息公示")
    y -= 16 * mm
    c.setFont(font, 20)
    c.drawCentredString(width / 2, y, inst.name)
    y -= 14 * mm
    for b in board:
        c.setFont(font, 16)
        mark = "✔ 已公示" if b["present"] else "✘ 缺项"
        c.drawString(25 * mm, y, f"{b['label']}　{mark}")
        y -= 9 * mm
        c.setFont(font, 12)
        for line in b["lines"][:8] or ["(未公示)"]:
            c.drawString(32 * mm, y, line[:60])
            y -= 7 * mm
        y -= 3 * mm
        if y < 80 * mm:
            break
    qr = segno.make(url, error="m")
    size = 55 * mm
    rows = list(qr.matrix)
    cell = size / (len(rows) + 8)
    x0, y0 = width - 25 * mm - size, 20 * mm
    for r, row in enumerate(rows):
        for col, v in enumerate(row):
            if v:
                c.rect(x0 + (col + 4) * cell, y0 + size - (r + 5) * cell, cell, cell, stroke=0, fill=1)
    c.setFont(font, 12)
    c.drawString(25 * mm, 30 * mm, "扫码查看机构公示与白名单信息、投诉举报")
    c.drawString(25 * mm, 22 * mm, url[:90])
    c.showPage()
    c.save()
    resp = HttpResponse(buf.getvalue(), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="board-{inst.pk}.pdf"'
    return resp


# --- approvals --------------------------------------------------------------------------


def _proposed(p: dict) -> list[tuple[str, str]]:
    """An application's figures as (label, value) in words: the division by name, yes/no."""
    from qinglang.core.division_names import full_name
    from qinglang.registry.models import InstitutionCategory, Kind, Mode, Nature, Stage

    names = {
        "category": dict(InstitutionCategory.choices),
        "kind": dict(Kind.choices),
        "mode": dict(Mode.choices),
        "nature": dict(Nature.choices),
    }
    stages = dict(Stage.choices)
    out = []
    for k, v in p.items():
        if k in names:
            v = names[k].get(v, v)
        elif k == "stages" and isinstance(v, list):
            v = "、".join(str(stages.get(x, x)) for x in v)
        elif k == "division_code" and v:
            v = full_name(str(v))
        elif isinstance(v, bool):
            v = "是" if v else "否"
        elif isinstance(v, dict):
            checks = {i: label for items in services.CHECKLISTS.values() for i, label in items}
            words = {True: "是", False: "否"}
            v = "；".join(
                f"{PROPOSED_LABELS.get(a) or checks.get(a, a)}：{words.get(b, b) if isinstance(b, bool) else b}"
                for a, b in v.items()
            )
        elif isinstance(v, list):
            v = "、".join(str(x) for x in v)
        out.append((PROPOSED_LABELS.get(k, k), v))
    return out


def _doc_fields():
    from qinglang.registry.services.application_documents import DOC_LABELS

    return DOC_LABELS


@console_required
def applications(request):
    """审批: the console's window takes establishment applications; the list shows the
    pending ones per department with their deadlines and the 营转非 completion rate."""
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权受理"))
        a = run_form(
            request,
            ApplicationDataForm,
            lambda d: services.application_submit(
                actor=request.user,
                kind="establish",
                data=application_data(d),
                files=dict(request.FILES.items()),
            ),
            "申请已受理",
        )
        if a is not None:
            return redirect("portal:application_detail", application_id=a.pk)
        return redirect("portal:applications")
    status = request.GET.get("status", "")
    qs = registry.application_list(actor=request.user)
    if status:
        qs = qs.filter(status=status)
    return render(
        request,
        "portal/rules/applications.html",
        {
            "rows": qs[:300],
            "overview": registry.approvals_overview(actor=request.user),
            "can_write": can_write(request.user),
            "required": [(d, _doc_fields()[d]) for d in services.REQUIRED_DOCUMENTS["establish"]],
            "status": status,
        },
    )


@console_required
def application_detail(request, application_id: int):
    app = registry.application_get(actor=request.user, application_id=application_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "correction":
            run_form(
                request,
                CorrectionForm,
                lambda d: services.application_request_correction(
                    actor=request.user, application_id=app.pk, note=d["note"]
                ),
                "已通知申请人补正",
            )
        elif action in ("approve", "reject"):
            form = ApplicationDecisionForm(request.POST, checklist=services.CHECKLISTS[app.kind])
            if not form.is_valid():
                form_invalid(request, form)
            else:
                run_action(
                    request,
                    lambda: services.application_decide(
                        actor=request.user,
                        application_id=app.pk,
                        approve=action == "approve",
                        reason=form.cleaned_data["reason"],
                        checklist=form.checklist(),
                    ),
                    "已作出准予许可决定" if action == "approve" else "已作出不予许可决定",
                )
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:application_detail", application_id=app.pk)
    labels = _doc_fields()
    return render(
        request,
        "portal/rules/application.html",
        {
            "app": app,
            "proposed": _proposed(app.proposed or {}),
            "documents": [(labels.get(d.doc_type, d.doc_type), d) for d in app.documents.all()],
            "checklist": services.CHECKLISTS[app.kind],
            "transitions": app.transitions.all(),
            "can_write": can_write(request.user),
        },
    )


@org_required
def org_applications(request, pk: int):
    inst = registry.institution_get(actor=request.user, institution_id=pk)
    if request.method == "POST":
        ref = ResubmitRefForm(request.POST, request.FILES or None)
        app = ApplicationDataForm(request.POST)
        if not ref.is_valid() or not app.is_valid():
            form_invalid(request, ref if ref.errors else app)
        elif ref.cleaned_data["application_id"]:
            d = ref.cleaned_data
            run_action(
                request,
                lambda: services.application_resubmit(
                    actor=request.user,
                    application_id=registry.application_get(
                        actor=request.user, application_id=d["application_id"]
                    ).pk,
                    data=application_data(app.cleaned_data),
                    files={d["doc_type"]: d["file"]} if d["file"] else {},
                ),
                "补正材料已提交",
            )
        else:
            run_action(
                request,
                lambda: services.application_submit(
                    actor=request.user,
                    kind=app.cleaned_data["kind"],
                    data=application_data(app.cleaned_data, institution_id=inst.pk),
                    files=dict(request.FILES.items()),
                ),
                "申请已提交",
            )
        return redirect("portal:org_applications", pk=pk)
    from qinglang.registry.models import ApplicationKind

    labels = _doc_fields()
    kinds = [
        (k, ApplicationKind(k).label, [(d, labels[d]) for d in services.REQUIRED_DOCUMENTS[k]])
        for k in ApplicationKind.values
        if k != ApplicationKind.ESTABLISH
    ]
    return render(
        request,
        "portal/rules/org_applications.html",
        {
            "inst": inst,
            "section": "applications",
            "rows": registry.application_list(actor=request.user).filter(institution=inst),
            "kinds": kinds,
            "change_fields": services.CHANGE_FIELDS.items(),
            "all_docs": labels.items(),
        },
    )
