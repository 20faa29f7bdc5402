"""Shared pieces of the JSON API: authentication (session or API token), the error
envelope ``{code, message, detail}``, and cursor pages."""

from typing import Generic, TypeVar

from ninja import Schema
from ninja.security import APIKeyHeader, HttpBearer, django_auth

T = TypeVar("T")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer qlt_…`` — per-integration tokens, stored hashed. The
    lookup function is set by the accounts app (it lives above core)."""

    lookup = None

    def authenticate(self, request, token):
        user = type(self).lookup(token) if type(self).lookup else None
        if user is not None:
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


class CursorPage(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
