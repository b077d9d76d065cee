"""A damaged GGUF says so: NaN, infinite and huge (1e30) weights in one tensor.

The files are a tiny f32 EXAONE 4 GGUF with one tensor overwritten through the gguf library (a damaged
download, a broken quantization). Its header is sound, so the model loads; what must not happen is what
happened before: greedy returning an empty reply with exit 0, sampling repeating one word. Every front end
stops with one line that names the file and the fix: the CLI (a child process), the Python API, the server
(the real openai client against ``exaone-serve``), and the app's session controller on the app's own worker
process. ``inspect_gguf(check_tensors=True)`` (what ``exaone-convert --verify`` runs) names the tensor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import openai
import pytest
from exaone_convert import InvalidGGUF, inspect_gguf
from exaone_desktop.engine.llama.worker import WorkerGenerator
from exaone_desktop.engine.types import DamagedModel, GenerationError
from exaone_desktop.pipeline import pipeline
from exaone_desktop.session.controller import ChatController
from exaone_desktop.session.settings_state import SettingsState
from exaone_desktop.session.store import ChatStore
from generation_models import MESSAGES, PLAIN_PROMPT, tiny_gguf
from server_helpers import start_serve

# (value, the tensor it fills). A huge value only shows in the logits where no norm follows it: in the
# embeddings, which this tied model also uses as its output layer (logits of ~1e31, whose squares overflow);
# deeper in, EXAONE 4's post-norms (summed in double) scale it back and the reply is merely garbage, which only
# the tensor check can tell (tested below for every case).
DAMAGE = {"nan": (float("nan"), "blk.0.ffn_down.weight"), "inf": (float("inf"), "blk.1.attn_q.weight"),
          "huge": (1e30, "token_embd.weight")}
QUANTIZED = "blk.0.ffn_down.weight"
SAMPLING = {"greedy": [], "sampling": ["--do-sample", "--temperature", "0.8", "--seed", "3"]}
FIX = "re-download it, or convert it again with exaone-convert"


def damage(src: Path, dst: Path, value: float, tensor: str) -> Path:
    """A copy of ``src`` with every weight of ``tensor`` (f32) set to ``value``, written through gguf-py."""
    shutil.copyfile(src, dst)
    reader = gguf.GGUFReader(dst, "r+")
    t = next(t for t in reader.tensors if t.name == tensor)
    assert t.tensor_type == gguf.GGMLQuantizationType.F32
    t.data[...] = np.float32(value)
    reader.data.flush()
    del reader, t
    return dst


@pytest.fixture(scope="module")
def sound(tiny_checkpoint: Any) -> Path:
    return tiny_gguf("exaone4", tiny_checkpoint)


@pytest.fixture(scope="module")
def damaged(sound: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("damaged")
    return {name: damage(sound, folder / f"damaged-{name}.gguf", value, tensor)
            for name, (value, tensor) in DAMAGE.items()}


def assert_names_the_damage(line: str, path: Path) -> None:
    assert "\n" not in line.strip() and path.name in line and FIX in line and "NaN or infinite logits" in line, line


@pytest.mark.parametrize("kind", DAMAGE)
def test_inspect_checks_tensor_data_and_names_the_tensor(kind: str, damaged: dict[str, Path], sound: Path) -> None:
    path = damaged[kind]
    info = inspect_gguf(path)  # the header alone is sound
    assert info.architecture == "exaone4"
    with pytest.raises(InvalidGGUF) as err:
        inspect_gguf(path, check_tensors=True)
    line = str(err.value)
    assert "\n" not in line and path.name in line and repr(DAMAGE[kind][1]) in line and "re-download" in line
    assert {"nan": "NaN values", "inf": "infinite values", "huge": "magnitude 1e+30"}[kind] in line
    inspect_gguf(sound, check_tensors=True)  # and a sound file passes


def test_a_huge_weight_the_norms_hide_is_still_named(sound: Path, tmp_path: Path) -> None:
    """1e30 in a feed-forward weight: the post-norm scales it back (the reply is garbage, the logits finite), so
    the logits check cannot see it; the tensor check does."""
    path = damage(sound, tmp_path / "deep-huge.gguf", 1e30, "blk.0.ffn_down.weight")
    with pytest.raises(InvalidGGUF, match=r"tensor 'blk\.0\.ffn_down\.weight' holds values of magnitude 1e\+30"):
        inspect_gguf(path, check_tensors=True)


def test_llama_cpp_check_names_a_damaged_quantized_tensor(sound: Path, tmp_path: Path) -> None:
    """Quantized tensors go through llama.cpp's own check_tensors: a NaN block scale in a q8_0 tensor."""
    from exaone_convert import quantize_gguf

    q8 = quantize_gguf(sound, tmp_path / "tiny-Q8_0.gguf", "q8_0")
    inspect_gguf(q8, check_tensors=True)
    reader = gguf.GGUFReader(q8, "r+")
    t = next(t for t in reader.tensors if t.name == QUANTIZED)
    assert t.tensor_type == gguf.GGMLQuantizationType.Q8_0
    t.data.reshape(-1)[0:2] = np.frombuffer(np.float16("nan").tobytes(), dtype=np.uint8)  # the first block's scale
    reader.data.flush()
    del reader, t
    with pytest.raises(InvalidGGUF) as err:
        inspect_gguf(q8, check_tensors=True)
    line = str(err.value)
    assert "\n" not in line and q8.name in line and repr(QUANTIZED) in line and "llama.cpp's tensor check" in line
    assert "NaN values" in line


@pytest.mark.parametrize("mode", SAMPLING)
@pytest.mark.parametrize("kind", DAMAGE)
def test_cli_stops_with_one_line(kind: str, mode: str, damaged: dict[str, Path], tmp_path: Path) -> None:
    path = damaged[kind]
    proc = subprocess.run(
        [sys.executable, "-m", "exaone_desktop.cli.generate", "--model", str(path), "--prompt", PLAIN_PROMPT,
         "--max-new-tokens", "8", "--threads", "1", *SAMPLING[mode]],
        capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=300, cwd=tmp_path,
    )
    err = proc.stderr.decode("utf-8", "replace").strip()
    assert proc.returncode == 1 and proc.stdout == b"", err
    assert len(err.splitlines()) == 1 and err.startswith("exaone-generate: error: ")
    assert_names_the_damage(err, path)


@pytest.mark.parametrize("kind", DAMAGE)
def test_python_api_raises_one_line(kind: str, damaged: dict[str, Path]) -> None:
    path = damaged[kind]
    pipe = pipeline(str(path), n_threads=1)
    try:
        for extra in ({}, {"do_sample": True, "temperature": 0.8, "seed": 3}):
            with pytest.raises(DamagedModel) as err:
                pipe(PLAIN_PROMPT, max_new_tokens=8, **extra)
            assert_names_the_damage(str(err.value), path)
            with pytest.raises(GenerationError):
                pipe(MESSAGES, max_new_tokens=8, **extra)
    finally:
        pipe.generator.close()


@pytest.mark.parametrize("kind", DAMAGE)
def test_server_answers_an_openai_error(kind: str, damaged: dict[str, Path]) -> None:
    path = damaged[kind]
    server = start_serve("--model", str(path), "--port", "0", "--threads", "1", "--parallel", "2")
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", timeout=120)  # default retries
        for extra in ({"temperature": 0}, {"temperature": 0.8, "seed": 3}):
            with pytest.raises(openai.InternalServerError) as err:
                client.chat.completions.create(model=path.stem, messages=MESSAGES, max_tokens=8,  # type: ignore[arg-type]
                                               **extra)
            body = err.value.body
            assert isinstance(body, dict) and body["code"] == "model_damaged", body
            assert_names_the_damage(body["message"], path)
            with pytest.raises(openai.InternalServerError) as err:
                stream = client.chat.completions.create(model=path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                                        max_tokens=8, stream=True, **extra)
                for _ in stream:
                    pass
            assert_names_the_damage(json.dumps(err.value.body, ensure_ascii=False), path)
            with pytest.raises(openai.InternalServerError):
                client.completions.create(model=path.stem, prompt=PLAIN_PROMPT, max_tokens=8, **extra)
        # the server keeps serving (and says the same again): nothing was retried behind the client's back
        assert server.proc.poll() is None
    finally:
        server.stop()


@pytest.mark.parametrize("kind", DAMAGE)
def test_app_shows_the_line_in_the_chat(kind: str, damaged: dict[str, Path], store: ChatStore) -> None:
    """The app's session controller on the app's own model worker (a child process, as the window loads it):
    the reply is stored as failed with the line, which the chat view shows under it."""
    path = damaged[kind]
    generator = WorkerGenerator(path, n_threads=1)
    try:
        c = ChatController(store, settings=SettingsState({"max_new_tokens": 8}))
        c.set_local(generator)
        for sample in (False, True):
            c.change_setting("do_sample", sample)
            turn = c.send("안녕하세요")
            box: dict[str, Any] = {}

            def work(turn: Any = turn, box: dict[str, Any] = box) -> None:
                try:
                    box["outcome"] = c.execute(turn, on_event=lambda _e: None)
                except GenerationError as err:  # the window's worker thread hands this to the GUI thread
                    box["error"] = err

            t = threading.Thread(target=work)
            t.start()
            t.join()
            assert "error" in box, box
            ending = c.fail(str(box["error"]))
            assert ending is not None and ending.message.status == "failed"
            assert_names_the_damage(ending.note, path)
            assert not c.busy()
    finally:
        generator.close()


@pytest.mark.parametrize("outtype", ["f32", "q8_0"])
def test_exaone_convert_verify_names_the_damaged_tensor(outtype: str, tiny_checkpoint: Any, tmp_path: Path) -> None:
    """A checkpoint with NaN in one weight converts, and ``--verify`` refuses the result in one line naming the
    tensor: numpy's scan for the f32 file, llama.cpp's check_tensors for the q8_0 one."""
    from safetensors.torch import load_file, save_file

    src = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    weights = load_file(src / "model.safetensors")
    weights["model.layers.0.mlp.down_proj.weight"][:] = float("nan")
    save_file(weights, src / "model.safetensors", metadata={"format": "pt"})
    out = tmp_path / f"m-{outtype}.gguf"
    proc = subprocess.run([sys.executable, "-m", "exaone_convert.cli", str(src), "--outtype", outtype, "--outfile",
                           str(out), "--verify", "--quiet"], capture_output=True, text=True, timeout=600)
    err = proc.stderr.strip()
    assert proc.returncode == 1 and len(err.splitlines()) == 1, err
    assert out.name in err and "'blk.0.ffn_down.weight' holds NaN values" in err and "re-download" in err


def test_the_window_shows_the_line(qtbot: Any, damaged: dict[str, Path], tmp_path: Path) -> None:
    """The real window (offscreen Qt): the damaged file loads in the app's worker, the reply fails, and the
    message line under the chat names the file and the fix; the window stays usable."""
    from app_fixtures import isolated_app

    path = damaged["nan"]
    with isolated_app(tmp_path) as app:
        app.show()
        w = app.window
        with qtbot.waitSignal(w.model_loaded, timeout=120_000):
            w.load_model(path)
        w.composer.input.setPlainText("안녕하세요")
        with qtbot.waitSignal(w.reply_finished, timeout=120_000) as blocker:
            w.composer.send_button.click()
        assert blocker.args == ["failed"]
        assert_names_the_damage(w.message_label.text(), path)
        assert [m.status for m in w.session.messages()] == ["complete", "failed"]
        assert w.composer.send_button.isEnabled()
