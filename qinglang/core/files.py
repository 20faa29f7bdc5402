"""Stored files: the one content-addressed file store every app uses.

- What an uploaded file really is, judged by its first bytes (magic numbers) — never by
  its name or declared type, so an executable renamed ``.jpg`` is refused. Each caller
  states which kinds it accepts (evidence: photos, PDF, Word; grid reports: photos).
- ``check_upload`` reads an upload once, refuses what is too large, empty or of a kind not
  accepted, and returns its bytes, type and SHA-256.
- ``check_photo`` / ``read_photos`` / ``store_photo``: photos (grid reports, visits,
  check-ins, screenshots, evidence), judged by content, bounded in size and number, and
  kept in the store.
- ``store`` writes bytes under ``settings.MEDIA_ROOT/<folder>/<sha256[:2]>/<sha256><suffix>``:
  same content, same file, written atomically (temporary file, then rename), so a retry or
  a rolled-back write leaves at most an unreferenced copy, never a wrong one. MEDIA_ROOT is
  outside the web root and never served directly: downloads go through scoped views
  (``open_stored``)."""

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from .errors import DomainError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PHOTOS = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"})
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    DOCX: "docx",
}


def sniff(data: bytes) -> str | None:
    """The content type of ``data`` from its magic numbers, or None if unrecognised."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" in z.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            return None
    return None


def sniff_allowed(data: bytes, allowed: frozenset[str] | set[str]) -> str | None:
    """The content type if it is one of ``allowed``, else None."""
    ctype = sniff(data)
    return ctype if ctype in allowed else None


# --- uploads --------------------------------------------------------------------------

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", DOCX})


@dataclass(frozen=True)
class Checked:
    name: str
    content_type: str
    data: bytes
    sha256: str


def check_upload(
    f,
    *,
    allowed: frozenset[str] = EVIDENCE_TYPES,
    max_bytes: int | None = None,
    what: str = "证据文件",
    kinds: str = "JPEG/PNG/WebP 照片、PDF、Word 文档",
) -> Checked:
    """Read an uploaded file; refuse (422) anything too large, empty, or not one of
    ``allowed`` by content (``max_bytes``: MAX_EVIDENCE_BYTES unless given)."""
    max_bytes = max_bytes or MAX_EVIDENCE_BYTES
    name = (getattr(f, "name", "") or "file")[-200:]
    size = getattr(f, "size", None)
    too_large = DomainError(
        "evidence_too_large",
        f"{what}“{name}”超过{max_bytes // (1024 * 1024)}MB上限",
        {"name": name, "limit": max_bytes, **({"size": size} if size is not None else {})},
        status=422,
    )
    if size is not None and size > max_bytes:
        raise too_large
    if hasattr(f, "seek"):
        f.seek(0)
    data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    if not data:
        raise DomainError(
            "evidence_empty",
            format_lazy(gettext_lazy("{what}“{name}”为空"), what=what, name=name),
            {"name": name},
            status=422,
        )
    ctype = sniff_allowed(data, allowed)
    if ctype is None:
        raise DomainError(
            "evidence_type_refused",
            format_lazy(
                gettext_lazy("{what}“{name}”不是允许的类型(仅限 {kinds}，按文件内容识别)"),
                what=what,
                name=name,
                kinds=kinds,
            ),
            {"name": name},
            status=422,
        )
    return Checked(name, ctype, data, hashlib.sha256(data).hexdigest())


# --- photos ---------------------------------------------------------------------------

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024


def check_photo(data: bytes, name: str = "") -> tuple[str, str, str]:
    """(content_type, ext, sha256) of an image, judged by its first bytes."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError(
            {
                "photos": format_lazy(
                    gettext_lazy("照片“{name}”超过{value}MB"),
                    name=name,
                    value=MAX_PHOTO_BYTES // 1024 // 1024,
                )
            }
        )
    ctype = sniff_allowed(data, PHOTOS)
    if ctype is None:
        raise ValidationError(
            {
                "photos": format_lazy(
                    gettext_lazy("文件“{name}”不是有效的图片(仅接受 JPEG/PNG/GIF/WebP/HEIC)"), name=name
                )
            }
        )
    return ctype, EXTENSIONS[ctype], hashlib.sha256(data).hexdigest()


def read_photos(files) -> list[tuple[bytes, str, str, str]]:
    """(data, content_type, ext, sha256) of each uploaded photo: at most ``MAX_PHOTOS``,
    each checked by ``check_photo``; nothing is stored yet."""
    files = list(files or [])
    if len(files) > MAX_PHOTOS:
        raise ValidationError(
            {"photos": format_lazy(gettext_lazy("最多上传{MAX_PHOTOS}张照片"), MAX_PHOTOS=MAX_PHOTOS)}
        )
    out = []
    for f in files:
        if getattr(f, "size", 0) > MAX_PHOTO_BYTES:
            raise ValidationError(
                {
                    "photos": format_lazy(
                        gettext_lazy("照片“{name}”超过{value}MB"),
                        name=f.name,
                        value=MAX_PHOTO_BYTES // 1024 // 1024,
                    )
                }
            )
        data = f.read()
        ctype, ext, digest = check_photo(data, f.name)
        out.append((data, ctype, ext, digest))
    return out


def store_photo(upload, *, folder: str) -> tuple[str, str, str]:
    """Check one photo (an upload, or ``(bytes, name)``) and keep it under ``folder``;
    returns (relative path, sha256, content type)."""
    data, name = upload if isinstance(upload, tuple) else (upload.read(), getattr(upload, "name", ""))
    ctype, ext, _digest = check_photo(data, name)
    rel, digest, _ = store(data, folder=folder, suffix=f".{ext}")
    return rel, digest, ctype


# --- the store ------------------------------------------------------------------------


def root() -> Path:
    return Path(settings.MEDIA_ROOT)


def store(data: bytes, *, folder: str, suffix: str = "") -> tuple[str, str, bool]:
    """Write ``data`` content-addressed under MEDIA_ROOT/folder; returns (relative path,
    sha256, created)."""
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
    """Remove a file this write created (on rollback of the write that stored it)."""
    (root() / rel).unlink(missing_ok=True)


def open_stored(rel: str):
    """Open a stored file for download; a path leading outside MEDIA_ROOT is refused."""
    full = (root() / rel).resolve()
    if root().resolve() not in full.parents:
        raise DomainError("bad_path", gettext_lazy("文件路径无效"))
    return full.open("rb")
