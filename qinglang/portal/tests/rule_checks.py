"""What the tests of the rules in force share: a city's own figure, an integration's API
client on a token, and the checks that a refusal names the rule's key, its value, the
division that set it and the basis (officials and integrators read the key; parents and
the public read the same sentence without it)."""

import html
import json
from datetime import date

from django.test import Client

from qinglang.accounts.services import api_token_create
from qinglang.core.policy import RULE_MARK, display_value, policy_resolve
from qinglang.core.services import policy_set
from qinglang.testing import ROOT

CITY = "5101"  # 四川省成都市, the city of the test institutions' county (武侯区)
CITY_NAME = "四川省成都市"
CITY_BASIS = "成都市规定(测试)"


def city_sets(key: str, value, *, division: str = CITY, basis: str = CITY_BASIS) -> None:
    """The city's own figure for ``key``, in force since before any test date."""
    policy_set(
        actor=ROOT, key=key, division_code=division, value=value, basis=basis, effective_from=date(2025, 1, 1)
    )


def token_client(user) -> Client:
    """The API as an integration calls it: a bearer token the user made for itself."""
    _, plain = api_token_create(actor=user, user=user, name="对接系统(测试)")
    return Client(HTTP_AUTHORIZATION=f"Bearer {plain}")


def post_json(client: Client, url: str, body: dict):
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json")


def in_force(key: str, where: str, figures: dict) -> tuple:
    """(figure, who set it) of ``key`` for a test ``where`` "national" or "city": the
    city's own figure of ``figures`` is set first."""
    if where == "city":
        city_sets(key, figures["city"])
        return figures["city"], CITY
    return figures["national"], "national"


def cited(key: str, value, set_by: str = "national") -> dict:
    """The rule as a record it decided cites it (``Resolved.cite``): key, value, the
    division that set it ("national" or 成都市's code) and the basis."""
    basis = CITY_BASIS if set_by != "national" else policy_resolve(key, "").basis
    return {"rule": key, "value": value, "set_by": set_by, "basis": basis}


def _where(set_by: str) -> tuple[str, str]:
    """(division name, code in the refusal's detail) for "national" or a division code."""
    from qinglang.core.division_names import full_name

    return ("全国", "national") if set_by == "national" else (full_name(set_by), set_by)


def assert_cites(text: str, key: str, value, set_by: str = "national", *, basis: str = "", with_key=True):
    """``text`` (a message, or a page's HTML) states the rule: its value as people read it,
    the division that set it and the basis; and its key, unless ``with_key`` is False."""
    text = html.unescape(text)
    name, _ = _where(set_by)
    basis = basis or (policy_resolve(key, "").basis if set_by == "national" else CITY_BASIS)
    stated = f"{display_value(key, value)}({name}；依据：{basis})"
    assert stated in text, f"{stated!r} not in {text[:2000]!r}"
    if with_key:
        assert f"{RULE_MARK}{key}]" in text, text[:2000]
    else:
        assert RULE_MARK not in text and key not in text, text[:2000]


def assert_refused(r, key: str, value, set_by: str = "national", *, basis: str = "") -> dict:
    """A JSON refusal of a rule: 422 ``policy_violation`` whose detail and message name the
    key, the value, who set it and the basis. Returns the body."""
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "policy_violation", body
    d = body["detail"]
    assert (d["rule"], d["value"], d["set_by"]) == (key, value, _where(set_by)[1]), d
    assert d["basis"] == (basis or (policy_resolve(key, "").basis if set_by == "national" else CITY_BASIS))
    assert_cites(body["message"], key, value, set_by, basis=d["basis"])
    return body


def day_in(order, *, working: bool):
    """The first working day (or Saturday off work) within the order's dates: lessons
    dated outside an order are refused on their own account."""
    from datetime import timedelta

    from qinglang.core.calendar import is_working_day

    d = order.starts_on
    while is_working_day(d) != working or (not working and d.weekday() != 5):
        d += timedelta(days=1)
    assert d <= order.ends_on
    return d


def at(d, hh: int, mm: int):
    from datetime import datetime, time

    from django.utils import timezone

    return timezone.make_aware(datetime.combine(d, time(hh, mm)))
