"""The whole ``exaone-convert`` job: source (Hub or folder) -> GGUF -> quantized GGUF -> verification."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConversionError, VerifyStopped
from .files import format_size, partial_path
from .outtypes import DEFAULT_OUTTYPE, OutType, get_outtype, model_stem, output_path

StageProgress = Callable[[str, float], None]
"""Called with a stage name (download, convert, quantize, reference, verify) and a fraction in [0, 1]."""

# --verify of a type written directly from the checkpoint (q8_0) measures it against a temporary GGUF of this
# type, the one the K-quants are made from (lossless for EXAONE's bf16 checkpoints).
VERIFY_REFERENCE = "bf16"


@dataclass
class ConvertRequest:
    source: str
    outfile: Path | None = None
    outtype: OutType | str | None = None  # None: DEFAULT_OUTTYPE
    revision: str | None = None
    token: str | None = None
    quant_file: str | None = None
    force: bool = False
    keep_intermediate: bool = False
    threads: int | None = None
    verify: bool = False
    verify_json: Path | None = None
    verify_thresholds: list[str] = field(default_factory=list)  # "NAME=VALUE" overrides
    offline: bool = False
    show_progress: bool = True
    progress: StageProgress | None = None
    cancel: threading.Event | None = None
    mmproj: bool = True  # write a multimodal model's vision projector beside it (mmproj-NAME-TYPE.gguf)


@dataclass
class ConvertResult:
    outfile: Path
    outtype: str
    intermediate: Path | None = None
    mmproj: Path | None = None
    mmproj_kept: bool = False  # an existing, fitting mmproj was kept rather than written
    report: Any = None  # exaone_convert.verify.VerifyReport when --verify ran
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report is None or bool(self.report.ok)

    def summary(self) -> str:
        lines = [f"wrote {self.outfile} ({self.outtype.upper()}, {format_size(self.outfile.stat().st_size)})"]
        if self.mmproj is not None and not self.mmproj_kept:
            lines.append(f"wrote {self.mmproj} (vision projector, {format_size(self.mmproj.stat().st_size)})")
        if self.intermediate is not None:
            lines.append(f"kept intermediate {self.intermediate}")
        lines += self.notes
        if self.report is not None:
            if self.report.verified:
                lines.append(self.report.table())
            lines.append(self.report.verdict)
        return "\n".join(lines)


class _ConsoleProgress:
    """A one-line progress display on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last: tuple[str, int] | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled or stage == "download":  # huggingface_hub draws its own download bars
            return
        state = (stage, int(fraction * 100))
        if state != self.last:
            self.last = state
            end = "\n" if fraction >= 1.0 else ""
            print(f"\r{stage:>9}: {state[1]:3d}%", end=end, file=sys.stderr, flush=True)


def default_outfile(source: str, outtype: OutType) -> Path:
    """``<model>-<TYPE>.gguf`` in the current folder (the same rule as the app's, ``output_path``)."""
    return output_path(source, outtype)


def kept_intermediate(outfile: Path, via: str) -> Path:
    """Where ``--keep-intermediate`` keeps the unquantized GGUF: ``NAME-TYPE-VIA.gguf`` beside the output."""
    return outfile.with_name(f"{outfile.stem}-{via.upper()}.gguf")


@contextlib.contextmanager
def intermediate_file(outfile: Path, via: str, keep: bool) -> Iterator[Path]:
    """Where the unquantized GGUF goes: beside the output, deleted afterwards unless kept.

    A deleted one is named as a partial file (``.NAME.PID.partial``), so that when a killed run leaves it
    behind, the next write into the folder removes it.
    """
    kept = kept_intermediate(outfile, via)
    if keep:
        yield kept
        return
    path = partial_path(kept)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def convert(request: ConvertRequest) -> ConvertResult:
    """Run one conversion; raises ConversionError with a one-line message naming the fix."""
    from . import hub

    progress = request.progress or _ConsoleProgress(request.show_progress)
    if request.verify_json is not None:
        from .writer import check_report_path

        check_report_path(request.verify_json)  # before any download or conversion

    def stage(name: str) -> Callable[[float], None]:
        return lambda f: progress(name, f)

    if request.quant_file:
        path = hub.download_gguf_file(
            request.source, request.quant_file, revision=request.revision, token=request.token,
            offline=request.offline, outfile=request.outfile, force=request.force,
            show_progress=request.show_progress, progress=stage("download"), cancel=request.cancel,
        )
        from .gguf_check import inspect_gguf

        info = inspect_gguf(path, check_tensors=request.verify)  # --verify: damaged weights are named first
        result = ConvertResult(outfile=path, outtype=info.quant_type.lower(), notes=[info.describe()])
        split = hub.split_of(path.name)
        if split is not None:
            result.notes.insert(0, f"(the first part of a split model: its other {split[1] - 1} parts beside it)")
        if request.verify:
            result.report = _not_verified(request, path, "a downloaded GGUF has no checkpoint here to compare "
                                          "with (its weights were checked and are finite); convert the "
                                          "checkpoint itself with --verify instead")
        return result

    outtype = get_outtype(request.outtype or DEFAULT_OUTTYPE)
    outfile = request.outfile or default_outfile(request.source, outtype)
    thresholds = _thresholds(request)  # a bad override fails before any work
    from .writer import check_outfile

    check_outfile(outfile, force=request.force)  # fail before a long download
    if request.keep_intermediate and outtype.via is not None:
        check_outfile(kept_intermediate(outfile, outtype.via), force=request.force)  # a kept file is an output too
    source_dir = hub.resolve_checkpoint(
        request.source, revision=request.revision, token=request.token, offline=request.offline,
        show_progress=request.show_progress, progress=stage("download"), cancel=request.cancel,
    )
    from .checkpoint import open_checkpoint
    from .convert import plan_conversion
    from .mmproj import convert_mmproj, has_vision, mmproj_outfile, reusable_mmproj

    result = ConvertResult(outfile=outfile, outtype=outtype.name)
    wrote_mmproj = False
    if request.mmproj and has_vision(source_dir):
        result.mmproj = mmproj_outfile(outfile, outtype.name, model_stem(outfile))
        # Refuse a text model llama.cpp would run wrong before writing anything.
        plan = plan_conversion(open_checkpoint(source_dir), get_outtype(outtype.via or outtype.name))
        if not request.force and reusable_mmproj(result.mmproj, plan.shape.hidden):
            result.mmproj_kept = True
            result.notes.append(f"kept {result.mmproj} (the vision projector another type of this model wrote)")
        else:
            check_outfile(result.mmproj, force=request.force)
            convert_mmproj(source_dir, result.mmproj, outtype.name, force=request.force,
                           progress=stage("mmproj"), cancel=request.cancel)
            wrote_mmproj = True
    try:
        _convert_text(request, source_dir, outfile, outtype, thresholds, result, stage, progress)
    except VerifyStopped:
        raise  # the outputs were written whole before --verify stopped: both are kept, and the message says so
    except BaseException:
        if wrote_mmproj and result.mmproj is not None:
            result.mmproj.unlink(missing_ok=True)  # the pair is written whole or not at all
        raise
    return result


def _convert_text(request: ConvertRequest, source_dir: Path, outfile: Path, outtype: OutType, thresholds: Any,
                  result: ConvertResult, stage: Callable[[str], Callable[[float], None]],
                  progress: StageProgress) -> None:
    from .convert import convert_checkpoint

    if outtype.via is None:
        convert_checkpoint(source_dir, outfile, outtype, force=request.force,
                           progress=stage("convert"), cancel=request.cancel)
        if request.verify and outtype.unquantized:
            result.report = _verify(request, thresholds, outfile, None, source_dir, progress, result)
        elif request.verify:
            # A quantized type written directly (q8_0) has no unquantized GGUF beside it: make one of the same
            # checkpoint in a temporary file to measure the quantization against (removed afterwards).
            with intermediate_file(outfile, VERIFY_REFERENCE, keep=False) as reference:
                convert_checkpoint(source_dir, reference, VERIFY_REFERENCE, force=True,
                                   progress=stage("reference"), cancel=request.cancel)
                result.report = _verify(request, thresholds, outfile, reference, source_dir, progress, result)
        return

    from .quantize import quantize_gguf

    with intermediate_file(outfile, outtype.via, request.keep_intermediate) as mid:
        convert_checkpoint(source_dir, mid, outtype.via, force=request.force or not request.keep_intermediate,
                           progress=stage("convert"), cancel=request.cancel)
        quantize_gguf(mid, outfile, outtype, threads=request.threads, progress=stage("quantize"),
                      cancel=request.cancel)
        if request.keep_intermediate:
            result.intermediate = mid
        if request.verify:
            result.report = _verify(request, thresholds, outfile, mid, source_dir, progress, result)


def _thresholds(request: ConvertRequest) -> Any:
    if not request.verify:
        return None
    from .verify import Thresholds

    return Thresholds.with_overrides(request.verify_thresholds)


def _not_verified(request: ConvertRequest, output: Path, reason: str) -> Any:
    from .verify import VerifyReport

    report = VerifyReport(output, 0, reason=reason)
    if request.verify_json is not None:
        report.write_json(request.verify_json)
    return report


def _written(result: ConvertResult) -> tuple[Path, ...]:
    """The files this run wrote (an mmproj another run wrote and this one kept is not among them)."""
    files = [result.outfile]
    if result.mmproj is not None and not result.mmproj_kept and result.mmproj.exists():
        files.append(result.mmproj)
    if result.intermediate is not None:
        files.append(result.intermediate)
    return tuple(files)


def _verify(request: ConvertRequest, thresholds: Any, output: Path, unquantized: Path | None, hf_dir: Path,
            progress: StageProgress, result: ConvertResult) -> Any:
    """``_measure``, run after the outputs are in place: a failure or Ctrl+C there keeps them and says so."""
    try:
        return _measure(request, thresholds, output, unquantized, hf_dir, progress)
    except KeyboardInterrupt:
        raise _verify_stopped(result, None) from None
    except Exception as err:
        raise _verify_stopped(result, err) from err


def _verify_stopped(result: ConvertResult, err: Exception | None) -> VerifyStopped:
    """What a stopped ``--verify`` says: interrupted (``err`` None, Ctrl+C) or failed, and the files written."""
    written = _written(result)
    names = " and ".join(str(p) for p in written)
    if err is None:
        return VerifyStopped(f"--verify was interrupted; the conversion had finished: wrote {names} (not verified; "
                             "run again with --verify to check them)", written, interrupted=True)
    problem = str(err) if isinstance(err, ConversionError) else f"{type(err).__name__}: {err}"
    return VerifyStopped(f"--verify stopped: {problem} (the conversion had finished: wrote {names}, not "
                         "verified)", written)


def _measure(request: ConvertRequest, thresholds: Any, output: Path, unquantized: Path | None, hf_dir: Path,
             progress: StageProgress) -> Any:
    from .verify import verify_conversion

    progress("verify", 0.0)
    from .gguf_check import inspect_gguf

    inspect_gguf(output, check_tensors=True)  # damaged weights are named (the output's) before anything is measured
    report = verify_conversion(output, unquantized=unquantized, hf_dir=hf_dir, thresholds=thresholds,
                               n_threads=request.threads)
    progress("verify", 1.0)
    if request.verify_json is not None:
        report.write_json(request.verify_json)
    return report
