"""The model manager's official catalogue: every LG GGUF repo's files with their size and whether they fit this
machine's memory; downloading an EXAONE 4.5 file from the app brings its vision projector along."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_convert import official_gguf_repos
from exaone_desktop.app import DesktopApp
from exaone_desktop.session import models

from tests.support.app_convert_driver import run_driver
from tests.support.app_fixtures import isolated_app
from tests.support.hub_stub import HubStub
from tests.support.quant_fixtures import convert_to

GiB = 1024**3


def test_total_memory_is_the_machines_physical_memory() -> None:
    memory = models.total_memory()
    assert memory is not None
    if Path("/proc/meminfo").exists():  # Linux: the kernel's own count, in kB
        line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
        assert abs(memory - int(line.split()[1]) * 1024) <= 0.01 * memory


def test_catalogue_lists_every_official_file_and_judges_it_against_memory() -> None:
    files = models.official_catalogue(32 * GiB)
    expected = {(r.repo_id, f.name) for r in official_gguf_repos().values() for f in r.files if not f.mmproj}
    assert {(f.repo_id, f.name) for f in files} == expected
    assert {f.repo_id for f in files} >= {
        "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct-GGUF", "LGAI-EXAONE/EXAONE-3.5-32B-Instruct-GGUF",
        "LGAI-EXAONE/EXAONE-Deep-7.8B-GGUF", "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF", "LGAI-EXAONE/EXAONE-4.5-33B-GGUF",
        "LGAI-EXAONE/K-EXAONE-236B-A23B-GGUF"}
    by_name = {f.name: f for f in files}
    vl = by_name["EXAONE-4.5-33B-Q4_K_M.gguf"]
    assert vl.mmproj.startswith("mmproj-") and vl.mmproj_size > 0 and vl.download_size == vl.size + vl.mmproj_size
    assert vl.fits is True  # LG: Q4_K_M fits a 32 GB laptop
    assert by_name["K-EXAONE-236B-A23B-Q4_K_M.gguf"].fits is False
    assert by_name["EXAONE-4.0-32B-BF16.gguf"].fits is False
    assert all(not f.mmproj for f in files if "4.5" not in f.name)
    for f in files:
        assert f.fits == (f.needed <= 32 * GiB) and f.needed >= f.download_size > 0
    assert {f.fits for f in models.official_catalogue(None)} == {None}


VL_REPO = "LGAI-EXAONE/EXAONE-4.5-33B-GGUF"
VL_FILES = {"README.md": b"official", "EXAONE-4.5-33B-Q4_K_M.gguf": b"m" * 3000,
            "EXAONE-4.5-33B-Q8_0.gguf": b"m" * 5000, "mmproj-EXAONE-4.5-33B-F16.gguf": b"p" * 700}


def test_the_hub_is_asked_for_every_repo_at_once() -> None:
    """One round trip each, asked together: the stand-in answers no listing until all three are in flight."""
    repos = [f"LGAI-EXAONE/EXAONE-{n}-GGUF" for n in ("A", "B", "C")]
    with HubStub() as hub:
        for repo in repos:
            hub.add_commit(repo, {f"{repo.split('/')[1]}-Q4_K_M.gguf": b"m" * 100})
        hub.hold_trees = threading.Barrier(len(repos), timeout=30)
        listings, failures = models.fetch_listings(repos, endpoint=hub.endpoint)
    assert failures == {} and sorted(listings) == repos


def test_catalogue_takes_real_files_and_sizes_from_the_hub() -> None:
    """A repo listed on the Hub shows the files it really has, with their byte sizes; one that cannot be listed
    keeps the table's estimates and says why in one line."""
    with HubStub() as hub:
        hub.add_commit(VL_REPO, VL_FILES)
        listings, failures = models.fetch_listings([VL_REPO, "LGAI-EXAONE/EXAONE-Gone-GGUF"], endpoint=hub.endpoint)
    assert listings == {VL_REPO: {"EXAONE-4.5-33B-Q4_K_M.gguf": 3000, "EXAONE-4.5-33B-Q8_0.gguf": 5000,
                                  "mmproj-EXAONE-4.5-33B-F16.gguf": 700}}
    assert list(failures) == ["LGAI-EXAONE/EXAONE-Gone-GGUF"]
    assert "\n" not in failures["LGAI-EXAONE/EXAONE-Gone-GGUF"]
    files = models.official_catalogue(32 * GiB, listings)
    vl = [f for f in files if f.repo_id == VL_REPO]
    assert [(f.name, f.quant, f.size, f.mmproj, f.mmproj_size, f.exact) for f in vl] == [
        ("EXAONE-4.5-33B-Q4_K_M.gguf", "Q4_K_M", 3000, "mmproj-EXAONE-4.5-33B-F16.gguf", 700, True),
        ("EXAONE-4.5-33B-Q8_0.gguf", "Q8_0", 5000, "mmproj-EXAONE-4.5-33B-F16.gguf", 700, True)]
    others = [f for f in files if f.repo_id != VL_REPO]
    assert others == [f for f in models.official_catalogue(32 * GiB) if f.repo_id != VL_REPO]
    assert not any(f.exact for f in others)


@pytest.fixture
def desktop(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DesktopApp]:
    from exaone_desktop.ui import model_manager

    monkeypatch.setattr(model_manager, "total_memory", lambda: 16_000_000_000)
    with isolated_app(tmp_path) as app:
        app.show()
        yield app


def test_manager_shows_the_catalogue_with_sizes_and_fit(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    w.show_model_manager()
    manager = w.manager
    qtbot.waitExposed(w.manager_dialog)
    cards = manager.catalogue.cards
    assert [c.card.label for c in cards] == ["K-EXAONE", "EXAONE 4.5", "EXAONE 4.0", "EXAONE Deep", "EXAONE 3.0 / 3.5"]
    rows = manager.catalogue.rows()
    assert len(rows) == len(models.official_catalogue(None))
    assert manager.memory_label.text() == "This computer has 16.00 GB of memory."
    by_file = {row[1]: row for row in rows}
    small = by_file["EXAONE-4.0-1.2B-Q4_K_M.gguf"]
    assert small[0] == "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF" and small[2].endswith("MB") and small[3] == "fits"
    big = by_file["EXAONE-4.5-33B-Q4_K_M.gguf"]
    assert "vision projector" in big[2] and big[3].startswith("too large (needs about ")
    vision = next(c for c in cards if c.card.key == "exaone4_5")
    assert "reads images" in vision.facts.text() and "reasoning" in vision.facts.text()
    assert vision.about.text().startswith("Reads images and documents")
    assert "1.2B, 32B" in next(c for c in cards if c.card.key == "exaone4").facts.text()
    # No column is cut off: each cell's text fits its column, and the columns fit the card.
    for card in cards:
        table = card.table
        widths = [table.columnWidth(c) for c in range(3)]
        assert sum(widths) <= table.viewport().width() + 1, card.card.key
        metrics = table.fontMetrics()
        for r in range(table.rowCount()):
            for c in range(3):
                text = table.item(r, c).text()
                assert metrics.horizontalAdvance(text) <= widths[c], (card.card.key, text, widths[c])
    # Picking a file fills the download form.
    manager.catalogue.select("EXAONE-Deep-7.8B-Q8_0.gguf")
    assert manager.repo.currentText() == "LGAI-EXAONE/EXAONE-Deep-7.8B-GGUF" and manager.quant.currentText() == "Q8_0"


def test_manager_checks_files_and_sizes_on_the_hub(desktop: DesktopApp, qtbot: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    manager = desktop.window.model_manager()
    with HubStub() as hub:
        hub.add_commit(VL_REPO, VL_FILES)
        real = models.fetch_listings
        monkeypatch.setattr(models, "fetch_listings",
                            lambda **kw: real([VL_REPO, "LGAI-EXAONE/EXAONE-Gone-GGUF"], endpoint=hub.endpoint, **kw))
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)  # the reachability check asks the stand-in too
        assert manager.check_sizes() is not None
        qtbot.waitUntil(lambda: manager.catalogue_job is None, timeout=30_000)
    rows = {row[1]: row[2] for row in manager.catalogue.rows()}
    assert rows["EXAONE-4.5-33B-Q8_0.gguf"] == "5.0 kB + 700 B vision projector"
    assert "EXAONE-4.5-33B-Q6_K.gguf" not in rows  # the table's guess; the repository has no such file
    assert rows["EXAONE-4.0-1.2B-Q4_K_M.gguf"].startswith("≈ ")
    assert manager.message.text().startswith("Read 1 of 2 repositories; the others keep estimated sizes (")
    manager.repo.setCurrentText(VL_REPO)
    assert [manager.quant.itemText(i) for i in range(manager.quant.count())] == ["Q4_K_M", "Q8_0"]
    assert manager.check_sizes_button.isEnabled()


def test_downloading_a_vision_model_brings_its_projector(tiny_checkpoint: Any, tmp_path: Path) -> None:
    from exaone_convert.mmproj import convert_mmproj

    src = tiny_checkpoint("exaone4_5")
    text = convert_to(src, tmp_path / "EXAONE-Tiny-VL-Q8_0.gguf", "q8_0")
    mmproj = convert_mmproj(src, tmp_path / "mmproj-EXAONE-Tiny-VL-F16.gguf", "f16")
    repo = "LGAI-EXAONE/EXAONE-Tiny-VL-GGUF"
    with HubStub() as hub:
        hub.add_commit(repo, {"README.md": b"official ggufs", text.name: text.read_bytes(),
                              mmproj.name: mmproj.read_bytes()})
        out = run_driver(hub.endpoint, tmp_path, repo, "--download", "Q8_0")
    assert out["files"] == ["EXAONE-Tiny-VL-Q8_0.gguf", "mmproj-EXAONE-Tiny-VL-F16.gguf"], out
    folder = tmp_path / "data" / "models"
    assert (folder / "mmproj-EXAONE-Tiny-VL-F16.gguf").read_bytes() == mmproj.read_bytes()
    assert (folder / "EXAONE-Tiny-VL-Q8_0.gguf").read_bytes() == text.read_bytes()
    assert out["loaded"] == str(folder / "EXAONE-Tiny-VL-Q8_0.gguf")
