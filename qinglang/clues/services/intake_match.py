"""Intake, stage 1: the institution each report names, matched against the registry of
its county, and the subject keys dedupe groups reports by."""

from .. import dedupe
from ..matching import Matcher, operator_name
from .intake_drafts import Batch, Draft


def match_institutions(drafts: list[Draft], b: Batch) -> None:
    matcher = Matcher()
    matcher.preload(b.counties)
    for d in drafts:
        s = d.sub
        d.operator = operator_name(s.institution_name)
        d.match = matcher.match(
            division_code=s.division_code, name=d.operator, uscc=s.uscc, address=s.address
        )
        d.keys = dedupe.subject_keys(d.match.institution_id, d.operator, s.address)
