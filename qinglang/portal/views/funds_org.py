"""Institution end of prepaid-fee custody (机构端): the institution's orders, recording
a lesson, batch upload (JSON lines / CSV) with its per-event report, refund requests to
answer and disputed lessons to accept. Another institution's pages are a 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.core.errors import DomainError, NotFound
from qinglang.funds import selectors, services
from qinglang.funds.models import LessonStatus, OrderStatus, RefundStatus
from qinglang.funds.parsing import lesson_rows
from qinglang.registry import selectors as registry

from ..forms_funds import BatchUploadForm, DeclarationForm, LessonRecordForm, RefundAnswerForm
from ..paging import paginate
from .common import apply_errors, org_required, run_action

PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 64 * 1024 * 1024


def _inst(request, pk: int):
    return registry.institution_get(actor=request.user, institution_id=pk)


def _ctx(inst, tab: str, **kw) -> dict:
    return {"inst": inst, "section": "funds", "tab": tab, **kw}


@org_required
def org_funds(request, pk: int):
    """Orders of my institution, with the form to record one lesson."""
    inst = _inst(request, pk)
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    qs = selectors.order_list(actor=request.user, institution_id=inst.pk, status=status or None)
    page = paginate(request, qs, PER_PAGE)
    open_orders = list(
        selectors.order_list(actor=request.user, institution_id=inst.pk, status=OrderStatus.PAID)
        .select_related("course")
        .order_by("-id")[:200]
    )
    form = LessonRecordForm(request.POST or None, orders=open_orders)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            _record, result = services.lesson_record(
                actor=request.user,
                institution_id=inst.pk,
                order_id=d["order_id"],
                event_id=d["event_id"],
                given_at=d["given_at"],
            )
        except NotFound:
            raise Http404(_("机构不存在或无权查看"))
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            if result == "duplicate":
                messages.info(request, "这节课已记录过，本次未重复消课")
            else:
                messages.success(request, "已记录消课，对应课时费已从监管账户拨付")
            return redirect("portal:org_funds", pk=inst.pk)
    disputed = selectors.lesson_list(actor=request.user, status=LessonStatus.DISPUTED).filter(
        institution_id=inst.pk
    )[:50]
    return render(
        request,
        "portal/funds/org_orders.html",
        _ctx(
            inst,
            "orders",
            page=page,
            form=form,
            status=status,
            statuses=OrderStatus.choices,
            query=f"status={status}" if status else "",
            disputed=disputed,
        ),
    )


@org_required
@require_POST
def org_dispute_accept(request, pk: int, lesson_id: int):
    """The institution accepts a parent's dispute: the lesson is given back and its
    release reversed (rejecting a dispute is a regulator's decision)."""
    inst = _inst(request, pk)

    def act():
        if (
            not selectors.lesson_list(actor=request.user)
            .filter(pk=lesson_id, institution_id=inst.pk)
            .exists()
        ):
            raise NotFound(_("消课记录"))
        services.lesson_dispute_resolve(
            actor=request.user, lesson_id=lesson_id, upheld=True, note="机构认可异议"
        )

    run_action(request, act, "已认可异议，课时已退回、拨付已冲回")
    return redirect("portal:org_funds", pk=inst.pk)


@org_required
def org_batch(request, pk: int):
    """Upload a batch file; the report lists accepted / duplicate / refused per event."""
    inst = _inst(request, pk)
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        if f.size > MAX_UPLOAD:
            form.add_error("file", "文件过大(最大 64 MB)")
        else:
            try:
                out = services.lesson_batch_import(
                    actor=request.user,
                    institution_id=inst.pk,
                    rows=lesson_rows(f, filename=f.name or ""),
                    filename=f.name or "upload",
                )
            except NotFound:
                raise Http404(_("机构不存在或无权查看"))
            except (DomainError, ValidationError) as exc:
                apply_errors(form, exc)
            else:
                c = out.counts
                messages.success(
                    request,
                    f"批量消课完成：接受 {c['accepted']} 条，重复 {c['duplicate']} 条，拒绝 {c['refused']} 条",
                )
                return redirect("portal:org_batch_report", pk=inst.pk, batch_id=out.batch.pk)
    batches = selectors.batch_list(actor=request.user, institution_id=inst.pk)[:20]
    return render(request, "portal/funds/org_batch.html", _ctx(inst, "batch", form=form, batches=batches))


@org_required
def org_batch_template(request):
    from qinglang.funds.parsing import lesson_batch_template_xlsx

    resp = HttpResponse(lesson_batch_template_xlsx(), content_type=XLSX_TYPE)
    resp["Content-Disposition"] = 'attachment; filename="lesson-batch-template.xlsx"'
    return resp


@org_required
def org_batch_report(request, pk: int, batch_id: int):
    inst = _inst(request, pk)
    batch = selectors.batch_get(actor=request.user, batch_id=batch_id)
    if batch.institution_id != inst.pk:
        raise Http404(_("批次不存在或无权查看"))
    return render(request, "portal/funds/org_batch_report.html", _ctx(inst, "batch", batch=batch))


@org_required
def org_refunds(request, pk: int):
    inst = _inst(request, pk)
    refunds = selectors.refund_list(actor=request.user, institution_id=inst.pk)
    page = paginate(request, refunds, PER_PAGE)
    return render(
        request,
        "portal/funds/org_refunds.html",
        _ctx(inst, "refunds", page=page, form=RefundAnswerForm(), requested=RefundStatus.REQUESTED),
    )


@org_required
@require_POST
def org_refund_answer(request, pk: int, refund_id: int):
    inst = _inst(request, pk)
    form = RefundAnswerForm(request.POST)

    def act():
        if (
            not selectors.refund_list(actor=request.user, institution_id=inst.pk)
            .filter(pk=refund_id)
            .exists()
        ):
            raise NotFound(_("退费申请"))
        if not form.is_valid():
            raise ValidationError({"agree": _("请选择同意或不同意")})
        services.refund_answer(
            actor=request.user,
            refund_id=refund_id,
            agree=form.cleaned_data["agree"],
            answer=form.cleaned_data.get("answer", ""),
        )

    run_action(request, act, "已答复退费申请")
    return redirect("portal:org_refunds", pk=inst.pk)


@org_required
def org_declarations(request, pk: int):
    """The institution's weekly declaration of the prepaid fees it holds (申报), with its
    past declarations against what the custody ledger holds now; in risk-deposit mode,
    the deposit required against the deposit held."""
    inst = _inst(request, pk)
    form = DeclarationForm(request.POST or None, initial={"week": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            d = services.declaration_submit(
                actor=request.user,
                institution_id=inst.pk,
                week_start=form.cleaned_data["week"],
                declared_fen=form.cleaned_data["declared"],
            )
        except NotFound:
            raise Http404(_("机构不存在或无权查看"))
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"已申报 {d.week_start:%Y-%m-%d} 起一周的预收费")
            return redirect("portal:org_declarations", pk=inst.pk)
    funds = selectors.institution_funds(actor=request.user, institution_id=inst.pk, limit=0)
    declarations = selectors.declaration_list(actor=request.user, institution_id=inst.pk)[:52]
    return render(
        request,
        "portal/funds/org_declarations.html",
        _ctx(inst, "declarations", form=form, declarations=declarations, funds=funds),
    )
