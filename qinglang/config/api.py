"""The one NinjaAPI: routers from every app, one error handler for all of them."""

import logging

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from qinglang.accounts.admin_api import router as admin_router
from qinglang.accounts.api import router as accounts_router
from qinglang.accounts.notifications_api import router as notifications_router
from qinglang.accounts.services import api_token_authenticate
from qinglang.analytics.api import router as analytics_router
from qinglang.clues.api import router as clues_router
from qinglang.core.api import router as core_router
from qinglang.core.api_support import TokenAuth, auth_methods
from qinglang.core.errors import DomainError, validation_detail
from qinglang.core.middleware import too_large
from qinglang.enforcement.api import router as enforcement_router
from qinglang.funds.admin_api import router as funds_admin_router
from qinglang.funds.api import router as funds_router
from qinglang.funds.api_parent import public_router as funds_public_router
from qinglang.funds.api_parent import router as funds_parent_router
from qinglang.inspections.api import router as inspections_router
from qinglang.registry.admin_api import router as registry_admin_router
from qinglang.registry.api import public_router as registry_public_router
from qinglang.registry.api import router as registry_router
from qinglang.risk.api import router as risk_router
from qinglang.screening.api import router as screening_router
from qinglang.screening.api import texts_router as screening_texts_router

log = logging.getLogger(__name__)
TokenAuth.lookup = staticmethod(api_token_authenticate)

api = NinjaAPI(
    title="清朗 校外培训监管平台 API",
    version="1",
    description="Qinglang API. Authenticate with a session (and CSRF token) or `Authorization: Bearer <API token>`.",
    auth=auth_methods(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _err(request, code: str, message: str, detail=None, status: int = 400):
    return api.create_response(request, {"code": code, "message": message, "detail": detail}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return _err(request, exc.code, exc.message, exc.detail, exc.status)


@api.exception_handler(DjangoValidationError)
def on_validation_error(request, exc: DjangoValidationError):
    detail = validation_detail(exc)
    first = next(iter(detail.values()))[0] if detail else gettext("输入有误")
    return _err(request, "invalid", first, detail, 422)


@api.exception_handler(NinjaValidationError)
def on_request_error(request, exc: NinjaValidationError):
    return _err(request, "invalid_request", gettext("请求参数格式不正确"), exc.errors, 422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _err(request, "unauthenticated", gettext("请先登录或提供有效的接口令牌"), None, 401)


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def on_404(request, exc):
    return _err(request, "not_found", gettext("对象不存在或无权查看"), None, 404)


@api.exception_handler(PermissionDenied)
def on_403(request, exc):
    return _err(request, "forbidden", gettext("无权执行此操作"), None, 403)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _err(request, "http_error", str(exc), None, exc.status_code)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc):
    return _err(request, "bad_request", "上传内容格式不正确(multipart 请求缺少 boundary 或已损坏)", None, 400)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request, exc):
    # an id or amount beyond what the database column holds (SQLite raises OverflowError,
    # PostgreSQL DataError "out of range"): bad input, not a server fault
    return _err(request, "invalid", "数值超出允许范围", None, 422)


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    log.exception("unhandled API error")
    return _err(
        request,
        "server_error",
        "服务器内部错误，请稍后重试",
        {"request_id": getattr(request, "request_id", "")},
        500,
    )


@api.get("/ping", auth=None, tags=["system"], summary="Trivial endpoint (health and benchmark reference)")
def ping(request):
    return {"ok": True}


# the funds routers first: Django tries URL patterns in turn, and lessons and confirmations
# are the paths called hundreds of times a second at peak (no other prefix overlaps them)
api.add_router("/funds", funds_router)
api.add_router("/funds", funds_parent_router)
api.add_router("/core", core_router)
api.add_router("/accounts", accounts_router)
api.add_router("/admin", admin_router)
api.add_router("/admin/institutions", registry_admin_router)  # upper apps' share of the admin API
api.add_router("/admin/banks", funds_admin_router)
api.add_router("/notifications", notifications_router)
api.add_router("/registry", registry_router)
api.add_router("/public", registry_public_router)
api.add_router("/public", funds_public_router)
api.add_router("/inspections", inspections_router)
api.add_router("/clues", clues_router)
api.add_router("/enforcement", enforcement_router)
api.add_router("/risk/texts", screening_texts_router)  # the path the issue names; risk/ is another app
api.add_router("/screening", screening_router)
api.add_router("/risk", risk_router)
api.add_router("/analytics", analytics_router)
