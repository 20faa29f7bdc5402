import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, resolve_url
from django.utils.http import urlencode

from .models import STAFF_ROLES
from .scope import actor_for

SESSION_KEY = "qinglang_last_seen"
LOGIN_AT = "qinglang_login_at"
# the last-seen stamp is renewed when it is this old: the idle timeout counts in minutes,
# and an unchanged session is not written back to the database
LAST_SEEN_STEP_SECONDS = 60


def _expired(request, text: str):
    logout(request)
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"code": "session_expired", "message": text, "detail": None}, status=401)
    messages.info(request, text)
    return redirect(resolve_url(settings.LOGIN_URL) + "?" + urlencode({"next": request.path}))


class IdleTimeoutMiddleware:
    """Staff roles are logged out after ``STAFF_IDLE_TIMEOUT_SECONDS`` without a request,
    and ``STAFF_SESSION_MAX_SECONDS`` after signing in however active they are (the
    sign-in time is set by the login views; a session without one starts counting now)."""

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
                    minutes = settings.STAFF_IDLE_TIMEOUT_SECONDS // 60
                    api = request.path.startswith("/api/")
                    return _expired(
                        request,
                        "登录已超时，请重新登录" if api else f"您已超过{minutes}分钟未操作，请重新登录。",
                    )
                started = request.session.setdefault(LOGIN_AT, now)
                if now - int(started) > settings.STAFF_SESSION_MAX_SECONDS:
                    hours = settings.STAFF_SESSION_MAX_SECONDS // 3600
                    return _expired(request, f"登录已满{hours}小时，请重新登录。")
                if last is None or now - int(last) >= LAST_SEEN_STEP_SECONDS:
                    request.session[SESSION_KEY] = now  # a session write a minute, not a request
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


class TwoFactorRequiredMiddleware:
    """The platform admin and regulator leaders (``two_factor.TWO_FACTOR_ROLES``), when
    ``TWO_FACTOR_REQUIRED``: a session not verified by a second factor reaches only the
    enrolment page (pages redirect there; the session API answers 403
    ``two_factor_required``). Token calls are not sessions and pass."""

    ALLOWED = ("/accounts/", "/static/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.TWO_FACTOR_REQUIRED
            and user is not None
            and user.is_authenticated
            and not request.path.startswith(self.ALLOWED)
            and not request.headers.get("Authorization")
            and not request.headers.get("X-API-Token")
        ):
            from .two_factor import two_factor_required

            if two_factor_required(user) and not user.is_verified():
                if request.path.startswith("/api/"):
                    from django.http import JsonResponse

                    return JsonResponse(
                        {"code": "two_factor_required", "message": "请先完成两步验证", "detail": None},
                        status=403,
                    )
                return redirect("accounts:two_factor")
        return self.get_response(request)
