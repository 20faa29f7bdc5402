"""Pages of joint inspections: the campaign board with coverage, the draw, an inspector's
tasks and the inspection form (phone-sized), the rectification register (overdue first),
the institution end's notices and items, the public draw results, and downloads of the
stored documents and evidence (always through the scoped selectors)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qinglang.accounts.permissions import INSTITUTION_USERS
from qinglang.accounts.scope import actor_for
from qinglang.core import files
from qinglang.core.documents import cn_date
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.jobs import job_start, should_run_in_background
from qinglang.core.models import DepartmentKind
from qinglang.inspections import selectors, services
from qinglang.inspections.documents import department_names
from qinglang.inspections.models import CampaignStatus, CampaignType, Outcome, RectificationStatus
from qinglang.inspections.services.records import place_name, team_inspectors

from ..forms_inspections import (
    CampaignForm,
    ChecklistItemForm,
    ChecklistItemRefForm,
    ChecklistItemUpdateForm,
    ConflictForm,
    DrawForm,
    InspectionForm,
    RectificationSubmitForm,
    ReviewNoteForm,
    TemplateCopyForm,
    WithdrawForm,
)
from ..pickers import division_choices
from .common import can_write, console_required, error_text, form_invalid, org_required, run_action, run_form
from .exports import export_response, wants_export


def _area_choices(user) -> list[tuple[str, str]]:
    """The divisions a regulator may plan for, by name: their counties, then townships."""
    from qinglang.core.models import DivisionLevel

    return division_choices(user, DivisionLevel.COUNTY) + division_choices(user, DivisionLevel.TOWNSHIP)


@console_required
def campaign_board(request):
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权创建专项行动"))
        c = run_form(
            request,
            CampaignForm,
            lambda d: services.campaign_create(actor=request.user, data=CampaignForm.service_data(d)),
            "专项行动已创建",
        )
        if c is not None:
            return redirect("portal:campaign_detail", campaign_id=c.pk)
        return redirect("portal:campaign_board")
    campaigns = list(selectors.campaign_list(actor=request.user)[:50])
    rows = [(c, selectors.campaign_coverage(campaign=c)) for c in campaigns]
    return render(
        request,
        "portal/inspections/board.html",
        {
            "rows": rows,
            "types": CampaignType.choices,
            "departments": DepartmentKind.choices,
            "can_write": can_write(request.user),
            "prefixes": actor_for(request.user).division_prefixes,
            "areas": _area_choices(request.user),
        },
    )


def _draw(request, c):
    """The draw: over a population of thousands a background job (returned: its page
    shows the progress and what was drawn), else at once, as the same service."""
    form = DrawForm(request.POST)
    if not form.is_valid():
        form_invalid(request, form)
        return None
    kwargs = DrawForm.service_kwargs(form.cleaned_data)
    if c.status == CampaignStatus.DRAFT and should_run_in_background(
        rows=selectors.population_count(campaign=c)
    ):
        return job_start(
            actor=request.user,
            kind="inspections.draw",
            title=f"随机抽取：{c.name}",
            handler="qinglang.portal.jobs.campaign_draw",
            params={"campaign_id": c.pk, **kwargs},
        )
    run_action(
        request,
        lambda: services.campaign_draw(actor=request.user, campaign_id=c.pk, **kwargs),
        "已完成随机抽取",
    )
    return None


@console_required
def campaign_detail(request, campaign_id: int):
    c = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "draw":
            job = _draw(request, c)
            if job is not None:
                return redirect("portal:job", job_id=job.pk)
        elif action == "publish":
            run_action(
                request,
                lambda: services.draw_publish(actor=request.user, campaign_id=c.pk),
                "抽取结果已在公众网站公开",
            )
        elif action == "close":
            run_action(
                request,
                lambda: services.campaign_close(actor=request.user, campaign_id=c.pk),
                "专项行动已结束",
            )
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:campaign_detail", campaign_id=c.pk)
    draw = selectors.draw_get(actor=request.user, campaign_id=c.pk)
    tasks = selectors.task_list(actor=request.user).filter(campaign=c)
    return render(
        request,
        "portal/inspections/campaign.html",
        {
            "c": c,
            "cov": selectors.campaign_coverage(campaign=c),
            "draw": draw,
            "tasks": tasks[:500],
            "teams": c.teams.prefetch_related("members__user").all()[:200],
            "can_write": can_write(request.user),
            "items": c.template.active_items(),
            "annual_share": services.annual_share_text(
                services.annual_share_status(
                    division_code=c.division_code,
                    year=(draw.drawn_on if draw else timezone.localdate()).year,
                )
            ),
        },
    )


@console_required
def task_list(request):
    tasks = selectors.task_list(actor=request.user)
    status = request.GET.get("status", "planned")
    if status in ("planned", "completed", "cancelled"):
        tasks = tasks.filter(status=status)
    return render(request, "portal/inspections/tasks.html", {"tasks": tasks[:200], "status": status})


@console_required
def task_detail(request, task_id: int):
    """The inspection form: one card per checklist item, large touch targets."""
    task = selectors.task_get(actor=request.user, task_id=task_id)
    from qinglang.inspections.checklists import task_items

    items, hours_violations = task_items(task)
    error = ""
    form = InspectionForm(request.POST or None, request.FILES or None, items=items)
    if request.method == "POST" and not form.is_valid():
        error = "；".join(str(m) for errs in form.errors.values() for m in errs)
    elif request.method == "POST":
        d = form.cleaned_data
        try:
            services.inspection_record_submit(
                actor=request.user,
                task_id=task.pk,
                inspected_on=d["inspected_on"] or timezone.localdate(),
                results=form.results(),
                summary=d["summary"],
                deadline_days=d["deadline_days"],
            )
        except NotFound:
            raise Http404(_("不存在或无权查看"))
        except (DomainError, ValidationError) as exc:
            error = error_text(exc)
        else:
            messages.success(request, "检查记录已提交")
            return redirect("portal:task_detail", task_id=task.pk)
    record = getattr(task, "record", None) if task.status == "completed" else None
    return render(
        request,
        "portal/inspections/task.html",
        {
            "task": task,
            "items": items,
            "hours_violations": hours_violations,
            "record": record,
            "notices": task.notices.all(),
            "outcomes": Outcome.choices,
            "error": error,
            "posted": request.POST if error else {},
            "today": timezone.localdate(),
            "my_conflict": selectors.conflict_list(actor=request.user, institution_id=task.institution_id)
            .filter(inspector_id=request.user.pk)
            .first(),
        },
    )


@console_required
def rectifications(request):
    status = request.GET.get("status", "")
    items = selectors.rectification_list(
        actor=request.user,
        status=status if status in RectificationStatus.values else "",
        overdue_only=request.GET.get("overdue") == "1",
    )
    if wants_export(request):
        return export_response(request, "rectifications")
    return render(
        request,
        "portal/inspections/rectifications.html",
        {
            "items": items[:300],
            "status": status,
            "statuses": RectificationStatus.choices,
            "today": timezone.localdate(),
        },
    )


RECTIFICATION_ACTIONS = {
    "verify": (services.rectification_verify, "复查通过"),
    "return": (
        lambda *, actor, item_id, note: services.rectification_return(
            actor=actor, item_id=item_id, reason=note
        ),
        "已退回重改",
    ),
    "close_out": (services.rectification_close_out, "已销号"),
}


@console_required
def rectification_item(request, item_id: int):
    item = selectors.rectification_get(actor=request.user, item_id=item_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in RECTIFICATION_ACTIONS:
            fn, done = RECTIFICATION_ACTIONS[action]
            run_form(
                request,
                ReviewNoteForm,
                lambda d: fn(actor=request.user, item_id=item.pk, note=d["note"]),
                done,
            )
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:rectification_item", item_id=item.pk)
    return render(
        request,
        "portal/inspections/rectification_item.html",
        {
            "item": item,
            "console": True,
            "transitions": item.transitions.all(),
            "letters": item.letters.all(),
            "today": timezone.localdate(),
        },
    )


# --- downloads (regulators and the institution concerned) ----------------------------------


def _file_response(rel: str, name: str, content_type: str):
    try:
        fh = files.open_stored(rel)
    except (OSError, DomainError):
        raise Http404(_("文件不存在"))
    return FileResponse(fh, as_attachment=True, filename=name, content_type=content_type)


@login_required
def notice_download(request, notice_id: int):
    n = selectors.notice_get(actor=request.user, notice_id=notice_id)
    if not n.path:
        services.notice_render(n)
    return _file_response(n.path, f"整改通知书-{n.pk}.docx", files.DOCX)


@login_required
def notice_print(request, notice_id: int):
    """The notice as a page to print (A4, the document's layout, with its 送达回执)."""
    n = selectors.notice_get(actor=request.user, notice_id=notice_id)
    place = place_name(n.division_code)
    return render(
        request,
        "portal/inspections/notice_print.html",
        {
            "n": n,
            "place": place,
            "items": n.items.order_by("id"),
            "issuers": department_names(n.departments, place),
            "issued_cn": cn_date(n.issued_on),
            "inspectors": _("、").join(
                _("%(name)s(执法证号：%(cert)s)") % {"name": name, "cert": cert or _("未登记")}
                for name, cert in team_inspectors([n.task_id]).get(n.task_id, [])
            ),
        },
    )


@login_required
def letter_download(request, letter_id: int):
    letter = selectors.letter_get(actor=request.user, letter_id=letter_id)
    if not letter.path:
        services.letter_render(letter)
    return _file_response(letter.path, f"{letter.get_kind_display()}-{letter.pk}.docx", files.DOCX)


@login_required
def evidence_download(request, evidence_id: int):
    e = selectors.evidence_get(actor=request.user, evidence_id=evidence_id)
    return _file_response(e.path, e.original_name, e.content_type)


# --- institution end ---------------------------------------------------------------------------


@org_required
def org_rectification(request):
    return render(
        request,
        "portal/inspections/org_list.html",
        {
            "notices": selectors.notice_list(actor=request.user)[:100],
            "items": selectors.rectification_list(actor=request.user)[:200],
            "today": timezone.localdate(),
        },
    )


@org_required
def org_item(request, item_id: int):
    item = selectors.rectification_get(actor=request.user, item_id=item_id)
    error = ""
    form = RectificationSubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not (actor_for(request.user).roles & INSTITUTION_USERS):
        raise PermissionDenied
    if request.method == "POST" and not form.is_valid():
        error = "；".join(str(m) for errs in form.errors.values() for m in errs)
    elif request.method == "POST":
        try:
            services.rectification_submit(
                actor=request.user,
                item_id=item.pk,
                measures=form.cleaned_data["measures"],
                uploads=form.cleaned_data["files"],
            )
        except NotFound:
            raise Http404(_("不存在或无权查看"))
        except (DomainError, ValidationError) as exc:
            error = error_text(exc)
        else:
            messages.success(request, "整改材料已提交，等待复查")
            return redirect("portal:org_item", item_id=item.pk)
    return render(
        request,
        "portal/inspections/rectification_item.html",
        {
            "item": item,
            "console": False,
            "error": error,
            "transitions": item.transitions.all(),
            "letters": item.letters.all(),
            "can_submit": item.status in (RectificationStatus.ISSUED, RectificationStatus.RETURNED),
            "today": timezone.localdate(),
        },
    )


# --- public site (一公开) ------------------------------------------------------------------------


def public_draws(request):
    return render(
        request, "portal/inspections/public_draws.html", {"draws": selectors.public_draw_list()[:100]}
    )


def public_draw(request, draw_id: int):
    d = selectors.public_draw_get(draw_id=draw_id)
    return render(
        request,
        "portal/inspections/public_draw.html",
        {"d": d, "rows": selectors.public_draw_targets(draw=d)},
    )


# --- checklists and conflicts of interest ----------------------------------------------------


def _checklist_context(request) -> dict:
    from qinglang.inspections.models import Domain, Severity

    return {
        "domains": Domain.choices,
        "severities": Severity.choices,
        "departments": DepartmentKind.choices,
        "can_write": can_write(request.user),
        "areas": _area_choices(request.user),
    }


@console_required
def checklist_list(request):
    """Checklist templates: the national defaults and the area's own; a regulator copies
    one to edit it locally."""
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权编辑检查清单"))
        t = run_form(
            request,
            TemplateCopyForm,
            lambda d: services.checklist_template_copy(
                actor=request.user,
                template_id=selectors.template_get(actor=request.user, template_id=d["template_id"]).pk,
                division_code=d["division_code"].strip(),
                name=d["name"],
            ),
            "已复制为本地模板，可以编辑",
        )
        if t is not None:
            return redirect("portal:checklist_detail", template_id=t.pk)
        return redirect("portal:checklist_list")
    return render(
        request,
        "portal/inspections/checklists.html",
        {
            "templates": selectors.template_list(actor=request.user),
            "prefixes": actor_for(request.user).division_prefixes,
            **_checklist_context(request),
        },
    )


def _item_fields(d: dict) -> dict:
    return {k: d[k] for k in ("code", "domain", "title", "basis", "severity", "department_kind")}


# action -> (form, service call, success message)
CHECKLIST_ACTIONS = {
    "add": (
        ChecklistItemForm,
        lambda user, tid, d: services.checklist_item_add(actor=user, template_id=tid, data=_item_fields(d)),
        "检查事项已添加",
    ),
    "update": (
        ChecklistItemUpdateForm,
        lambda user, tid, d: services.checklist_item_update(
            actor=user, template_id=tid, item_id=d["item_id"], data=_item_fields(d)
        ),
        "检查事项已保存",
    ),
    "retire": (
        ChecklistItemRefForm,
        lambda user, tid, d: services.checklist_item_retire(
            actor=user, template_id=tid, item_id=d["item_id"], retired=True
        ),
        "检查事项已停用",
    ),
    "reinstate": (
        ChecklistItemRefForm,
        lambda user, tid, d: services.checklist_item_retire(
            actor=user, template_id=tid, item_id=d["item_id"], retired=False
        ),
        "检查事项已恢复启用",
    ),
    "remove": (
        ChecklistItemRefForm,
        lambda user, tid, d: services.checklist_item_remove(
            actor=user, template_id=tid, item_id=d["item_id"]
        ),
        "检查事项已删除",
    ),
}


@console_required
def checklist_detail(request, template_id: int):
    t = selectors.template_get(actor=request.user, template_id=template_id)
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied(_("无权编辑检查清单"))
        action = request.POST.get("action")
        if action in CHECKLIST_ACTIONS:
            form_class, fn, done = CHECKLIST_ACTIONS[action]
            run_form(request, form_class, lambda d: fn(request.user, t.pk, d), done)
        else:
            messages.error(request, "操作未完成：未知操作")
        return redirect("portal:checklist_detail", template_id=t.pk)
    return render(
        request,
        "portal/inspections/checklist.html",
        {
            "t": t,
            "items": t.items.all(),
            "editable": can_write(request.user) and bool(t.division_code),
            **_checklist_context(request),
        },
    )


@console_required
def conflicts(request):
    """回避: an inspector declares a conflict of interest with an institution (also from
    the phone-sized task page); leaders and officers may record one for an inspector and
    withdraw one. The draw and team assignment exclude a standing declaration."""
    if request.method == "POST":
        form = ConflictForm(request.POST)
        if not form.is_valid():
            form_invalid(request, form)
            return redirect("portal:conflicts")
        d = form.cleaned_data
        back = (
            redirect("portal:task_detail", task_id=d["task_id"])
            if d["task_id"]
            else redirect("portal:conflicts")
        )
        inst_id = selectors.institution_by_ref(actor=request.user, ref=d["institution"])
        if inst_id is None:
            if d["institution"].strip():
                raise Http404(_("不存在或无权查看"))
            messages.error(request, "操作未完成：请填写机构编号或统一社会信用代码")
            return back
        run_action(
            request,
            lambda: services.conflict_declare(
                actor=request.user, institution_id=inst_id, reason=d["reason"], inspector_id=d["inspector_id"]
            ),
            "回避申报已登记，今后抽取和指派将排除该机构",
        )
        return back
    show_withdrawn = request.GET.get("withdrawn") == "1"
    return render(
        request,
        "portal/inspections/conflicts.html",
        {
            "rows": selectors.conflict_list(actor=request.user, include_withdrawn=show_withdrawn)[:200],
            "can_write": can_write(request.user),
            "show_withdrawn": show_withdrawn,
        },
    )


@console_required
@require_POST
def conflict_withdraw(request, conflict_id: int):
    """Leaders and officers withdraw a declaration (with a reason)."""
    c = selectors.conflict_get(actor=request.user, conflict_id=conflict_id)
    if not can_write(request.user):
        raise PermissionDenied(_("无权撤销回避申报"))
    run_form(
        request,
        WithdrawForm,
        lambda d: services.conflict_withdraw(actor=request.user, conflict_id=c.pk, reason=d["reason"]),
        "回避申报已撤销",
    )
    return redirect("portal:conflicts")
