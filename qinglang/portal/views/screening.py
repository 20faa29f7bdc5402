"""Pages of the screening app: the text check (paste or upload), texts held for review,
the online patrol register with takedowns and counts, key-place sweeps with their 清零
board, and the grid worker's phone page for visits (photos, geolocation)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError
from qinglang.screening import selectors, services
from qinglang.screening.models import HoldStatus, PlaceType, Platform, TakedownStatus

from ..forms_screening import (
    CheckForm,
    HoldReviewForm,
    NoteForm,
    PlaceForm,
    PostForm,
    SweepForm,
    TakedownAnswerForm,
    TakedownRequestForm,
    VisitForm,
)
from .common import apply_errors, console_required, error_text, run_action, run_form

VISITORS = frozenset(services.VISIT_ROLES)


def _prefix(request) -> str:
    return (actor_for(request.user).division_prefixes or [""])[0]


# --- text check and holds ------------------------------------------------------------------
@console_required
def text_check(request):
    form = CheckForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            if upload:
                out = services.texts_classify_file(data=upload.read(), name=upload.name)
                resp = HttpResponse(out.data, content_type=out.content_type)
                from urllib.parse import quote

                resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(out.name)}"
                return resp
            text = form.cleaned_data.get("text") or ""
            results = [(text, r) for r in services.texts_classify(texts=[text])]
        except (DomainError, ValidationError) as exc:
            form.add_error(None, error_text(exc))
    return render(request, "portal/screening/check.html", {"form": form, "results": results})


@console_required
def hold_list(request):
    status = request.GET.get("status", HoldStatus.HELD)
    holds = selectors.hold_list(actor=request.user, status=status if status in HoldStatus.values else None)[
        :200
    ]
    return render(
        request,
        "portal/screening/holds.html",
        {"holds": holds, "status": status, "statuses": HoldStatus.choices},
    )


@console_required
@require_POST
def hold_review(request, hold_id: int):
    run_form(
        request,
        HoldReviewForm,
        lambda d: services.hold_review(
            actor=request.user, hold_id=hold_id, genuine=d["decision"] == "genuine", note=d["note"]
        ),
        lambda d: "已复核：" + ("无问题，同一文本不再拦截" if d["decision"] == "genuine" else "确认隐形变异"),
    )
    return redirect("portal:screening_holds")


# --- online patrol --------------------------------------------------------------------------
@console_required
def patrol_list(request):
    form = PostForm(request.POST or None, request.FILES or None, initial={"division_code": _prefix(request)})
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        shot = d.pop("screenshot", None)
        try:
            post = services.patrol_record(actor=request.user, data=d, screenshot=shot)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            if post.hit:
                how = "并入已有案件" if post.joined_case else "已生成线索"
                messages.warning(request, f"命中：{post.get_label_display()}，{how} {post.clue_reference}")
            else:
                messages.success(request, "已登记，未发现学科类培训内容")
            return redirect("portal:screening_patrol")
    platform = request.GET.get("platform", "")
    posts = selectors.patrol_list(actor=request.user, platform=platform)[:200]
    return render(
        request,
        "portal/screening/patrol.html",
        {
            "form": form,
            "posts": posts,
            "platforms": Platform.choices,
            "platform": platform,
            "counts": selectors.patrol_counts(actor=request.user),
            "answers": [c for c in TakedownStatus.choices if c[0] != TakedownStatus.SENT],
        },
    )


@console_required
@require_POST
def patrol_import(request):
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, "请选择文件")
    else:
        run_action(
            request,
            lambda: services.patrol_import(actor=request.user, data=f.read(), name=f.name),
            "巡查记录已导入",
        )
    return redirect("portal:screening_patrol")


@console_required
@require_POST
def takedown_request(request, post_id: int):
    run_form(
        request,
        TakedownRequestForm,
        lambda d: services.takedown_request(actor=request.user, post_id=post_id, reference=d["reference"]),
        "下架请求已登记",
    )
    return redirect("portal:screening_patrol")


@console_required
@require_POST
def takedown_answer(request, takedown_id: int):
    run_form(
        request,
        TakedownAnswerForm,
        lambda d: services.takedown_answer(
            actor=request.user, takedown_id=takedown_id, status=d["status"], answer=d["answer"]
        ),
        "平台答复已登记",
    )
    return redirect("portal:screening_patrol")


# --- sweeps ---------------------------------------------------------------------------------
@console_required
def sweep_list(request):
    form = SweepForm(request.POST or None, initial={"division_code": _prefix(request)})
    if request.method == "POST" and form.is_valid():
        try:
            s = services.sweep_create(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "专项摸排已发起")
            return redirect("portal:screening_sweep", sweep_id=s.pk)
    return render(
        request,
        "portal/screening/sweeps.html",
        {"form": form, "sweeps": selectors.sweep_list(actor=request.user)},
    )


@console_required
def sweep_detail(request, sweep_id: int):
    sweep = selectors.sweep_get(actor=request.user, sweep_id=sweep_id)
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sweep_place_add(actor=request.user, sweep_id=sweep_id, data=form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "场所已加入清单")
            return redirect("portal:screening_sweep", sweep_id=sweep_id)
    board = selectors.sweep_board(actor=request.user, sweep_id=sweep_id)
    labels = dict(PlaceType.choices)
    return render(
        request,
        "portal/screening/sweep.html",
        {
            "sweep": sweep,
            "types": [labels[t] for t in sweep.place_types],
            "board": board,
            "places": selectors.place_list(actor=request.user, sweep_id=sweep_id)[:500],
            "findings": selectors.open_findings(actor=request.user, sweep_id=sweep_id),
            "form": form,
        },
    )


@console_required
@require_POST
def places_import(request, sweep_id: int):
    selectors.sweep_get(actor=request.user, sweep_id=sweep_id)  # another county's sweep: 404
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, "请选择文件")
    else:
        run_action(
            request,
            lambda: services.sweep_places_import(
                actor=request.user, sweep_id=sweep_id, data=f.read(), name=f.name
            ),
            "场所清单已导入",
        )
    return redirect("portal:screening_sweep", sweep_id=sweep_id)


@console_required
@require_POST
def finding_close(request, visit_id: int, sweep_id: int):
    run_form(
        request,
        NoteForm,
        lambda d: services.sweep_finding_close(actor=request.user, visit_id=visit_id, note=d["note"]),
        "问题已关闭",
    )
    return redirect("portal:screening_sweep", sweep_id=sweep_id)


# --- the phone page ---------------------------------------------------------------------------
def _visitor(request):
    a = actor_for(request.user)
    if not (a.is_platform_admin or a.roles & VISITORS):
        raise PermissionDenied(_("仅限网格员和监管人员"))


@console_required
def visit_places(request, sweep_id: int):
    _visitor(request)
    sweep = selectors.sweep_get(actor=request.user, sweep_id=sweep_id)
    form = PlaceForm(request.POST or None, initial={"division_code": _prefix(request)})
    if request.method == "POST" and form.is_valid():
        try:
            p = services.sweep_place_add(
                actor=request.user, sweep_id=sweep_id, data=form.cleaned_data, on_spot=True
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            return redirect("portal:screening_visit", place_id=p.pk)
    places = selectors.place_list(actor=request.user, sweep_id=sweep_id)
    return render(
        request, "portal/screening/visit_places.html", {"sweep": sweep, "places": places, "form": form}
    )


@console_required
def visit_record(request, place_id: int):
    _visitor(request)
    place = selectors.place_get(actor=request.user, place_id=place_id)
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            v = services.sweep_visit_record(
                actor=request.user,
                place_id=place_id,
                outcome=d["outcome"],
                note=d["note"],
                photos=request.FILES.getlist("photos"),
                latitude=d["latitude"],
                longitude=d["longitude"],
            )
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            msg = "走访已登记" + (f"，已生成线索 {v.clue_reference}" if v.clue_reference else "")
            messages.success(request, msg)
            return redirect("portal:screening_visit_places", sweep_id=place.sweep_id)
    visits = selectors.visit_list(actor=request.user, place_id=place_id)
    return render(request, "portal/screening/visit.html", {"place": place, "form": form, "visits": visits})
