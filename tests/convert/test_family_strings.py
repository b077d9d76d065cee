"""Family facts live in the family table only: no code outside ``convert/families.py`` compares a value with a
family's model type, key or GGUF architecture (it asks the table's rows instead)."""

from __future__ import annotations

import ast
from pathlib import Path

from exaone_convert.families import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("convert", "desktop")
TABLE = ROOT / "convert" / "families.py"
NAMES = frozenset(n for f in FAMILIES for n in (*f.model_types, f.key, f.gguf_arch))


def _strings(node: ast.AST) -> list[str]:
    """The string constants a comparison operand stands for (a literal, or a tuple/list/set of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def family_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, name) of each comparison of a value with a family name in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        else:
            continue
        found += [(node.lineno, s) for op in operands for s in _strings(op) if s in NAMES]
    return found


def test_the_check_sees_comparisons() -> None:
    assert family_comparisons('x = cfg.get("model_type") == "exaone4_5"') == [(1, "exaone4_5")]
    assert family_comparisons('ok = arch in ("exaone4", "llama")') == [(1, "exaone4")]
    assert family_comparisons('match t:\n    case "exaone":\n        pass') == [(2, "exaone")]
    assert family_comparisons('name = "exaone4"; ok = name == other') == []


def test_no_family_name_is_compared_outside_the_table() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name!r}"
                 for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")) if path != TABLE
                 for line, name in family_comparisons(path.read_text(encoding="utf-8"))]
    assert not offenders, "ask convert/families.py's rows instead of naming a family:\n" + "\n".join(offenders)
