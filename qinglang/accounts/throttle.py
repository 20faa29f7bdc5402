"""The per-address login throttle: after ``LOGIN_IP_MAX_USERNAMES`` different usernames
failed from one address within ``LOGIN_IP_WINDOW_SECONDS``, that address may not try
again until the window ends (password spraying across accounts). The lockout of an
account after five failures (django-axes) stays per account. Counted in the shared cache,
so every worker sees one count."""

from django.conf import settings

from qinglang.core import ratelimit


def _counter(ip: str) -> str:
    return ratelimit.key("login-ip", ip)


def login_ip_refused(ip: str) -> bool:
    return ratelimit.peek(_counter(ip)) >= settings.LOGIN_IP_MAX_USERNAMES


def login_ip_failed(ip: str, username: str) -> int:
    """Note a failed login for ``username`` from ``ip``; the number of different usernames
    that failed from it in the window."""
    window = settings.LOGIN_IP_WINDOW_SECONDS
    if ratelimit.first(ratelimit.key("login-ip-user", ip, username.strip().lower()), window):
        return ratelimit.count(_counter(ip), window)
    return ratelimit.peek(_counter(ip))
