"""Name search for Chinese text. Chinese has no spaces, and the common search term is two
characters (舞蹈, 编程), too short for trigram indexes; so each institution keeps
``search_text``: the overlapping character bigrams of its names (plus its credit code),
indexed on PostgreSQL by a GIN full-text index (``simple`` configuration). A query of n ≥ 2
characters must contain all its bigrams, then a plain substring test on the few candidate
rows confirms the match; a one-character query falls back to the substring test."""

import re

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

_RUN = re.compile(r"\w+")


def grams(text: str) -> list[str]:
    """'星光·艺术' -> ['星光', '艺术']; runs of one character stay whole."""
    out: list[str] = []
    for run in _RUN.findall((text or "").upper()):
        if len(run) == 1:
            out.append(run)
        else:
            out += [run[i : i + 2] for i in range(len(run) - 1)]
    return out


def search_text_for(*parts: str | None) -> str:
    return " ".join(dict.fromkeys(g for p in parts if p for g in grams(p)))


def name_search_q(term: str) -> Q:
    """A filter for institutions whose name, registered name or credit code matches."""
    term = term.strip()
    substring = Q(name__icontains=term) | Q(registered_name__icontains=term)
    code = term.upper()
    by_code = Q(uscc=code) if len(code) == 18 and code.isalnum() else Q(pk__in=[])
    g = grams(term)
    if connection.vendor == "postgresql" and g and all(len(x) == 2 for x in g):
        tsquery = " & ".join(dict.fromkeys(g))
        indexed = RawSQL(
            "to_tsvector('simple', \"registry_institution\".\"search_text\") @@ to_tsquery('simple', %s)",
            [tsquery],
            output_field=BooleanField(),
        )
        return (Q(indexed) & substring) | by_code
    return substring | by_code
