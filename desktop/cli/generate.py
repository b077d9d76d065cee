"""``exaone-generate``: one generation from the command line.

A thin layer: arguments -> GenerationSettings -> a Generator (local llama.cpp or cloud) -> output.
The setting flags, their help and their ranges come from ``engine.settings_table``; each value is checked
against its range before anything loads, and the rules between settings once the model's own defaults
are merged. Every user error is one line on stderr, ``exaone-generate: error: ...``, with exit code 2 for
bad arguments/inputs/settings and 1 for failures while loading or generating; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from ..engine.settings import GenerationSettings, resolve_settings
from ..engine.settings_table import GENERATION_ROWS, LOAD_ROWS
from ..engine.types import GenerationError, GenerationResult, Prompt, StreamEvent
from .errors import Parser, UsageError, run_main
from .setting_flags import add_setting_flags, explicit_settings, load_settings

PROG = "exaone-generate"
ENGINES = ("local", "cloud", "auto")
# The settings that have a flag (setting_flags.py makes them from the table); each flag's dest is the name.
SETTING_FLAGS: tuple[str, ...] = tuple(row.name for row in GENERATION_ROWS if row.cli)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Generate text with an EXAONE GGUF model (or the cloud fallback).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="plain-completion text (tokenized as transformers' pipeline would)")
    src.add_argument("--messages", type=Path, metavar="FILE.json",
                     help='JSON list of {"role", "content"} messages, rendered with the model\'s chat template')
    p.add_argument("--model", type=Path, metavar="PATH.gguf", help="the GGUF model (not needed with --engine cloud)")
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local: llama.cpp on --model (default). cloud: the OpenAI-compatible API, no --model "
                        "needed (key from OPENAI_API_KEY or the OS keychain, endpoint from OPENAI_BASE_URL). "
                        "auto: with --model, the local model first and the cloud when it cannot load or "
                        "generate; without --model, the cloud. A fallback is announced by one line on stderr")
    # The cloud defaults live in engine/cloud/generator.py, which is imported (with openai) only when used.
    p.add_argument("--cloud-model", metavar="ID", help="cloud model id (default: gpt-4.1-mini)")
    p.add_argument("--cloud-timeout", type=float, metavar="S", help="seconds to wait for the cloud API (default: 60)")
    p.add_argument("--image", action="append", type=Path, default=[], metavar="PATH",
                   help="a PNG, JPEG or WebP image for the model to read (repeatable; local models with a vision "
                        "projector, e.g. EXAONE 4.5, whose mmproj-*.gguf sits beside the model, or the cloud "
                        "engine, which sends it as a data: URL)")
    p.add_argument("--document", action="append", type=Path, default=[], metavar="FILE",
                   help="a .pdf, .docx, .hwp, .hwpx, .txt or .md document to ask about (repeatable): put in the "
                        "prompt whole when it fits the context, otherwise the passages that match the question, "
                        "with their page or section")
    p.add_argument("--stream", action="store_true", help="print text as it is generated")
    p.add_argument("--json", action="store_true", help="print one JSON object (see the README)")
    p.add_argument("--json-schema", type=Path, metavar="FILE",
                   help="constrain the reply to JSON that validates against this JSON schema (llama.cpp's grammar "
                        "sampler, before the sampling chain; local engine only)")
    add_setting_flags(p.add_argument_group(
        "generation settings", "transformers' pipeline names and defaults; the model's own generation config "
        "overrides the defaults, and a flag overrides both"), GENERATION_ROWS)
    add_setting_flags(p.add_argument_group("loading the local model"), LOAD_ROWS)
    return p


# -- inputs -----------------------------------------------------------------------------------------

def read_prompt(args: argparse.Namespace) -> Prompt:
    if args.prompt is not None:
        try:
            args.prompt.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError("--prompt is not valid UTF-8; pass UTF-8 text") from None
        return str(args.prompt)
    return read_messages(args.messages)


def read_messages(path: Path) -> list[Any]:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read --messages file {path}: {err.strerror or err}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise UsageError(f"--messages file {path} is not valid UTF-8 (byte {err.start}); save it as UTF-8") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"--messages file {path} is not valid JSON: {err.msg} at line {err.lineno} "
                         f"column {err.colno}") from None
    valid = isinstance(data, list) and data and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and _valid_content(m.get("content")) for m in data)
    if not valid:
        raise UsageError(f'--messages file {path} must hold a non-empty JSON list of {{"role": str, '
                         '"content": str or a list of text/image_url/file parts}} objects')
    return list(data)


def read_json_schema(args: argparse.Namespace) -> str | None:
    """The grammar for ``--json-schema FILE`` (None without it); a bad file or schema is a UsageError."""
    if args.json_schema is None:
        return None
    if args.engine != "local":
        raise UsageError("--json-schema works with --engine local only (the grammar runs in llama.cpp)")
    from ..engine.sampling.grammar import GrammarError, grammar_for_schema_file

    try:
        return grammar_for_schema_file(args.json_schema)
    except GrammarError as err:
        raise UsageError(f"--json-schema {args.json_schema}: {err}") from None


def _valid_content(content: Any) -> bool:
    """A string, or OpenAI-style content parts (``text`` and ``image_url``)."""
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(isinstance(p, dict) and p.get("type") in ("text", "image_url", "file")
                                             for p in content)


def user_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The generation settings the user set explicitly (None = not set, so model defaults apply)."""
    return explicit_settings(args, GENERATION_ROWS)


# -- engines ----------------------------------------------------------------------------------------

def load_local(args: argparse.Namespace) -> Any:
    if args.model is None:
        raise UsageError("--model PATH.gguf is required with --engine local")
    if not args.model.is_file():
        raise UsageError(f"model file not found: {args.model}; check the path, or make one with exaone-convert")
    from ..engine.llama.worker import (
        WorkerGenerator,  # llama.cpp in a child process: a crash is a message, not a signal
    )

    return WorkerGenerator(args.model, **load_settings(args).changed())


def load_cloud(args: argparse.Namespace) -> Any:
    from ..engine.cloud.generator import DEFAULT_TIMEOUT_S, cloud_generator_from_env

    return cloud_generator_from_env(args.cloud_model, timeout=args.cloud_timeout or DEFAULT_TIMEOUT_S)


def load_local_for_fallback(args: argparse.Namespace) -> Any:
    """``load_local`` for ``--engine auto``: a missing file is a local failure the cloud can cover."""
    try:
        return load_local(args)
    except UsageError as err:
        raise GenerationError(str(err)) from None


def generate_routed(args: argparse.Namespace, prompt: Prompt, printer: StreamPrinter | None,
                    cancel: threading.Event) -> tuple[GenerationResult, GenerationSettings]:
    """``--engine cloud|auto`` through the router (see ``cli_engines``); prints the fallback notice."""
    from .engines import route

    def switch(engine: str, reason: str) -> None:
        if printer is not None and printer.seen:  # text streamed by the engine that failed stays; start anew
            printer.out.write("\n")
            printer.index, printer.seen = -1, set()

    routed = route(args.engine, prompt, user_settings(args), cancel=cancel, on_switch=switch,
                   load_local=None if args.model is None else lambda: load_local_for_fallback(args),
                   load_cloud=lambda: load_cloud(args), on_event=printer)
    if routed.notice:
        print(f"{PROG}: note: {routed.notice}", file=sys.stderr)
    return routed.result, routed.settings


def generate_local(args: argparse.Namespace, prompt: Prompt, printer: StreamPrinter | None,
                   cancel: threading.Event) -> tuple[GenerationResult, GenerationSettings]:
    gen = load_local(args)
    try:
        settings = gen.default_settings(**user_settings(args))
        extra: dict[str, Any] = {"grammar": args.grammar} if getattr(args, "grammar", None) else {}
        if args.image:
            extra["images"] = [str(p) for p in args.image]
        from ..engine.documents import prepare

        model_prompt = prepare(prompt, gen, settings, cancel=cancel)
        return gen.generate(model_prompt, settings, on_event=printer, cancel=cancel, **extra), settings
    finally:
        gen.close()


# -- output -----------------------------------------------------------------------------------------

def shown_text(prompt: Prompt, text: str, full_text: bool) -> str:
    """transformers' return_full_text: a plain prompt is repeated before its continuation."""
    return prompt + text if full_text and isinstance(prompt, str) else text


class StreamPrinter:
    """Prints answer text to ``out`` and reasoning to stderr as it arrives; one block per sequence."""

    def __init__(self, out: TextIO, prompt: Prompt, full_text: bool) -> None:
        self.out, self.prompt, self.full_text = out, prompt, full_text
        self.index = -1
        self.seen: set[int] = set()

    def start(self, index: int) -> None:
        if index != self.index:
            if self.index >= 0:
                self.out.write("\n\n")
            self.index = index
            self.seen.add(index)
            self.out.write(shown_text(self.prompt, "", self.full_text))

    def __call__(self, event: StreamEvent) -> None:
        self.start(event.index)
        target = self.out if event.kind == "answer" else sys.stderr
        target.write(event.text)
        target.flush()


def json_output(result: GenerationResult, prompt: Prompt, settings: GenerationSettings) -> dict[str, Any]:
    data = result.to_json()
    for entry, completion in zip(data["generated"], result.generated, strict=True):
        entry["text"] = shown_text(prompt, completion.text, settings.return_full_text)
    return data


def print_result(result: GenerationResult, prompt: Prompt, settings: GenerationSettings, args: argparse.Namespace,
                 out: TextIO, printer: StreamPrinter | None) -> None:
    if args.json:
        out.write(json.dumps(json_output(result, prompt, settings), ensure_ascii=False) + "\n")
        return
    if printer is not None:
        for i in range(len(result.generated)):
            if i not in printer.seen:
                printer.start(i)  # sequences that streamed nothing still show the prompt
        printer.out.write("\n")
        return
    for i, c in enumerate(result.generated):
        if c.reasoning:
            print(c.reasoning, file=sys.stderr)
        out.write(("\n\n" if i else "") + shown_text(prompt, c.text, settings.return_full_text))
    out.write("\n")


# -- main -------------------------------------------------------------------------------------------

def run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    prompt = read_prompt(args)
    if args.engine == "local" and args.model is None:
        raise UsageError("--model PATH.gguf is required with --engine local")
    for image in args.image:
        if not image.is_file():
            raise UsageError(f"image not found: {image}; check the path")
    if args.document:  # documents go in as OpenAI file parts, read when an engine is chosen (cli_engines)
        from ..engine.documents import DocumentError, with_documents

        try:
            prompt = cast(Prompt, with_documents(prompt, args.document))
        except DocumentError as err:
            raise UsageError(str(err)) from None
    if args.image and args.engine != "local":  # the router passes prompts only: images go in as content parts
        from ..engine.chat.image_parts import with_images

        prompt = cast(Prompt, with_images(prompt, args.image))
        args.image = []
    if args.cloud_timeout is not None and args.cloud_timeout <= 0:
        raise UsageError(f"--cloud-timeout must be more than 0 seconds, got {args.cloud_timeout:g}")
    # Each value in its range before loading or reaching the network; the rules once the model's defaults apply.
    user = user_settings(args)
    load_settings(args)
    args.grammar = read_json_schema(args)
    if args.model is None:  # the cloud alone: no model defaults to wait for
        resolve_settings(None, **user)
    full_text = user["return_full_text"]
    if full_text is None:  # not among a model's defaults: the pipeline's default applies
        full_text = GenerationSettings().return_full_text
    stream_to = sys.stderr if args.json else sys.stdout
    printer = StreamPrinter(stream_to, prompt, full_text) if args.stream else None
    cancel = threading.Event()
    generate = generate_local if args.engine == "local" else generate_routed
    try:
        result, settings = generate(args, prompt, printer, cancel)
    except KeyboardInterrupt:
        cancel.set()
        raise
    if result.not_applied:  # never dropped silently, whatever the output format
        from ..engine.cloud.generator import describe_not_applied

        print(f"{PROG}: note: {describe_not_applied(result.not_applied)}", file=sys.stderr)
    print_result(result, prompt, settings, args, sys.stdout, printer)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
