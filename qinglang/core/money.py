"""Money is integer fen (分) everywhere; yuan appear only at the edges."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


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
        raise ValidationError(format_lazy(_("金额格式不正确：{text}"), text=text), code="invalid_amount")
    if not d.is_finite():
        raise ValidationError(format_lazy(_("金额格式不正确：{text}"), text=text), code="invalid_amount")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise ValidationError(format_lazy(_("金额最多两位小数：{text}"), text=text), code="invalid_amount")
    return int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# The largest single amount the platform accepts: 100 million yuan (10¹⁰ fen). No fee,
# deposit, payment or correction of one institution comes near it; a larger figure is a
# typing error or an attack, and far below what a BIGINT balance can hold after summing.
MAX_FEN = 10**10


def fen_checked(value, field: str, *, positive: bool = True, maximum: int = MAX_FEN) -> int:
    """An amount in fen that is an integer within (0 or 1)..``maximum`` in size, else a
    ``ValidationError`` on ``field`` (a 422 on the API)."""
    if type(value) is not int:
        raise ValidationError({field: _("金额须为整数(分)")})
    if positive and value <= 0:
        raise ValidationError({field: _("金额须为正整数(分)")})
    if abs(value) > maximum:
        raise ValidationError({field: format_lazy(_("金额超过上限 {maximum}"), maximum=format_yuan(maximum))})
    return value
