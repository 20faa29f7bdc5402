"""Parent end of prepaid-fee custody (家长端): my orders with what is paid, released,
refunded and still held; lessons to confirm or dispute; refund requests; buying a course
package from a whitelisted institution. Reads go through the funds selectors (a parent
sees their own orders only; anything else is a 404), writes through the funds services."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from qinglang.accounts.scope import actor_for
from qinglang.core.errors import DomainError, NotFound
from qinglang.funds import selectors, selectors_parent, services
from qinglang.funds.models import LessonStatus, OrderStatus
from qinglang.funds.services.refunds import unconsumed_fen
from qinglang.registry import selectors as registry
from qinglang.registry.models import ApprovalStatus, Course

from ..forms_funds import InstitutionPickForm, OrderCreateForm, ReasonForm, ReasonTextForm
from ..paging import paginate
from ..qr import qr_svg
from .common import apply_errors, run_action, run_form, safe_next

PER_PAGE = 30
REFUNDABLE = {OrderStatus.PAID, OrderStatus.COMPLETED}


def parent_required(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not actor_for(request.user).is_parent:
            raise PermissionDenied(_("仅家长可访问"))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _order(request, order_id: int):
    return selectors.order_get(actor=request.user, order_id=order_id)


@parent_required
def parent_orders(request):
    """My orders, lessons waiting for my confirmation, my refund requests."""
    orders = selectors.order_list(actor=request.user).filter(parent_id=request.user.pk)
    page = paginate(request, orders, PER_PAGE)
    to_confirm = (
        selectors.lesson_list(actor=request.user, status=LessonStatus.RECORDED)
        .filter(order__parent_id=request.user.pk)
        .order_by("confirm_by", "id")[:50]
    )
    refunds = selectors.refund_list(actor=request.user).filter(order__parent_id=request.user.pk)[:50]
    return render(
        request,
        "portal/funds/parent_orders.html",
        {"page": page, "to_confirm": to_confirm, "refunds": refunds},
    )


@parent_required
def parent_order(request, order_id: int):
    """The order: where to pay (with a QR code carrying it) while it waits for payment,
    its lessons to confirm or dispute, its receipts, refunds and contract."""
    order = _order(request, order_id)
    lessons = selectors.lesson_list(actor=request.user, order_id=order.pk)[:200]
    refunds = selectors.refund_list(actor=request.user).filter(order_id=order.pk)
    pay = services.paying_in(order) if order.status == OrderStatus.PENDING_PAYMENT else None
    services.receipts_issue(order=order)  # a movement made since the last job run
    receipts = selectors_parent.receipt_list(actor=request.user, order_id=order.pk)
    return render(
        request,
        "portal/funds/parent_order.html",
        {
            "order": order,
            "pay": pay,
            "pay_qr": qr_svg(pay.qr_text, title="缴费信息") if pay else "",
            "receipts": receipts,
            "acceptance": selectors_parent.contract_acceptance(actor=request.user, order_id=order.pk),
            "lessons": lessons,
            "refunds": refunds,
            "refundable": order.status in REFUNDABLE and unconsumed_fen(order) > 0,
            "unconsumed_fen": unconsumed_fen(order),
            "refund_form": ReasonForm(),
            "dispute_form": ReasonForm(),
        },
    )


@parent_required
@require_POST
def parent_lesson_confirm(request, lesson_id: int):
    run_action(
        request, lambda: services.lesson_confirm(actor=request.user, lesson_id=lesson_id), "已确认该课时"
    )
    return safe_next(request, "portal:parent_orders")


@parent_required
@require_POST
def parent_lesson_dispute(request, lesson_id: int):
    run_form(
        request,
        ReasonTextForm,
        lambda d: services.lesson_dispute(actor=request.user, lesson_id=lesson_id, reason=d["reason"]),
        "异议已提交，机构或监管部门将处理",
    )
    return safe_next(request, "portal:parent_orders")


@parent_required
@require_POST
def parent_refund_request(request, order_id: int):
    _order(request, order_id)
    run_form(
        request,
        ReasonTextForm,
        lambda d: services.refund_request(actor=request.user, order_id=order_id, reason=d["reason"]),
        "退费申请已提交，机构须在规定工作日内答复，逾期视为同意",
    )
    return redirect("portal:parent_order", order_id=order_id)


@parent_required
def parent_order_create(request):
    """Buy a course package from a whitelisted institution (its approved courses only);
    every fee rule is checked by ``order_create``."""
    inst = None
    picked = InstitutionPickForm(request.GET if request.GET.get("institution") else request.POST)
    if picked.is_valid() and picked.cleaned_data["institution"]:
        inst = registry.public_institution_get(institution_id=picked.cleaned_data["institution"])
        if not inst.whitelisted:
            raise Http404(_("机构不在白名单内"))
    if inst is None:
        q = request.GET.get("q", "").strip()[:50]
        found = registry.public_whitelist_search(q=q).order_by("id")[:20] if q else []
        return render(request, "portal/funds/parent_order_new.html", {"q": q, "found": found})
    courses = list(
        Course.objects.filter(institution_id=inst.pk, approval_status=ApprovalStatus.APPROVED).order_by("id")
    )
    form = OrderCreateForm(request.POST or None, courses=courses)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            order = services.order_create(
                actor=request.user,
                data=services.OrderInput(
                    course_id=d["course"],
                    learner_name=d["learner_name"],
                    lessons=d["lessons"],
                    months=d["months"],
                    starts_on=d["starts_on"],
                    ends_on=d.get("ends_on"),
                ),
            )
        except NotFound:
            raise Http404(_("课程不存在"))
        except (DomainError, ValidationError) as exc:
            apply_errors(form, exc, official=False)  # a parent reads the rule, not its key
        else:
            messages.success(request, f"订单已生成（{order.amount_fen / 100:.2f} 元），请通过托管银行缴费")
            return redirect("portal:parent_order", order_id=order.pk)
    return render(request, "portal/funds/parent_order_new.html", {"inst": inst, "form": form})
