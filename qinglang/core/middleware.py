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
