"""Stored files: evidence uploads (type checked by content, size limited) and generated
documents. Everything lives under ``settings.MEDIA_ROOT``, which is outside the web root
and never served directly: downloads go through scoped views."""

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from qinglang.core.errors import DomainError

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Checked:
    name: str
    content_type: str
    data: bytes
    sha256: str


def sniff(data: bytes) -> str | None:
    """The content type from the first bytes (magic numbers), or None if not allowed."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" in z.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            return None
    return None


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
