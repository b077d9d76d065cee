"""Documents in conversations, end to end with real components: the history keeps them (a schema migration
that keeps old histories), removes them with their message or conversation and exports them; a document
that fits is in the prompt once and follow-ups reuse its tokens from the cache (a real tiny GGUF through
llama.cpp); the pipeline, exaone-generate --document, exaone-serve (the real openai client over HTTP) and
the cloud fallback (the stand-in OpenAI server) all take documents."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.documents import Document, Unit, file_part
from exaone_desktop.session.store import SCHEMA_VERSION, ChatStore

from tests.support import memory_keyring
from tests.support.document_files import make_docx, make_hwp
from tests.support.generation_models import tiny_gguf
from tests.support.old_history import old_history

KIND = "exaone4"
MEMO = "회의는 목요일 오후 3시에 3층 대회의실에서 열린다.\nThe budget review is on Friday morning."


@pytest.fixture(scope="module")
def gguf(tiny_checkpoint: Any) -> Path:
    return tiny_gguf(KIND, tiny_checkpoint)


def memo_document(name: str = "memo.txt") -> tuple[bytes, Document]:
    return MEMO.encode(), Document(name, "text", (Unit("section", 1, MEMO),))


# -- the history -----------------------------------------------------------------------------------------


def test_an_old_history_is_migrated_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with old_history(path, 3) as db:  # a history written by the previous release (schema 3)
        db.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old chat', 1, 1)")
        db.execute("INSERT INTO messages(conversation_id, role, content, status, created_at, updated_at, seed)"
                   " VALUES (1, 'user', '예전 질문', 'complete', 1, 1, NULL), (1, 'assistant', 'old answer', "
                   "'complete', 2, 2, 42)")
        db.execute("INSERT INTO images(message_id, file) VALUES (1, '1/1-abc.png')")
    store = ChatStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION == 5
        messages = store.messages(1)
        assert [(m.role, m.content, m.seed) for m in messages] == [("user", "예전 질문", None),
                                                                  ("assistant", "old answer", 42)]
        assert messages[0].images == (str(store.images_dir / "1/1-abc.png"),) and messages[0].documents == ()
        data, document = memo_document()
        store.add_document(1, data, document.to_json())
        assert [d.filename for d in store.message(1).documents] == ["memo.txt"]
    finally:
        store.close()


def test_documents_are_kept_removed_and_exported(store: ChatStore, tmp_path: Path) -> None:
    conv = store.create_conversation("docs")
    first = store.add_message(conv.id, "user", "요약해 줘")
    data, document = memo_document()
    kept = store.add_document(first.id, data, document.to_json())
    assert Path(kept.file).read_bytes() == data and Path(kept.file).parent == store.documents_dir / str(conv.id)
    part = store.message(first.id).as_message()["content"][0]
    assert part["type"] == "file" and Document.from_json(part["file"]["document"]).text == document.text
    store.add_message(conv.id, "assistant", "회의는 목요일입니다.")
    second = store.add_message(conv.id, "user", "and the budget?")
    later = store.add_document(second.id, b"x", {**document.to_json(), "filename": "b.txt"})
    exported = json.loads(store.export(conv.id, tmp_path / "out.json").read_text(encoding="utf-8"))
    docs = exported["messages"][0]["documents"]
    assert docs[0]["filename"] == "memo.txt" and docs[0]["text"]["units"][0]["text"] == MEMO
    markdown = store.export(conv.id, tmp_path / "out.md").read_text(encoding="utf-8")
    assert "📄 [memo.txt](file://" in markdown and "회의는 목요일 오후 3시에" in markdown
    store.delete_messages_from(conv.id, second.id)  # editing or regenerating drops what followed
    assert not Path(later.file).exists() and not Path(later.text_file).exists() and Path(kept.file).exists()
    store.delete_conversation(conv.id)
    assert not Path(kept.file).exists() and not (store.documents_dir / str(conv.id)).exists()


# -- a document in the conversation, with a real model ----------------------------------------------------


def test_a_document_that_fits_is_evaluated_once(gguf: Path, tmp_path: Path) -> None:
    """The second question's prompt evaluation reuses the document's tokens: the decode counter grows by the
    reply and the new question only."""
    from exaone_desktop.pipeline import pipeline

    doc = tmp_path / "memo.txt"
    doc.write_text(MEMO * 3, encoding="utf-8")
    pipe = pipeline(gguf, n_threads=1, n_ctx=1024)
    gen = pipe.generator
    messages: list[dict[str, Any]] = [{"role": "user", "content": [file_part(doc),
                                                                   {"type": "text", "text": "회의는 언제예요?"}]}]
    out = pipe(messages, max_new_tokens=4, do_sample=False)
    first = gen.stats.prompt_tokens_evaluated
    conversation = out[0]["generated_text"]
    assert conversation[0]["content"][0]["type"] == "file"  # the caller's messages come back as given
    assert first > 150  # the document is in the prompt
    conversation.append({"role": "user", "content": "And the budget review?"})
    before = gen.stats.tokens_decoded
    pipe(conversation, max_new_tokens=4, do_sample=False)
    reused, evaluated = gen.stats.prompt_tokens_reused, gen.stats.prompt_tokens_evaluated
    follow_up = "And the budget review?" + conversation[1]["content"]
    question = len(gen.tokenize_prompt(follow_up, gen.default_settings())[1])
    assert reused >= first and evaluated <= question + 16  # the reply, the question and role marks only
    assert gen.stats.tokens_decoded - before <= evaluated + 4
    gen.close()


def test_local_generator_takes_file_parts_directly(gguf: Path, tmp_path: Path) -> None:
    """``LocalGenerator.generate`` called without the pipeline: ``file`` parts (OpenAI's data: URL shape and a
    local path) are read and put in as the pipeline puts them; a file that cannot be read is one line."""
    from exaone_desktop.engine.documents import DocumentError, prepare
    from exaone_desktop.engine.llama.local import LocalGenerator

    doc = tmp_path / "notes.docx"
    doc.write_bytes(make_docx(["보증금은 500만 원이다.", "The deposit is due in March."]))
    gen = LocalGenerator(gguf, n_threads=1, n_ctx=1024)
    try:
        settings = gen.default_settings(max_new_tokens=2, do_sample=False)
        question = {"type": "text", "text": "보증금은 얼마?"}
        for part in (file_part(doc), {"type": "file", "file": {"filename": "notes.docx", "path": str(doc)}}):
            messages = [{"role": "user", "content": [part, question]}]
            result = gen.generate(messages, settings)
            assert "보증금은 500만 원이다." in result.prompt_text and "[p. 2]" in result.prompt_text
            assert result.prompt_token_ids == gen.tokenize_prompt(prepare(messages, gen, settings), settings)[1]
        bad = [
            ({"filename": "x.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}, "not a readable PDF"),
            ({"filename": "x.pdf", "file_data": "data:application/pdf;base64,@@"}, "not valid base64"),
            ({"filename": "x.xlsx", "file_data": "data:application/zip;base64,UEs="}, "cannot be read as documents"),
            ({"file_id": "file-abc"}, "file ids are not supported"),
            ({"filename": "gone.pdf", "path": str(tmp_path / "gone.pdf")}, "not found"),
        ]
        before = gen.stats.tokens_decoded
        for spec, says in bad:
            with pytest.raises(DocumentError) as err:
                gen.generate([{"role": "user", "content": [{"type": "file", "file": spec}, question]}], settings)
            with pytest.raises(DocumentError) as same:
                prepare([{"role": "user", "content": [{"type": "file", "file": spec}, question]}], gen, settings)
            assert says in str(err.value) and "\n" not in str(err.value), str(err.value)
            assert str(err.value) == str(same.value)  # the pipeline's, the CLI's and the server's line
        assert gen.stats.tokens_decoded == before  # nothing was evaluated for a refused file
    finally:
        gen.close()


def test_the_controller_keeps_the_document_and_sends_its_text(gguf: Path, store: ChatStore) -> None:
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.session.controller import ChatController
    from exaone_desktop.session.settings_state import SettingsState

    c = ChatController(store, settings=SettingsState({"max_new_tokens": 4}))
    gen = LocalGenerator(gguf, n_threads=1, n_ctx=1024)
    c.set_local(gen)
    path = store.path.parent / "lease.hwp"
    path.write_bytes(make_hwp(["임대 기간은 2년이다.", "The rent is 850,000 won."]))
    attached = c.read_document(path)
    turn = c.send("임대 기간은?", documents=[attached])
    outcome = c.execute(turn)
    c.conclude(outcome)
    stored = store.messages(c.session.conversation_id)
    assert [d.filename for d in stored[0].documents] == ["lease.hwp"]
    assert "임대 기간은 2년이다." in outcome.prompt_text and "[section 2]" in outcome.prompt_text
    # a document attached while editing the message goes with its new version, beside the one it had
    notes = store.path.parent / "notes.txt"
    notes.write_text("보증금은 천만 원이다.", encoding="utf-8")
    edited = c.send("보증금은?", edit_of=stored[0].id, documents=[c.read_document(notes)])
    outcome = c.execute(edited)
    c.conclude(outcome)
    user = [m for m in store.messages(c.session.conversation_id) if m.role == "user"][-1]
    assert [d.filename for d in user.documents] == ["lease.hwp", "notes.txt"]
    assert "보증금은 천만 원이다." in outcome.prompt_text and "임대 기간은 2년이다." in outcome.prompt_text
    gen.close()


def test_a_bad_document_is_refused_and_nothing_is_kept(store: ChatStore) -> None:
    from exaone_desktop.session.controller import ChatController
    from exaone_desktop.session.turns import Refused

    path = store.path.parent / "locked.docx"
    path.write_bytes(make_hwp(["x"]))  # an OLE container, as Office writes encrypted documents
    with pytest.raises(Refused) as err:
        ChatController.read_document(path)
    assert "password-protected" in str(err.value) and "\n" not in str(err.value)
    assert store.conversations() == []


# -- the CLI, the server and the cloud ---------------------------------------------------------------------


def test_exaone_generate_document(gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exaone_desktop.cli import generate as cli

    doc = tmp_path / "notes.docx"
    doc.write_bytes(make_docx(["보증금은 500만 원이다.", "The deposit is due in March."]))
    base = ["--model", str(gguf), "--prompt", "보증금은 얼마?", "--max-new-tokens", "3", "--json", "--threads", "1"]
    assert cli.main(base) == 0
    without = json.loads(capsys.readouterr().out)
    assert cli.main([*base, "--document", str(doc), "--document", str(doc)]) == 0
    with_docs = json.loads(capsys.readouterr().out)
    assert len(with_docs["prompt_token_ids"]) > len(without["prompt_token_ids"]) + 20
    assert cli.main([*base, "--document", str(tmp_path / "missing.pdf")]) != 0
    err = capsys.readouterr().err
    assert "document not found" in err and err.count("\n") == 1


def test_exaone_serve_accepts_file_parts_from_the_openai_client(gguf: Path) -> None:
    import openai
    from exaone_desktop.engine.llama.local import LocalGenerator
    from exaone_desktop.server import start_background

    gen = LocalGenerator(gguf, n_threads=1, n_ctx=1024)
    handle = start_background(gen)
    try:
        client = openai.OpenAI(base_url=handle.url + "/v1", api_key="none")
        data = base64.b64encode(MEMO.encode()).decode()
        part = {"type": "file", "file": {"filename": "memo.txt", "file_data": f"data:text/plain;base64,{data}"}}
        plain = client.chat.completions.create(model=client.models.list().data[0].id, max_tokens=3, temperature=0,
                                               messages=[{"role": "user", "content": "When is the meeting?"}])
        answer = client.chat.completions.create(
            model=plain.model, max_tokens=3, temperature=0,
            messages=[{"role": "user", "content": [part, {"type": "text", "text": "When is the meeting?"}]}])
        assert answer.choices[0].message.content is not None
        assert answer.usage.prompt_tokens > plain.usage.prompt_tokens + 20
        bad = {"type": "file", "file": {"filename": "x.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model=plain.model, max_tokens=3,
                                           messages=[{"role": "user", "content": [bad]}])
        assert "not a readable PDF" in str(err.value)
        with pytest.raises(openai.BadRequestError, match="file_data must be a base64 data: URL"):
            client.chat.completions.create(model=plain.model, max_tokens=3, messages=[{"role": "user", "content": [
                {"type": "file", "file": {"file_id": "file-abc"}}]}])
    finally:
        handle.stop()
        gen.close()


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from tests.support.openai_stub import stub_in_environment

    with memory_keyring.no_cloud_credentials(monkeypatch), stub_in_environment(monkeypatch, "sk-doc-test") as server:
        yield server


def test_the_cloud_gets_the_document_as_text(stub: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exaone_desktop.cli import generate as cli

    doc = tmp_path / "memo.txt"
    doc.write_text(MEMO, encoding="utf-8")
    assert cli.main(["--engine", "cloud", "--prompt", "회의는 언제?", "--document", str(doc)]) == 0
    sent = stub.chat_requests[-1].body["messages"]
    assert sent[-1]["role"] == "user" and isinstance(sent[-1]["content"], str)
    assert sent[-1]["content"].startswith('<document name="memo.txt">') and "3층 대회의실" in sent[-1]["content"]
    assert sent[-1]["content"].endswith("회의는 언제?")
