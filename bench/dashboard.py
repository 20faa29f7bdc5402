"""``qinglang bench dashboard``: the county's and the province's indicator dashboard and
the county's weekly ranking page, each loaded open-loop at a fixed rate (default 50 req/s)
by a logged-in leader (session cookie) on gunicorn, against the trivial endpoint
``/api/ping`` at the same rate in the same run; prints ``p99 N ms`` per page. The roll-ups
are refreshed first. Goal: p99 ≤ 100 ms."""

import argparse
import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from bench._common import Server, ensure_data
from bench._load import percentile

USERNAME = "bench-analytics-leader"


def _session_cookie(prefix: str) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from qinglang.accounts.models import User
    from qinglang.accounts.permissions import system
    from qinglang.accounts.services import membership_grant, user_create

    user = User.objects.filter(username=f"{USERNAME}-{prefix}").first()
    if user is None:
        user = user_create(
            actor=system("bench"),
            username=f"{USERNAME}-{prefix}",
            password="Bench-not-for-login-2026",
            display_name="基准测试 领导",
            check_password=False,
        )
        membership_grant(
            actor=system("bench"), user=user, role="regulator_leader", division_prefixes=[prefix]
        )
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b.lower())
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    return f"{settings.SESSION_COOKIE_NAME}={s.session_key}"


def open_loop(url: str, *, rate: float, duration: float, headers: dict) -> dict:
    """Requests sent at a fixed rate whatever the answers' speed (open loop)."""
    u = urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    lat, statuses, lock = [], {}, threading.Lock()

    def one():
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            st = r.status
        except OSError:
            st = 0
        finally:
            conn.close()
        with lock:
            lat.append(time.perf_counter() - t0)
            statuses[st] = statuses.get(st, 0) + 1

    for _ in range(3):
        one()
    lat.clear()
    statuses.clear()
    n = int(rate * duration)
    with ThreadPoolExecutor(max_workers=32) as pool:
        t0 = time.perf_counter()
        for i in range(n):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(one)
    lat.sort()
    return {
        "n": len(lat),
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "statuses": statuses,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="qinglang bench dashboard")
    p.add_argument("--scale", default="province")
    p.add_argument("--county", default="510107")
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    from django.utils import timezone

    from qinglang.analytics.models import IndicatorValue
    from qinglang.analytics.refresh import refresh

    n = ensure_data(a.scale)
    if not IndicatorValue.objects.filter(period="week").exists():
        t0 = time.monotonic()
        refresh(full=True)
        print(f"roll-ups refreshed in {time.monotonic() - t0:.1f} s", flush=True)
    province = a.county[:2]
    week = timezone.localdate().isoformat()
    pages = {
        "county-dashboard": (f"/console/analytics/?division={a.county}&period=week", a.county),
        "province-dashboard": (f"/console/analytics/?division={province}&period=week", province),
        "county-ranking": (f"/console/analytics/ranking/?division={a.county}&week={week}", a.county),
    }
    cookies = {prefix: _session_cookie(prefix) for _u, prefix in pages.values()}
    print(
        f"{n:,} institutions; {a.rate:g} req/s for {a.duration:g} s per page, gunicorn {a.workers} workers",
        flush=True,
    )
    worst = 0.0
    with Server(a.workers) as srv:
        ping = open_loop(srv.base + "/api/ping", rate=a.rate, duration=a.duration, headers={})
        print(
            f"/api/ping: p50 {ping['p50_ms']:.1f} ms, p99 {ping['p99_ms']:.1f} ms, {ping['statuses']}",
            flush=True,
        )
        for name, (url, prefix) in pages.items():
            r = open_loop(
                srv.base + url, rate=a.rate, duration=a.duration, headers={"Cookie": cookies[prefix]}
            )
            print(
                f"{name}: p99 {r['p99_ms']:.1f} ms (p50 {r['p50_ms']:.1f} ms, {r['n']} requests, {r['statuses']})",
                flush=True,
            )
            if set(r["statuses"]) != {200}:
                raise SystemExit(f"{name}: not every answer was 200: {r['statuses']}")
            worst = max(worst, r["p99_ms"])
    ratio = worst / ping["p99_ms"] if ping["p99_ms"] else 0.0
    goal = "met" if worst <= 100 else "NOT met"
    print(f"goal p99 <= 100 ms on every page: {goal}")
    print(
        f"RESULT dashboard {worst:.1f} ms ratio={ratio:.2f} ref=api-ping-p99:{ping['p99_ms']:.1f}ms/{a.rate:g}rps"
    )
    return 0
