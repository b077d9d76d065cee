"""The model manager offers the family's small model as the draft model of a larger one (the family table's
``draft_repo``), downloads it through the Hub stand-in, and sets it as that model's ``assistant_model``; the
model then loads with it, and the status line shows the drafted and kept tokens of a reply."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.session.draft_offer import draft_offer

from tests.support.app_fixtures import convert_tiny, isolated_app
from tests.support.hub_stub import HubStub

TIMEOUT_MS = 120_000
DRAFT_REPO = "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF"
DRAFT_FILE = "EXAONE-4.0-1.2B-Q4_K_M.gguf"


def test_offer_follows_the_family_table(tmp_path: Path) -> None:
    for model, draft in (("EXAONE-4.0-32B-Q4_K_M.gguf", DRAFT_FILE),
                         ("EXAONE-3.5-7.8B-Instruct-Q8_0.gguf", "EXAONE-3.5-2.4B-Instruct-Q8_0.gguf"),
                         ("EXAONE-3.5-32B-Instruct-Q4_K_M.gguf", "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf"),
                         ("EXAONE-Deep-32B-Q6_K.gguf", "EXAONE-Deep-2.4B-Q6_K.gguf"),
                         ("EXAONE-Deep-7.8B-IQ4_XS.gguf", "EXAONE-Deep-2.4B-IQ4_XS.gguf")):
        offer = draft_offer(tmp_path / model, tmp_path)
        assert offer is not None and offer.name == draft and not offer.present, model
    for alone in ("EXAONE-4.0-1.2B-Q4_K_M.gguf", "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf", "EXAONE-4.5-33B-Q4_K_M.gguf",
                  "K-EXAONE-236B-A23B-Q4_K_M.gguf", "my-model.gguf"):
        assert draft_offer(tmp_path / alone, tmp_path) is None, alone
    # the 1.2B has no BF16 of a 32B's IQ4_XS: the preferred quant; a draft already here is offered as it is
    assert draft_offer(tmp_path / "EXAONE-4.0-32B-IQ4_XS.gguf", tmp_path).name == DRAFT_FILE  # type: ignore[union-attr]
    (tmp_path / "EXAONE-4.0-1.2B-Q8_0.gguf").write_bytes(b"x")
    here = draft_offer(tmp_path / "EXAONE-4.0-32B-Q4_K_M.gguf", tmp_path)
    assert here is not None and here.present and here.name == "EXAONE-4.0-1.2B-Q8_0.gguf"


def test_manager_offers_downloads_and_sets_the_draft_model(qtbot: Any, tmp_path: Path, tiny_checkpoint: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HF_ENDPOINT", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    tiny = convert_tiny(tiny_checkpoint("exaone4"), tmp_path, "q8_0")
    with HubStub() as hub, isolated_app(tmp_path / "app") as app:
        hub.add_commit(DRAFT_REPO, {DRAFT_FILE: tiny.read_bytes()})  # the tiny model stands in for the 1.2B
        app.show()
        w = app.window
        models = w.ctx.models_dir
        models.mkdir(parents=True, exist_ok=True)
        big = models / "EXAONE-4.0-32B-Q4_K_M.gguf"  # a 32B-like entry (the tiny model under LG's name)
        shutil.copy(tiny, big)
        w.settings_panel.mirror.setText(hub.endpoint)
        w.settings_panel.mirror.editingFinished.emit()
        manager = w.model_manager()
        offer = manager.draft_offer
        manager.refresh()
        assert not offer.isVisibleTo(manager)  # nothing selected, nothing loaded: nothing to offer
        manager.select(big)
        assert offer.isVisibleTo(manager)
        assert DRAFT_FILE in offer.label.text() and big.name in offer.label.text()

        with qtbot.waitSignal(offer.chosen, timeout=TIMEOUT_MS) as chosen:
            offer.use_button.click()  # not here yet: downloaded through the manager's download path
        draft = models / DRAFT_FILE
        assert chosen.args == [str(big), str(draft)]
        assert draft.read_bytes() == tiny.read_bytes()
        assert w.controller.load_by_model[str(big)]["assistant_model"] == str(draft)
        qtbot.waitUntil(lambda: manager.job is None, timeout=10_000)
        assert w.controller.local is None  # the draft was not loaded as the model
        assert draft.name in manager.message.text()

        manager.select(big)
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            manager.use_button.click()
        assert w.controller.loaded_with is not None and w.controller.loaded_with.assistant_model == str(draft)
        w.change_setting("max_new_tokens", 24)
        w.change_setting("speculative", "on")  # the assistant model drafts every step
        w.composer.input.setPlainText("Hello there")
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
            w.composer.send_button.click()
        figures = w.controller.status()
        assert figures.drafted > 0 and figures.accepted <= figures.drafted
        assert f"drafts: {figures.accepted:,} of {figures.drafted:,} kept" in w.context_label.text()
