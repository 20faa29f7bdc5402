"""``qinglang bench api-list``: a county regulator's filtered institution list page
(GET /api/registry/institutions?category=…&status=active&limit=50, API token) against the
trivial endpoint /api/ping of the same gunicorn server in the same run."""

import argparse
from urllib.parse import urlencode

from bench._common import compare, ensure_data, http_args

USERNAME = "bench-regulator"


def regulator_token(county: str) -> str:
    from django.db import transaction

    from qinglang.accounts.models import User
    from qinglang.accounts.permissions import system
    from qinglang.accounts.services import api_token_create, membership_grant, user_create

    with transaction.atomic():
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            user = user_create(
                actor=system("bench"),
                username=USERNAME,
                password="Bench-not-for-login-2026",
                display_name="基准测试 区县监管",
                check_password=False,
            )
            membership_grant(
                actor=system("bench"), user=user, role="regulator_leader", division_prefixes=[county]
            )
        _, plain = api_token_create(actor=system("bench"), user=user, name="benchmark api-list")
    return plain


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench api-list")
    http_args(p)
    p.add_argument("--county", default="510107", help="the regulator's division prefix")
    p.add_argument("--category", default="non_subject")
    a = p.parse_args(argv)
    n = ensure_data(a.scale)
    token = regulator_token(a.county)
    url = "/api/registry/institutions?" + urlencode({"category": a.category, "status": "active", "limit": 50})
    from qinglang.registry.models import Institution

    matching = Institution.objects.filter(
        division_code__startswith=a.county, category=a.category, status="active"
    ).count()
    print(f"institutions in scope matching the filter: {matching:,}")
    return compare("api-list", a, url, {"Authorization": f"Bearer {token}"}, n)
