"""The risk rules of every division in one pass: all rows of the risk keys (and
``alerts.large_transaction_ratio``) are read once per run and resolved per division code
by the same walk as ``core.policy.policy_resolve`` (12 → 9 → 6 → 4 → 2 digits → national),
so scoring half a million institutions does not ask the database per institution."""

from datetime import date
from functools import lru_cache

from qinglang.core.models import PolicyParameter
from qinglang.core.policy import division_chain
from qinglang.core.policy_defaults import BY_KEY

from .signals import KINDS

LARGE_MOVEMENT_KEY = "alerts.large_transaction_ratio"


def threshold_key(kind: str) -> str:
    return LARGE_MOVEMENT_KEY if kind == "large_movement" else f"risk.threshold.{kind}"


def weight_key(kind: str) -> str:
    return f"risk.weight.{kind}"


KEYS = [
    "risk.level_thresholds",
    "risk.alert_days",
    "risk.guardian_checkin_days",
    "risk.manual_signal_days",
    *(threshold_key(k) for k in KINDS),
    *(weight_key(k) for k in KINDS),
]


class RiskPolicy:
    """Risk rules as they stand on ``on``, per division code (memoised per code)."""

    def __init__(self, on: date):
        self.on = on
        # key → division → value, keeping the newest effective row per division
        self.rows: dict[str, dict[str, object]] = {k: {} for k in KEYS}
        for key, div, value in (
            PolicyParameter.objects.filter(key__in=KEYS, effective_from__lte=on)
            .order_by("key", "division_code", "-effective_from", "-id")
            .values_list("key", "division_code", "value")
        ):
            self.rows[key].setdefault(div, value)
        self.get = lru_cache(maxsize=None)(self._get)

    def _get(self, key: str, division_code: str) -> tuple[object, str]:
        """(value, division that set it)."""
        by = self.rows[key]
        for code in division_chain(division_code or ""):
            if code in by:
                return by[code], code
        return BY_KEY[key].value, ""

    def value(self, key: str, division_code: str):
        return self.get(key, division_code)[0]

    def levels(self, division_code: str) -> tuple[list[int], str]:
        v, where = self.get("risk.level_thresholds", division_code)
        return [int(x) for x in v], where
