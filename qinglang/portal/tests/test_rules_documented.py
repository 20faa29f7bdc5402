"""docs/rules.md, the hand-written table of the rules in force, stays whole: every national
policy key is in it (a new key fails here until it is documented), it names no key that
does not exist, and every test it cites exists."""

import re
from pathlib import Path

from qinglang.core.policy_defaults import BY_KEY, DEFAULTS

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
KEY_LIKE = re.compile(r"`([a-z_]+(?:\.[a-z_]+)+)`")
TEST_REF = re.compile(r"`((?:[a-z_]+/)+test_[a-z_]+\.py)::(test_\w+)`")


def test_every_policy_key_is_documented():
    missing = [d.key for d in DEFAULTS if f"`{d.key}`" not in DOC]
    assert not missing, f"docs/rules.md does not document: {missing}"


def test_the_doc_names_only_keys_that_exist():
    named = {k for k in KEY_LIKE.findall(DOC) if not k.endswith((".py", ".md")) and "/" not in k}
    named = {k for k in named if k.split(".")[0] in {d.key.split(".")[0] for d in DEFAULTS}}
    unknown = sorted(k for k in named if k not in BY_KEY and not k.endswith(".*"))
    assert not unknown, unknown


def test_every_test_the_doc_cites_exists():
    refs = TEST_REF.findall(DOC)
    assert len(refs) > 40
    for path, name in refs:
        source = ROOT / "qinglang" / path
        assert source.exists(), path
        assert re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.M), f"{path}::{name}"


def test_every_key_has_a_test_in_its_row():
    """Each key's row (or, for the risk signals, the table under the tests it names: the
    portal's matrix and the app's own) cites a test."""
    signals_table = DOC.split("test_signal_fires_at_the_city_threshold_and_not_short_of_it")[-1]
    matrix = "test_rules_matrix_signals.py::test_a_signal_fires_at_and_beyond_its_threshold_naming_the_rules_in_force"
    assert matrix in DOC.split("| signal | threshold key |")[0].split("## Risk early warning")[-1]
    for d in DEFAULTS:
        rows = [ln for ln in DOC.splitlines() if ln.startswith(f"| `{d.key}` |")]
        if d.key.startswith(("risk.threshold.", "risk.weight.")) or d.key == "alerts.large_transaction_ratio":
            assert f"`{d.key}`" in signals_table, d.key
            continue
        assert rows, d.key
        assert any(TEST_REF.search(r) or r.rstrip().endswith("| as above |") for r in rows), d.key
