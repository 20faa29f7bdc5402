"""Linking a clue to the institution it concerns.

Order: the credit code; else the name within the clue's county — the same normalised name,
or a name that contains / is contained in a registered one (a shortened name); a look-alike
name (博思教育 for 博学教育培训学校) only when the address agrees. With no name (blank, or
不详 / 无 / 未知 / 不清楚 …) the address alone: 事发地址 normalised (without province, city,
county and township, Chinese numerals as digits, 号楼/幢/座 → 栋, 楼 → 层, no 室) against the
registered sites of the county. A named operator that matches nothing is a lead on a
possible unlicensed operator; an unnamed one is not an operator at all.

The index is built once per county (one query), so bulk imports stay fast; the same
functions serve a registry given as rows (:meth:`CountyIndex.add`), which the quality
benchmark uses."""

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

NAME_CANDIDATE = 50  # ratio that makes a registered name a candidate at all
LOOKALIKE = 60  # WRatio a look-alike name needs (and the address must agree)
_NOISE = re.compile(r"[\s()（）·\-]|有限公司|有限责任公司|培训学校|培训中心|培训机构|教育科技|文化传播")
NO_NAME = frozenset(
    {
        "不详",
        "无",
        "未知",
        "不清楚",
        "不知道",
        "没有",
        "暂无",
        "不详细",
        "无名",
        "不明",
        "待查",
        "空",
        "-",
        "/",
        "—",
        "？",
        "?",
    }
)


def normalise(name: str) -> str:
    return _NOISE.sub("", name or "").lower()


_GENERIC = re.compile(r"(托管班|托管|辅导班|辅导中心|培训班|补习班|工作室|教育|学校|中心|机构|学堂|班)$")


def operator_key(name: str) -> str:
    """The key of an unregistered operator's name: its variants (阳光小屋, 阳光小屋托管;
    小博士, 小博士辅导班) share it."""
    n = normalise(operator_name(name))
    for _ in range(3):
        m = _GENERIC.sub("", n)
        if len(m) < 2 or m == n:
            break
        n = m
    return n


def operator_name(name: str) -> str:
    """The name as given, or "" when it names nobody (不详, 无, 未知, 不清楚, …)."""
    n = (name or "").strip().strip("。.，,")
    return "" if not n or n in NO_NAME or normalise(n) in NO_NAME else n


_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+(?=[号栋幢座单元层楼室户])")
_ADMIN = re.compile(r"^.{1,8}?(省|自治区)|^.{1,8}?市(?!场)|^.{1,8}?(区|县)(?![0-9])|^.{1,10}?(街道|镇|乡)")
_UNIT = [
    (re.compile(r"号楼|幢|座"), "栋"),
    (re.compile(r"(\d)楼"), r"\1层"),
    (re.compile(r"(\d+)室"), r"\1"),
    (re.compile(r"[\s,，。、#()（）\-—]"), ""),
]
_BASE = re.compile(r"^(.*?\d+号)")


def _cn_to_int(s: str) -> str:
    if "百" not in s and "十" not in s:
        return "".join(str(_DIGITS[c]) for c in s)
    total, n = 0, 0
    for c in s:
        if c == "百":
            total += (n or 1) * 100
            n = 0
        elif c == "十":
            total += (n or 1) * 10
            n = 0
        else:
            n = _DIGITS[c]
    return str(total + n)


def address_key(address: str) -> str:
    """事发地址 without the administrative prefix and with one spelling of numbers and units."""
    a = (address or "").strip()
    a = _CN_NUMBER.sub(lambda m: _cn_to_int(m.group(0)), a)
    for _ in range(4):  # 四川省 成都市 武侯区 浆洗街道, in any subset
        b = _ADMIN.sub("", a, count=1)
        if b == a:
            break
        a = b
    for rx, rep in _UNIT:
        a = rx.sub(rep, a)
    return a


def address_base(key: str) -> str:
    """The street and number of an address key (锦里东路12号), or ""."""
    m = _BASE.match(key or "")
    return m.group(1) if m else ""


def addresses_agree(a: str, b: str) -> bool:
    """Same street and number, and no contradicting building / floor / room detail."""
    ka, kb = address_key(a), address_key(b)
    ba, bb = address_base(ka), address_base(kb)
    if not ba or ba != bb:
        return False
    ra, rb = ka[len(ba) :], kb[len(bb) :]
    return not ra or not rb or ra.startswith(rb) or rb.startswith(ra)


@dataclass(frozen=True)
class Match:
    institution_id: int | None
    method: str  # "uscc" | "name" | "fuzzy" | "address" | ""
    score: float | None
    kind: str = ""
    division_code: str = ""
    name: str = ""  # the registered name


NO_MATCH = Match(None, "", None)


@dataclass
class CountyIndex:
    ids: list = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    raw_names: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    divisions: list[str] = field(default_factory=list)
    exact: dict[str, list[int]] = field(default_factory=dict)
    by_base: dict[str, list[int]] = field(default_factory=dict)

    def add(self, pk, name: str, address: str, kind: str = "", division: str = "") -> None:
        i = len(self.ids)
        n = normalise(name)
        self.ids.append(pk)
        self.names.append(n)
        self.raw_names.append(name)
        self.addresses.append(address or "")
        self.kinds.append(kind)
        self.divisions.append(division)
        self.exact.setdefault(n, []).append(i)
        base = address_base(address_key(address))
        if base:
            self.by_base.setdefault(base, []).append(i)

    def _hit(self, i: int, method: str, score: float) -> Match:
        return Match(self.ids[i], method, score, self.kinds[i], self.divisions[i], self.raw_names[i])

    def by_address(self, address: str) -> Match:
        key = address_key(address)
        cands = [
            i for i in self.by_base.get(address_base(key), []) if addresses_agree(address, self.addresses[i])
        ]
        if len({self.ids[i] for i in cands}) == 1:
            return self._hit(cands[0], "address", 100.0)
        return NO_MATCH

    def by_name(self, name: str, address: str) -> Match:
        n = normalise(name)
        if not n:
            return NO_MATCH
        same = self.exact.get(n, [])
        if len(same) == 1:
            return self._hit(same[0], "name", 100.0)
        if len(same) > 1:  # one name, several sites: the address decides
            agree = [i for i in same if addresses_agree(address, self.addresses[i])]
            return self._hit(agree[0], "name", 100.0) if len(agree) == 1 else NO_MATCH
        cands = process.extract(n, self.names, scorer=fuzz.ratio, score_cutoff=NAME_CANDIDATE, limit=5)
        contained = [
            i
            for _, _, i in cands
            if len(n) >= 3 and len(self.names[i]) >= 3 and (n in self.names[i] or self.names[i] in n)
        ]
        if len(contained) == 1:  # a shortened or lengthened name
            return self._hit(contained[0], "fuzzy", round(fuzz.WRatio(n, self.names[contained[0]]), 1))
        for _, _, i in cands:  # a look-alike: only where the address agrees
            score = fuzz.WRatio(n, self.names[i])
            if score >= LOOKALIKE and address and addresses_agree(address, self.addresses[i]):
                return self._hit(i, "fuzzy", round(score, 1))
        return NO_MATCH

    def match(self, name: str, address: str) -> Match:
        name = operator_name(name)
        if name:
            return self.by_name(name, address)
        return self.by_address(address) if address else NO_MATCH


class Matcher:
    """Match many clues against the registry with one query per county."""

    def __init__(self):
        self._by_uscc: dict[str, tuple[int, str, str, str]] = {}
        self._counties: dict[str, CountyIndex] = {}
        self._memo: dict[tuple, Match] = {}  # work orders repeat names: match each once

    def preload(self, county_prefixes: set[str]) -> None:
        from functools import reduce
        from operator import or_

        from django.db.models import Q

        from qinglang.registry.models import Institution

        missing = [c for c in county_prefixes if c and c not in self._counties]
        if not missing:
            return
        buckets: dict[str, CountyIndex] = {c: CountyIndex() for c in missing}
        qs = Institution.objects.all()
        if len(missing) <= 50:
            qs = qs.filter(reduce(or_, (Q(division_code__startswith=c) for c in missing)))
        for pk, name, uscc, address, div, kind in qs.values_list(
            "id", "name", "uscc", "address", "division_code", "kind"
        ).iterator(chunk_size=5000):
            b = buckets.get(div[:6])
            if b is None:
                continue
            b.add(pk, name, address, kind, div)
            if uscc:
                self._by_uscc[uscc.upper()] = (pk, kind, div, name)
        self._counties.update(buckets)

    def match(self, *, division_code: str, name: str = "", uscc: str = "", address: str = "") -> Match:
        key = ((division_code or "")[:6], name, uscc, address)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._match(
                division_code=division_code, name=name, uscc=uscc, address=address
            )
        return hit

    def _match(self, *, division_code: str, name: str, uscc: str, address: str) -> Match:
        from qinglang.registry.models import Institution

        county = (division_code or "")[:6]
        self.preload({county})
        if uscc:
            hit = self._by_uscc.get(uscc.strip().upper())
            if hit is None:
                hit = (
                    Institution.objects.filter(uscc=uscc.strip().upper())
                    .values_list("id", "kind", "division_code", "name")
                    .first()
                )
            if hit:
                return Match(hit[0], "uscc", 100.0, hit[1], hit[2], hit[3])
        idx = self._counties.get(county)
        return idx.match(name, address) if idx else NO_MATCH
