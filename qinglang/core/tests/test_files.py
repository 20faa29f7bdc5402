import io
import zipfile

import pytest

from qinglang.core import files
from qinglang.core.files import DOCX, PHOTOS, sniff, sniff_allowed


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_sniff_by_content_not_name():
    assert sniff(b"\xff\xd8\xff\xe0" + bytes(20)) == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n" + bytes(20)) == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"%PDF-1.7\n") == "application/pdf"
    assert sniff(_docx()) == DOCX
    assert sniff(b"MZ\x90\x00" + bytes(60)) is None  # a Windows executable
    assert sniff(b"PK\x03\x04not a zip") is None


def test_allowed_sets():
    pdf = b"%PDF-1.4\n"
    assert sniff_allowed(pdf, PHOTOS) is None
    assert sniff_allowed(b"GIF89a" + bytes(10), PHOTOS) == "image/gif"


# --- the store ---------------------------------------------------------------------------


def test_store_is_content_addressed_atomic_and_confined(settings, tmp_path):
    import hashlib

    import pytest

    from qinglang.core import files
    from qinglang.core.errors import DomainError

    settings.MEDIA_ROOT = str(tmp_path)
    data = b"%PDF-1.7\nevidence"
    digest = hashlib.sha256(data).hexdigest()
    rel, got, created = files.store(data, folder="evidence", suffix=".pdf")
    assert (rel, got, created) == (f"evidence/{digest[:2]}/{digest}.pdf", digest, True)
    assert (tmp_path / rel).read_bytes() == data
    assert files.store(data, folder="evidence", suffix=".pdf") == (
        rel,
        digest,
        False,
    )  # same content, same file
    assert not list(tmp_path.rglob("*.tmp"))  # written via a temporary file, then renamed
    with files.open_stored(rel) as fh:
        assert fh.read() == data
    with pytest.raises(DomainError, match="文件路径无效"):
        files.open_stored("../outside.txt")
    files.discard(rel)
    assert not (tmp_path / rel).exists()
    files.discard(rel)  # already gone: no error


def test_check_upload_judges_by_content_and_size():
    import pytest
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qinglang.core import files
    from qinglang.core.errors import DomainError

    png = b"\x89PNG\r\n\x1a\n" + bytes(20)
    c = files.check_upload(SimpleUploadedFile("现场.png", png))
    assert (c.name, c.content_type, c.data) == ("现场.png", "image/png", png)
    with pytest.raises(DomainError, match="不是允许的类型") as e:
        files.check_upload(SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + bytes(60)))
    assert e.value.code == "evidence_type_refused" and e.value.status == 422
    with pytest.raises(DomainError, match="为空"):
        files.check_upload(SimpleUploadedFile("empty.png", b""))
    with pytest.raises(DomainError, match="超过1MB上限"):
        files.check_upload(SimpleUploadedFile("big.png", png + bytes(2 * 1024 * 1024)), max_bytes=1024 * 1024)
    with pytest.raises(DomainError, match=r"照片“a\.pdf”不是允许的类型"):
        files.check_upload(
            SimpleUploadedFile("a.pdf", b"%PDF-1.4\n"), allowed=files.PHOTOS, what="照片", kinds="图片"
        )


def test_one_file_store():
    """Only core writes under MEDIA_ROOT: the apps' own stores are gone. (Management
    commands may write a file the operator names on the command line.)"""
    from pathlib import Path

    pkg = Path(__file__).resolve().parents[2]
    assert not (pkg / "inspections" / "files.py").exists()
    offenders = [
        str(p.relative_to(pkg))
        for p in pkg.rglob("*.py")
        if "tests" not in p.parts
        and p != pkg / "core" / "files.py"
        and (
            ("write_bytes(" in (t := p.read_text(encoding="utf-8")) and "management" not in p.parts)
            or "settings.MEDIA_ROOT" in t
            or "default_storage" in t
        )
    ]
    assert offenders == []


def test_one_photo_helper():
    """Photos are checked and stored by core only: the clues' and screening's own copies
    are gone, and what the apps call is core's."""
    import inspect

    from qinglang.clues import services as clues
    from qinglang.clues.services import intake
    from qinglang.screening import services as screening

    assert clues.read_photos is files.read_photos
    assert not hasattr(intake, "check_photo") and not hasattr(screening, "_store_image")
    for mod in (intake, screening):
        assert "def check_photo" not in inspect.getsource(mod)


def test_store_photo_checks_by_content_and_keeps_the_file(settings, tmp_path):
    from django.core.exceptions import ValidationError

    settings.MEDIA_ROOT = str(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    rel, digest, ctype = files.store_photo((png, "现场.png"), folder="screening/visits")
    assert ctype == "image/png" and rel.endswith(f"{digest}.png") and (tmp_path / rel).read_bytes() == png
    with pytest.raises(ValidationError, match="不是有效的图片"):
        files.store_photo((b"MZ\x90\x00", "照片.jpg"), folder="screening/visits")
    with pytest.raises(ValidationError, match="最多上传6张照片"):
        files.read_photos([object()] * 7)
