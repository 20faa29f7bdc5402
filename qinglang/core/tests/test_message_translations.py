"""Refusals read in the reader's language. A service's message at a raise site (the
message of ``DomainError`` and its kinds, ``ValidationError``'s messages, ``require_role``'s
``message=``, the ``errors[...]`` a ``ValidationError`` is built from) is written as a lazy
translation: ``gettext_lazy("…")``, or ``format_lazy(gettext_lazy("…{amount}…"), amount=…)``
for one with values. No module outside ``UNTRANSLATED`` (the modules not yet converted, a
list that may only shrink: the test fails while a converted module is still listed) has a
Chinese literal there, and every lazy message of a converted module has English in the
compiled catalogue."""

import ast
import gettext
import re
from pathlib import Path

import qinglang

ROOT = Path(qinglang.__file__).parent
CATALOG = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.mo"
CJK = re.compile(r"[\u3400-\u9fff]")
LAZY = {"_", "gettext_lazy", "gettext", "format_lazy", "pgettext_lazy", "ngettext_lazy"}
UNTRANSLATED = {
    line.strip()
    for line in (Path(__file__).parent / "untranslated_messages.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _message_args(call: ast.Call) -> list[ast.AST]:
    """The parts of an error's constructor that people read (not ``code`` nor ``detail``)."""
    args = list(call.args)
    kw = [k.value for k in call.keywords if k.arg in ("message", "what")]
    if _name(call) == "ValidationError" and args:
        a = args[0]
        return ([v for v in a.values if v is not None] if isinstance(a, ast.Dict) else [a]) + kw
    first = args[0] if args else None
    code = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if len(args) >= 2 and code is not None and not CJK.search(code):
        return [args[1], *kw]  # DomainError(code, message, detail)
    return args[:1] + kw


def _messages(tree: ast.AST) -> list[ast.AST]:
    """Every message expression of the module's raise sites."""
    out: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            out += _message_args(node.exc)
        elif isinstance(node, ast.Call) and _name(node) == "require_role":
            out += [k.value for k in node.keywords if k.arg == "message"]
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            t = node.targets[0]
            if (
                isinstance(t, ast.Subscript)
                and isinstance(t.value, ast.Name)
                and t.value.id in ("errors", "errs")
            ):
                out.append(node.value)
    return out


def _scan(expr: ast.AST, raw: list[str], lazy: list[str]) -> None:
    """Chinese literals outside a translation call → ``raw``; msgids of lazy ones → ``lazy``."""
    if isinstance(expr, ast.Call) and _name(expr) in LAZY:
        if _name(expr) != "format_lazy":
            first = expr.args[0] if expr.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                lazy.append(first.value)
            return
        for a in [*expr.args, *(k.value for k in expr.keywords)]:
            _scan(a, raw, lazy)
        return
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str) and CJK.search(expr.value):
        raw.append(expr.value)
        return
    if isinstance(expr, ast.JoinedStr) and any(
        isinstance(v, ast.Constant) and CJK.search(v.value) for v in expr.values
    ):
        raw.append(ast.unparse(expr))
        return
    for child in ast.iter_child_nodes(expr):
        _scan(child, raw, lazy)


def _modules() -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if "/tests/" in f"/{rel}" or "/migrations/" in rel:
            continue
        raw: list[str] = []
        lazy: list[str] = []
        for expr in _messages(ast.parse(path.read_text(encoding="utf-8"))):
            _scan(expr, raw, lazy)
        out[rel] = (raw, lazy)
    return out


def test_only_listed_modules_raise_untranslated_messages():
    modules = _modules()
    new = {m: raw[:3] for m, (raw, _l) in modules.items() if raw and m not in UNTRANSLATED}
    assert not new, f"Chinese messages not marked for translation (wrap them in gettext_lazy): {new}"
    done = sorted(m for m in UNTRANSLATED if m in modules and not modules[m][0])
    assert not done, f"converted: remove from untranslated_messages.txt: {done}"
    gone = sorted(m for m in UNTRANSLATED if m not in modules)
    assert not gone, f"no such module: remove from untranslated_messages.txt: {gone}"


def test_converted_messages_have_english():
    with CATALOG.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    missing = {
        m: [t for t in lazy if CJK.search(t) and not catalog.get(t)]
        for m, (_raw, lazy) in _modules().items()
        if m not in UNTRANSLATED
    }
    missing = {m: ts for m, ts in missing.items() if ts}
    assert not missing, f"no English in the catalogue for: {missing}"
