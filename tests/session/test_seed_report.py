"""A randomly drawn seed is reported: in ``exaone-generate --json`` and in the stored reply's details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.session.store import SCHEMA_VERSION, ChatStore

from tests.support.cli_runs import generate_json
from tests.support.generation_models import PLAIN_PROMPT, tiny_gguf
from tests.support.old_history import old_history


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Any) -> Path:
    return tiny_gguf("exaone3_untied", tiny_checkpoint)


def test_drawn_seed_is_in_json_and_reproduces_the_reply(capsys: Any, model: Path) -> None:
    argv = ["--model", str(model), "--prompt", PLAIN_PROMPT, "--max-new-tokens", "12", "--do-sample",
            "--temperature", "1.5", "--top-k", "0"]
    first = generate_json(capsys, *argv)
    assert isinstance(first["seed"], int) and 0 <= first["seed"] < 2**32
    again = generate_json(capsys, *argv, "--seed", str(first["seed"]))
    assert again["seed"] == first["seed"]
    assert again["generated"][0]["token_ids"] == first["generated"][0]["token_ids"]
    greedy = generate_json(capsys, "--model", str(model), "--prompt", PLAIN_PROMPT, "--max-new-tokens", "2")
    assert "seed" not in greedy  # greedy decoding draws nothing


def test_stored_reply_keeps_its_seed_and_old_histories_migrate(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with old_history(path, 1) as db:  # a history written by the previous schema
        db.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old', 1, 1)")
        db.execute("INSERT INTO messages(conversation_id, role, content, status, created_at, updated_at)"
                   " VALUES (1, 'assistant', 'kept', 'complete', 1, 1)")
    s = ChatStore(path)
    assert s.schema_version == SCHEMA_VERSION
    [old] = s.messages(1)
    assert (old.content, old.seed) == ("kept", None)
    m = s.add_message(1, "assistant", "", status="partial", engine="cpu", model="tiny")
    s.update_message(m.id, content="new", status="complete", seed=123456789)
    assert s.message(m.id).seed == 123456789
    assert "(cpu, tiny, seed 123456789)" in s.to_markdown(1)
    assert s.to_json(1)["messages"][1]["seed"] == 123456789
    s.close()
