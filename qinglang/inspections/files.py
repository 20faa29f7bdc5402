"""Stored files: evidence uploads (type checked by content, size limited) and generated
documents. Everything lives under ``settings.MEDIA_ROOT``, which is outside the web root
and never served directly: downloads go through scoped views."""

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from qinglang.core.errors import DomainError
from qinglang.core.files import DOCX, sniff_allowed

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Checked:
    name: str
    content_type: str
    data: bytes
    sha256: str


EVIDENCE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", DOCX})


def sniff(data: bytes) -> str | None:
    """The content type from the first bytes (magic numbers), or None if not allowed."""
    return sniff_allowed(data, EVIDENCE_TYPES)


def check_upload(f) -> Checked:
    """Read an uploaded file and refuse anything that is not a photo, PDF or Word file by
    content, or that is too large."""
    name = (getattr(f, "name", "") or "file")[-200:]
    size = getattr(f, "size", None)
    if size is not None and size > MAX_EVIDENCE_BYTES:
        raise DomainError(
            "evidence_too_large",
            f"证据文件“{name}”超过{MAX_EVIDENCE_BYTES // (1024 * 1024)}MB上限",
            {"name": name, "size": size, "limit": MAX_EVIDENCE_BYTES},
            status=422,
        )
    if hasattr(f, "seek"):
        f.seek(0)
    data = f.read(MAX_EVIDENCE_BYTES + 1)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise DomainError(
            "evidence_too_large",
            f"证据文件“{name}”超过{MAX_EVIDENCE_BYTES // (1024 * 1024)}MB上限",
            {"name": name, "limit": MAX_EVIDENCE_BYTES},
            status=422,
        )
    if not data:
        raise DomainError("evidence_empty", f"证据文件“{name}”为空", {"name": name}, status=422)
    ctype = sniff(data)
    if ctype is None:
        raise DomainError(
            "evidence_type_refused",
            f"证据文件“{name}”不是允许的类型(仅限 JPEG/PNG/WebP 照片、PDF、Word 文档，按文件内容识别)",
            {"name": name},
            status=422,
        )
    return Checked(name, ctype, data, hashlib.sha256(data).hexdigest())


def root() -> Path:
    return Path(settings.MEDIA_ROOT)


def store(data: bytes, *, folder: str, suffix: str = "") -> tuple[str, str, bool]:
    """Write ``data`` content-addressed under MEDIA_ROOT/folder; returns (relative path,
    sha256, created). Same content, same file: a retry or a rolled-back write leaves at
    most an unreferenced copy, never a wrong one."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{folder}/{digest[:2]}/{digest}{suffix}"
    full = root() / rel
    if full.exists():
        return rel, digest, False
    full.parent.mkdir(parents=True, exist_ok=True)
    tmp = full.with_name(f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    tmp.replace(full)
    return rel, digest, True


def discard(rel: str) -> None:
    (root() / rel).unlink(missing_ok=True)


def open_stored(rel: str):
    full = (root() / rel).resolve()
    if root().resolve() not in full.parents:
        raise DomainError("bad_path", "文件路径无效")
    return full.open("rb")
