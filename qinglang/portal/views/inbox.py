"""The in-app notification inbox (站内通知): the user's own notifications, newest first,
with marking read. Every user has one; nobody sees another's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from qinglang.accounts import notifications

from .common import safe_next


@login_required
def inbox(request):
    unread_only = request.GET.get("show") == "unread"
    qs = notifications.inbox(request.user, unread_only=unread_only)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/inbox/inbox.html",
        {"page": page, "unread_only": unread_only, "unread": notifications.unread_count(request.user)},
    )


@login_required
@require_POST
def inbox_read(request, notification_id: int):
    """Mark one notification read and go where it points (a path inside the portal)."""
    notifications.notification_mark_read(actor=request.user, ids=[notification_id])
    link = notifications.inbox(request.user).filter(pk=notification_id).values_list("link", flat=True).first()
    return safe_next(request, "portal:inbox", value=link or "")


@login_required
@require_POST
def inbox_read_all(request):
    n = notifications.notification_mark_read(actor=request.user)
    messages.success(request, f"已将{n}条通知标为已读" if n else "没有未读通知")
    return redirect("portal:inbox")
