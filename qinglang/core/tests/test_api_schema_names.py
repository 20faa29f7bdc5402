"""Every API schema has a name of its own: the OpenAPI document keys its components by class
name, so two apps' ``ActionIn`` would silently document (and fuzz, and sweep) one route with
the other's body."""

import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # qinglang/
CLASS = re.compile(r"^class (\w+)\((?:Schema|ModelSchema)\b", re.M)


def test_schema_class_names_are_unique_across_apps():
    where = defaultdict(list)
    for p in ROOT.glob("*/**/*.py"):
        if "tests" in p.parts or "migrations" in p.parts:
            continue
        for name in CLASS.findall(p.read_text(encoding="utf-8")):
            where[name].append(str(p.relative_to(ROOT)))
    assert {n: ps for n, ps in where.items() if len(ps) > 1} == {}


def test_openapi_components_document_each_body_once():
    from qinglang.config.api import api

    spec = api.get_openapi_schema()
    body = spec["paths"]["/api/clues/clues/{clue_id}/actions"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "action" in spec["components"]["schemas"][ref]["properties"]
