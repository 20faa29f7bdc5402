"""The risk rules of every division in one pass: all rows of the risk keys (and
``alerts.large_transaction_ratio``) are read once per run and resolved per division code
by the same walk as ``core.policy.policy_resolve`` (12 → 9 → 6 → 4 → 2 digits → national),
so scoring half a million institutions does not ask the database per institution."""

from datetime import date
from functools import lru_cache

from qinglang.core.models import PolicyParameter
from qinglang.core.policy import division_chain
from qinglang.core.policy_defaults import BY_KEY

from .signals import KINDS, ReportDays

LARGE_MOVEMENT_KEY = "alerts.large_transaction_ratio"


# Every risk key written out, so a reader (and the check that no rule is decorative) finds
# the key a signal kind is judged by. Large movements take their threshold from the funds
# alert ratio.
THRESHOLD_KEYS: dict[str, str] = {
    "custody_shortfall": "risk.threshold.custody_shortfall",
    "large_movement": LARGE_MOVEMENT_KEY,
    "refunds_overdue": "risk.threshold.refunds_overdue",
    "refunds_rising": "risk.threshold.refunds_rising",
    "sales_surge": "risk.threshold.sales_surge",
    "price_rise": "risk.threshold.price_rise",
    "long_packages": "risk.threshold.long_packages",
    "complaints_rising": "risk.threshold.complaints_rising",
    "complaints_runaway": "risk.threshold.complaints_runaway",
    "wage_arrears": "risk.threshold.wage_arrears",
    "staff_leaving": "risk.threshold.staff_leaving",
    "rectification_overdue": "risk.threshold.rectification_overdue",
    "licence_expiring": "risk.threshold.licence_expiring",
    "site_change": "risk.threshold.site_change",
    "head_unreachable": "risk.threshold.head_unreachable",
}
WEIGHT_KEYS: dict[str, str] = {
    "custody_shortfall": "risk.weight.custody_shortfall",
    "large_movement": "risk.weight.large_movement",
    "refunds_overdue": "risk.weight.refunds_overdue",
    "refunds_rising": "risk.weight.refunds_rising",
    "sales_surge": "risk.weight.sales_surge",
    "price_rise": "risk.weight.price_rise",
    "long_packages": "risk.weight.long_packages",
    "complaints_rising": "risk.weight.complaints_rising",
    "complaints_runaway": "risk.weight.complaints_runaway",
    "wage_arrears": "risk.weight.wage_arrears",
    "staff_leaving": "risk.weight.staff_leaving",
    "rectification_overdue": "risk.weight.rectification_overdue",
    "licence_expiring": "risk.weight.licence_expiring",
    "site_change": "risk.weight.site_change",
    "head_unreachable": "risk.weight.head_unreachable",
}
LEVELS_KEY = "risk.level_thresholds"
ALERT_DAYS_KEY = "risk.alert_days"
CHECKIN_DAYS_KEY = "risk.guardian_checkin_days"
MANUAL_DAYS_KEY = "risk.manual_signal_days"
assert set(THRESHOLD_KEYS) == set(KINDS) == set(WEIGHT_KEYS)
assert all(k in BY_KEY for k in (*THRESHOLD_KEYS.values(), *WEIGHT_KEYS.values()))


def threshold_key(kind: str) -> str:
    return THRESHOLD_KEYS[kind]


def weight_key(kind: str) -> str:
    return WEIGHT_KEYS[kind]


KEYS = [
    LEVELS_KEY,
    ALERT_DAYS_KEY,
    CHECKIN_DAYS_KEY,
    MANUAL_DAYS_KEY,
    *THRESHOLD_KEYS.values(),
    *WEIGHT_KEYS.values(),
]


class RiskPolicy:
    """Risk rules as they stand on ``on``, per division code (memoised per code)."""

    def __init__(self, on: date):
        self.on = on
        # key → division → value, keeping the newest effective row per division
        self.rows: dict[str, dict[str, object]] = {k: {} for k in KEYS}
        self.bases: dict[tuple[str, str], str] = {}
        for key, div, value, basis in (
            PolicyParameter.objects.filter(key__in=KEYS, effective_from__lte=on)
            .order_by("key", "division_code", "-effective_from", "-id")
            .values_list("key", "division_code", "value", "basis")
        ):
            if div not in self.rows[key]:
                self.rows[key][div] = value
                self.bases[(key, div)] = basis
        self.get = lru_cache(maxsize=None)(self._get)
        self.cite = lru_cache(maxsize=None)(self._cite)  # one dict per (key, division), shared

    def _get(self, key: str, division_code: str) -> tuple[object, str]:
        """(value, division that set it)."""
        by = self.rows[key]
        if not by:  # no division sets this key: the national default, without the walk
            return BY_KEY[key].value, ""
        for code in division_chain(division_code or ""):
            if code in by:
                return by[code], code
        return BY_KEY[key].value, ""

    def _cite(self, key: str, division_code: str) -> dict:
        """The rule as the record it decided cites it (``core.policy.Resolved.cite``): key,
        value, the division that set it ("national" for the default) and the basis."""
        value, where = self.get(key, division_code)
        basis = self.bases[(key, where)] if where or (key, "") in self.bases else BY_KEY[key].basis
        return {"rule": key, "value": value, "set_by": where or "national", "basis": basis}

    def value(self, key: str, division_code: str):
        return self.get(key, division_code)[0]

    def levels(self, division_code: str) -> tuple[list[int], str]:
        v, where = self.get(LEVELS_KEY, division_code)
        return [int(x) for x in v], where

    def report_days(self) -> ReportDays:
        """How long a reported signal counts in each division (``risk.manual_signal_days``
        resolved per division code, once each), bounded by the most days any division
        in force gives."""
        figures = [*self.rows[MANUAL_DAYS_KEY].values(), BY_KEY[MANUAL_DAYS_KEY].value]
        return ReportDays(lambda code: int(self.value(MANUAL_DAYS_KEY, code)), max(int(v) for v in figures))
