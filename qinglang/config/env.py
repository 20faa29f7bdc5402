"""Strict environment parsing: settings come only from the environment.

A boolean is exactly ``true`` or ``false``; any secret ``NAME`` may instead be given as a
file path in ``NAME_FILE`` (container secrets). A malformed value stops start-up with a
message naming the variable, rather than running with a guess.
"""

import os
from pathlib import Path


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc}") from exc
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value == "true":
        return True
    if value == "false":
        return False
    raise ConfigError(f"{name} must be exactly 'true' or 'false', got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [v.strip() for v in value.split(",") if v.strip()]


def env_line(name: str, default: str = "", *, max_len: int = 100) -> str:
    """One line of display text (a unit's name): no line breaks or control characters,
    at most ``max_len`` characters, surrounding spaces removed."""
    value = os.environ.get(name)
    if value is None:
        return default
    value = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{name} must be one line of text without control characters")
    if len(value) > max_len:
        raise ConfigError(f"{name} must be at most {max_len} characters, got {len(value)}")
    return value or default


def parallel_worker_redis_url(url: str, worker: str) -> str:
    """The Redis database of one parallel test worker ("gw0", "gw1", …): the configured
    database number plus the worker's (modulo 16), as ``cache.clear()`` flushes a whole
    database and must not empty another worker's."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    n = int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + n) % 16}"))
