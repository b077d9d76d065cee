"""Images through the cloud engine: OpenAI-style image_url parts reach the stand-in server over real HTTP."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.cli import generate as cli
from exaone_desktop.engine.chat import image_parts
from exaone_desktop.engine.cloud.generator import CloudGenerator
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.engine.types import GenerationError
from PIL import Image

from tests.support import memory_keyring
from tests.support.openai_stub import OpenAIStub, stub_in_environment

KEY = "sk-img-SECRET-0123456789abcdef"
ERROR = "exaone-generate: error: "


def picture(fmt: str, size: tuple[int, int] = (5, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with memory_keyring.no_cloud_credentials(monkeypatch):
        yield


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStub]:
    with stub_in_environment(monkeypatch, KEY) as server:
        yield server


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    path.write_bytes(picture("PNG"))
    return path


def make(stub: OpenAIStub) -> CloudGenerator:
    return CloudGenerator(KEY, model="stub-model", base_url=stub.base_url, timeout=2.0, max_retries=0)


def decoded(url: str) -> tuple[str, bytes]:
    head, data = url.split(",", 1)
    return head, base64.b64decode(data)


# --- image_parts: formats, data: URLs, attaching ------------------------------------------------------

@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_data_url_carries_the_format_and_the_exact_bytes(fmt: str, mime: str, tmp_path: Path) -> None:
    data = picture(fmt)
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data)
    for source in (path, str(path), f"file://{path}", data):
        head, back = decoded(image_parts.data_url(source))
        assert head == f"data:{mime};base64" and back == data


@pytest.mark.parametrize(("make_file", "match"), [
    (lambda p: p.write_bytes(b"GIF89a" + bytes(20)), "is not a PNG, JPEG or WebP image"),
    (lambda p: p.write_bytes(b"RIFF\0\0\0\0WAVEfmt "), "is not a PNG, JPEG or WebP image"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: None, "image not found"),
])
def test_bad_image_files_are_one_line(make_file: Any, match: str, tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    make_file(path)
    with pytest.raises(GenerationError, match=match) as info:
        image_parts.data_url(path)
    assert "\n" not in str(info.value)


def test_too_large_image_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(picture("PNG"))
    monkeypatch.setattr(image_parts, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(GenerationError, match="images are limited to"):
        image_parts.data_url(path)


def test_with_images_puts_them_first_in_the_last_user_message(png: Path) -> None:
    messages = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "what is this?"}]
    out = image_parts.with_images(messages, [png])
    assert out[:2] == messages[:2]
    assert out[2]["content"] == [{"type": "image_url", "image_url": {"url": str(png)}},
                                 {"type": "text", "text": "what is this?"}]
    assert messages[2]["content"] == "what is this?"  # the caller's messages are not changed
    assert image_parts.with_images("hi", [png])[0]["role"] == "user"
    with pytest.raises(GenerationError, match="need a user message"):
        image_parts.with_images([{"role": "system", "content": "x"}], [png])


# --- the cloud generator sends the parts --------------------------------------------------------------

def test_image_parts_go_to_the_api_as_they_are_and_files_become_data_urls(stub: OpenAIStub, png: Path) -> None:
    given = "data:image/jpeg;base64," + base64.b64encode(picture("JPEG")).decode()
    messages = [{"role": "system", "content": "Read documents."},
                {"role": "user", "content": [
                    {"type": "text", "text": "compare"},
                    {"type": "image_url", "image_url": {"url": given, "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "image_url", "image_url": {"url": str(png), "detail": "high"}}]}]
    result = make(stub).generate(messages, GenerationSettings())  # type: ignore[arg-type]
    [request] = stub.chat_requests
    sent = request.body["messages"]
    assert sent[0] == messages[0]
    parts = sent[1]["content"]
    assert parts[:3] == messages[1]["content"][:3]  # text, data: URL and web link unchanged
    assert parts[3]["image_url"]["detail"] == "high"
    assert decoded(parts[3]["image_url"]["url"]) == ("data:image/png;base64", png.read_bytes())
    assert result.generated[0].text == "reply 0: compare"


@pytest.mark.parametrize("stream", [False, True])
def test_images_argument_attaches_files_to_a_plain_prompt(stub: OpenAIStub, png: Path, stream: bool) -> None:
    events: list[Any] = []
    make(stub).generate("what is written here?", GenerationSettings(), images=[png],
                        on_event=events.append if stream else None)
    [request] = stub.chat_requests
    [message] = request.body["messages"]
    image, text = message["content"]
    assert text == {"type": "text", "text": "what is written here?"}
    assert decoded(image["image_url"]["url"]) == ("data:image/png;base64", png.read_bytes())
    assert bool(events) == stream


def test_a_bad_image_fails_before_any_request(stub: OpenAIStub, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(GenerationError, match="notes.png is not a PNG, JPEG or WebP image"):
        make(stub).generate("hi", GenerationSettings(), images=[bad])
    with pytest.raises(GenerationError, match="unknown content part type 'audio'"):
        make(stub).generate([{"role": "user", "content": [{"type": "audio"}]}],  # type: ignore[list-item]
                            GenerationSettings())
    assert stub.chat_requests == []


# --- exaone-generate --engine cloud --image ------------------------------------------------------------

def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = cli.main([*argv, "--cloud-model", "stub-model", "--cloud-timeout", "2"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_cloud_sends_image_files(stub: OpenAIStub, png: Path, tmp_path: Path, capsys: Any) -> None:
    webp = tmp_path / "b.webp"
    webp.write_bytes(picture("WEBP"))
    code, out, err = run(capsys, "--engine", "cloud", "--prompt", "이 문서를 요약해 줘", "--image", str(png),
                         "--image", str(webp), "--json")
    assert code == 0, err
    [request] = stub.chat_requests
    [message] = request.body["messages"]
    first, second, text = message["content"]
    assert decoded(first["image_url"]["url"]) == ("data:image/png;base64", png.read_bytes())
    assert decoded(second["image_url"]["url"]) == ("data:image/webp;base64", webp.read_bytes())
    assert text == {"type": "text", "text": "이 문서를 요약해 줘"}
    assert json.loads(out)["generated"][0]["text"] == "reply 0: 이 문서를 요약해 줘"


def test_cli_cloud_messages_file_with_a_file_path_part(stub: OpenAIStub, png: Path, tmp_path: Path,
                                                      capsys: Any) -> None:
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": str(png)}}, {"type": "text", "text": "무엇이 보여?"}]}]))
    code, out, err = run(capsys, "--engine", "cloud", "--messages", str(messages))
    assert code == 0, err
    part = stub.chat_requests[0].body["messages"][0]["content"][0]
    assert decoded(part["image_url"]["url"]) == ("data:image/png;base64", png.read_bytes())
    assert out == "reply 0: 무엇이 보여?\n"


def test_cli_cloud_bad_image_is_one_line_and_sends_nothing(stub: OpenAIStub, tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"hello")
    code, _, err = run(capsys, "--engine", "cloud", "--prompt", "hi", "--image", str(bad))
    assert code != 0 and err.startswith(ERROR) and err.count("\n") == 1 and "not a PNG, JPEG or WebP" in err
    assert stub.chat_requests == []
