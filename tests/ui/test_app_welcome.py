"""First run: a welcome page in the chat area (not a dialog on top) recommends one official file for this
computer's memory, read from the family table without the network, with one Download button and the licence
named; the demo model is a clearly labelled "try without downloading"."""

from __future__ import annotations

from typing import Any

import pytest
from exaone_desktop.app import DesktopApp
from exaone_desktop.session import catalogue, models

from tests.support.socket_guard import socket_guard

GiB = 1024**3
TIMEOUT_MS = 120_000


@pytest.mark.parametrize(("memory", "expected"), [
    (8 * GiB, ("LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF", "Q4_K_M")),
    (16 * GiB, ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-GGUF", "Q4_K_M")),
    (64 * GiB, ("LGAI-EXAONE/EXAONE-4.5-33B-GGUF", "Q4_K_M")),
])
def test_the_recommendation_follows_the_memory(memory: int, expected: tuple[str, str]) -> None:
    pick = catalogue.recommend(memory)
    assert (pick.repo_id, pick.quant) == expected
    assert pick.needed <= memory * catalogue.RECOMMEND_SHARE
    better = [catalogue.recommend(m) for m in (memory * 2, memory * 4)]
    assert all(b.needed >= pick.needed for b in better)  # more memory never recommends a smaller model
    assert catalogue.recommend(None).repo_id == "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF"  # memory unknown: the smallest
    assert catalogue.recommend(1 * GiB).repo_id == "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF"


@pytest.mark.parametrize(("memory", "name"), [(8 * GiB, "EXAONE 4.0 1.2B · Q4_K_M"),
                                              (16 * GiB, "EXAONE 3.5 7.8B Instruct · Q4_K_M"),
                                              (64 * GiB, "EXAONE 4.5 33B · Q4_K_M")])
def test_the_welcome_page_recommends_one_file_for_this_computer(qtbot: Any, desktop: DesktopApp,
                                                                monkeypatch: pytest.MonkeyPatch, memory: int,
                                                                name: str) -> None:
    monkeypatch.setattr(models, "total_memory", lambda: memory)
    w = desktop.window
    with socket_guard(allow=()) as guard:  # the recommendation reads no network
        w.start()
    assert guard.blocked == [] and guard.allowed == []
    page = w.welcome
    assert w.stack.currentWidget() is page  # in the chat area: no dialog on top
    assert w.manager_dialog is None
    assert page.model_name.text() == name
    assert human(memory) in page.facts.text() and "download" in page.facts.text()
    assert "EXAONE AI Model License" in page.licence.text()
    assert page.download_button.isEnabled() and page.download_button.text().startswith("Download (")
    assert page.demo_button.text() == "Try the demo model"
    assert "not EXAONE" in " ".join(label.text() for label in page.findChildren(type(page.heading)))
    assert "Try without downloading" in [label.text() for label in page.findChildren(type(page.heading))]
    assert page.good_at.text()  # what the family is good at


def test_the_demo_is_set_up_on_the_welcome_page_without_a_dialog(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    w.start()
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.welcome.demo_button.click()
        assert w.welcome.progress.isVisibleTo(w.welcome) and not w.welcome.demo_button.isEnabled()
    assert w.manager_dialog is not None and not w.manager_dialog.isVisible()
    assert w.stack.currentIndex() == 0 and w.controller.model_info is not None
    assert not w.welcome.progress.isVisibleTo(w.welcome)


def human(n: int) -> str:
    return models.human_size(n)
