"""Images through exaone-serve: OpenAI image_url parts (inline data: URLs only) reach EXAONE 4.5's vision path."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from exaone_convert.cli import main as convert_main
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.server import start_background
from server_helpers import request, start_serve

PIXELS = np.random.default_rng(7).integers(0, 256, size=(84, 112, 3), dtype=np.uint8)


def _data_url() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(PIXELS).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def served(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("vl-serve")
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(out / "vl-F32.gguf"),
                         "--outtype", "f32", "--quiet"]) == 0
    gen = LocalGenerator(out / "vl-F32.gguf", n_ctx=512, n_threads=1)
    handle = start_background(gen)
    yield gen, handle
    handle.stop()
    gen.close()


def test_image_parts_reach_the_model(served: Any) -> None:
    gen, handle = served
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is in the picture?"},
                                             {"type": "image_url", "image_url": {"url": _data_url()}}]}]
    expected = gen.generate(messages, gen.default_settings(do_sample=False, max_new_tokens=8))
    client = openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0, timeout=120)
    model_id = Path(gen.model_info.path).stem
    r = client.chat.completions.create(model=model_id, messages=messages, temperature=0, max_tokens=8)  # type: ignore[arg-type]
    assert r.choices[0].message.content == expected.generated[0].text
    assert r.usage is not None and r.usage.prompt_tokens == len(expected.prompt_token_ids)
    assert r.usage.prompt_tokens > 20  # the image's tokens are counted


def test_only_inline_images(served: Any, tmp_path: Path) -> None:
    gen, handle = served
    secret = tmp_path / "secret.png"
    secret.write_bytes(base64.b64decode(_data_url().split(",", 1)[1]))
    for url in (str(secret), "file://" + str(secret), "https://example.com/cat.png"):
        body = {"model": Path(gen.model_info.path).stem, "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
        reply = request(handle.url, "POST", "/v1/chat/completions", body)
        assert reply.status == 400 and "data:image" in reply.json()["error"]["message"]


def test_a_batched_server_reads_images_beside_text_requests(served: Any) -> None:
    """exaone-serve --parallel 2: the batched worker evaluates an image in its request's own sequence while a
    text request runs in the other; both get what the local engine gives them alone."""
    gen, _ = served
    image_chat = [{"role": "user", "content": [{"type": "text", "text": "What is in the picture?"},
                                               {"type": "image_url", "image_url": {"url": _data_url()}}]}]
    text_chat = [{"role": "user", "content": "Describe a sunny day."}]
    settings = gen.default_settings(do_sample=False, max_new_tokens=8)
    expected = [gen.generate(m, settings).generated[0].text for m in (image_chat, text_chat)]
    server = start_serve("--model", str(gen.model_info.path), "--port", "0", "--threads", "1", "--parallel", "2",
                         "--n-ctx", "512")
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)
        model_id = Path(gen.model_info.path).stem
        replies: dict[int, str] = {}

        def ask(i: int, messages: Any) -> None:
            r = client.chat.completions.create(model=model_id, messages=messages, temperature=0, max_tokens=8)
            replies[i] = r.choices[0].message.content or ""

        threads = [threading.Thread(target=ask, args=(i, m)) for i, m in enumerate((image_chat, text_chat))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [replies[0], replies[1]] == expected
    finally:
        server.stop()
