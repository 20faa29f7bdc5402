"""Every page carries a Content-Security-Policy that allows scripts from this site only,
and no page needs more: no inline script, no inline event handler, no hx-on (htmx and
ECharts are local static files)."""

import re

import pytest
from django.test import Client

from qinglang.portal.tests.test_authorization import ROUTES
from qinglang.testing import admin_user

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\s(?:on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
PAGES = [r for r in ROUTES if not r.params and "get" in r.methods]


def test_every_page_has_a_csp_and_no_inline_script():
    from django.core.cache import cache

    admin = Client()
    admin.force_login(admin_user())
    checked, failures = 0, []
    for who, c in (("anonymous", Client()), ("admin", admin)):
        for r in PAGES:
            cache.clear()  # public pages are rate limited per source
            resp = c.get("/" + r.route)
            csp = resp.headers.get("Content-Security-Policy", "")
            if (
                "script-src 'self'" not in csp
                or "unsafe-inline" in csp.split("script-src", 1)[1].split(";")[0]
            ):
                failures.append(f"{who} /{r.route}: CSP {csp!r}")
            if "text/html" in resp.get("Content-Type", "") and resp.status_code == 200:
                html = resp.content.decode("utf-8", "replace")
                checked += 1
                if INLINE_SCRIPT.search(html) or INLINE_HANDLER.search(html):
                    failures.append(f"{who} /{r.route}: inline script or handler")
                if re.search(r"(src|href)=\"https?://", html):
                    failures.append(f"{who} /{r.route}: loads something from another site")
    assert not failures, "\n".join(failures)
    assert checked > 20


def test_hsts_and_secure_cookies_follow_the_setting(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = False
    r = Client().get("/", secure=True)
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
