"""``--verify``: how faithful is a converted / quantized GGUF?

Two comparisons on a built-in bilingual text (``VERIFY_TEXT``, Korean and English, ~200 tokens):

1. quantized GGUF vs its unquantized GGUF (llama.cpp, same tokens): mean and max KL divergence of
   the next-token distributions (nats, KL(unquantized || quantized)), top-1 agreement, and the
   perplexity of both on the text;
2. with the ``test`` extra (torch, transformers): the unquantized GGUF vs transformers on the HF
   checkpoint: max |Δlogit| over all positions and the vocabulary, mean KL(transformers || GGUF),
   greedy next-token agreement (argmax at every position of the text), and whether both tokenize the
   text the same way.

Mixture-of-experts models (K-EXAONE) are judged by the mean KL divergence and greedy agreement, and
their max |Δlogit| is shown without a limit: where the router's scores for two experts nearly tie, the
GGUF's precision (bf16 or f16 weights) can pick the other expert than float32 transformers does. That
position's logits then move by more than 1 although the file is converted right; it is one position
of ~200, which the mean KL divergence weighs as such.

Each metric has a threshold (``Thresholds``); the report fails when any threshold fails, and when nothing
could be measured (an unquantized GGUF without transformers, a file without its checkpoint): then it is
"NOT VERIFIED" with the reason, never a pass.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import read_json
from .errors import ConversionError
from .families import family_for_model_type
from .vocab import detect_pre_tokenizer

VERIFY_TEXT = (
    "대한민국의 수도는 서울이며, 한강이 도시의 중심을 가로질러 흐른다. 봄에는 벚꽃이 피고, 가을에는 "
    "단풍이 산을 붉게 물들인다. 인공지능 언어 모델은 많은 문장을 읽고 다음에 올 단어를 예측하도록 "
    "학습된다. 양자화는 모델의 가중치를 더 적은 비트로 표현해 메모리를 줄이는 방법이다.\n"
    "The capital of South Korea is Seoul, and the Han River flows through the middle of the city. "
    "In spring the cherry blossoms bloom, and in autumn the maples turn the mountains red. A language "
    "model learns to predict the next word after reading many sentences. Quantization stores the "
    "weights with fewer bits, so the model needs less memory and runs faster on a laptop.\n"
    "질문: 2 더하기 3은 얼마인가요? 답: 5입니다. Question: what is 12 times 7? Answer: 84."
)


@dataclass
class Thresholds:
    """Pass/fail limits of ``--verify``; override any field (e.g. ``Thresholds(max_mean_kld=0.2)``).

    Defaults suit 4-bit and larger quantizations of real EXAONE models (Q4_K_M of a 2-8B model
    typically has a mean KLD of 0.01-0.05 and >90% top-1 agreement).
    """

    max_mean_kld: float = 0.10          # mean KL(unquantized || quantized) per token, nats
    max_max_kld: float = 5.0            # worst single position, nats
    min_top1_agreement: float = 0.80    # share of positions whose argmax tokens agree
    max_ppl_ratio: float = 1.20         # perplexity(quantized) / perplexity(unquantized)
    max_abs_logit_diff: float = 1.0     # unquantized GGUF vs transformers, max |Δlogit| (dense models)
    max_hf_mean_kld: float = 0.01       # unquantized GGUF vs transformers, mean KL(transformers || GGUF), nats
    min_greedy_agreement: float = 0.95  # unquantized GGUF vs transformers, argmax agreement
    require_same_tokens: bool = True    # llama.cpp and transformers tokenize the text identically

    @classmethod
    def with_overrides(cls, items: list[str] | None) -> Thresholds:
        """``["max_mean_kld=0.2", ...]`` -> Thresholds; ConversionError naming the valid names."""
        names = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in items or []:
            key, sep, raw = item.partition("=")
            if not sep or key not in names:
                raise ConversionError(f"bad threshold {item!r}; use NAME=VALUE with NAME one of: "
                                      f"{', '.join(names)}")
            try:
                values[key] = raw.lower() in ("1", "true", "yes") if names[key].type in (bool, "bool") \
                    else float(raw)
            except ValueError:
                raise ConversionError(f"bad threshold value in {item!r}; give a number") from None
        return cls(**values)


@dataclass(frozen=True)
class Metric:
    section: str        # "quantized vs unquantized" | "GGUF vs transformers"
    name: str
    value: float | bool
    limit: float | bool | None  # None: informational
    op: str             # "<=", ">=", "==" or "" (informational)

    @property
    def ok(self) -> bool:
        if self.limit is None:
            return True
        checks = {"<=": lambda: self.value <= self.limit, ">=": lambda: self.value >= self.limit,  # type: ignore[operator]
                  "==": lambda: self.value == self.limit}
        return bool(checks[self.op]())


@dataclass
class VerifyReport:
    output: Path
    n_tokens: int
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    thresholds: Thresholds = field(default_factory=Thresholds)
    reason: str | None = None  # why nothing was measured (set when ``metrics`` is empty)

    @property
    def verified(self) -> bool:
        """At least one metric was measured."""
        return bool(self.metrics)

    @property
    def ok(self) -> bool:
        return self.verified and all(m.ok for m in self.metrics)

    @property
    def verdict(self) -> str:
        """The one closing line: ``verification PASSED``, ``verification FAILED`` or ``NOT VERIFIED: why``."""
        if not self.verified:
            return f"NOT VERIFIED: {self.reason or 'nothing was measured'}"
        return "verification " + ("PASSED" if self.ok else "FAILED")

    def table(self) -> str:
        if not self.verified:
            return self.verdict
        rows = [("section", "metric", "value", "limit", "")]
        for m in self.metrics:
            limit = "" if m.limit is None else f"{m.op} {_fmt(m.limit)}"
            rows.append((m.section, m.name, _fmt(m.value), limit, "ok" if m.ok else "FAIL"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines += self.notes
        lines.append(f"verify: {'PASS' if self.ok else 'FAIL'} ({self.output.name}, {self.n_tokens} tokens)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.verified,
            "reason": self.reason,
            "output": str(self.output),
            "n_tokens": self.n_tokens,
            "metrics": [{**asdict(m), "ok": m.ok} for m in self.metrics],
            "thresholds": asdict(self.thresholds),
            "notes": self.notes,
        }

    def write_json(self, path: Path) -> None:
        """Write ``to_json()`` atomically (temp file in the same folder, fsync, rename)."""
        from .writer import atomic_output, check_report_path, conversion_error

        check_report_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise conversion_error(err, path, "--verify-json") from None
        with atomic_output(path, force=True) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _fmt(v: float | bool) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.4g}"


# ------------------------------------------------------------------------------------------------
# Entry point


def verify_conversion(
    output: Path,
    *,
    unquantized: Path | None,
    hf_dir: Path | None,
    thresholds: Thresholds | None = None,
    n_threads: int | None = None,
) -> VerifyReport:
    """Compare ``output`` with ``unquantized`` (if given) and the GGUF with transformers (if possible).

    With neither an unquantized GGUF nor transformers and a checkpoint to compare with, nothing is measured:
    the report is not verified (``ok`` is False) and its ``reason`` says what to give or install.
    """
    thresholds = thresholds or Thresholds()
    if unquantized is None:
        missing = "no checkpoint given" if hf_dir is None else transformers_missing()
        if missing is not None:
            reason = f"nothing to compare {output.name} with: no unquantized GGUF, and {missing}"
            return VerifyReport(output, 0, thresholds=thresholds, reason=reason)
    reference_gguf = unquantized or output
    ref = _GGUFModel(reference_gguf, n_threads)
    tokens = ref.tokenize(VERIFY_TEXT)
    ref_logits = ref.logits(tokens)
    ref.close()
    report = VerifyReport(output, len(tokens), thresholds=thresholds)
    if unquantized is not None:
        quant = _GGUFModel(output, n_threads)
        if quant.n_vocab != ref.n_vocab:
            raise ConversionError(f"{output.name} and {unquantized.name} have different vocabularies; "
                                  "verify a quantized file against the GGUF it was made from")
        q_logits = quant.logits(tokens)
        quant.close()
        report.metrics += quant_metrics(ref_logits, q_logits, tokens, thresholds)
    else:
        report.notes.append("note: no unquantized GGUF given; quantization metrics skipped")
    if hf_dir is not None:
        _add_hf_metrics(report, ref_logits, tokens, hf_dir, thresholds)
    return report


def quant_metrics(ref: np.ndarray, quant: np.ndarray, tokens: list[int], t: Thresholds) -> list[Metric]:
    """KL divergence, top-1 agreement and perplexities of ``quant`` logits against ``ref`` logits."""
    s = "quantized vs unquantized"
    lp_ref, lp_q = _log_softmax(ref), _log_softmax(quant)
    kld = _kl_divergence(lp_ref, lp_q)
    top1 = float(np.mean(ref.argmax(-1) == quant.argmax(-1)))
    ppl_ref, ppl_q = _perplexity(lp_ref, tokens), _perplexity(lp_q, tokens)
    return [
        Metric(s, "mean KLD", float(kld.mean()), t.max_mean_kld, "<="),
        Metric(s, "max KLD", float(kld.max()), t.max_max_kld, "<="),
        Metric(s, "top-1 agreement", top1, t.min_top1_agreement, ">="),
        Metric(s, "perplexity (unquantized)", ppl_ref, None, ""),
        Metric(s, "perplexity (quantized)", ppl_q, None, ""),
        Metric(s, "perplexity ratio", ppl_q / ppl_ref, t.max_ppl_ratio, "<="),
    ]


def hf_metrics(gguf_logits: np.ndarray, hf_logits: np.ndarray, same_tokens: bool, t: Thresholds, *,
               routed_experts: bool = False) -> list[Metric]:
    """``routed_experts``: a mixture-of-experts model, whose max |Δlogit| is informational (see the module)."""
    s = "GGUF vs transformers"
    diff = float(np.abs(gguf_logits.astype(np.float64) - hf_logits).max())
    kld = float(_kl_divergence(_log_softmax(hf_logits), _log_softmax(gguf_logits)).mean())
    greedy = float(np.mean(gguf_logits.argmax(-1) == hf_logits.argmax(-1)))
    return [
        Metric(s, "max |Δlogit|", diff, None if routed_experts else t.max_abs_logit_diff,
               "" if routed_experts else "<="),
        Metric(s, "mean KLD", kld, t.max_hf_mean_kld, "<="),
        Metric(s, "greedy agreement", greedy, t.min_greedy_agreement, ">="),
        Metric(s, "same tokenization", same_tokens, True if t.require_same_tokens else None,
               "==" if t.require_same_tokens else ""),
    ]


def _kl_divergence(lp_ref: np.ndarray, lp_other: np.ndarray) -> np.ndarray:
    """KL(ref || other) at every position, in nats, from log-probabilities."""
    return np.sum(np.exp(lp_ref) * (lp_ref - lp_other), axis=-1)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _perplexity(logprobs: np.ndarray, tokens: list[int]) -> float:
    nll = -logprobs[np.arange(len(tokens) - 1), tokens[1:]]
    return float(math.exp(nll.mean()))


# ------------------------------------------------------------------------------------------------
# llama.cpp side


GGML_TYPE_F32 = 0


class _GGUFModel:
    """A GGUF loaded in llama.cpp with logits for every position."""

    def __init__(self, path: Path, n_threads: int | None) -> None:
        from llama_cpp import Llama

        from .gguf_check import inspect_gguf

        inspect_gguf(path)
        try:
            # An f32 KV cache: llama.cpp's default f16 cache alone moves logits by ~1e-3 of their range, enough
            # to flip a mixture-of-experts router's near-tied choice; this measures the file, not the cache.
            self._llm = Llama(model_path=str(path), n_ctx=1024, n_batch=1024, logits_all=True,
                              n_threads=n_threads, verbose=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32)
        except Exception as err:  # llama.cpp reports load failures as ValueError/RuntimeError
            raise ConversionError(f"llama.cpp cannot load {path} ({err}); re-create the file") from None
        self.n_vocab = self._llm.n_vocab()

    def tokenize(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def logits(self, tokens: list[int]) -> np.ndarray:
        self._llm.reset()
        self._llm.eval(tokens)
        return np.array(self._llm.scores[: len(tokens)], dtype=np.float32)

    def close(self) -> None:
        self._llm.close()


# ------------------------------------------------------------------------------------------------
# transformers side (optional: the ``test`` extra)

INSTALL_TRANSFORMERS = "pip install 'exaone-desktop[test]'"  # torch and transformers, the reference


def transformers_missing() -> str | None:
    """None when torch and transformers import; else a short phrase saying what to install.

    They are the optional reference (the test extra): each import of them in this module carries deptry's
    ``ignore[DEP004]``, and runs only after this check found them.
    """
    try:
        import torch  # noqa: F401  # deptry: ignore[DEP004]
        import transformers  # noqa: F401  # deptry: ignore[DEP004]
    except ImportError:
        return f"the comparison with transformers needs torch and transformers ({INSTALL_TRANSFORMERS})"
    return None


def _add_hf_metrics(report: VerifyReport, gguf_logits: np.ndarray, tokens: list[int], hf_dir: Path,
                    t: Thresholds) -> None:
    if transformers_missing() is not None:
        report.notes.append(f"note: transformers comparison skipped; install torch and transformers "
                            f"({INSTALL_TRANSFORMERS}) to add it")
        return
    cfg = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    model, tokenizer = _load_hf(hf_dir, cfg)
    hf_tokens = list(tokenizer(VERIFY_TEXT)["input_ids"])
    hf_logits = _hf_logits(model, tokens)
    family = family_for_model_type(cfg.get("model_type"), cfg.get("architectures") or ())
    routed = family is not None and family.moe
    report.metrics += hf_metrics(gguf_logits, hf_logits, hf_tokens == tokens, t, routed_experts=routed)
    if routed:
        report.notes.append("note: max |Δlogit| has no limit for a mixture-of-experts model (a near-tie in the "
                            "router may pick another expert at the GGUF's precision); mean KLD and greedy "
                            "agreement judge it")


def _load_hf(hf_dir: Path, cfg: dict[str, Any]) -> tuple[Any, Any]:
    import torch  # deptry: ignore[DEP004]
    from transformers import (  # deptry: ignore[DEP004]
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoTokenizer,
        PreTrainedTokenizerFast,
    )

    family = family_for_model_type(cfg.get("model_type"), cfg.get("architectures") or ())
    auto = {"causal": AutoModelForCausalLM, "image_text": AutoModelForImageTextToText}[
        family.hf_reference if family is not None else "causal"]
    model = auto.from_pretrained(str(hf_dir), dtype=torch.float32, attn_implementation="eager")
    if _digit_step(hf_dir):
        # EXAONE 3 names GPT2Tokenizer, which AutoTokenizer rebuilds without tokenizer.json's digit split.
        return model.eval(), PreTrainedTokenizerFast.from_pretrained(str(hf_dir))
    return model.eval(), AutoTokenizer.from_pretrained(str(hf_dir))


def _digit_step(hf_dir: Path) -> bool:
    """The checkpoint's tokenizer.json splits digits apart in a step of its own (see ``PreTokenizer.digit_step``)."""
    try:
        return detect_pre_tokenizer(read_json(hf_dir / "tokenizer.json", "tokenizer.json")).digit_step
    except ConversionError:
        return False


def _hf_logits(model: Any, tokens: list[int]) -> np.ndarray:
    import torch  # deptry: ignore[DEP004]

    with torch.no_grad():
        out = model(input_ids=torch.tensor([tokens], dtype=torch.long), use_cache=False)
    return out.logits[0].float().numpy()
