"""Chinese regardless of the reader's language.

Choice labels and verbose names are lazy translations whose source (msgid) is the
Chinese; a page shows them in the reader's language. What the project stores, hashes,
exports for the office or matches against Chinese input (audit payloads, documents,
spreadsheets, import look-ups) takes the Chinese through these helpers instead, so it
never depends on the language of the request that wrote it."""

from django.utils import translation

SOURCE_LANGUAGE = "zh-hans"


def chinese(text) -> str:
    """The Chinese of a (possibly lazy) string, as a plain ``str``."""
    with translation.override(SOURCE_LANGUAGE):
        return str(text)


def chinese_labels(choices) -> dict:
    """``{value: Chinese label}`` of a choices class or a list of (value, label) pairs."""
    pairs = getattr(choices, "choices", choices)
    with translation.override(SOURCE_LANGUAGE):
        return {value: str(label) for value, label in pairs}


def chinese_label(choices, value, default=None):
    """The Chinese label of one value (``default``, else the value itself, when unknown)."""
    return chinese_labels(choices).get(value, value if default is None else default)


def chinese_display(obj, field: str) -> str:
    """``obj.get_<field>_display()`` in Chinese."""
    with translation.override(SOURCE_LANGUAGE):
        return str(getattr(obj, f"get_{field}_display")())


def choice_label(choices, value):
    """The label of ``value`` in a choices class (or (value, label) pairs) as it was
    declared: a lazy string read in the reader's language. For the values a refusal names
    (``format_lazy``), whose stored copy is read in Chinese (``DomainError.chinese_message``)."""
    return dict(getattr(choices, "choices", choices)).get(value, value)


def choice_display(obj, field: str):
    """``choice_label`` of ``obj``'s value in a choices ``field``."""
    f = obj._meta.get_field(field)
    return choice_label(f.flatchoices, getattr(obj, f.attname))


def chinese_data(value):
    """``value`` (JSON-like: dicts, lists, strings) with every lazy string read in Chinese,
    for what is stored as JSON (a job's result, a record's payload)."""
    from django.utils.functional import Promise

    if isinstance(value, Promise):
        return chinese(value)
    if isinstance(value, dict):
        return {chinese_data(k): chinese_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [chinese_data(v) for v in value]
    return value
