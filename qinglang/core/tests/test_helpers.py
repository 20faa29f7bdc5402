from datetime import date

import pytest
from django.core.exceptions import ValidationError

from qinglang.core.calendar import add_working_days, is_working_day, working_days_between
from qinglang.core.crypto import blind_index, decrypt, encrypt, encrypt_many
from qinglang.core.models import Division
from qinglang.core.money import format_yuan, yuan_to_fen
from qinglang.core.validators import (
    mask_resident_id,
    validate_mobile,
    validate_resident_id,
    validate_uscc,
)


def test_money_formatting_and_parsing():
    assert format_yuan(123456) == "¥1,234.56"
    assert format_yuan(-5) == "-¥0.05"
    assert yuan_to_fen("1,234.5") == 123450
    assert yuan_to_fen("5000") == 500000
    for bad in ("1.234", "abc", "NaN", ""):
        with pytest.raises(ValidationError):
            yuan_to_fen(bad)


def test_working_days_cross_national_day():
    # 2025-09-30 (Tue) + 1 working day: Oct 1-8 is the National Day / Mid-Autumn holiday.
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert not is_working_day(date(2025, 10, 3))
    assert is_working_day(date(2025, 9, 28))  # Sunday make-up workday
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 10)) == 5  # 9/28, 9/29, 9/30, 10/9, 10/10


def test_identifiers():
    assert validate_uscc("91110108551385082Q") == "91110108551385082Q"
    with pytest.raises(ValidationError):
        validate_uscc("91110108551385082A")
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"
    with pytest.raises(ValidationError):
        validate_resident_id("110105194912310021")
    assert validate_mobile("+86 138-0013-8000") == "13800138000"
    with pytest.raises(ValidationError):
        validate_mobile("12800138000")
    assert mask_resident_id("11010519491231002X") == "110105********002X"


def test_encryption_round_trip_and_blind_index():
    token = encrypt("11010519491231002X")
    assert "1101051949" not in token
    assert decrypt(token) == "11010519491231002X"
    assert blind_index("a") == blind_index("a") != blind_index("b")


def test_divisions_loaded_with_real_codes(db):
    assert Division.objects.get(code="510107").name == "武侯区"
    assert Division.objects.get(code="11").name == "北京市"
    assert Division.objects.get(code="510107001").parent_id == "510107"
    assert Division.objects.filter(level=3).count() > 2800
    assert Division.objects.filter(code__startswith="5101", level=3).count() >= 12


def test_batch_encryption_gives_fernet_tokens_decrypt_reads():
    """``encrypt_many`` (the bulk import's) makes the tokens ``encrypt`` makes: Fernet, each
    with its own IV, read by ``decrypt`` and by Fernet itself."""
    from qinglang.core.crypto import _keys

    plains = ["", "x" * 15, "y" * 16, "z" * 17, '{"name": "张三", "phone": "13800000000"}', "长" * 300]
    tokens = encrypt_many(plains)
    assert tokens[0] == ""
    assert [decrypt(t) for t in tokens] == plains
    assert [_keys()[0].decrypt(t.encode()).decode() for t in tokens[1:]] == plains[1:]
    again = encrypt_many(plains)
    assert all(a != b for a, b in zip(tokens[1:], again[1:], strict=True))  # a fresh IV every time
    assert len({t[:40] for t in encrypt_many(["same"] * 50)}) == 50
