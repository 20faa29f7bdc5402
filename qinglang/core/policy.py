"""Resolution of policy parameters (政策参数): the most specific division's figure in
force wins, walking up to the national default."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from .errors import DomainError
from .models import PolicyParameter
from .policy_defaults import BY_KEY

PREFIX_LENGTHS = (12, 9, 6, 4, 2)


def division_chain(division_code: str) -> list[str]:
    """'510107001' -> ['510107001', '510107', '5101', '51', ''] (most specific first)."""
    return [division_code[:n] for n in PREFIX_LENGTHS if n <= len(division_code)] + [""]


@dataclass(frozen=True)
class Resolved:
    key: str
    value: Any
    division_code: str  # where the figure was set ("" = national)
    basis: str
    effective_from: date

    @property
    def source_label(self) -> str:
        return self.division_code or "全国"

    def violation(self, message: str, **extra) -> DomainError:
        """The error a rule violation raises: names the key, value, who set it, basis."""
        return DomainError(
            "policy_violation",
            f"{message}(规则 {self.key} = {self.value}，由{self.source_label}设定；依据：{self.basis})",
            {
                "rule": self.key,
                "value": self.value,
                "set_by": self.division_code or "national",
                "basis": self.basis,
                **extra,
            },
            status=422,
        )


def policy_resolve(key: str, division_code: str, *, on: date | None = None) -> Resolved:
    if key not in BY_KEY:
        raise DomainError("unknown_policy_key", f"未知的政策参数：{key}", {"key": key})
    on = on or timezone.localdate()
    chain = division_chain(division_code or "")
    rows = list(
        PolicyParameter.objects.filter(key=key, division_code__in=chain, effective_from__lte=on)
        .order_by("-effective_from")
        .values("value", "division_code", "basis", "effective_from")
    )
    rank = {c: i for i, c in enumerate(chain)}
    rows.sort(key=lambda r: rank[r["division_code"]])  # stable: newest first within a level
    if not rows:
        d = BY_KEY[key]
        return Resolved(key, d.value, "", d.basis, date(2021, 7, 24))
    r = rows[0]
    return Resolved(key, r["value"], r["division_code"], r["basis"], r["effective_from"])


def policy_value(key: str, division_code: str, *, on: date | None = None) -> Any:
    return policy_resolve(key, division_code, on=on).value
