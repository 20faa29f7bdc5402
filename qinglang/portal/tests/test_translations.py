"""The English interface is complete: every string a template marks for translation
({% trans %}, {% translate %}, {% blocktrans %} / {% blocktranslate %}) has a non-empty
English msgstr in the compiled catalog; and no template outside ``RAW_CHINESE_TEMPLATES``
(the templates not yet converted, a list that may only shrink) carries Chinese text
outside translation tags, so what a new page shows reaches the English locale."""

import ast
import gettext
import re
from pathlib import Path

from django.utils.translation.template import templatize

import qinglang

ROOT = Path(qinglang.__file__).parent
CATALOG = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.mo"
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u3011]")
CALL = re.compile(r"\b(n?p?gettext)\((.*?)\)\s", re.S)
STRING = re.compile(r"'(?:[^'\\]|\\.)*'")

# Templates whose text is still written in Chinese outside {% trans %}: converting one
# removes it from this list (the test fails while a converted template is still listed).
RAW_CHINESE_TEMPLATES = {
    line.strip()
    for line in (Path(__file__).parent / "raw_chinese_templates.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def _templates() -> list[Path]:
    return sorted(p for p in ROOT.rglob("templates/**/*.html"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _msgids(text: str) -> set[str]:
    """The msgids makemessages would extract from a template (Django's own templatize)."""
    out = set()
    for fn, args in CALL.findall(templatize(text)):
        strings = [ast.literal_eval(s) for s in STRING.findall(args)]
        if fn.startswith("p"):  # pgettext(context, msgid): the catalog keys on context\x04msgid
            strings = [f"{strings[0]}\x04{strings[1]}"] if len(strings) > 1 else []
        out.update(strings[:2] if fn.startswith("n") else strings[:1])
    return out


def _untagged_chinese(text: str) -> bool:
    """Chinese outside translation tags and template comments."""
    text = re.sub(
        r"{%\s*(blocktrans|blocktranslate)\b.*?{%\s*end(blocktrans|blocktranslate)\s*%}", "", text, flags=re.S
    )
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.S)
    text = re.sub(r"{#.*?#}", "", text, flags=re.S)
    text = re.sub(r"{%\s*(trans|translate)\s+(\"[^\"]*\"|'[^']*').*?%}", "", text)
    text = re.sub(r"_\((\"[^\"]*\"|'[^']*')\)", "", text)
    return bool(CJK.search(text))


def test_every_marked_template_string_has_its_english():
    with CATALOG.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    missing = {}
    for path in _templates():
        for msgid in _msgids(path.read_text(encoding="utf-8")):
            if not catalog.get(msgid) and not catalog.get((msgid, 0)):
                missing.setdefault(_name(path), []).append(msgid)
    assert not missing, f"untranslated in the English catalog: {missing}"


def test_no_template_shows_chinese_outside_translation_tags():
    found = {_name(p) for p in _templates() if _untagged_chinese(p.read_text(encoding="utf-8"))}
    new = sorted(found - RAW_CHINESE_TEMPLATES)
    assert not new, f"Chinese text outside {{% trans %}} in: {new}"
    converted = sorted(RAW_CHINESE_TEMPLATES - found)
    assert not converted, f"converted, remove from raw_chinese_templates.txt: {converted}"


def test_the_checks_can_fail():
    assert _msgids('{% load i18n %}{% trans "待办事项" %}') == {"待办事项"}
    assert _msgids("{% load i18n %}{% blocktrans %}共 {{ n }} 条{% endblocktrans %}") == {"共 %(n)s 条"}
    assert _untagged_chinese("<p>整改台账</p>") and not _untagged_chinese('{% trans "整改台账" %}')
