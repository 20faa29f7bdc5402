"""The in-app notification inbox (站内通知): the user's own notifications, newest first,
with marking read. Every user has one; nobody sees another's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from qinglang.accounts import notifications

from ..paging import paginate
from .common import safe_next


@login_required
def inbox(request):
    """The inbox: groups by kind with their unread counts, filtered by group and read state."""
    unread_only = request.GET.get("show") == "unread"
    group = request.GET.get("kind", "")
    group = group if group in notifications.KIND_LABELS else ""
    qs = notifications.inbox(request.user, unread_only=unread_only, group=group)
    page = paginate(request, qs, 30)
    for n in page:
        n.kind_label = notifications.kind_label(n.kind)
    return render(
        request,
        "portal/inbox/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": notifications.unread_count(request.user),
            "groups": notifications.inbox_groups(request.user),
            "group": group,
        },
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
