"""Hostile chat templates: bounded in time and output, stoppable, and always one line (never a traceback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.chat.templates import BROKEN, render_chat
from exaone_desktop.engine.types import GenerationError

HANG = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
HUGE = "{{ 'a' * 3000000000 }}"
MESSAGES = [{"role": "user", "content": "hi"}]

# Renders in a fresh process, then prints (message, CPU seconds, peak RSS in bytes) as JSON.
MEASURE = """
import json, resource, sys, time
from exaone_desktop.engine.chat.templates import render_chat
from exaone_desktop.engine.types import GenerationError
cpu = time.process_time()
try:
    render_chat(sys.argv[1], [{"role": "user", "content": "hi"}])
    message = "rendered"
except GenerationError as err:
    message = str(err)
try:  # Linux: this process's own high-water mark (ru_maxrss keeps the forking parent's, e.g. pytest's)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print(json.dumps([message, time.process_time() - cpu, peak]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS comes from resource.getrusage")
@pytest.mark.parametrize(("template", "limit"), [(HANG, "time limit of 1 s"), (HUGE, "over the limit")])
def test_hostile_templates_end_with_one_line_and_little_memory(template: str, limit: str) -> None:
    done = subprocess.run([sys.executable, "-c", MEASURE, template], capture_output=True, text=True, timeout=60,
                          check=True)
    message, cpu_s, peak_rss = json.loads(done.stdout)
    assert message.startswith(BROKEN) and limit in message and "\n" not in message
    assert "--prompt" in message and "convert the model again" in message
    assert cpu_s < 2.0  # CPU time of the whole render: the 1 s limit holds however busy the machine is
    assert peak_rss < 1 << 30


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "time limit"),
        ("{% set s = 'a' * 100000 %}{% for x in s %}{% for y in s %}{% endfor %}{% endfor %}", "time limit"),
        ("{{ range(10 ** 9)|list }}", "range() of 1000000000"),
        ("{{ 10 ** (10 ** 9) }}", "a power"),
        ("{{ '%1000000000s' % 'a' }}", "format width"),
        ("{{ '%*s' % (1000000000, 'a') }}", "format width"),
        ("{{ 'a'.center(3000000000) }}", "str.center"),
        ("{{ 'a'.ljust(3000000000) }}", "str.ljust"),
        ("{{ '{:>3000000000}'.format('a') }}", "format width"),
        ("{{ 'a'|center(3000000000) }}", "center filter"),
        ("{{ 'a'|indent(3000000000, true) }}", "indent filter"),
        ("{{ (['aaaaaaaaaa'] * 100000)|join('x' * 1000) }}", "join filter"),
        ("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
         "joining two values"),
        ("{% for i in range(100) %}{{ 'a' * 100000 }}{% endfor %}", "output passed the limit"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursed"),
        ("{% for m in messages %}{{ m.content }", "syntax error at line 1"),
    ],
)
def test_each_limit_gives_one_line(template: str, expected: str) -> None:
    with pytest.raises(GenerationError) as info:
        render_chat(template, MESSAGES)
    message = str(info.value)
    assert message.startswith(BROKEN) and expected in message and "\n" not in message


def test_ordinary_uses_of_the_guarded_operations_still_work() -> None:
    template = ("{{ '%d' | format(10 ** 12) }}|{{ 'x'|center(5) }}|{{ 'a\nb'|indent(2) }}|{{ ['a', 'b']|join(', ') }}|"
                "{{ 'abc'|replace('b', 'XX') }}|{{ '-' * 3 }}|{{ '%5s' % 'ab' }}|{{ '{:>4}'.format('z') }}|"
                "{% for i in range(3) %}{{ i }}{% endfor %}|{{ 2 ** 10 }}|{{ messages[0].content + '!' }}")
    assert render_chat(template, MESSAGES) == "1000000000000|  x  |a\n  b|a, b|aXXc|---|   ab|   z|012|1024|hi!"


def test_limits_are_parameters() -> None:
    with pytest.raises(GenerationError, match="output passed the limit of 10 characters"):
        render_chat("{{ 'a' * 11 }}", MESSAGES, output_limit=10)
    assert render_chat("{{ 'a' * 10 }}", MESSAGES, output_limit=10) == "a" * 10


def test_stop_ends_a_render_at_once() -> None:
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(GenerationError, match="cancelled"):
        render_chat(HANG, MESSAGES, time_limit=600.0, cancel=cancel)
    assert time.monotonic() - started < 600.0  # ended by the cancel, not by the time limit


def test_an_interrupted_render_leaves_the_thread_usable() -> None:
    """The watchdog's asynchronous interruption never lands after the render has returned."""
    slow = "{% for i in range(3000) %}{{ i }}{% endfor %}"  # takes about as long as its time limit
    outcomes = set()
    for _ in range(30):
        try:
            outcomes.add(len(render_chat(slow, MESSAGES, time_limit=0.02)))
        except GenerationError as err:
            outcomes.add("time limit" in str(err))
    assert outcomes <= {len("".join(map(str, range(3000)))), True}
    with pytest.raises(GenerationError):
        render_chat(HANG, MESSAGES, time_limit=0.05)
    total = 0
    for i in range(200_000):  # ordinary Python afterwards is not interrupted
        total += i
    assert total == sum(range(200_000))


@pytest.fixture(scope="module")
def hostile_model(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny EXAONE GGUF whose tokenizer_config.json carries the endless-loop template."""
    from exaone_convert.convert import convert_checkpoint

    folder = tmp_path_factory.mktemp("hostile") / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone3_untied"), folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = HANG
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return Path(convert_checkpoint(folder, folder.parent / "hostile.gguf", outtype="f32"))


def test_cli_messages_with_a_hostile_template_is_one_line(hostile_model: Path, tmp_path: Path) -> None:
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps(MESSAGES), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "exaone_desktop.cli.generate", "--model", str(hostile_model),
                           "--messages",
                           str(messages), "--threads", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"exaone-generate: error: {BROKEN}")
    assert "time limit" in done.stderr and "Traceback" not in done.stderr
    # --prompt, as the message suggests, still works with the same file
    done = subprocess.run([sys.executable, "-m", "exaone_desktop.cli.generate", "--model", str(hostile_model),
                           "--prompt",
                           "hi", "--max-new-tokens", "3", "--threads", "1"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_template_syntax_error_never_leaks_from_loading(hostile_model: Path, tmp_path: Path,
                                                        tiny_checkpoint: Any) -> None:
    """llama-cpp-python compiles the file's template while loading; that must not raise (or allocate)."""
    from exaone_convert.convert import convert_checkpoint
    from exaone_desktop.engine.llama.local import LocalGenerator

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone3_untied"), folder)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = "{{ messages[0]['content'] }" + "{{ 'a' * 3000000000 }}"
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    path = Path(convert_checkpoint(folder, tmp_path / "syntax.gguf", outtype="f32"))
    with LocalGenerator(path, n_threads=1) as gen:
        with pytest.raises(GenerationError) as info:
            gen.generate(MESSAGES, gen.default_settings(max_new_tokens=2))
        assert str(info.value).startswith(BROKEN) and "syntax error" in str(info.value)
        assert gen.generate("hi", gen.default_settings(max_new_tokens=2)).generated[0].token_ids


def test_an_interrupted_render_leaves_tracing_threads_running() -> None:
    """A render the watchdog interrupts (a loop that never checks the clock) leaves nothing signalled: a thread
    that then runs under a trace function, as the server's schema deadline does, finishes at once (withdrawing
    a pending interruption used to leave CPython's eval breaker set, and such a thread spun for ever)."""
    from exaone_desktop.server.limits import run_with_deadline

    silent = "{% set s = 'a' * 100000 %}{% for x in s %}{% for y in s %}{% endfor %}{% endfor %}"
    for _ in range(3):
        with pytest.raises(GenerationError, match="time limit"):
            render_chat(silent, MESSAGES, time_limit=0.05)
    done: list[int] = []
    worker = threading.Thread(target=lambda: done.append(run_with_deadline(lambda: sum(range(10_000)), 30)),
                              daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive() and done == [sum(range(10_000))]


class _SlowToDie:
    """An object whose ``__del__`` takes a while: an interruption fired then lands in it, where Python drops it."""

    def __del__(self) -> None:
        end = time.monotonic() + 0.009
        while time.monotonic() < end:
            pass


def test_stop_is_not_lost_in_a_del_that_the_render_runs() -> None:
    # The rendering thread runs whatever ``__del__`` and weakref callbacks fall due, and Python prints and drops
    # an exception raised in them, so the watchdog's interruption can be lost there; the render also looks at
    # Stop itself wherever it looks at the clock, so Stop still ends it as a Stop.
    from exaone_desktop.engine.chat.sandbox import compile_template, render_bounded

    # about 95 % of the time in the __del__, the rest in the template's own loop
    compiled = compile_template("{% for i in range(100000) %}{{ make() and '' }}"
                                "{% for j in range(1000) %}{% endfor %}{% endfor %}")
    cancel = threading.Event()
    cancel.set()
    started = time.monotonic()
    with pytest.raises(GenerationError, match="cancelled"):
        render_bounded(compiled, {"make": _SlowToDie}, 60.0, 2**20, cancel)
    assert time.monotonic() - started < 60.0  # ended by the Stop, not by the time limit


def test_stop_is_not_lost_in_a_del_when_the_render_neither_counts_nor_prints() -> None:
    # No range and no output: nothing in the render looks at Stop itself, so an interruption dropped in the
    # __del__ must be fired again. The items run out after 30 s, so a lost Stop fails the test instead of hanging.
    from exaone_desktop.engine.chat.sandbox import compile_template, render_bounded

    def items() -> Iterator[int]:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            yield 0

    compiled = compile_template("{% for x in items %}{% set y = make() %}{% endfor %}")
    cancel = threading.Event()
    cancel.set()
    started = time.monotonic()
    with pytest.raises(GenerationError, match="cancelled"):
        render_bounded(compiled, {"make": _SlowToDie, "items": items()}, 60.0, 2**20, cancel)
    assert time.monotonic() - started < 20  # ended by the Stop, not by the items running out
