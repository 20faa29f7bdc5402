"""Long paths stay readable: no function over ``MAX_FUNCTION_LINES`` lines and no module
over ``MAX_MODULE_LINES`` lines (tests and migrations aside; docs/architecture.md, "Size").
``OVER_THE_LIMIT`` holds what is still longer, each at its present length: an entry may
only shrink and must go once it is within the limit, and nothing new may join it."""

import ast
from pathlib import Path

import qinglang

ROOT = Path(qinglang.__file__).parent
MAX_FUNCTION_LINES = 100
MAX_MODULE_LINES = 600

# "path" for a module, "path:function" for a function; the value is the present length.
OVER_THE_LIMIT: dict[str, int] = {}


def _sources() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if "tests" not in p.relative_to(ROOT).parts and "migrations" not in p.parts
    )


def measure(paths: list[Path], root: Path = ROOT) -> dict[str, int]:
    """Every module and function over the limit, with its length in lines."""
    over: dict[str, int] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(root))
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            over[name] = lines
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over[f"{name}:{node.name}"] = max(length, over.get(f"{name}:{node.name}", 0))
    return over


def test_no_function_or_module_grows_past_the_limit():
    over = measure(_sources())
    new = {k: v for k, v in over.items() if k not in OVER_THE_LIMIT}
    grown = {
        k: (OVER_THE_LIMIT[k], v) for k, v in over.items() if k in OVER_THE_LIMIT and v > OVER_THE_LIMIT[k]
    }
    within = sorted(k for k in OVER_THE_LIMIT if k not in over)
    assert not new, (
        f"over the limit ({MAX_FUNCTION_LINES} lines a function, {MAX_MODULE_LINES} a module): {new}"
    )
    assert not grown, f"grew (listed, now): {grown}"
    assert not within, f"now within the limit, remove from OVER_THE_LIMIT: {within}"


def test_the_measure_can_fail(tmp_path):
    long_function = "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES
    (tmp_path / "a.py").write_text(long_function, encoding="utf-8")
    (tmp_path / "b.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1), encoding="utf-8")
    (tmp_path / "c.py").write_text("def g():\n    return 1\n", encoding="utf-8")
    over = measure(sorted(tmp_path.glob("*.py")), root=tmp_path)
    assert over == {"a.py:f": MAX_FUNCTION_LINES + 1, "b.py": MAX_MODULE_LINES + 1}
