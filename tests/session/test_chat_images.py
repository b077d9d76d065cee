"""Images in chats without Qt: kept as files in the data folder, referenced from the SQLite store (schema 3),
removed with their message or conversation, and sent to a real EXAONE 4.5 model (tiny, f32, with its
mmproj) as image_url parts; a model without a projector refuses in one line."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exaone_convert.cli import main as convert_main
from exaone_desktop.session.controller import ChatController
from exaone_desktop.session.settings_state import SettingsState
from exaone_desktop.session.store import SCHEMA_VERSION, ChatStore, StoreError
from exaone_desktop.session.turns import Refused

from tests.support.generation_models import tiny_gguf
from tests.support.old_history import old_history


def png(seed: int = 0, size: tuple[int, int] = (24, 32)) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    s = ChatStore(tmp_path / "data" / "history.sqlite3")
    yield s
    s.close()


# -- the store -----------------------------------------------------------------------------------------

def test_a_version_2_history_migrates_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with old_history(path, 2) as db:
        db.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old', 1, 1)")
        db.execute("INSERT INTO messages(conversation_id, role, content, status, created_at, updated_at) "
                   "VALUES (1, 'user', 'kept', 'complete', 1, 1)")
    s = ChatStore(path)
    try:
        assert s.schema_version == SCHEMA_VERSION
        [m] = s.messages(1)
        assert (m.content, m.images) == ("kept", ())
        assert m.as_message() == {"role": "user", "content": "kept"}
        s.add_image(m.id, png())
        assert len(s.messages(1)[0].images) == 1
    finally:
        s.close()


def test_images_are_files_referenced_from_the_store_and_go_with_their_conversation(store: ChatStore) -> None:
    cid = store.create_conversation("pics").id
    first = store.add_message(cid, "user", "what is this?")
    a, b = png(1), png(2)
    pa, pb = store.add_image(first.id, a), store.add_image(first.id, b)
    assert pa.read_bytes() == a and pb.read_bytes() == b
    assert pa.parent == store.images_dir / str(cid) and store.images_dir.parent == store.path.parent
    m = store.message(first.id)
    assert m.images == (str(pa), str(pb))
    assert m.as_message() == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": str(pa)}}, {"type": "image_url", "image_url": {"url": str(pb)}},
        {"type": "text", "text": "what is this?"}]}
    assert "![image](file://" in store.to_markdown(cid)
    # Messages cut by an edit or a regenerate take their images with them ...
    later = store.add_message(cid, "user", "and this?")
    pc = store.add_image(later.id, png(3))
    store.delete_messages_from(cid, later.id)
    assert not pc.exists() and pa.exists()
    # ... and so does the conversation, folder and all; another conversation's images stay.
    other = store.create_conversation("other").id
    po = store.add_image(store.add_message(other, "user", "x").id, png(4))
    store.delete_conversation(cid)
    assert not pa.exists() and not pb.exists() and not (store.images_dir / str(cid)).exists()
    assert po.exists() and store.messages(other)[0].images == (str(po),)


def test_not_an_image_is_refused_and_nothing_is_written(store: ChatStore) -> None:
    cid = store.create_conversation().id
    m = store.add_message(cid, "user", "x")
    with pytest.raises(StoreError, match="only PNG, JPEG and WebP"):
        store.add_image(m.id, b"GIF89a....")
    assert not store.images_dir.exists() and store.message(m.id).images == ()


# -- the controller, with real models --------------------------------------------------------------------

@pytest.fixture(scope="module")
def vl_generator(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from exaone_desktop.engine.llama.local import LocalGenerator

    out = tmp_path_factory.mktemp("vl")
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(out / "vl-F32.gguf"),
                         "--outtype", "f32", "--quiet"]) == 0
    gen = LocalGenerator(out / "vl-F32.gguf", n_ctx=512, n_threads=1)
    yield gen
    gen.close()


def run(c: ChatController, turn: Any) -> Any:
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("outcome", c.execute(turn)))
    t.start()
    t.join()
    return c.conclude(box["outcome"])


def test_an_image_goes_to_the_vision_model_as_a_part_and_stays_with_the_history(
        store: ChatStore, vl_generator: Any, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(png(5))
    c = ChatController(store, settings=SettingsState({"max_new_tokens": 4}))
    c.set_local(vl_generator)
    assert c.image_problem() is None
    turn = c.send("무엇이 보여?", images=[source])
    [user] = [m for m in store.messages(c.session.conversation_id) if m.role == "user"]  # type: ignore[arg-type]
    [kept] = user.images
    assert Path(kept).read_bytes() == source.read_bytes() and Path(kept).parent.parent == store.images_dir
    source.unlink()  # the history keeps its own copy
    assert turn.prompt == [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": kept}},
                                                        {"type": "text", "text": "무엇이 보여?"}]}]
    ending = run(c, turn)
    assert ending is not None and ending.message.status == "complete"
    direct = vl_generator.generate(turn.prompt, turn.settings).generated[0].text
    assert ending.message.content == direct
    # The next turn still sends the image from the history.
    follow = c.send("더 자세히")
    assert follow.prompt[0]["content"][0] == {"type": "image_url", "image_url": {"url": kept}}
    run(c, follow)


def test_a_model_without_a_projector_refuses_images_in_one_line(store: ChatStore, tiny_checkpoint: Any) -> None:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(tiny_gguf("exaone4", tiny_checkpoint), n_threads=1)
    try:
        c = ChatController(store, settings=SettingsState({"max_new_tokens": 4}))
        c.set_local(gen)
        problem = c.image_problem()
        assert problem is not None and "no vision projector" in problem and "\n" not in problem
        with pytest.raises(Refused) as info:
            c.send("what is this?", images=[png()])
        assert info.value.reason == "no_projector" and str(info.value) == problem
        assert store.conversations() == []  # refused before anything was stored
        assert not c.busy()
    finally:
        gen.close()


def test_bad_images_are_refused_before_anything_is_stored(store: ChatStore, vl_generator: Any,
                                                          tmp_path: Path) -> None:
    c = ChatController(store, settings=SettingsState({"max_new_tokens": 4}))
    c.set_local(vl_generator)
    (tmp_path / "notes.png").write_text("hello")
    for bad, match in ((tmp_path / "notes.png", "is not a PNG, JPEG or WebP"), (tmp_path / "gone.png", "not found"),
                       (b"not an image", "not a PNG, JPEG or WebP")):
        with pytest.raises(Refused, match=match) as info:
            c.send("x", images=[bad])
        assert info.value.reason == "bad_image"
    assert not c.busy() and not store.images_dir.exists()
