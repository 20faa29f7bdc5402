"""The PDF text reader on a PDF 1.5 file with compressed object streams: the page, its
resources and the fonts live inside a Flate-compressed /ObjStm, indexed by an xref stream
(no xref table), as current writers save by default."""

import zlib

from qinglang.screening import extract

TEXT = "课后同步拔高，讲解三年级数学应用题"


def _objstm_pdf(text: str, *, font_in_stream: bool = True) -> bytes:
    """A one-page PDF 1.5 built by hand: catalog, pages, page and the Type0 font (UCS-2
    encoding) in one compressed object stream; the content stream Flate-compressed; an
    xref stream (/Type /XRef, /W [1 4 2]) in place of the xref table."""
    in_stream = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources 4 0 R /Contents 6 0 R >>",
        4: b"<< /Font << /F1 5 0 R >> >>",
        5: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
        b" /DescendantFonts [7 0 R] >>",
        7: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> >>",
    }
    if not font_in_stream:  # the control: the same file without the object stream's objects
        in_stream = {k: v for k, v in in_stream.items() if k not in (4, 5)}
    header, body = [], b""
    for num, obj in in_stream.items():
        header.append(f"{num} {len(body)}".encode())
        body += obj + b"\n"
    head = b" ".join(header) + b"\n"
    objstm = zlib.compress(head + body)
    content = zlib.compress(f"BT /F1 12 Tf 72 720 Td <{text.encode('utf-16-be').hex()}> Tj ET".encode())

    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def top(num: int, d: bytes, stream: bytes) -> None:
        offsets[num] = len(out)
        out.extend(f"{num} 0 obj\n".encode() + d + b"\nstream\n" + stream + b"\nendstream\nendobj\n")

    top(6, f"<< /Length {len(content)} /Filter /FlateDecode >>".encode(), content)
    top(
        8,
        f"<< /Type /ObjStm /N {len(in_stream)} /First {len(head)} /Length {len(objstm)}"
        " /Filter /FlateDecode >>".encode(),
        objstm,
    )
    size = 10
    rows = [b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]  # object 0: free
    xref_at = len(out)
    offsets[9] = xref_at
    index = {num: k for k, num in enumerate(in_stream)}
    for num in range(1, size):
        if num in offsets:
            rows.append(b"\x01" + offsets[num].to_bytes(4, "big") + b"\x00\x00")
        elif num in index:  # type 2: inside object stream 8, at this index
            rows.append(b"\x02" + (8).to_bytes(4, "big") + index[num].to_bytes(2, "big"))
        else:
            rows.append(b"\x00" + (0).to_bytes(4, "big") + b"\x00\x00")
    xref = zlib.compress(b"".join(rows))
    top(
        9,
        f"<< /Type /XRef /Size {size} /W [1 4 2] /Root 1 0 R /Length {len(xref)} /Filter /FlateDecode >>".encode(),
        xref,
    )
    out.extend(f"startxref\n{xref_at}\n%%EOF\n".encode())
    return bytes(out)


def test_text_is_read_from_a_pdf_with_compressed_object_streams():
    data = _objstm_pdf(TEXT)
    assert b"/ObjStm" in data and b"/XRef" in data and b"xref\n0" not in data  # no xref table
    assert b"/Type0" not in data and b"Tj" not in data  # fonts and text only compressed
    assert extract.document_text(data, "材料.pdf") == TEXT


def test_the_font_in_the_object_stream_is_what_decodes_the_text():
    # without the font dictionary (in the object stream) the two-byte codes are not text
    got = extract.pdf_text(_objstm_pdf(TEXT, font_in_stream=False))
    assert TEXT not in got
