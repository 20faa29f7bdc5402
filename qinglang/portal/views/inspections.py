"""Pages of joint inspections: the campaign board with coverage, the draw, an inspector's
tasks and the inspection form (phone-sized), the rectification register (overdue first),
the institution end's notices and items, the public draw results, and downloads of the
stored documents and evidence (always through the scoped selectors)."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from qinglang.accounts.permissions import INSTITUTION_USERS
from qinglang.accounts.scope import actor_for
from qinglang.core import files
from qinglang.core.documents import cn_date
from qinglang.core.errors import DomainError, NotFound
from qinglang.core.models import DepartmentKind
from qinglang.inspections import selectors, services
from qinglang.inspections.documents import department_names
from qinglang.inspections.models import CampaignType, Outcome, RectificationStatus
from qinglang.inspections.services.records import place_name, team_inspectors

from .common import can_write, console_required, error_text, org_required, run_action
from .exports import export_response, wants_export


def _date(v: str) -> date | None:
    try:
        return date.fromisoformat(v)
    except (TypeError, ValueError):
        return None


@console_required
def campaign_board(request):
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied("无权创建专项行动")
        p = request.POST
        data = {
            "name": p.get("name", ""),
            "campaign_type": p.get("campaign_type") or CampaignType.GENERAL,
            "division_code": p.get("division_code", ""),
            "starts_on": _date(p.get("starts_on")),
            "ends_on": _date(p.get("ends_on")),
            "departments": p.getlist("departments"),
            "coverage_goal": p.get("coverage_goal") or 100,
            "target_filter": {
                "categories": p.getlist("categories"),
                "kinds": p.getlist("kinds"),
            },
        }
        holder = {}
        if run_action(
            request,
            lambda: holder.setdefault("c", services.campaign_create(actor=request.user, data=data)),
            "专项行动已创建",
        ):
            return redirect("portal:campaign_detail", campaign_id=holder["c"].pk)
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
        },
    )


@console_required
def campaign_detail(request, campaign_id: int):
    c = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "draw":
            share = request.POST.get("share") or None
            count = request.POST.get("count") or None
            try:
                kw = {"share": float(share) / 100 if share else None, "count": int(count) if count else None}
                kw["team_size"] = int(request.POST.get("team_size") or 2)
            except ValueError:
                messages.error(request, "操作未完成：抽取比例或数量格式不正确")
            else:
                run_action(
                    request,
                    lambda: services.campaign_draw(actor=request.user, campaign_id=c.pk, **kw),
                    "已完成随机抽取",
                )
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
                    year=timezone.localtime(draw.drawn_at if draw else timezone.now()).year,
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


def _results_from_post(request, items) -> list[dict]:
    out = []
    for i in items:
        out.append(
            {
                "item_id": i.pk,
                "outcome": request.POST.get(f"outcome_{i.pk}", ""),
                "description": request.POST.get(f"desc_{i.pk}", ""),
                "requirement": request.POST.get(f"req_{i.pk}", ""),
                "files": request.FILES.getlist(f"files_{i.pk}"),
            }
        )
    return out


@console_required
def task_detail(request, task_id: int):
    """The inspection form: one card per checklist item, large touch targets."""
    task = selectors.task_get(actor=request.user, task_id=task_id)
    from qinglang.inspections.checklists import task_items

    items, hours_violations = task_items(task)
    error = ""
    if request.method == "POST":
        try:
            services.inspection_record_submit(
                actor=request.user,
                task_id=task.pk,
                inspected_on=_date(request.POST.get("inspected_on")) or timezone.localdate(),
                results=_results_from_post(request, items),
                summary=request.POST.get("summary", ""),
                deadline_days=int(request.POST["deadline_days"])
                if request.POST.get("deadline_days", "").isdigit()
                else None,
            )
        except NotFound:
            raise Http404("不存在或无权查看")
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


@console_required
def rectification_item(request, item_id: int):
    item = selectors.rectification_get(actor=request.user, item_id=item_id)
    if request.method == "POST":
        action = request.POST.get("action")
        note = request.POST.get("note", "")
        fns = {
            "verify": (
                lambda: services.rectification_verify(actor=request.user, item_id=item.pk, note=note),
                "复查通过",
            ),
            "return": (
                lambda: services.rectification_return(actor=request.user, item_id=item.pk, reason=note),
                "已退回重改",
            ),
            "close_out": (
                lambda: services.rectification_close_out(actor=request.user, item_id=item.pk, note=note),
                "已销号",
            ),
        }
        if action in fns:
            run_action(request, *fns[action])
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
        raise Http404("文件不存在")
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
            "inspectors": "、".join(
                f"{name}(执法证号：{cert or '未登记'})"
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
    if request.method == "POST":
        if not (actor_for(request.user).roles & INSTITUTION_USERS):
            raise PermissionDenied
        try:
            services.rectification_submit(
                actor=request.user,
                item_id=item.pk,
                measures=request.POST.get("measures", ""),
                uploads=request.FILES.getlist("files"),
            )
        except NotFound:
            raise Http404("不存在或无权查看")
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


def _item_data(p) -> dict:
    return {k: p.get(k, "") for k in ("code", "domain", "title", "basis", "severity", "department_kind")}


def _checklist_context(request) -> dict:
    from qinglang.inspections.models import Domain, Severity

    return {
        "domains": Domain.choices,
        "severities": Severity.choices,
        "departments": DepartmentKind.choices,
        "can_write": can_write(request.user),
    }


@console_required
def checklist_list(request):
    """Checklist templates: the national defaults and the area's own; a regulator copies
    one to edit it locally."""
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied("无权编辑检查清单")
        p = request.POST
        try:
            src = selectors.template_get(actor=request.user, template_id=int(p.get("template_id") or 0))
        except (ValueError, NotFound):
            raise Http404("不存在或无权查看") from None
        holder = {}
        if run_action(
            request,
            lambda: holder.setdefault(
                "t",
                services.checklist_template_copy(
                    actor=request.user,
                    template_id=src.pk,
                    division_code=(p.get("division_code") or "").strip(),
                    name=p.get("name", ""),
                ),
            ),
            "已复制为本地模板，可以编辑",
        ):
            return redirect("portal:checklist_detail", template_id=holder["t"].pk)
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


@console_required
def checklist_detail(request, template_id: int):
    t = selectors.template_get(actor=request.user, template_id=template_id)
    if request.method == "POST":
        if not can_write(request.user):
            raise PermissionDenied("无权编辑检查清单")
        p = request.POST
        action = p.get("action")
        try:
            item_id = int(p.get("item_id") or 0)
        except ValueError:
            item_id = 0
        if action == "add":
            run_action(
                request,
                lambda: services.checklist_item_add(actor=request.user, template_id=t.pk, data=_item_data(p)),
                "检查事项已添加",
            )
        elif action == "update":
            run_action(
                request,
                lambda: services.checklist_item_update(
                    actor=request.user, template_id=t.pk, item_id=item_id, data=_item_data(p)
                ),
                "检查事项已保存",
            )
        elif action in ("retire", "reinstate"):
            run_action(
                request,
                lambda: services.checklist_item_retire(
                    actor=request.user, template_id=t.pk, item_id=item_id, retired=action == "retire"
                ),
                "检查事项已停用" if action == "retire" else "检查事项已恢复启用",
            )
        elif action == "remove":
            run_action(
                request,
                lambda: services.checklist_item_remove(actor=request.user, template_id=t.pk, item_id=item_id),
                "检查事项已删除",
            )
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
        p = request.POST
        back = redirect("portal:conflicts")
        if (p.get("task_id") or "").isdigit():
            back = redirect("portal:task_detail", task_id=int(p["task_id"]))
        inst_id = selectors.institution_by_ref(actor=request.user, ref=p.get("institution", ""))
        if inst_id is None:
            if (p.get("institution") or "").strip():
                raise Http404("不存在或无权查看")
            messages.error(request, "操作未完成：请填写机构编号或统一社会信用代码")
            return back
        inspector_id = None
        if (p.get("inspector_id") or "").strip():
            try:
                inspector_id = int(p["inspector_id"])
            except ValueError:
                messages.error(request, "操作未完成：检查人员编号格式不正确")
                return back
        run_action(
            request,
            lambda: services.conflict_declare(
                actor=request.user,
                institution_id=inst_id,
                reason=p.get("reason", ""),
                inspector_id=inspector_id,
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
        raise PermissionDenied("无权撤销回避申报")
    run_action(
        request,
        lambda: services.conflict_withdraw(
            actor=request.user, conflict_id=c.pk, reason=request.POST.get("reason", "")
        ),
        "回避申报已撤销",
    )
    return redirect("portal:conflicts")
