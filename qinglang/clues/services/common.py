"""Pieces shared by the clue services: deadlines, codes, text checks."""

import base64
import secrets
from datetime import date
from functools import lru_cache

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from qinglang.core.calendar import add_working_days
from qinglang.core.policy import PolicyBatch, policy_value


def random_codes(count: int, n: int) -> list[str]:
    """``count`` codes of n base32 characters (A-Z, 2-7: no 0/1 to confuse with O/I), 5
    random bits each, from one draw."""
    raw = base64.b32encode(secrets.token_bytes(count * ((n * 5 + 7) // 8 + 1))).decode("ascii")
    return [raw[i * n : (i + 1) * n] for i in range(count)]


@lru_cache(maxsize=4096)
def working_deadline(start: date, days: int) -> date:
    return add_working_days(start, days)


def deadlines(received_on: date, division_code: str, limits: PolicyBatch | None = None) -> tuple[date, date]:
    """Acknowledge and resolve limits in working days (``limits`` for a batch)."""
    if limits is None:
        ack = int(policy_value("clue.acknowledge_days", division_code))
        res = int(policy_value("clue.resolve_days", division_code))
    else:
        ack = int(limits.value("clue.acknowledge_days", division_code))
        res = int(limits.value("clue.resolve_days", division_code))
    return working_deadline(received_on, ack), working_deadline(received_on, res)


def text_required(value: str, field: str, label: str, *, max_len: int, min_len: int = 1) -> str:
    from django.core.exceptions import ValidationError

    v = (value or "").strip()
    if len(v) < min_len:
        raise ValidationError(
            {
                field: format_lazy(_("请填写{label}"), label=label)
                if not v
                else format_lazy(_("{label}至少{min_len}个字"), label=label, min_len=min_len)
            }
        )
    if len(v) > max_len:
        raise ValidationError(
            {
                field: format_lazy(
                    _("{label}不能超过{max_len}个字(当前{n_v}字)"), label=label, max_len=max_len, n_v=len(v)
                )
            }
        )
    return v
