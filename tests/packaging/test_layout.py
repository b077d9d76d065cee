"""tests/ and bench/ never reach into each other: the product (exaone_convert, exaone_desktop) is the only code
both may use. Every .py under the two folders is parsed (not run) and a crossing is any of:

- an import of the other side: ``tests.…`` from bench/, ``bench.…`` from tests/, or a bare import of a module
  that only the other side has (made importable through ``sys.path``);
- a call that loads, imports or runs code by name or by path (``spec_from_file_location``, ``runpy``,
  ``import_module``, ``sys.path`` and ``site`` changes, ``subprocess`` and ``os.exec*`` runs) with an argument
  that names the other side: a path with its folder in it, a ``tests.…`` module name, or a variable holding one
  (followed through assignments, e.g. ``BENCH = ROOT / "bench"; WRAPPER = BENCH / "w.py"``).

Reading the other side's data files (bench/README.md, whose fuzz section the tests' campaign rewrites) is no
crossing. The checker is proved on the three crossings this layout removed, planted in a folder of their own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIDES = {"tests": "bench", "bench": "tests"}
LOADERS = frozenset({
    "spec_from_file_location", "SourceFileLoader", "module_from_spec", "import_module", "__import__", "run_path",
    "run_module", "addsitedir", "run", "Popen", "call", "check_call", "check_output", "create_subprocess_exec",
    "system", "execv", "execve", "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnl", "startfile",
})
PATH_CHANGES = frozenset({"insert", "append", "extend"})


def side_files(root: Path, side: str) -> list[Path]:
    generated = root / "bench" / "out"  # what benchmarks download (llama.cpp's sources) is not ours
    return sorted(p for p in (root / side).rglob("*.py") if generated not in p.parents)


def _names_other(text: str, other: str) -> bool:
    """A string that points into ``other``: the folder itself, a path through it, or a module under it."""
    return text == other or text.startswith((f"{other}/", f"{other}.", f"{other}\\")) or f"/{other}/" in text


def _is_sys_path(node: ast.AST) -> bool:
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name) \
        and node.value.id == "sys"


def _callee(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id \
        if isinstance(node.func, ast.Name) else ""


class _Reader:
    def __init__(self, tree: ast.AST, other: str) -> None:
        self.other = other
        self.tainted: set[str] = set()
        assignments = [(t, n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign)
                       and n.value is not None for t in (n.targets if isinstance(n, ast.Assign) else [n.target])]
        changed = True
        while changed:  # names holding a path or module name of the other side, through any number of steps
            changed = False
            for target, value in assignments:
                names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} - self.tainted
                if names and self.mentions(value):
                    self.tainted |= names
                    changed = True

    def mentions(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and _names_other(n.value, self.other)
                   or isinstance(n, ast.Name) and n.id in self.tainted for n in ast.walk(node))


def crossings(root: Path) -> list[str]:
    """``side/path.py:line: what`` for every place where tests/ or bench/ reaches into the other."""
    found: list[str] = []
    stems = {side: {p.stem for p in side_files(root, side)} - {"__init__", "conftest"} for side in SIDES}
    for side, other in SIDES.items():
        foreign = stems[other] - stems[side] if side == "bench" else stems[other]
        for path in side_files(root, side):
            where = path.relative_to(root).as_posix()
            found += [f"{where}:{line}: {what}" for line, what in _file_crossings(path, other, foreign)]
    return found


def _file_crossings(path: Path, other: str, foreign: set[str]) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reader = _Reader(tree, other)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and not (isinstance(node, ast.ImportFrom) and node.level):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top == other or top in foreign:
                    yield node.lineno, f"imports {module}"
        elif isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            name = _callee(node)
            changes_path = name in PATH_CHANGES and isinstance(node.func, ast.Attribute) \
                and _is_sys_path(node.func.value)
            if (name in LOADERS or changes_path) and any(reader.mentions(a) for a in args):
                yield node.lineno, f"{'sys.path.' if changes_path else ''}{name}(…) with {other}/"
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_sys_path(t) for t in targets) and reader.mentions(node.value):
                yield node.lineno, f"sys.path set to include {other}/"


def test_tests_and_bench_do_not_reach_into_each_other() -> None:
    assert crossings(ROOT) == []


# The three crossings this layout removed, as they stood (trimmed to the lines that cross).
FUZZ_BY_PATH = '''
import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_gguf", BENCH / "fuzz_gguf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_gguf"] = module
    spec.loader.exec_module(module)
    return module
'''
CORPUS_IMPORT = '''
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import write_section  # noqa: E402

from tests.support.document_corpus import make_corpus  # noqa: E402
from tests.support.document_files import make_hwpx, make_pdf  # noqa: E402
'''
WRAPPER_CHILD = '''
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
WRAPPER = BENCH / "llamacpp_convert_wrapper.py"


def llama_convert(llama_dir, ckpt, outfile):
    return subprocess.run([sys.executable, str(WRAPPER), str(llama_dir), str(ckpt), "--outfile", str(outfile)])
'''
PLANTED = {
    "fuzz": ("tests/convert/test_fuzz.py", FUZZ_BY_PATH, ["spec_from_file_location(…) with bench/",
                                                         "module_from_spec(…) with bench/"]),
    "corpus": ("bench/bench_documents.py", CORPUS_IMPORT, ["imports tests.support.document_corpus",
                                                           "imports tests.support.document_files"]),
    "wrapper": ("tests/convert/test_gguf_recognition.py", WRAPPER_CHILD, ["run(…) with bench/"]),
    "bare import": ("tests/convert/test_bench_helpers.py", "import benchlib\n", ["imports benchlib"]),
    "module run": ("bench/bench_fuzz.py", 'import subprocess, sys\nsubprocess.Popen([sys.executable, "-m", '
                                          '"tests.support.fuzz_gguf"])\n', ["Popen(…) with tests/"]),
    "path set": ("bench/bench_x.py", 'import sys\nsys.path[:0] = ["../tests/support"]\n',
                 ["sys.path set to include tests/"]),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A clean copy of both sides' layout: the modules bench/ has (benchlib), a tests helper, no crossing."""
    for path, text in {"bench/benchlib.py": "def write_section(name, body):\n    pass\n",
                       "bench/llamacpp_convert_wrapper.py": "",
                       "tests/support/document_corpus.py": "", "tests/support/document_files.py": "",
                       "tests/packaging/test_readme.py": 'from pathlib import Path\n'
                                                         'TEXT = (Path("bench") / "README.md").read_text()\n'}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_clean_layout_and_reading_the_other_sides_readme_pass(tree: Path) -> None:
    assert crossings(tree) == []


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_each_removed_crossing_is_caught(tree: Path, case: str) -> None:
    path, text, expected = PLANTED[case]
    (tree / path).parent.mkdir(parents=True, exist_ok=True)
    (tree / path).write_text(text, encoding="utf-8")
    found = crossings(tree)
    assert [f.split(": ", 1)[1] for f in found] == expected, found
    assert all(f.startswith(f"{path}:") for f in found)
