"""No decorative rule: every policy key is read by some service and some test exercises
a refusal or flag that cites it. A new key must pass this from the start."""

import re
from pathlib import Path

import pytest

from qinglang.core.policy_defaults import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]  # qinglang/
# Keys another part of the project is still bringing into force (named, not forgotten).
EXPECTED_FROM: dict[str, str] = {}
# Read by their service and exercised by its tests, but no test yet asserts that the
# resulting flag or deadline names the key: each app's tests are to cite them.
NOT_YET_CITED: dict[str, str] = {}
# Near the key in a test, one of these shows the test checks a refusal or a flag citing it.
CITES = re.compile(r'\["rule"\]|_refused\(|\.rule\b|rule ==|"rule":|violation|refused|policy_violation')


def _sources():
    services, tests = {}, {}
    for p in ROOT.rglob("*.py"):
        if "migrations" in p.parts or p.name == "policy_defaults.py" or p == Path(__file__):
            continue
        text = p.read_text(encoding="utf-8")
        (tests if "tests" in p.parts else services)[p] = text
    return services, tests


SERVICES, TESTS = _sources()


def _read_by(key: str) -> list[Path]:
    return [p for p, t in SERVICES.items() if f'"{key}"' in t]


def _cited_by(key: str) -> list[Path]:
    out = []
    for p, text in TESTS.items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if key in line and any(CITES.search(x) for x in lines[max(0, i - 8) : i + 9]):
                out.append(p)
                break
    return out


@pytest.mark.parametrize("key", [d.key for d in DEFAULTS])
def test_every_policy_key_is_read_and_tested(key):
    if key in EXPECTED_FROM:
        pytest.skip(f"{key}: expected from {EXPECTED_FROM[key]}")
    assert _read_by(key), f"policy key {key} is stored but no service reads it"
    if key in NOT_YET_CITED:
        pytest.skip(f"{key}: read; a test citing it is expected from {NOT_YET_CITED[key]}")
    assert _cited_by(key), f"policy key {key}: no test checks a refusal or flag that cites it"


def test_listed_keys_exist_and_listed_once():
    keys = {d.key for d in DEFAULTS}
    assert set(EXPECTED_FROM) <= keys and set(NOT_YET_CITED) <= keys
    assert not set(EXPECTED_FROM) & set(NOT_YET_CITED)


def test_no_key_is_listed_as_uncited_once_a_test_cites_it():
    """The lists only shrink: a key whose citing test has arrived leaves them."""
    stale = [k for k in NOT_YET_CITED if _cited_by(k)]
    assert not stale, f"cited now, remove from NOT_YET_CITED: {stale}"
