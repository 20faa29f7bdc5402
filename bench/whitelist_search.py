"""``qinglang bench whitelist-search``: the public whitelist search
(GET /api/public/whitelist?q=<common name fragment>&division=<province prefix>, no login)
against the trivial endpoint /api/ping of the same gunicorn server in the same run."""

import argparse
import os
from urllib.parse import urlencode

from bench._common import compare, ensure_data, http_args


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench whitelist-search")
    http_args(p)
    p.add_argument("--q", default="舞蹈", help="name fragment to search for")
    p.add_argument("--division", default="51", help="division prefix (a province)")
    p.add_argument(
        "--cold",
        action="store_true",
        help="turn the public search cache off: every request queries the database",
    )
    a = p.parse_args(argv)
    if a.cold:
        os.environ["QINGLANG_PUBLIC_SEARCH_CACHE_SECONDS"] = "0"
    print(f"public search cache: {'off (--cold)' if a.cold else 'on (as deployed)'}")
    n = ensure_data(a.scale)
    from qinglang.registry.selectors import public_whitelist_search

    matching = public_whitelist_search(q=a.q, division=a.division).count()
    print(f"whitelisted institutions matching q={a.q!r} in {a.division}: {matching:,}")
    url = "/api/public/whitelist?" + urlencode({"q": a.q, "division": a.division})
    return compare("whitelist-search", a, url, None, n)
