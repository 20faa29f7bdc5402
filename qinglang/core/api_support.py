"""Shared pieces of the JSON API: authentication (session or API token), the error
envelope ``{code, message, detail}``, and cursor pages."""

from typing import Annotated

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.security import APIKeyHeader, HttpBearer, django_auth
from pydantic import Field

from .errors import PermissionDeniedError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer qlt_…`` — per-integration tokens, stored hashed. The
    lookup function is set by the accounts app (it lives above core)."""

    lookup = None

    def authenticate(self, request, token):
        user = type(self).lookup(token) if type(self).lookup else None
        if user is not None:
            if getattr(user, "api_token_scope", "") == "read" and request.method not in SAFE_METHODS:
                raise PermissionDeniedError(_("此接口令牌为只读，不能用于写入"))
            request.user = user
        return user


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-API-Token"

    def authenticate(self, request, key):
        return TokenAuth().authenticate(request, key)


def auth_methods():
    return [TokenAuth(), TokenHeaderAuth(), django_auth]


class Error(Schema):
    code: str
    message: str
    detail: object | None = None


def fast_page_response(page, schema) -> "HttpResponse":
    """A cursor page of ``.values()`` rows as JSON, skipping per-row model validation.
    For hot list endpoints whose rows are plain columns: the rows carry exactly the
    schema's fields (the declared response schema still documents them in OpenAPI)."""
    fields = list(schema.model_fields)
    items = page.items
    if items and list(items[0]) != fields:
        items = [{f: row[f] for f in fields} for row in items]
    body = {"items": items, "next_cursor": page.next_cursor}
    return HttpResponse(
        orjson.dumps(body, default=_encoder.default), content_type="application/json; charset=utf-8"
    )


_encoder = DjangoJSONEncoder()  # for what orjson leaves (Decimal, lazy strings, UUID…)


# Paging parameters of offset lists: out-of-range values are a 422 from request
# validation (and documented in the OpenAPI document), never a negative slice.
Offset = Annotated[int, Field(ge=0, le=1_000_000)]

Limit = Annotated[int, Field(ge=1, le=200)]
