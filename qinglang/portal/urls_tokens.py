"""My API tokens (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import tokens

urlpatterns: list = [
    path("tokens/", tokens.my_tokens, name="my_tokens"),
    path("tokens/<int:pk>/revoke/", tokens.my_token_revoke, name="my_token_revoke"),
]
