"""The house holds as it grows: no module over 500 lines, no function over 80 lines or of cyclomatic
complexity over 20 (radon's measure), unless a comment ``# long: <reason>`` right above its ``def`` says
why a longer one reads better (a compiled kernel, a table of flags)."""

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

SRC = Path(__file__).resolve().parent.parent / "src" / "linearnet"
MODULE_LINES, FUNCTION_LINES, COMPLEXITY = 500, 80, 20
MODULES = sorted(SRC.rglob("*.py"))


def _excused(lines: list[str], node) -> bool:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    above = lines[first - 2].strip() if first >= 2 else ""
    return above.startswith("# long:") and len(above) > len("# long: ") + 10


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert text.count("\n") <= MODULE_LINES, f"{path.name} has {text.count(chr(10))} lines: split it by concept"
    too_long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > FUNCTION_LINES
        and not _excused(lines, node)
    ]
    assert not too_long, f"{path.name}: over {FUNCTION_LINES} lines: {too_long}"
    tangled = [
        f"{block.name} (complexity {block.complexity})"
        for block in cc_visit(text)
        if block.complexity > COMPLEXITY and not _excused(lines, block)
    ]
    assert not tangled, f"{path.name}: complexity over {COMPLEXITY}: {tangled}"


def test_the_measure_finds_what_it_should():
    """A function of 21 branches is found; the same with its reason is not."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(21))
    tangled = "def f(x):\n" + body
    assert [b.complexity for b in cc_visit(tangled)] == [22]
    excused = "# long: a dispatch table over twenty-one codes\n" + tangled
    lines = excused.split("\n")
    block = cc_visit(excused)[0]
    assert _excused(lines, block) and not _excused(tangled.split("\n"), cc_visit(tangled)[0])
