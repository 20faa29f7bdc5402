"""Division full names for display ('510107009' → '四川省成都市武侯区晋阳街道'), kept per
process and invalidated explicitly across processes.

Every core service that adds or renames divisions calls ``names_changed()``, which bumps a
version key in the shared cache (``caches["shared"]``: Redis when configured, else the
database cache table, so every web and job process sees the same key) at once and again on
commit — at once so the writing request sees its own change, on commit so that a process
that re-read the old name meanwhile drops it too. A process reads the version at most once
per request (``request_started`` forgets it) and empties its names when it changed: a rename
shows on the next request in every process."""

import logging
import threading
import uuid

from django.core.cache import caches
from django.core.signals import request_started
from django.db import transaction

log = logging.getLogger(__name__)

VERSION_KEY = "core:division_names:version"
_names: dict[str, str] = {}
_state = {"version": None}
_local = threading.local()  # the version this request saw


def _shared():
    return caches["shared"]


def _bump() -> None:
    # a fresh random value rather than a counter: a bump inside a transaction that is then
    # rolled back must never be reused by a later change (the database cache rolls back)
    try:
        _shared().set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # the names stay right in this process; others catch up on the next change
        log.exception("could not bump the division names version")


def names_changed() -> None:
    """Say that division names changed (call inside the writing service's transaction)."""
    _bump()
    transaction.on_commit(_bump)


def _version():
    if not hasattr(_local, "version"):
        try:
            _local.version = _shared().get(VERSION_KEY, "")
        except Exception:
            log.exception("could not read the division names version")
            _local.version = None  # unknown: do not trust what this process holds
    return _local.version


def _forget_request_version(**_kwargs) -> None:
    _local.__dict__.pop("version", None)


request_started.connect(_forget_request_version, dispatch_uid="core.division_names")


def full_name(code: str) -> str:
    """The division's full name, or the code itself when there is no such division."""
    from .models import Division

    version = _version()
    if version is None or version != _state["version"]:
        _names.clear()
        _state["version"] = version
    hit = _names.get(code)
    if hit is None:
        d = Division.objects.filter(code=code).only("full_name", "name").first()
        hit = (d.full_name or d.name) if d else code
        if len(_names) >= 20_000:
            _names.clear()
        _names[code] = hit
    return hit
