"""``exaone-convert``: a thin argparse layer over :func:`exaone_convert.pipeline.convert`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .errors import ConversionError, VerifyStopped
from .outtypes import DEFAULT_OUTTYPE, OUTTYPES, get_outtype


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    p = _OneLineErrorParser(
        prog="exaone-convert",
        description="Convert an EXAONE checkpoint (Hub repo id or local HF folder) to GGUF, optionally quantized.",
    )
    p.add_argument("source", help="Hub repo id (e.g. LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) or a local HF folder")
    p.add_argument("--outfile", type=Path, help="output .gguf path (default: <model-name>-<TYPE>.gguf)")
    p.add_argument("--outtype", default=None, choices=sorted(OUTTYPES),
                   help=f"tensor type of the output (default: {DEFAULT_OUTTYPE}; bf16 checkpoints convert losslessly "
                        "to bf16)")
    p.add_argument("--revision", help="Hub branch, tag or commit to download")
    p.add_argument("--token", help="Hub token for gated repos (default: HF_TOKEN or your saved login)")
    p.add_argument("--file", dest="quant_file", metavar="QUANT",
                   help="download this file of an official GGUF repo (e.g. Q4_K_M) instead of converting")
    p.add_argument("--force", action="store_true", help="overwrite an existing --outfile")
    p.add_argument("--keep-intermediate", action="store_true",
                   help="keep the f16/bf16 GGUF that quantized types are made from")
    p.add_argument("--no-mmproj", action="store_true",
                   help="EXAONE 4.5: convert the text model only, without its vision projector (mmproj) file")
    p.add_argument("--threads", type=int, default=None, help="threads for quantization (default: all cores)")
    p.add_argument("--verify", action="store_true",
                   help="measure fidelity after conversion; exit code 3 if it fails or nothing could be measured "
                        "(NOT VERIFIED)")
    p.add_argument("--verify-json", type=Path, help="also write the verification report as JSON here")
    p.add_argument("--verify-threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="override a --verify threshold (repeatable; see exaone_convert.verify.Thresholds)")
    p.add_argument("--offline", action="store_true", help="use the local Hub cache only (same as HF_HUB_OFFLINE=1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .pipeline import ConvertRequest, convert

    request = ConvertRequest(
        source=args.source,
        outfile=args.outfile,
        outtype=None if args.outtype is None else get_outtype(args.outtype),  # one OutType down to the quantizer
        revision=args.revision,
        token=args.token,
        quant_file=args.quant_file,
        force=args.force,
        keep_intermediate=args.keep_intermediate,
        threads=args.threads,
        verify=args.verify or args.verify_json is not None or bool(args.verify_threshold),
        verify_json=args.verify_json,
        verify_thresholds=args.verify_threshold,
        offline=args.offline,
        show_progress=not args.quiet,
        mmproj=not args.no_mmproj,
    )
    try:
        result = convert(request)
    except VerifyStopped as err:
        print(f"exaone-convert: {'' if err.interrupted else 'error: '}{err}", file=sys.stderr)
        return 130 if err.interrupted else 1
    except ConversionError as err:
        print(f"exaone-convert: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("exaone-convert: interrupted; no output file was written", file=sys.stderr)
        return 130
    print(result.summary())
    return 0 if result.ok else 3


if __name__ == "__main__":
    raise SystemExit(main())
