"""Each package's public face: what it exports, that importing it stays light, and one mechanism per job
(one atomic writer, one free-space check, one output-type object, one file-naming rule)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"exaone_convert": ROOT / "convert", "exaone_desktop": ROOT / "desktop"}


def python_files(*folders: Path) -> list[Path]:
    """The project's own Python files under ``folders`` (not what benchmarks download into bench/out)."""
    generated = ROOT / "bench" / "out"
    return sorted(p for folder in folders for p in folder.rglob("*.py") if generated not in p.parents)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every import statement of ``path``."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


FACES = ["exaone_convert", "exaone_desktop.engine", "exaone_desktop.engine.chat", "exaone_desktop.engine.cloud",
         "exaone_desktop.engine.llama", "exaone_desktop.engine.sampling", "exaone_desktop.cli"]


@pytest.mark.parametrize("package", FACES)
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module._LAZY) <= set(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_public_faces_import_nothing_heavy() -> None:
    """The window shows before gguf, numpy, llama.cpp, openai or jinja2 are imported."""
    code = ("import sys\n"
            "import exaone_convert, exaone_desktop.engine, exaone_desktop.session, exaone_desktop.cli\n"
            "import exaone_desktop.engine.chat, exaone_desktop.engine.cloud, exaone_desktop.engine.llama\n"
            "import exaone_desktop.engine.sampling\n"
            "from exaone_desktop.session import models, settings_state, store\n"
            "print(sorted(m for m in ('gguf', 'numpy', 'llama_cpp', 'openai', 'jinja2', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout.strip()
    assert out == "[]"


def test_the_app_uses_only_the_converters_public_names() -> None:
    """No module of the app imports a converter submodule: only ``from exaone_convert import NAME``."""
    import exaone_convert

    offenders = []
    for path in python_files(SOURCES["exaone_desktop"]):
        for module, names in imports(path):
            if module.startswith("exaone_convert") and module != "exaone_convert":
                offenders.append(f"{path.name}: {module}")
            if module == "exaone_convert":
                offenders += [f"{path.name}: {name}" for name in names if name not in exaone_convert.__all__]
    assert offenders == []


def test_the_converter_imports_nothing_of_the_app() -> None:
    for path in python_files(SOURCES["exaone_convert"]):
        assert not [m for m, _ in imports(path) if m.startswith(("exaone_desktop", "PySide6"))], path.name


def test_one_atomic_writer() -> None:
    """Only ``exaone_convert.files`` renames a finished file into place (the app, benches and packaging)."""
    folders = [ROOT / name for name in ("convert", "desktop", "bench", "packaging")]
    users = [p.relative_to(ROOT).as_posix() for p in python_files(*folders)
             if any(call in p.read_text(encoding="utf-8") for call in ("os.replace(", ".replace(path)"))]
    assert users == ["convert/files.py"]


def test_no_citations_of_files_outside_the_project() -> None:
    cited = [p.relative_to(ROOT).as_posix() for folder in ("convert", "desktop", "tests", "bench", "packaging")
             for p in python_files(ROOT / folder) if "DESIGN" + ".md" in p.read_text(encoding="utf-8")]
    assert cited == []


# --- the atomic writer and the free-space check --------------------------------------------------------

def test_atomic_path_renames_when_complete_and_removes_the_partial_file_on_error(tmp_path: Path) -> None:
    from exaone_convert import atomic_path, atomic_write_text

    target = tmp_path / "out.gguf"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.name == f".out.gguf.{os.getpid()}.partial" and tmp.parent == tmp_path
        tmp.write_bytes(b"half")
        raise RuntimeError("cancelled")
    assert list(tmp_path.iterdir()) == []
    atomic_write_text(tmp_path / "sub" / "chat.md", "안녕\n")
    assert (tmp_path / "sub" / "chat.md").read_text(encoding="utf-8") == "안녕\n"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["chat.md"]


def test_free_space_check_speaks_one_unit(tmp_path: Path) -> None:
    from exaone_convert import ConversionError, NotEnoughSpace, check_free_space, format_size
    from exaone_convert.writer import check_free_space as converter_check

    sizes = (812e6, 4.213e9, 2_800_000, 2800, 512)
    assert [format_size(n) for n in sizes] == ["812.0 MB", "4.21 GB", "2.8 MB", "2.8 kB", "512 B"]
    with pytest.raises(NotEnoughSpace) as err:
        check_free_space(tmp_path, 10**18)
    assert str(err.value).startswith(f"not enough disk space in {tmp_path}: 1000000000.00 GB needed")
    with pytest.raises(ConversionError, match="GB needed, .* GB free; free some space or choose another --outfile"):
        converter_check(tmp_path, 10**18)


def test_store_words_a_failed_export(tmp_path: Path) -> None:
    from exaone_desktop.session.store import ChatStore, StoreError

    store = ChatStore(tmp_path / "history.sqlite3")
    conv = store.create_conversation("t")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot export to .*choose another folder"):
        store.export(conv.id, blocker / "chat.md")
    store.close()


# --- one output-type object, one naming rule -------------------------------------------------------------

def test_output_names_are_the_same_from_the_cli_and_the_app(tmp_path: Path) -> None:
    from exaone_convert import OUTTYPES, get_outtype, output_path
    from exaone_convert.pipeline import default_outfile
    from exaone_desktop.session.models import convert_outfile, download_outfile, quantize_outfile

    q4 = get_outtype("Q4_K_M")
    assert get_outtype(q4) is q4 is OUTTYPES["q4_k_m"]
    source = "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct"
    assert default_outfile(source, q4) == Path("EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf")
    assert convert_outfile(tmp_path, source, "q4_k_m") == tmp_path / "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf"
    assert download_outfile(tmp_path, source + "-GGUF", "Q4_K_M") == tmp_path / "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf"
    bf16 = tmp_path / "EXAONE-3.5-2.4B-Instruct-BF16.gguf"
    assert quantize_outfile(bf16, "q4_k_m") == tmp_path / "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf"
    assert output_path("my model (v2)/", "f16") == Path("my-model-v2-F16.gguf")


def test_one_outtype_row_from_the_cli_to_the_quantizer() -> None:
    from exaone_convert import QUANTIZABLE, ConversionError, get_outtype, quantize_gguf
    from exaone_convert.quantize import QUANT_TYPES
    from exaone_desktop.session.models import CONVERT_TYPES, QUANTIZE_TYPES

    assert all(QUANT_TYPES[name] is get_outtype(name) and get_outtype(name).llama_ftype for name in QUANTIZABLE)
    assert QUANTIZE_TYPES == QUANTIZABLE and CONVERT_TYPES[0] == "q4_k_m"
    import llama_cpp

    assert all(hasattr(llama_cpp, get_outtype(name).llama_ftype or "") for name in QUANTIZABLE)
    with pytest.raises(ConversionError, match="cannot quantize to 'f16'; choose one of: q4_k_m"):
        quantize_gguf(Path("unused.gguf"), Path("unused-out.gguf"), get_outtype("f16"))


def test_an_intermediate_left_by_a_killed_run_is_removed_by_the_next_write(tmp_path: Path) -> None:
    """The unquantized intermediate is named as a partial file, so the partial-file cleanup covers it."""
    from exaone_convert import atomic_write_text
    from exaone_convert.files import PARTIAL_NAME, partial_path
    from exaone_convert.pipeline import intermediate_file

    out = tmp_path / "model-Q4_K_M.gguf"
    with intermediate_file(out, "bf16", keep=False) as mid:
        match = PARTIAL_NAME.match(mid.name)
        assert match and int(match["pid"]) == os.getpid() and mid.parent == tmp_path
        mid.write_bytes(b"GGUF")
        atomic_write_text(tmp_path / "other.txt", "x")  # a write beside it while it is in use keeps it
        assert mid.exists()
    assert not mid.exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = partial_path(tmp_path / "model-BF16.gguf", pid=dead.pid)  # what a killed run leaves
    left.write_bytes(b"GGUF")
    atomic_write_text(tmp_path / "next.txt", "y")
    assert not left.exists()
