"""Text out of uploaded files: training materials (.docx, .pdf) and the classify upload
(.csv, .xlsx with columns ``id,text``). What a file is comes from its first bytes, not
its name (core.files); every limit is a clear error and nothing is kept of a refused file.

PDF text is read by a small parser of the common structures (uncompressed or
Flate-compressed content streams, Tj/TJ/'/" text operators, ToUnicode maps, and the UCS-2
CID encodings of Chinese fonts), including PDF 1.5 compressed object streams (/ObjStm,
where writers put the page, resource and font dictionaries, indexed by an xref stream
instead of an xref table); a scanned PDF (images only) or one whose fonts carry no
text mapping yields no text and is reported as such, never guessed."""

import csv
import io
import re
import zlib

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.files import sniff

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_TABLE_BYTES = 20 * 1024 * 1024
MAX_INFLATED_BYTES = 100 * 1024 * 1024
MAX_TABLE_ROWS = 50_000


# --- documents -------------------------------------------------------------------------------
def document_text(data: bytes, name: str = "") -> str:
    """The text of a .docx or .pdf (judged by content)."""
    if not data:
        raise ValidationError({"file": _("文件为空")})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            {"file": format_lazy(_("文件“{name}”超过{mb}MB"), name=name, mb=MAX_DOCUMENT_BYTES // 2**20)}
        )
    if data[:5] == b"%PDF-":
        text = pdf_text(data)
    elif data[:4] == b"PK\x03\x04":
        text = docx_text(data)
    else:
        raise ValidationError({"file": format_lazy(_("文件“{name}”不是 Word(.docx) 或 PDF 文件"), name=name)})
    text = re.sub(r"[ \t\u3000]+", " ", text).strip()
    if not text:
        raise ValidationError(
            {"file": format_lazy(_("未能从“{name}”中读出文字(扫描件或图片请另行审核)"), name=name)}
        )
    return text


def docx_text(data: bytes) -> str:
    import zipfile

    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if "word/document.xml" not in z.namelist():
                raise ValidationError({"file": _("不是 Word(.docx) 文件")})
            if sum(i.file_size for i in z.infolist()) > MAX_INFLATED_BYTES:
                raise ValidationError({"file": _("文件解压后过大")})
        d = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValidationError({"file": _("Word 文件已损坏，无法读取")}) from exc
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.append(" ".join(c.text for c in row.cells))
    return "\n".join(p for p in parts if p.strip())


_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b(.*?)\bendobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
_FONT_RES = re.compile(rb"/([A-Za-z0-9_.+-]+)\s+(\d+)\s+0\s+R")
_TOKENS = re.compile(
    rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>]+|-?\d*\.?\d+|[A-Za-z'\"*]+", re.S
)


def _inflate(d: bytes, raw: bytes) -> bytes:
    if b"/ASCII85Decode" in d or b"/A85" in d:
        import base64

        raw = re.sub(rb"\s", b"", raw)
        raw = raw[2:] if raw.startswith(b"<~") else raw
        raw = raw[:-2] if raw.endswith(b"~>") else raw
        raw = base64.a85decode(raw)
    if b"/FlateDecode" not in d and b"/Fl " not in d:
        return raw
    z = zlib.decompressobj()
    out = z.decompress(raw, MAX_INFLATED_BYTES)
    if z.unconsumed_tail:
        raise ValidationError({"file": _("PDF 内容解压后过大")})
    return out


def _literal(s: bytes) -> bytes:
    out, i = bytearray(), 0
    esc = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(s):
        c = s[i]
        if c == 0x5C and i + 1 < len(s):
            n = s[i + 1]
            if n in esc:
                out.append(esc[n])
                i += 2
            elif 0x30 <= n <= 0x37:
                m = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
                out.append(int(m.group(), 8) & 0xFF)
                i += 1 + len(m.group())
            elif n in (0x0A, 0x0D):
                i += 2
            else:
                out.append(n)
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _cmap(data: bytes) -> dict[int, str]:
    m: dict[int, str] = {}

    def u(h: bytes) -> str:
        b = bytes.fromhex(h.decode())
        return b.decode("utf-16-be", "replace")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            m[int(src, 16)] = u(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            base = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), min(int(hi, 16), int(lo, 16) + 65535) + 1)):
                m[code] = chr(base + k) if base + k < 0x110000 else ""
    return m


class _Font:
    def __init__(self, cmap: dict[int, str] | None, two_byte: bool):
        self.cmap, self.two_byte = cmap, two_byte

    def decode(self, b: bytes) -> str:
        if self.two_byte or (self.cmap and max(self.cmap, default=0) > 255):
            codes = [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b) - 1, 2)]
        else:
            codes = list(b)
        if self.cmap:
            return "".join(self.cmap.get(c, "") for c in codes)
        if self.two_byte:
            return "".join(chr(c) for c in codes if c < 0x110000)
        return b.decode("latin-1")


_INT = re.compile(rb"\d+")


def _unpack_object_streams(objs: dict[int, tuple[bytes, bytes | None]]) -> None:
    """Add the objects held in compressed object streams (PDF 1.5 /Type /ObjStm): the
    stream starts with N pairs "object number, offset" and the objects follow from /First.
    Objects in an object stream are never streams themselves; a number stored both at top
    level and in a stream keeps the top-level one."""
    for d, stream in list(objs.values()):
        if stream is None or not re.search(rb"/Type\s*/ObjStm\b", d):
            continue
        n = re.search(rb"/N\s+(\d+)", d)
        first = re.search(rb"/First\s+(\d+)", d)
        if not n or not first or int(first.group(1)) > len(stream):
            continue
        start = int(first.group(1))
        nums = [int(x) for x in _INT.findall(stream[:start])[: 2 * int(n.group(1))]]
        pairs = list(zip(nums[0::2], nums[1::2], strict=False))
        for k, (num, off) in enumerate(pairs):
            end = start + pairs[k + 1][1] if k + 1 < len(pairs) else len(stream)
            objs.setdefault(num, (stream[start + off : end], None))


def pdf_text(data: bytes) -> str:
    objs: dict[int, tuple[bytes, bytes | None]] = {}
    for m in _OBJ.finditer(data):
        body = m.group(3)
        sm = _STREAM.search(body)
        if sm:
            d = body[: sm.start()]
            try:
                objs[int(m.group(1))] = (d, _inflate(d, sm.group(1)))
            except zlib.error:
                objs[int(m.group(1))] = (d, None)
        else:
            objs[int(m.group(1))] = (body, None)
    _unpack_object_streams(objs)

    def ref(d: bytes, key: bytes) -> int | None:
        r = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", d)
        return int(r.group(1)) if r else None

    fonts: dict[bytes, _Font] = {}
    for d, _obj in objs.values():  # resource names → font objects (inline or indirect dicts)
        for fname, num in _FONT_RES.findall(d):
            fd = objs.get(int(num), (b"", None))[0]
            if not re.search(rb"/Type\s*/Font\b", fd) or fname in fonts:
                continue
            tu = ref(fd, b"ToUnicode")
            stream = objs.get(tu, (b"", None))[1] if tu is not None else None
            two = b"/Type0" in fd and (b"UCS2" in fd or b"UTF16" in fd)
            fonts[fname] = _Font(_cmap(stream) if stream else None, two)
    default = _Font(None, False)
    out: list[str] = []
    for d, stream in objs.values():
        if stream is None or re.search(
            rb"/(Type\s*/(XObject|Font|FontDescriptor|Metadata|ObjStm|XRef)|Subtype\s*/Image|Length1|CMapName)",
            d,
        ):
            continue
        if b"BT" not in stream:
            continue
        font, pending, in_array = default, [], False
        array: list[str] = []
        for tok in _TOKENS.findall(stream):
            if tok.startswith(b"("):
                s = font.decode(_literal(tok[1:-1]))
                (array if in_array else pending).append(s)
            elif tok.startswith(b"<"):
                h = re.sub(rb"\s", b"", tok[1:-1])
                s = font.decode(bytes.fromhex((h + b"0" * (len(h) % 2)).decode()))
                (array if in_array else pending).append(s)
            elif tok == b"[":
                in_array, array = True, []
            elif tok == b"]":
                in_array = False
                pending = ["".join(array)]
            elif tok.startswith(b"/"):
                pending = [tok[1:]]  # a name operand (for Tf)
            elif tok == b"Tf":
                name = pending[0] if pending and isinstance(pending[0], bytes) else b""
                font = fonts.get(name, default)
                pending = []
            elif tok in (b"Tj", b"TJ", b"'", b'"'):
                if tok in (b"'", b'"'):
                    out.append("\n")
                out.extend(p for p in pending if isinstance(p, str))
                pending = []
            elif tok in (b"T*", b"Td", b"TD", b"ET"):
                out.append("\n")
                pending = []
            elif not tok[:1].isdigit() and tok[:1] not in (b"-", b"."):
                pending = []
    return "".join(out)


# --- tables of texts (id, text) -------------------------------------------------------------
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table(data: bytes, name: str = "", *, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    """(kind, [(row number, {column: text})]) of a .csv or .xlsx whose first row names the
    columns; a missing required column, an empty file or too many rows is a clear error."""
    if not data:
        raise ValidationError({"file": _("文件为空")})
    if len(data) > MAX_TABLE_BYTES:
        raise ValidationError({"file": format_lazy(_("文件超过{mb}MB"), mb=MAX_TABLE_BYTES // 2**20)})
    if data[:4] == b"PK\x03\x04":
        kind, rows = "xlsx", _xlsx_rows(data)
    elif sniff(data) is not None or b"\x00" in data[:4096]:
        raise ValidationError(
            {"file": format_lazy(_("文件“{name}”不是 CSV 或 Excel(.xlsx) 文件"), name=name)}
        )
    else:
        kind, rows = "csv", _csv_rows(data)
    try:
        header = next(rows)
    except StopIteration:
        raise ValidationError({"file": _("文件中没有数据")}) from None
    names = [str(h or "").strip().lstrip("\ufeff") for h in header]
    folded = [n.lower() for n in names]
    missing = [c for c in required if c.lower() not in folded]
    if missing:
        raise ValidationError(
            {
                "columns": format_lazy(
                    _("缺少列：{missing}(首行须为列名：{columns})"),
                    missing="、".join(missing),
                    columns="、".join(required + optional),
                )
            }
        )
    where = {c: folded.index(c.lower()) for c in required + optional if c.lower() in folded}
    out = []
    for n, row in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in row):
            continue
        if len(out) >= MAX_TABLE_ROWS:
            raise ValidationError({"file": format_lazy(_("文件超过{n}行"), n=MAX_TABLE_ROWS)})
        out.append((n, {c: "" if i >= len(row) or row[i] is None else str(row[i]) for c, i in where.items()}))
    if not out:
        raise ValidationError({"file": _("文件中没有数据行")})
    return kind, out


def table_rows(data: bytes, name: str = "") -> tuple[str, list[tuple[str, str]]]:
    """(kind, [(id, text)]) of a .csv or .xlsx with the columns ``id`` and ``text``."""
    kind, rows = table(data, name, required=("id", "text"))
    return kind, [(r["id"].strip(), r["text"]) for _n, r in rows]


def _csv_rows(data: bytes):
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError({"file": _("无法识别文件编码(请用 UTF-8 或 GBK 的 CSV)")})
    return iter(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes):
    """Rows of an .xlsx upload through the one guarded reader (size, ratio, rows)."""
    from qinglang.core.xlsx import iter_rows

    return iter_rows(data, max_unzipped_bytes=MAX_INFLATED_BYTES)
