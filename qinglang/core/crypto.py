"""Encryption of personal data at rest (resident ID numbers, reporters' contacts) with
Fernet, and a keyed digest for equality lookups without decrypting."""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings


@cache
def _keys() -> tuple[Fernet, bytes]:
    material = hashlib.sha256(("enc:" + settings.FIELD_ENCRYPTION_KEY).encode()).digest()
    mac = hashlib.sha256(("mac:" + settings.FIELD_ENCRYPTION_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material)), mac


def encrypt(plain: str) -> str:
    return _keys()[0].encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    return _keys()[0].decrypt(token.encode("ascii")).decode("utf-8") if token else ""


def blind_index(plain: str) -> str:
    return hmac.new(_keys()[1], plain.encode("utf-8"), hashlib.sha256).hexdigest() if plain else ""
