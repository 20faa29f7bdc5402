"""Linking a clue to the institution it concerns: the credit code when given, else the
closest name (and address) among the institutions of the clue's county (rapidfuzz).
Nothing close enough means an operator that is not in the registry: a lead on a possible
unlicensed operator. The index is built once per county, so bulk imports stay fast."""

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from qinglang.registry.models import Institution

NAME_THRESHOLD = 88  # name alone
NAME_WITH_ADDRESS = 72  # a weaker name match confirmed by the address
ADDRESS_THRESHOLD = 80
_NOISE = re.compile(r"[\s()（）·\-]|有限公司|有限责任公司|培训学校|培训中心|培训机构|教育科技|文化传播")


def normalise(name: str) -> str:
    return _NOISE.sub("", name or "").lower()


@dataclass
class Match:
    institution_id: int | None
    method: str  # "uscc" | "fuzzy" | ""
    score: float | None
    kind: str = ""
    division_code: str = ""


@dataclass
class CountyIndex:
    ids: list[int]
    names: list[str]
    addresses: list[str]
    kinds: list[str]
    divisions: list[str]
    exact: dict[str, int]


class Matcher:
    """Match many clues against the registry with one query per county."""

    def __init__(self):
        self._by_uscc: dict[str, tuple[int, str, str]] = {}
        self._counties: dict[str, CountyIndex] = {}
        self._memo: dict[tuple, Match] = {}  # work orders repeat names: match each once

    def preload(self, county_prefixes: set[str]) -> None:
        missing = [c for c in county_prefixes if c and c not in self._counties]
        if not missing:
            return
        buckets: dict[str, CountyIndex] = {c: CountyIndex([], [], [], [], [], {}) for c in missing}
        qs = Institution.objects.all()
        if len(missing) <= 50:
            from functools import reduce
            from operator import or_

            from django.db.models import Q

            qs = qs.filter(reduce(or_, (Q(division_code__startswith=c) for c in missing)))
        for pk, name, uscc, address, div, kind in qs.values_list(
            "id", "name", "uscc", "address", "division_code", "kind"
        ).iterator(chunk_size=5000):
            b = buckets.get(div[:6])
            if b is None:
                continue
            n = normalise(name)
            b.ids.append(pk)
            b.names.append(n)
            b.addresses.append(address or "")
            b.kinds.append(kind)
            b.divisions.append(div)
            b.exact.setdefault(n, len(b.ids) - 1)
            if uscc:
                self._by_uscc[uscc.upper()] = (pk, kind, div)
        self._counties.update(buckets)
        self._uscc_loaded = True

    def match(self, *, division_code: str, name: str = "", uscc: str = "", address: str = "") -> Match:
        key = ((division_code or "")[:6], name, uscc, address)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._match(
                division_code=division_code, name=name, uscc=uscc, address=address
            )
        return hit

    def _match(self, *, division_code: str, name: str, uscc: str, address: str) -> Match:
        county = (division_code or "")[:6]
        self.preload({county})
        if uscc:
            hit = self._by_uscc.get(uscc.strip().upper())
            if hit is None:
                row = Institution.objects.filter(uscc=uscc.strip().upper()).values_list(
                    "id", "kind", "division_code"
                )
                hit = row.first()
            if hit:
                return Match(hit[0], "uscc", 100.0, hit[1], hit[2])
        idx = self._counties.get(county)
        n = normalise(name)
        if not idx or not n:
            return Match(None, "", None)
        i = idx.exact.get(n)
        if i is not None:
            return Match(idx.ids[i], "fuzzy", 100.0, idx.kinds[i], idx.divisions[i])
        # the plain ratio picks the candidate fast (C++, no alignment search); WRatio, which
        # forgives shortened names and extra words, decides on that one candidate
        best = process.extractOne(n, idx.names, scorer=fuzz.ratio, score_cutoff=50)
        if best is None:
            return Match(None, "", None)
        _, _, i = best
        score = fuzz.WRatio(n, idx.names[i])
        if score < NAME_WITH_ADDRESS:
            return Match(None, "", None)
        if score >= NAME_THRESHOLD or (
            address and fuzz.partial_ratio(address, idx.addresses[i]) >= ADDRESS_THRESHOLD
        ):
            return Match(idx.ids[i], "fuzzy", round(score, 1), idx.kinds[i], idx.divisions[i])
        return Match(None, "", None)
