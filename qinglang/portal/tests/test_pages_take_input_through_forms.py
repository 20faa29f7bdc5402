"""The pages' one rule for input (docs/architecture.md, "Pages: one rule"): a view reads
``request.POST`` only to hand it to a form, except for the key that picks the form from an
action table (``action`` / ``op``) and ``next`` (a redirect, checked by ``safe_next`` or
against a fixed list). Any other raw read — a field taken past its form's length,
type and range checks — fails this test with its place."""

import re
from pathlib import Path

import qinglang

VIEWS = Path(qinglang.__file__).parent / "portal" / "views"
RAW = re.compile(r"request\.POST(?:\.get|\.getlist|\[)\(?\s*[\"']([^\"']+)[\"']")
DISPATCH_KEYS = {"action", "op", "next"}


def test_views_read_posted_input_only_through_forms():
    found = []
    for path in sorted(VIEWS.glob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for key in RAW.findall(line):
                if key not in DISPATCH_KEYS:
                    found.append(f"{path.name}:{n} reads {key!r}")
    assert not found, "read through a form instead: " + "; ".join(found)


def test_the_check_sees_a_raw_read():
    assert RAW.findall('x = request.POST.get("reason", "")') == ["reason"]
    assert RAW.findall("ids = request.POST.getlist('target')") == ["target"]
    assert RAW.findall('v = request.POST["amount"]') == ["amount"]
