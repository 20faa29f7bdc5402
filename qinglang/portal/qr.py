"""QR codes on pages: inline SVG (no script, no external image), from segno."""

import segno
from django.utils.safestring import mark_safe


def qr_svg(text: str, *, title: str = "", scale: int = 4):
    """The QR code carrying ``text`` (UTF-8, error correction M) as inline SVG markup."""
    svg = segno.make(text, error="m", encoding="utf-8", micro=False).svg_inline(
        scale=scale, title=title or None, svgclass="qr-code", lineclass=None
    )
    return mark_safe(svg)  # segno escapes the title; the rest is its own markup
