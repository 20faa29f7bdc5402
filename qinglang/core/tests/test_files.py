import io
import zipfile

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
