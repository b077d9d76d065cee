"""llama.cpp's source tree (``convert_hf_to_gguf.py`` and its gguf-py) from the llama-cpp-python sdist the project
pins, for tests that run llama.cpp's own converter: ``$LLAMA_CPP_DIR`` when set, else the sdist downloaded once with
pip into a cache folder the caller gives (the tests: pytest's cache)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LLAMA_CPP_VERSION = "0.3.36"  # pyproject.toml's llama-cpp-python pin


def llama_cpp_source(cache: Path) -> Path:
    """The llama.cpp tree with convert_hf_to_gguf.py: $LLAMA_CPP_DIR, else ``cache``'s copy (downloaded and
    unpacked there when missing; a download cut short leaves nothing behind)."""
    env = os.environ.get("LLAMA_CPP_DIR")
    if env and (Path(env) / "convert_hf_to_gguf.py").is_file():
        return Path(env)
    unpacked = cache / f"llama_cpp_python-{LLAMA_CPP_VERSION}"
    tree = unpacked / "vendor" / "llama.cpp"
    if (tree / "convert_hf_to_gguf.py").is_file():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".partial-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={LLAMA_CPP_VERSION}",
                        "--no-deps", "--no-binary", ":all:", "-d", tmp], check=True)
        archive = next(Path(tmp).glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        shutil.rmtree(unpacked, ignore_errors=True)
        Path(tmp, unpacked.name).rename(unpacked)
    return tree
