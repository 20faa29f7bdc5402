"""Two-factor sign-in (TOTP by django-otp, recovery codes as django-otp static tokens).

Required of ``TWO_FACTOR_ROLES`` when ``settings.TWO_FACTOR_REQUIRED`` (they enrol before
anything else), optional for other staff. Whoever has a confirmed device is asked for a
code after the password, always. Enrolment and new recovery codes are audited."""

import segno
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from qinglang.core.audit import audit_record

from .models import Role
from .scope import actor_for

TWO_FACTOR_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.REGULATOR_LEADER})
RECOVERY_CODES = 10


def two_factor_required(user) -> bool:
    return bool(settings.TWO_FACTOR_REQUIRED and actor_for(user).roles & TWO_FACTOR_ROLES)


def has_two_factor(user) -> bool:
    return user_has_device(user, confirmed=True)


def verify_code(user, code: str):
    """The confirmed device (TOTP or a recovery code, used up) that accepts ``code``, or
    None. django-otp throttles repeated failures per device."""
    code = "".join((code or "").split())
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


@transaction.atomic
def totp_begin(*, user) -> TOTPDevice:
    """The user's unconfirmed TOTP device (a new secret), shown as a QR code until a code
    from it confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)


@transaction.atomic
def totp_confirm(*, user, code: str) -> list[str] | None:
    """Confirm the pending device with a code from it: it replaces any earlier one, and new
    recovery codes are made (returned, shown once). None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token("".join((code or "").split())):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit_record(
        actor=user,
        action="user.two_factor_enrol",
        object_type="accounts.user",
        object_id=user.pk,
        changes={"totp": [None, "confirmed"], "recovery_codes": [None, len(codes)]},
    )
    return codes


def _new_recovery_codes(user) -> list[str]:
    static, _ = StaticDevice.objects.get_or_create(user=user, name="恢复码", defaults={"confirmed": True})
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


@transaction.atomic
def recovery_codes_renew(*, user) -> list[str]:
    codes = _new_recovery_codes(user)
    audit_record(
        actor=user,
        action="user.recovery_codes_renew",
        object_type="accounts.user",
        object_id=user.pk,
        changes={"recovery_codes": [None, len(codes)]},
    )
    return codes
