"""A short-lived cache of public whitelist search pages (公开查询缓存).

The public search is the one page every parent in a province may open at once, with the
same few terms (舞蹈, 编程 …); its answer changes only when an institution changes. Pages
are kept for ``settings.PUBLIC_SEARCH_CACHE_SECONDS`` (0: off) under a *version* that every change to an institution bumps
(on save and again on commit), so a search never shows a change later than the cache's
round trip after the change — with Redis, for every web worker; with the embedded
per-process cache, at most that many seconds late in the other workers. Nothing personal is
cached: only public pages, keyed by their query. If the cache server fails, searches go to
the database and writes go on (a missed invalidation is logged; pages then expire by age)."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

_VERSION = "registry:public:v"
log = logging.getLogger(__name__)


def _version() -> int:
    return cache.get_or_set(_VERSION, 1, None)


def bump() -> None:
    """Invalidate every cached public page (now, and again when the transaction commits,
    so a page cached from the old rows in between does not outlive the commit)."""

    def _bump():
        try:
            try:
                cache.incr(_VERSION)
            except ValueError:
                cache.set(_VERSION, 2, None)
        except Exception:  # the cache server is down: never fail the write for it
            log.warning("public search cache not invalidated (cache unavailable)", exc_info=True)

    _bump()
    transaction.on_commit(_bump)


def _key(params: tuple) -> str:
    return "registry:public:wl:" + hashlib.sha256(repr(params).encode()).hexdigest()


def lookup(params: tuple) -> tuple[bytes | None, int]:
    """The cached page for ``params`` (or None) and the version to store a fresh one under
    — read before the page is computed, so a change made meanwhile is never hidden."""
    if not settings.PUBLIC_SEARCH_CACHE_SECONDS:
        return None, 0
    key = _key(params)
    try:
        got = cache.get_many([_VERSION, key])
        version = got.get(_VERSION)
        if version is None:
            version = _version()
    except Exception:  # the cache server is down: answer from the database, store nothing
        log.warning("public search cache unavailable", exc_info=True)
        return None, 0
    hit = got.get(key)
    return (hit[1] if hit is not None and hit[0] == version else None), version


def store(params: tuple, version: int, body: bytes) -> None:
    """Keep a page under the version ``lookup`` gave (0: the cache is off or down)."""
    if not (settings.PUBLIC_SEARCH_CACHE_SECONDS and version):
        return
    try:
        cache.set(_key(params), (version, body), settings.PUBLIC_SEARCH_CACHE_SECONDS)
    except Exception:
        log.warning("public search page not cached (cache unavailable)", exc_info=True)
