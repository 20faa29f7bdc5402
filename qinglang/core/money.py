"""Money is integer fen (分) everywhere; yuan appear only at the edges."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError


def format_yuan(fen: int | None, *, symbol: bool = True) -> str:
    """12345 -> '¥123.45' (thousands separated)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    y, f = divmod(abs(int(fen)), 100)
    return f"{sign}{'¥' if symbol else ''}{y:,}.{f:02d}"


def yuan_to_fen(text: str | int | Decimal) -> int:
    """Parse a yuan amount ('123.45', '1,000') into fen; more than two decimals is an
    error, never silently rounded."""
    try:
        d = Decimal(str(text).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise ValidationError(f"金额格式不正确：{text}", code="invalid_amount")
    if not d.is_finite():
        raise ValidationError(f"金额格式不正确：{text}", code="invalid_amount")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise ValidationError(f"金额最多两位小数：{text}", code="invalid_amount")
    return int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))
