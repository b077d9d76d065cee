"""What a new user gets: ``pip install .`` with no extras into a fresh virtual environment, then the first jobs,
each through that environment's own commands (torch, transformers and pytest are not there).

The environment is built once for this module from the checkout's files (pip's caches are used, so
llama-cpp-python's wheel built for the test environment is not compiled again). The tiny checkpoint is written
by this (test) process; every product command runs from the clean environment, as a child process: the default
conversion (q4_k_m), the same after a killed conversion left a partial file, ``--verify`` with no transformers,
``exaone-generate``, ``exaone-serve`` answering the ``openai`` client, and ``exaone-desktop --self-test``.
A failing install fails these tests; nothing here is skipped on Linux (CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from exaone_convert.files import PARTIAL_NAME

pytestmark = pytest.mark.skipif(os.name != "posix", reason="venv bin/ layout and SIGKILL")

ROOT = Path(__file__).resolve().parents[2]
MODEL = "EXAONE-Tiny"  # the checkpoint folder's name, so the default output is EXAONE-Tiny-Q4_K_M.gguf
DEFAULT_OUTPUT = f"{MODEL}-Q4_K_M.gguf"
# What setuptools says when package data sits in a folder that is not a listed package (and its other warnings).
PACKAGING_WARNING = re.compile(r"absent from the `packages` configuration|SetuptoolsDeprecationWarning|"
                               r"SetuptoolsWarning|_Warning: ")
TEST_ONLY = ("torch", "transformers", "pytest")


@dataclass
class CleanInstall:
    venv: Path
    home: Path
    pip_output: str
    seconds: float

    def exe(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self) -> dict[str, str]:
        """A new user's environment: the clean venv first on PATH, nothing of the test environment, a fresh
        home (settings, caches, keychain), no network for the Hub."""
        drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")
        env = {k: v for k, v in os.environ.items()
               if k not in drop and not k.startswith(("HF_", "HUGGING", "XDG_", "OPENAI_"))}
        env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(self.home),
                   QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                   PYTHONIOENCODING="utf-8")
        return env

    def run(self, args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=cwd, env=self.env(), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)


def _checkout_files(root: Path) -> list[str]:
    """The files a clean clone has, plus new ones not yet committed (what git does not ignore)."""
    git = ["git", "-c", "safe.directory=*", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(git, cwd=root, capture_output=True, check=True).stdout.decode("utf-8")
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> CleanInstall:
    base = tmp_path_factory.mktemp("clean-install")
    src = base / "src"
    for name in _checkout_files(ROOT):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    venv = base / "venv"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    upgrade = subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], env=env,
                             capture_output=True, text=True, timeout=600)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    # -v: pip shows the build backend's output, where setuptools' warnings are.
    pip = subprocess.run([python, "-m", "pip", "install", "--no-compile", "-v", str(src)], env=env,
                         capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - start
    output = pip.stdout + pip.stderr
    assert pip.returncode == 0, f"pip install . failed in a fresh venv:\n{output[-5000:]}"
    home = base / "home"
    home.mkdir()
    return CleanInstall(venv, home, output, seconds)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.quant_fixtures import build_wide_checkpoint  # rows of 256: the K-quants apply for real

    return build_wide_checkpoint(tmp_path_factory.mktemp("ckpt") / MODEL)


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if PARTIAL_NAME.match(p.name))


@pytest.fixture(scope="module")
def converted(clean: CleanInstall, checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``exaone-convert CHECKPOINT`` with nothing else, in an empty folder: the README's first conversion."""
    folder = tmp_path_factory.mktemp("models")
    return clean.run([clean.exe("exaone-convert"), str(checkpoint)], cwd=folder), folder


def test_pip_install_prints_no_packaging_warnings(clean: CleanInstall) -> None:
    print(f"clean venv: pip install . took {clean.seconds:.0f} s")
    assert "Successfully installed" in clean.pip_output
    warnings = [ln for ln in clean.pip_output.splitlines() if PACKAGING_WARNING.search(ln)]
    assert warnings == [], "\n".join(warnings)


def test_only_the_runtime_dependencies_are_there(clean: CleanInstall, tmp_path: Path) -> None:
    code = ("import importlib.util, json, sys; "
            f"print(json.dumps([m for m in {TEST_ONLY!r} if importlib.util.find_spec(m)]))")
    proc = clean.run([clean.exe("python"), "-c", code], cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout + proc.stderr


def test_the_package_data_is_installed(clean: CleanInstall, tmp_path: Path) -> None:
    """The demo model and the Korean translation are data files of the installed package, not of the checkout."""
    code = "import exaone_desktop, pathlib; print(pathlib.Path(exaone_desktop.__file__).parent)"
    proc = clean.run([clean.exe("python"), "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    package = Path(proc.stdout.strip())
    assert package.is_relative_to(clean.venv)
    for name in ("demo/model.safetensors", "demo/tokenizer.json", "demo/demo.json", "ui/i18n/exaone_ko.qm"):
        assert (package / name).is_file() and (package / name).read_bytes() == (ROOT / "desktop" / name).read_bytes()


def test_the_default_conversion_works(converted: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, folder = converted
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"wrote {DEFAULT_OUTPUT} (Q4_K_M" in proc.stdout
    assert sorted(p.name for p in folder.iterdir()) == [DEFAULT_OUTPUT]  # no intermediate, no partial file


# Run by the clean venv's python: the default conversion, killed (SIGKILL, no clean-up runs) a third of the way
# through writing its bf16 intermediate.
KILLED_CONVERSION = """
import os, signal, sys
from exaone_convert.pipeline import ConvertRequest, convert

def progress(stage, fraction):
    if stage == "convert" and fraction > 0.3:
        os.kill(os.getpid(), signal.SIGKILL)

convert(ConvertRequest(source=sys.argv[1], show_progress=False, progress=progress))
"""


def test_the_default_conversion_works_after_a_killed_one(clean: CleanInstall, checkpoint: Path,
                                                         tmp_path: Path) -> None:
    killed = clean.run([clean.exe("python"), "-c", KILLED_CONVERSION, str(checkpoint)], cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert partials(tmp_path) != [] and not (tmp_path / DEFAULT_OUTPUT).exists()  # what a killed run leaves
    proc = clean.run([clean.exe("exaone-convert"), str(checkpoint)], cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEFAULT_OUTPUT]  # the stale partial file is gone


def test_verify_without_transformers_measures_the_quantization(clean: CleanInstall, checkpoint: Path,
                                                               tmp_path: Path) -> None:
    proc = clean.run([clean.exe("exaone-convert"), str(checkpoint), "--outtype", "q8_0", "--verify"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quantized vs unquantized" in proc.stdout and "mean KLD" in proc.stdout
    assert "transformers comparison skipped" in proc.stdout and "pip install 'exaone-desktop[test]'" in proc.stdout
    assert proc.stdout.rstrip().endswith("verification PASSED")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{MODEL}-Q8_0.gguf"]  # the bf16 reference is gone


def test_verify_of_an_unquantized_file_without_transformers_is_not_verified(clean: CleanInstall, checkpoint: Path,
                                                                           tmp_path: Path) -> None:
    proc = clean.run([clean.exe("exaone-convert"), str(checkpoint), "--outtype", "bf16", "--verify"], cwd=tmp_path)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith("NOT VERIFIED: ") and "pip install 'exaone-desktop[test]'" in last, proc.stdout


def test_exaone_generate_runs_the_converted_model(clean: CleanInstall, converted: tuple[
        subprocess.CompletedProcess[str], Path], tmp_path: Path) -> None:
    _, folder = converted
    proc = clean.run([clean.exe("exaone-generate"), "--model", str(folder / DEFAULT_OUTPUT), "--prompt",
                      "대한민국의 수도는", "--max-new-tokens", "8", "--no-do-sample", "--json"], cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    [generated] = data["generated"]
    assert data["prompt_token_ids"] and generated["token_ids"], data
    assert len(generated["token_ids"]) <= 8 and generated["finish_reason"] in ("length", "stop")


@pytest.fixture
def served(clean: CleanInstall, converted: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
           ) -> Iterator[str]:
    """``exaone-serve --model M --port 0`` from the clean venv; yields its URL once it says it is serving."""
    from tests.support.server_helpers import start_serve

    _, folder = converted
    server = start_serve("--model", str(folder / DEFAULT_OUTPUT), "--port", "0", exe=Path(clean.exe("exaone-serve")),
                         env=clean.env())
    try:
        yield server.url
    finally:
        server.stop()


def test_exaone_serve_answers_the_openai_client(served: str) -> None:
    import openai

    client = openai.OpenAI(base_url=served + "/v1", api_key="unused", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model=Path(DEFAULT_OUTPUT).stem, max_tokens=8, temperature=0,
                                           messages=[{"role": "user", "content": "안녕하세요"}])
    [choice] = reply.choices
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert reply.usage is not None and reply.usage.prompt_tokens > 0 and 1 <= reply.usage.completion_tokens <= 8


def test_exaone_desktop_self_test_passes(clean: CleanInstall, tmp_path: Path) -> None:
    """The window, the bundled demo model and the translations are in the installed package."""
    proc = clean.run([clean.exe("exaone-desktop"), "--self-test"], cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("self-test passed")
