"""What parents keep (家长凭证): receipts for payments, confirmed lessons and refunds (a
printable page and a PDF), the order's contract as a .docx and its acceptance, and the
public receipt check at ``/verify/<code>`` (amount, date, institution and state; nothing
personal; an unknown code is a bare 404)."""

import io

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from qinglang.core.errors import NotFound
from qinglang.core.i18n import chinese_display
from qinglang.core.money import format_yuan
from qinglang.core.ratelimit import RateLimited, client_ip
from qinglang.funds import selectors_parent, services
from qinglang.funds.services.receipts import display_code, receipt_state

from ..qr import qr_svg
from .common import run_action
from .funds_parent import _order, parent_required


def _receipt(request, receipt_id: int):
    try:
        return selectors_parent.receipt_get(actor=request.user, receipt_id=receipt_id)
    except NotFound:
        raise Http404(_("凭证不存在或无权查看"))


def _verify_url(request, receipt) -> str:
    return request.build_absolute_uri(reverse("portal:receipt_verify", args=[receipt.code]))


@parent_required
def parent_receipt(request, receipt_id: int):
    """The printable receipt."""
    r = _receipt(request, receipt_id)
    url = _verify_url(request, r)
    return render(
        request,
        "portal/funds/receipt.html",
        {
            "r": r,
            "order": r.order,
            "code": display_code(r.code),
            "state": receipt_state(r),
            "verify_url": url,
            "qr": qr_svg(url, title="扫码核验凭证"),
        },
    )


@parent_required
def parent_receipt_pdf(request, receipt_id: int):
    """The receipt as a PDF (A5, the CJK font built into reportlab, no files needed)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    r = _receipt(request, receipt_id)
    url = _verify_url(request, r)
    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A5)
    width, height = A5
    c.setTitle(f"{r.institution.name} {chinese_display(r, 'kind')} {display_code(r.code)}")
    c.setSubject(f"订单 {r.order_id} {r.order.course.name}")
    c.setFont(font, 18)
    c.drawCentredString(width / 2, height - 20 * mm, f"校外培训预收费{chinese_display(r, 'kind')}")
    rows = [
        ("机构", r.institution.name),
        ("课程", r.order.course.name),
        ("学员", r.order.learner_name),
        ("订单号", str(r.order_id)),
        ("金额", f"{format_yuan(r.amount_fen)} 元"),
        ("日期", f"{timezone.localtime(r.occurred_at):%Y-%m-%d %H:%M}"),
        ("当前状态", receipt_state(r)),
        ("记账凭证号", str(r.posting_id)),
        ("审计事件", f"#{r.audit_seq}"),
        ("审计哈希", r.audit_hash[:32]),
        ("", r.audit_hash[32:]),
        ("核验码", display_code(r.code)),
    ]
    y = height - 35 * mm
    for label, value in rows:
        c.setFont(font, 10)
        c.drawString(15 * mm, y, label)
        c.drawString(42 * mm, y, value[:40])
        y -= 7 * mm
    size = 38 * mm
    widget = QrCodeWidget(url)
    x1, y1, x2, y2 = widget.getBounds()
    d = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    d.add(widget)
    renderPDF.draw(d, c, width - 15 * mm - size, 14 * mm)
    c.setFont(font, 8)
    c.drawString(15 * mm, 24 * mm, "扫码或访问以下地址核验本凭证：")
    c.drawString(15 * mm, 19 * mm, url[:70])
    c.showPage()
    c.save()
    resp = HttpResponse(buf.getvalue(), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="receipt-{r.code}.pdf"'
    return resp


@require_GET
def receipt_verify(request, verification: str):
    """Public: a receipt's amount, date, institution and state. Anything but an issued
    code is the same bare 404; too many checks from one address, a 429 that says so."""
    try:
        v = services.receipt_verify(verification, client=client_ip(request))
    except RateLimited as exc:
        minutes = max(1, exc.detail["retry_after"] // 60)
        return render(request, "portal/public/verify.html", {"v": None, "limited": minutes}, status=429)
    if v is None:
        raise Http404()
    return render(request, "portal/public/verify.html", {"v": v, "code": display_code(verification.upper())})


@require_GET
def receipt_verify_form(request):
    """Public: type a code to check it."""
    code = request.GET.get("code", "").strip()[:40]
    if code:
        from qinglang.funds.services.receipts import normalise_code

        norm = normalise_code(code)
        if norm is not None:
            return redirect("portal:receipt_verify", verification=norm)
    return render(request, "portal/public/verify.html", {"v": None, "asked": bool(code)})


@parent_required
def parent_contract(request, order_id: int):
    """The order's contract as a .docx."""
    order = _order(request, order_id)
    resp = HttpResponse(
        services.contract_docx(order),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    resp["Content-Disposition"] = f'attachment; filename="contract-{order.pk}.docx"'
    return resp


@parent_required
@require_POST
def parent_contract_accept(request, order_id: int):
    _order(request, order_id)
    run_action(
        request,
        lambda: services.contract_accept(actor=request.user, order_id=order_id),
        "已确认同意服务合同，签署时间已记录",
    )
    return redirect("portal:parent_order", order_id=order_id)
