"""``{% unread_notifications as n %}``: the signed-in user's unread count for the nav."""

from django import template

from qinglang.accounts.notifications import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    if not hasattr(request, "_ql_unread"):
        request._ql_unread = unread_count(user)  # once per request
    return request._ql_unread
