"""What an uploaded file really is, judged by its first bytes (magic numbers) — never by
its name or declared type, so an executable renamed ``.jpg`` is refused. Each caller
states which kinds it accepts (evidence: photos, PDF, Word; grid reports: photos)."""

import io
import zipfile

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
