"""The English interface is complete where the words come from Python: every choice label
and verbose name of the project's models, and every label, help text, fixed choice and
error message of the page forms, reads without Chinese under the English locale (a
Chinese one there is a string not marked for translation or missing from the catalogue);
under the default locale they read in Chinese as before. And a page shows a status read
from a model's choices in the reader's language, while what the service records stays
Chinese."""

import importlib
import inspect
import pkgutil
import re

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils import translation

import qinglang.accounts.forms
import qinglang.portal
from qinglang.core.i18n import chinese_labels
from qinglang.core.models import AuditEvent
from qinglang.registry import services
from qinglang.registry.models import InstitutionStatus, ListEntry, ListKind
from qinglang.testing import make_institution

CJK = re.compile(r"[\u3400-\u9fff]")

# Form fields whose fixed choices are not yet in the English catalogue (may only shrink).
NOT_YET_ENGLISH: set[tuple[str, str, str]] = set()


def _project_models():
    return [m for m in apps.get_models() if m.__module__.startswith("qinglang.")]


def _model_texts():
    """(where, text) for every app name, model name, field verbose name and choice label."""
    for config in apps.get_app_configs():
        if config.name.startswith("qinglang."):
            yield config.name, config.verbose_name
    for model in _project_models():
        name = model._meta.label
        yield name, model._meta.verbose_name
        yield f"{name} (plural)", model._meta.verbose_name_plural
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or field.auto_created:
                continue
            yield f"{name}.{field.name}", field.verbose_name
            for value, label in field.flatchoices or []:
                yield f"{name}.{field.name}={value}", label


def _form_modules():
    mods = [qinglang.accounts.forms]
    for info in pkgutil.iter_modules(qinglang.portal.__path__):
        if info.name.startswith("form"):
            mods.append(importlib.import_module(f"qinglang.portal.{info.name}"))
    return mods


def _form_texts():
    """(where, text) for each form field's label, help text, fixed choices and messages."""
    for mod in _form_modules():
        for cls_name, cls in inspect.getmembers(mod, inspect.isclass):
            if not issubclass(cls, forms.BaseForm) or cls.__module__ != mod.__name__:
                continue
            for fname, field in cls.base_fields.items():
                where = f"{mod.__name__}.{cls_name}.{fname}"
                if field.label:
                    yield where, field.label
                if field.help_text:
                    yield f"{where} (help)", field.help_text
                for code, message in field.error_messages.items():
                    yield f"{where} ({code})", message
                if (mod.__name__, cls_name, fname) in NOT_YET_ENGLISH:
                    continue
                for value, label in getattr(field, "choices", None) or []:
                    if isinstance(label, (list, tuple)):  # an optgroup
                        continue
                    yield f"{where}={value}", label


def _chinese_under(language: str, texts) -> list[str]:
    with translation.override(language):
        return [f"{where}: {text}" for where, text in texts() if CJK.search(str(text))]


def test_models_read_in_english():
    left = _chinese_under("en", _model_texts)
    assert not left, "untranslated model labels:\n" + "\n".join(left)


def test_forms_read_in_english():
    left = _chinese_under("en", _form_texts)
    assert not left, "untranslated form texts:\n" + "\n".join(left)


def test_chinese_stays_the_default():
    with translation.override("zh-hans"):
        assert str(InstitutionStatus.SUSPENDED.label) == "停业整顿"
        assert str(apps.get_model("registry", "Institution")._meta.verbose_name) == "培训机构"
    with translation.override("en"):
        assert str(InstitutionStatus.SUSPENDED.label) == "Suspended for rectification"
        assert chinese_labels(InstitutionStatus)[InstitutionStatus.SUSPENDED] == "停业整顿"
        labels = [label for _v, label in InstitutionStatus.choices]
        assert all(type(s) is str and CJK.search(s) for s in chinese_labels(InstitutionStatus).values())
        assert not any(CJK.search(str(s)) for s in labels)


@pytest.mark.django_db
def test_list_page_shows_statuses_in_the_readers_language(client, officer):
    inst = make_institution(name="武侯阳光艺术培训", whitelisted=True)
    with translation.override("en"):  # the officer acts from an English page
        services.institution_transition(
            actor=officer, institution_id=inst.pk, to_status=InstitutionStatus.SUSPENDED, reason="消防隐患"
        )
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("portal:institution_list")).content.decode()
    assert inst.name in html
    assert "Suspended for rectification" in html and "停业整顿" not in html

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(reverse("portal:institution_list")).content.decode()
    assert "停业整顿" in html and "Suspended for rectification" not in html

    # what the service recorded does not depend on the language of the page it came from
    entry = ListEntry.objects.get(institution=inst, list_kind=ListKind.WHITE)
    assert entry.removed_reason == "办学状态变更为停业整顿"
    assert AuditEvent.objects.filter(object_id=str(inst.pk), action__endswith="suspended").exists()


def test_policy_rule_names_read_in_both_languages():
    """Every rule of the policy catalogue has an English name; the Chinese one stays the
    default (and is what core.policy_defaults and the records keep)."""
    from qinglang.core.policy_defaults import DEFAULTS
    from qinglang.portal.forms import PolicyOverrideForm

    choices = dict(PolicyOverrideForm.base_fields["key"].choices)
    assert len(choices) == len(DEFAULTS)
    with translation.override("en"):
        left = [str(label) for label in choices.values() if CJK.search(str(label))]
        assert not left, left
        assert (
            str(choices["fees.max_lessons_per_charge"])
            == "Maximum lessons per charge(fees.max_lessons_per_charge)"
        )
    with translation.override("zh-hans"):
        assert str(choices["fees.max_lessons_per_charge"]) == "单次收费课时上限(fees.max_lessons_per_charge)"
    assert all(CJK.search(d.label) for d in DEFAULTS)
