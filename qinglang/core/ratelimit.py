"""Counters for rate limits, shared by every worker process: the ``shared`` cache (Redis
when configured, else Django's database cache in the deployment's database), never a
process's own memory, so two workers do not double a documented limit."""

import hashlib
import logging
from contextlib import nullcontext

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import transaction

from .errors import DomainError

log = logging.getLogger(__name__)


class RateLimited(DomainError):
    """A burst beyond a limit (429), with the seconds to wait in ``detail``."""

    def __init__(self, seconds: int, what: str = "提交"):
        super().__init__(
            "rate_limited",
            f"{what}过于频繁，请{seconds // 60 or 1}分钟后再试",
            {"retry_after": seconds},
            status=429,
        )


def _cache():
    return caches["shared"]


def key(kind: str, *parts: str) -> str:
    """A counter's key: the kind and a digest of who (no address or name in the store)."""
    return f"qinglang:{kind}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def count(k: str, window: int) -> int:
    """One more hit on counter ``k`` (expiring ``window`` seconds after its first hit);
    its new value. On the database cache the read and write run in one transaction, which
    SQLite (``IMMEDIATE``) serialises across processes."""
    c = _cache()
    atomic = transaction.atomic() if isinstance(c, DatabaseCache) else nullcontext()
    with atomic:
        if c.add(k, 1, window):
            return 1
        try:
            return c.incr(k)
        except ValueError:  # expired between add and incr
            c.set(k, 1, window)
            return 1


def check(kind: str, ident: str, limit: int, window: int, *, what: str = "提交") -> None:
    """Count one hit of ``ident`` on counter ``kind``; past ``limit`` within ``window``
    seconds, refuse it (``RateLimited``). If the cache fails, the limit is not applied
    (logged): the request costs less than a service that stops when its cache does."""
    try:
        n = count(key(kind, ident), window)
    except Exception:
        log.warning("rate limit %s not applied (cache unavailable)", kind, exc_info=True)
        return
    if n > limit:
        raise RateLimited(window, what)


def first(k: str, window: int) -> bool:
    """True the first time ``k`` is seen within ``window`` seconds (a set membership)."""
    return _cache().add(k, 1, window)


def peek(k: str) -> int:
    return int(_cache().get(k) or 0)


def client_ip(request) -> str:
    """The client's address: ``settings.CLIENT_IP_HEADER`` when a proxy sets it (its
    first address), else the connection's."""
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.headers.get(header, "")
        if value:
            return value.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")
