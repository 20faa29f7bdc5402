"""Checks that apps above the registry register into it (from their AppConfig.ready), so
that the registry can call them without importing them (dependency inversion, as
config/api.py injects the token lookup into core).

``TEXT_CHECKERS``: each is called as ``checker(actor=, source=, obj=, institution=,
texts=)`` inside the registry service's transaction, after the object is saved, with the
texts a person wrote for it (``{"name": …, "description": …}``). It returns a
``TextFinding`` when the text must be held for review, else None; it may write its own
records in the same transaction. A held course stays pending (待审核)."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TextFinding:
    message: str  # Chinese, for the submitter and the reviewer
    detail: dict = field(default_factory=dict)


TEXT_CHECKERS: list[Callable[..., TextFinding | None]] = []


def check_texts(*, actor, source: str, obj, institution, texts: dict[str, str]) -> list[TextFinding]:
    out = []
    for checker in TEXT_CHECKERS:
        found = checker(actor=actor, source=source, obj=obj, institution=institution, texts=texts)
        if found is not None:
            out.append(found)
    return out
