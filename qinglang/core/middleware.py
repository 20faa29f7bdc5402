import re

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from .context import new_request_id, request_id_var

_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (kept from a sane incoming X-Request-ID, else new), which
    every audit event of the request carries and the response returns."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _RID.match(incoming) else new_request_id()
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """The interface speaks Chinese first: the language is the one the user chose (the
    language cookie set by the switcher), else zh-hans — never guessed from the browser's
    Accept-Language, which on many office machines says English."""

    def process_request(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in dict(settings.LANGUAGES):
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = translation.get_language()


class RequestSizeMiddleware:
    """Too large a body is a 413 before anything reads it: a body that is not multipart
    (JSON, form fields) may carry at most ``DATA_UPLOAD_MAX_MEMORY_SIZE``; a multipart
    upload at most ``QINGLANG_MAX_UPLOAD_BYTES`` (the largest import file plus its form).
    The API answers ``{code: "too_large", …}``, pages a short Chinese message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.QINGLANG_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit and length > limit:
            return too_large(request, limit)
        return self.get_response(request)


def too_large(request, limit: int):
    from django.http import HttpResponse, JsonResponse

    message = f"请求内容过大(上限 {limit // (1024 * 1024)} MB)"
    if request.path.startswith("/api/"):
        body = {"code": "too_large", "message": message, "detail": {"limit": limit}}
        return JsonResponse(body, status=413, json_dumps_params={"ensure_ascii": False})
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline script, no eval: htmx, ECharts and our JS are static files
        "style-src 'self' 'unsafe-inline'",  # style attributes and htmx's indicator style
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Every response carries the Content-Security-Policy (pages load scripts only from
    this site; nothing from a CDN, nothing inline)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response
