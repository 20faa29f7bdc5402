"""Resolution of policy parameters (政策参数): the most specific division's figure in
force wins, walking up to the national default."""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .i18n import chinese
from .models import PolicyParameter
from .policy_defaults import BY_KEY

PREFIX_LENGTHS = (12, 9, 6, 4, 2)
# a violation's message ends with the parameter's key for officials and integrators;
# pages shown to the public and parents drop it (``plain_message``)
RULE_MARK = "[参数 "


def plain_message(message: str) -> str:
    """A violation's message without the trailing parameter key (for parents, the public)."""
    message = str(message)
    for mark in (gettext(RULE_MARK), RULE_MARK):
        i = message.rfind(mark)
        if i >= 0 and message.endswith("]"):
            return message[:i]
    return message


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
        if not self.division_code:
            return gettext("全国")
        from .division_names import full_name

        return full_name(self.division_code) or self.division_code

    @property
    def label(self) -> str:
        """The rule's name in the active language (the catalogue holds every rule's)."""
        label = BY_KEY[self.key].label if self.key in BY_KEY else self.key
        english = gettext(label) if self.key in BY_KEY else label
        if english != label:
            return re.sub(r" \(fen(?: per ([^)]*))?\)", lambda m: f" (per {m[1]})" if m[1] else "", english)
        if self.key.endswith("_fen"):  # the figure reads in yuan: "(分)" goes, "(分/课时)" is "(每课时)"
            label = re.sub(r"\(分(?:/([^)]*))?\)", lambda m: f"(每{m[1]})" if m[1] else "", label)
        return label

    @property
    def display(self) -> str:
        return display_value(self.key, self.value)

    def cite(self, **extra) -> dict:
        """The rule as a record that it decided cites it: key, value, who set it, basis."""
        return {
            "rule": self.key,
            "value": self.value,
            "set_by": self.division_code or "national",
            "basis": self.basis,
            **extra,
        }

    @property
    def stated(self) -> str:
        """The rule in words, in the active language: its name, the figure, who set it and
        the basis (the basis cites a document by its own title)."""
        return gettext("规定：{label} {display}({source}；依据：{basis})").format(
            label=self.label, display=self.display, source=self.source_label, basis=self.basis
        )

    def sentence(self, message: str) -> str:
        """``message`` followed by the rule: "…。规定：{名称} {值}({设定地区}；依据：{依据})[参数 key]",
        as a cut payout or a deemed outcome keeps it on the record: in Chinese, whatever
        the reader's language (a refusal, ``violation``, is read in the reader's)."""
        return chinese(_violation_text(message, self))

    def violation(self, message: str, **extra) -> DomainError:
        """The error a rule violation raises: names the key, value, who set it, basis."""
        return DomainError(
            "policy_violation",
            _violation_text(message, self),
            {
                "rule": self.key,
                "value": self.value,
                "set_by": self.division_code or "national",
                "basis": self.basis,
                **extra,
            },
            status=422,
        )


def cited_stated(cite: dict) -> str:
    """A rule as a record cites it (``Resolved.cite``: key, value, who set it, basis) in
    words with its key, as officials read it on a page:
    "规定：{名称} {值}({设定地区}；依据：{依据})[参数 key]"."""
    set_by = "" if cite["set_by"] == "national" else cite["set_by"]
    rule = Resolved(cite["rule"], cite["value"], set_by, cite["basis"], date.min)
    return f"{rule.stated}{gettext(RULE_MARK)}{rule.key}]"


def _violation_message(message, rule: Resolved) -> str:
    return gettext("{message}。{rule}[参数 {key}]").format(message=message, rule=rule.stated, key=rule.key)


# read in the language active when shown (``DomainError.message``) or stored (``chinese``)
_violation_text = lazy(_violation_message, str)


# Names of the codes policy values hold (disclosure items, custody modes, release rules…),
# filled by the apps that own the codes (their AppConfig.ready): a refusal reads names.
VALUE_LABELS: dict[str, str] = {}


def display_value(key: str, value) -> str:
    """A figure in words: money in yuan, yes/no, days, percentages, codes by their names;
    a vacation as its first and last day, a share range as percentages; lists joined."""
    from .money import format_yuan

    if value is None:
        return "未设定"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        if key.startswith("calendar.") and len(value) == 2:
            return f"{value[0]}至{value[1]}"
        if key.endswith("_share") and len(value) == 2:
            return f"{value[0] * 100:g}%～{value[1] * 100:g}%"
        return "、".join(display_value("", v) for v in value)
    if isinstance(value, str):  # a refusal's words: the Chinese name whatever the reader's language
        return chinese(VALUE_LABELS.get(value, value))
    if key.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if key.endswith("_ratio") and isinstance(value, (int, float)):
        return f"{value * 100:g}%"
    if key.endswith("_days"):
        return f"{value}天"
    if key.endswith("_months"):
        return f"{value}个月"
    if key.endswith("_hours"):
        return f"{value}小时"
    if key.endswith("_sqm"):
        return f"{value:g}平方米" if isinstance(value, (int, float)) else str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def policy_resolve(key: str, division_code: str, *, on: date | None = None) -> Resolved:
    return policy_resolve_many([key], division_code, on=on)[key]


def policy_resolve_many(keys, division_code: str, *, on: date | None = None) -> dict[str, Resolved]:
    """``policy_resolve`` of several keys for one division, with one query: the most
    specific division of the chain first, the newest figure in force within a level, else
    the national default."""
    keys = list(keys)
    unknown = [k for k in keys if k not in BY_KEY]
    if unknown:
        raise DomainError(
            "unknown_policy_key",
            format_lazy(_("未知的政策参数：{value}"), value=unknown[0]),
            {"key": unknown[0]},
        )
    on = on or timezone.localdate()
    chain = division_chain(division_code or "")
    rank = {c: i for i, c in enumerate(chain)}
    by_key: dict[str, list[dict]] = {}
    for r in (
        PolicyParameter.objects.filter(key__in=keys, division_code__in=chain, effective_from__lte=on)
        .order_by("-effective_from")
        .values("key", "value", "division_code", "basis", "effective_from")
    ):
        by_key.setdefault(r["key"], []).append(r)
    out = {}
    for key in keys:
        rows = sorted(by_key.get(key, []), key=lambda r: rank[r["division_code"]])  # stable
        if rows:
            r = rows[0]
            out[key] = Resolved(key, r["value"], r["division_code"], r["basis"], r["effective_from"])
        else:
            out[key] = _national(key)
    return out


def _national(key: str) -> Resolved:
    d = BY_KEY[key]
    return Resolved(key, d.value, "", d.basis, date(2021, 7, 24))


def policy_value(key: str, division_code: str, *, on: date | None = None) -> Any:
    return policy_resolve(key, division_code, on=on).value


class PolicyBatch:
    """``policy_resolve`` for many divisions with one query: the same resolution (most
    specific division first, newest figure in force within a level, else the national
    default), over rows loaded once for a bulk job or a list; each (key, division)
    resolved once."""

    def __init__(self, keys: list[str], *, on: date | None = None):
        rows = PolicyParameter.objects.filter(
            key__in=keys, effective_from__lte=on or timezone.localdate()
        ).order_by("effective_from")
        self._rows: dict[tuple[str, str], Resolved] = {}
        for key, div, value, basis, since in rows.values_list(
            "key", "division_code", "value", "basis", "effective_from"
        ):
            self._rows[(key, div)] = Resolved(key, value, div, basis, since)  # by date: the newest wins
        self._memo: dict[tuple[str, str], Resolved] = {}

    def resolve(self, key: str, division_code: str) -> Resolved:
        k = (key, division_code)
        if k not in self._memo:
            for code in division_chain(division_code):
                if (key, code) in self._rows:
                    self._memo[k] = self._rows[(key, code)]
                    break
            else:
                self._memo[k] = _national(key)
        return self._memo[k]

    def value(self, key: str, division_code: str):
        return self.resolve(key, division_code).value
