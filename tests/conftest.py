"""Shared pytest setup and fixtures. Helper modules are a package: ``from tests.support.NAME import ...``
(pytest puts the repository root on sys.path, since tests/ is a package)."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No test may reach the real Hub or OpenAI.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _environment_as_it_was():
    """What a test changes in os.environ (the app's proxy and mirror settings set it for the whole process) is
    undone after it, so that no later test, nor the child processes it starts, inherits it."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory):
    """Factory: tiny_checkpoint("exaone4") -> Path of that tiny HF checkpoint, built once per session."""
    from tests.support.tiny_checkpoints import ReleaseFileMissing, build_checkpoint

    built: dict[str, Path] = {}

    def make(kind: str) -> Path:
        if kind not in built:
            try:
                built[kind] = build_checkpoint(kind, tmp_path_factory.mktemp(kind))
            except ReleaseFileMissing as err:  # EXAONE 4.5 / K-EXAONE kinds carry LG's own chat template
                pytest.skip(str(err))
        return built[kind]

    return make


@pytest.fixture
def store(tmp_path: Path):
    """A chat history database (SQLite, WAL) in the test's own folder, closed afterwards."""
    from exaone_desktop.session.store import ChatStore

    s = ChatStore(tmp_path / "history.sqlite3")
    yield s
    s.close()


@pytest.fixture(scope="module")
def tiny_gguf(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app tests' model: the tiny EXAONE 4.0 checkpoint converted to f16, once per test module."""
    from tests.support.app_fixtures import convert_tiny

    return convert_tiny(tiny_checkpoint("exaone4"), tmp_path_factory.mktemp("gguf"))


@pytest.fixture
def desktop(qtbot, tmp_path: Path):
    """The whole app (window shown) with its data, settings and keys in the test's own folder."""
    from tests.support.app_fixtures import isolated_app

    with isolated_app(tmp_path) as app:
        app.show()
        yield app
