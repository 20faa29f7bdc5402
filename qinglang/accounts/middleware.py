import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, resolve_url
from django.utils.http import urlencode

from .models import STAFF_ROLES
from .scope import actor_for

SESSION_KEY = "qinglang_last_seen"


class IdleTimeoutMiddleware:
    """Staff roles are logged out after ``STAFF_IDLE_TIMEOUT_SECONDS`` without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            actor = actor_for(user)
            if actor.roles & STAFF_ROLES:
                now = int(time.time())
                last = request.session.get(SESSION_KEY)
                if last is not None and now - int(last) > settings.STAFF_IDLE_TIMEOUT_SECONDS:
                    logout(request)
                    if request.path.startswith("/api/"):
                        from django.http import JsonResponse

                        return JsonResponse(
                            {
                                "code": "session_expired",
                                "message": "登录已超时，请重新登录",
                                "detail": None,
                            },
                            status=401,
                        )
                    messages.info(request, "您已超过30分钟未操作，请重新登录。")
                    return redirect(resolve_url(settings.LOGIN_URL) + "?" + urlencode({"next": request.path}))
                request.session[SESSION_KEY] = now
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """After an administrator's reset (or a first login with an initial password) the user
    must choose a new password before anything else: pages redirect to the change form,
    the session API answers 403 ``password_change_required``. Token calls (integrations)
    are not sessions and pass."""

    ALLOWED = ("/accounts/password/", "/accounts/logout/", "/static/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(self.ALLOWED)
            and not request.headers.get("Authorization")
            and not request.headers.get("X-API-Token")
        ):
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"code": "password_change_required", "message": "请先修改初始密码", "detail": None},
                    status=403,
                )
            return redirect("accounts:password_change")
        return self.get_response(request)
