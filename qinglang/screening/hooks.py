"""The checkers this app registers into the apps below it (from ScreeningConfig.ready):
registry's ``TEXT_CHECKERS`` (course names and descriptions, training materials at
submission, the business scope on a licence) and clues' category hook (``classify.register_hook``) (a clue whose text reads as disguised
subject training is filed as ``disguised_training``)."""

from functools import lru_cache

from qinglang.core.i18n import chinese_display

from . import classifier, rules
from .models import Source

CLUE_CONFIDENCE = 0.6


def registry_text_checker(*, actor, source: str, obj, institution, texts: dict):
    """A non-subject course (or a non-subject institution's material) whose text reads as
    subject training is held for review with the evidence."""
    from qinglang.registry.hooks import TextFinding
    from qinglang.registry.models import InstitutionCategory, Kind

    from .services import text_screen

    if source == "course":
        if obj.kind == Kind.SUBJECT:
            return None
        src, name = Source.COURSE, obj.name
    elif source == "material":
        if institution.category == InstitutionCategory.SUBJECT:
            return None
        src, name = Source.MATERIAL, obj.title
    elif source == "licence":  # the business scope printed on a licence
        if institution.category == InstitutionCategory.SUBJECT:
            return None
        src, name = Source.BUSINESS_SCOPE, f"{institution.name} {chinese_display(obj, 'kind')}经营范围"
    else:
        return None
    hold = text_screen(
        actor=actor, source=src, object_id=obj.pk, object_name=name, institution=institution, texts=texts
    )
    if hold is None:
        return None
    words = "、".join(dict.fromkeys(e["text"] for e in hold.evidence[:6]))
    return TextFinding(
        f"内容疑似学科类培训({chinese_display(hold, 'label')})，已转监管人员复核"
        + (f"：{words}" if words else ""),
        {"hold_id": hold.pk, "label": hold.label, "pattern": hold.pattern, "evidence": hold.evidence},
    )


@lru_cache(maxsize=20_000)
def clue_category_checker(text: str) -> str | None:
    """``disguised_training`` for a clue text that reads as disguised subject training.
    The rule scan (cheap) comes first: a text naming no subject content is left alone."""
    if not any(s.kind in rules.SUBJECTISH and not s.negated for s in rules.find(text or "")):
        return None
    r = classifier.classify(text[:10_000])
    if r.label == "disguised_subject" and r.confidence >= CLUE_CONFIDENCE:
        return "disguised_training"
    return None


def clue_category_hook(text: str, pred):
    """clues' category hook: ``disguised_training`` where the screening model reads the
    clue as disguised subject training, else the clue model's own prediction."""
    from qinglang.clues.classify import Prediction
    from qinglang.clues.models import CategorySource

    found = clue_category_checker(text)
    if found and found != pred.category:
        return Prediction(found, max(pred.confidence, CLUE_CONFIDENCE), CategorySource.MODEL)
    return None


def register() -> None:
    from qinglang.clues import classify
    from qinglang.registry import hooks

    if registry_text_checker not in hooks.TEXT_CHECKERS:
        hooks.TEXT_CHECKERS.append(registry_text_checker)
    classify.register_hook(clue_category_hook)
