"""The EXAONE family table: one row per family, every fact the converter, the GGUF check, the Hub code,
the chat renderer and the model manager need about it.

Rows, not branches (like gguf-py's ``MODEL_TENSORS``): code asks the table (``family_for_model_type``,
``family_for_gguf_arch``...) instead of naming a family. The module imports nothing heavy (no gguf,
numpy or torch) so the app can read it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# GGUF architecture names as llama.cpp spells them (general.architecture).
ARCH_EXAONE = "exaone"
ARCH_EXAONE4 = "exaone4"
ARCH_EXAONE_MOE = "exaone-moe"
# The mmproj (vision projector) files llama.cpp's mtmd loads carry this architecture.
ARCH_CLIP = "clip"

END_OF_TURN = "[|endofturn|]"  # EXAONE 3.x, Deep, 4.0
TOKENIZER_2026 = "k_exaone"  # the tokenizer EXAONE 4.5 and K-EXAONE share (the rows' ``tokenizer``)
END_OF_TURN_2026 = "<|endofturn|>"  # its end of turn
THINK = ("<think>", "</think>")
THOUGHT = ("<thought>", "</thought>")

LLAMA_MAX_LAYERS = 512  # llama.cpp's LLAMA_MAX_LAYERS: block_count above it aborts the process

# Approximate bits per weight of llama.cpp's file types, for sizes that could not be read off the
# repositories here (no network): size ~ parameters x bits / 8. Good to a few percent.
_BITS_PER_WEIGHT: Mapping[str, float] = {
    "IQ4_XS": 4.25, "Q4_K_M": 4.85, "Q5_K_M": 5.69, "Q6_K": 6.56, "Q8_0": 8.5, "BF16": 16.0, "F16": 16.0,
}  # fmt: skip


@dataclass(frozen=True)
class Sampling:
    """LG's recommended sampling for a family (None: LG gives no value; generation_config decides)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None


@dataclass(frozen=True)
class GGUFFile:
    name: str
    quant: str
    size: int  # bytes: in the table, parameters x bits per weight; exact in a Hub listing (hub.listed_files)
    mmproj: bool = False


@dataclass(frozen=True)
class GGUFRepo:
    """One of LG's official GGUF repositories."""

    repo_id: str
    parameters: float  # billions, of the text model
    files: tuple[GGUFFile, ...]

    @property
    def quants(self) -> tuple[str, ...]:
        return tuple(f.quant for f in self.files if not f.mmproj)

    @property
    def mmproj(self) -> GGUFFile | None:
        return next((f for f in self.files if f.mmproj), None)


def official_repo(name: str, parameters: float, quants: tuple[str, ...], *,
                  mmproj: tuple[str, float] | None = None) -> GGUFRepo:
    """A repo row: files named ``NAME-QUANT.gguf`` (LG's naming), sizes from the parameter count.

    ``mmproj`` is (quant, vision parameters in billions) for a repo that ships a vision projector."""
    files = [GGUFFile(f"{name}-{q}.gguf", q, round(parameters * 1e9 * _BITS_PER_WEIGHT[q] / 8)) for q in quants]
    if mmproj is not None:
        q, vision = mmproj
        files.append(GGUFFile(f"mmproj-{name}-{q}.gguf", q, round(vision * 1e9 * _BITS_PER_WEIGHT[q] / 8),
                              mmproj=True))
    return GGUFRepo(f"LGAI-EXAONE/{name}-GGUF", parameters, tuple(files))


_QUANTS = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_XS", "BF16")


@dataclass(frozen=True)
class Clues:
    """What a GGUF made by another converter holds that points to one family.

    LG's official GGUF repositories are made with llama.cpp's ``convert_hf_to_gguf.py``, which writes no
    family key of ours; where an architecture has several rows (``exaone4``: EXAONE 4.0 and 4.5; ``exaone``:
    3.x and Deep) these clues choose one. Each kind of clue a file shows counts one (see ``family_for_gguf``).
    """

    tokens: tuple[str, ...] = ()  # vocabulary entries of this family's tokenizer (any one counts)
    template: tuple[str, ...] = ()  # strings of this family's chat template (any one counts)
    names: tuple[str, ...] = ()  # starts of general.basename / general.name (case, spaces, '-' and '_' ignored)
    vocab_size: int | None = None  # the release tokenizer's size


@dataclass(frozen=True)
class WindowPattern:
    """How llama.cpp 0.3.36 runs a family's sliding-window attention (src/models/<arch>.cpp, load_arch_hparams).

    On a layer count in ``layer_counts`` (MTP layers not counted) the window is on: the GGUF's
    ``{arch}.attention.sliding_window`` (else ``window``) on the layers its ``sliding_window_pattern`` marks
    (a flag per layer, or a period n: every n-th layer global); without that key every ``period``-th layer is
    global (``llama_hparams::set_swa_pattern``). On other layer counts no layer has a window."""

    layer_counts: frozenset[int] = frozenset()
    window: int = 0
    period: int = 0


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    model_types: tuple[str, ...]  # config.json model_type values
    hf_classes: tuple[str, ...]  # config.json architectures values
    gguf_arch: str
    # Config fields by role (first present wins): layers, rms_eps, activation.
    config_keys: Mapping[str, tuple[str, ...]]
    tokenizer_pre: str  # llama.cpp's pre-tokenizer name (tokenizer.ggml.pre)
    reasoning_tags: tuple[str, str] | None
    thinking_default: bool | None  # enable_thinking when the user says nothing (None: no switch)
    chat_quirks: tuple[str, ...]
    swa: WindowPattern  # sliding-window attention as llama.cpp runs it
    sampling: Sampling
    gguf_repos: tuple[GGUFRepo, ...]
    clues: Clues = field(default=Clues())  # recognising GGUFs made by another converter (LG's own GGUFs)
    image_token: str | None = None  # the token transformers puts at each image position (vision families)
    end_of_turn: str = END_OF_TURN
    vision: bool = False
    moe: bool = False
    text_config_key: str | None = None  # multimodal configs nest the text model's fields here
    notes: tuple[str, ...] = field(default=())
    # Families with the same value share one tokenizer (vocabulary, special tokens, pre-tokenizer).
    tokenizer: str = ""
    # Tokens that end a reply, besides the GGUF's end-of-sequence ids (texts of control tokens).
    end_of_generation: tuple[str, ...] = (END_OF_TURN,)
    # What the chat template renders for one image: the span llama.cpp's mtmd marker stands for (mtmd adds the
    # projector's own begin/end tokens around the image's embeddings itself).
    image_placeholder: str | None = None
    # The template writes a tool call's arguments given as a string as they are (else it dumps them as JSON, so
    # OpenAI's JSON-string arguments must be handed to it parsed).
    tool_arguments_as_text: bool = False
    # The transformers model class --verify compares against ("causal": AutoModelForCausalLM, "image_text":
    # AutoModelForImageTextToText, which runs text-only prompts as a causal LM does).
    hf_reference: str = "causal"
    # The repo (one of ``gguf_repos``) of the family's small model, which drafts for its larger ones as their
    # ``assistant_model`` (speculative decoding: same tokenizer, so its drafts can be verified); None: no pair.
    draft_repo: str | None = None


_EXAONE3_KEYS = {"layers": ("num_layers",), "rms_eps": ("layer_norm_epsilon",), "activation": ("activation_function",)}
_EXAONE4_KEYS = {"layers": ("num_hidden_layers",), "rms_eps": ("rms_norm_eps",), "activation": ("hidden_act",)}

# EXAONE 4.5 and K-EXAONE share one tokenizer and one chat format.
_FORMAT_2026_QUIRKS = (
    "<|role|> tokens followed by a newline; every turn ends with <|endofturn|> (K-EXAONE's format)",
    "tools are declared in a first <|tool_declare|> turn; results come back in a <|tool|> turn, string "
    "content raw in <tool_result>",
    "past assistant turns carry a <think> block, with reasoning only after the last user message",
    "thinking is on unless enable_thinking is false",
)

# llama.cpp's exaone4 graph: only 64-layer models (EXAONE 4.0 32B, 4.5 33B) run a window, by default 4096
# tokens on three of every four layers.
_EXAONE4_SWA = WindowPattern(frozenset({64}), window=4096, period=4)

FAMILIES: tuple[Family, ...] = (
    Family(
        key="exaone3", label="EXAONE 3.0 / 3.5",
        model_types=("exaone",), hf_classes=("ExaoneForCausalLM",), gguf_arch=ARCH_EXAONE,
        config_keys=_EXAONE3_KEYS, tokenizer_pre="exaone",
        reasoning_tags=None, thinking_default=None,
        chat_quirks=(
            "an empty [|system|][|endofturn|] turn comes first when the first message is not a system message",
            "user turns end with a newline, not [|endofturn|]",
        ),
        tokenizer="exaone3",
        swa=WindowPattern(),
        sampling=Sampling(),  # LG publishes greedy examples; generation_config.json decides
        gguf_repos=(
            official_repo("EXAONE-3.5-2.4B-Instruct", 2.67, _QUANTS),
            official_repo("EXAONE-3.5-7.8B-Instruct", 7.82, _QUANTS),
            official_repo("EXAONE-3.5-32B-Instruct", 32.0, _QUANTS),
        ),
        clues=Clues(names=("EXAONE-3",), vocab_size=102_400),
        draft_repo="LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct-GGUF",
    ),
    Family(
        key="exaone_deep", label="EXAONE Deep",
        model_types=("exaone",), hf_classes=("ExaoneForCausalLM",), gguf_arch=ARCH_EXAONE,
        config_keys=_EXAONE3_KEYS, tokenizer_pre="exaone",
        reasoning_tags=THOUGHT, thinking_default=None,
        chat_quirks=(
            "turns are joined by a newline; user turns have no [|endofturn|]",
            "assistant history keeps only the text after </thought>",
            "the generation prompt opens a <thought> block",
        ),
        tokenizer="exaone3",
        swa=WindowPattern(),
        sampling=Sampling(temperature=0.6, top_p=0.95),
        gguf_repos=(
            official_repo("EXAONE-Deep-2.4B", 2.67, _QUANTS),
            official_repo("EXAONE-Deep-7.8B", 7.82, _QUANTS),
            official_repo("EXAONE-Deep-32B", 32.0, _QUANTS),
        ),
        clues=Clues(template=(THOUGHT[1],), names=("EXAONE-Deep",), vocab_size=102_400),
        draft_repo="LGAI-EXAONE/EXAONE-Deep-2.4B-GGUF",
    ),
    Family(
        key="exaone4", label="EXAONE 4.0",
        model_types=("exaone4",), hf_classes=("Exaone4ForCausalLM",), gguf_arch=ARCH_EXAONE4,
        config_keys=_EXAONE4_KEYS, tokenizer_pre="exaone4",
        reasoning_tags=THINK, thinking_default=False,
        chat_quirks=(
            "role tokens are followed by a newline; every turn ends with [|endofturn|]",
            "assistant history is written with an empty <think></think> block",
            "tools are listed in the system turn; results come back in a [|tool|] turn",
        ),
        tokenizer="exaone4",
        swa=_EXAONE4_SWA,
        sampling=Sampling(temperature=0.6, top_p=0.95),
        gguf_repos=(
            official_repo("EXAONE-4.0-1.2B", 1.28, ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "BF16")),
            official_repo("EXAONE-4.0-32B", 32.0, _QUANTS),
        ),
        clues=Clues(tokens=(END_OF_TURN,), template=(END_OF_TURN,), names=("EXAONE-4.0",), vocab_size=102_400),
        draft_repo="LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF",
    ),
    Family(
        key="exaone4_5", label="EXAONE 4.5",
        model_types=("exaone4_5",), hf_classes=("Exaone4_5_ForConditionalGeneration",), gguf_arch=ARCH_EXAONE4,
        config_keys=_EXAONE4_KEYS, tokenizer_pre="exaone-moe",
        reasoning_tags=THINK, thinking_default=True,
        chat_quirks=(*_FORMAT_2026_QUIRKS,
                     "an image is <vision><|image_pad|></vision> and a newline; the vision projector fills the pad"),
        tokenizer=TOKENIZER_2026, end_of_turn=END_OF_TURN_2026, end_of_generation=(END_OF_TURN_2026, "[EOS]"),
        image_placeholder="<vision><|image_pad|></vision>", tool_arguments_as_text=True,
        swa=_EXAONE4_SWA,
        sampling=Sampling(temperature=1.0, top_p=0.95, presence_penalty=1.5),
        gguf_repos=(official_repo("EXAONE-4.5-33B", 32.0, ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "BF16"),
                                  mmproj=("F16", 0.67)),),
        vision=True, text_config_key="text_config", hf_reference="image_text",
        notes=("for OCR and Korean documents LG recommends temperature 0.6, top_p 0.95, top_k 20",),
        # LG's release tokenizer (shared with K-EXAONE): <|user|>-style role tokens, <|endofturn|> 53,
        # <|image_pad|> 67, 153,600 tokens; its template renders an image as <vision><|image_pad|></vision>.
        clues=Clues(tokens=("<|endofturn|>", "<|image_pad|>"), template=("<|image_pad|>", "<vision>"),
                    names=("EXAONE-4.5",), vocab_size=153_600),
        image_token="<|image_pad|>",
    ),
    Family(
        key="k_exaone", label="K-EXAONE",
        model_types=("exaone_moe",), hf_classes=("ExaoneMoeForCausalLM", "ExaoneMoEForCausalLM"),
        gguf_arch=ARCH_EXAONE_MOE,
        config_keys=_EXAONE4_KEYS, tokenizer_pre="exaone-moe",
        reasoning_tags=THINK, thinking_default=True,
        chat_quirks=_FORMAT_2026_QUIRKS,
        tokenizer=TOKENIZER_2026, end_of_turn=END_OF_TURN_2026, end_of_generation=(END_OF_TURN_2026, "[EOS]"),
        tool_arguments_as_text=True,
        # llama.cpp's exaone-moe graph reads the window and per-layer pattern from the GGUF for any depth.
        swa=WindowPattern(frozenset(range(1, LLAMA_MAX_LAYERS + 1)), window=128, period=4),
        sampling=Sampling(temperature=1.0, top_p=0.95),
        gguf_repos=(official_repo("K-EXAONE-236B-A23B", 236.0, ("Q4_K_M", "Q8_0", "BF16")),),
        moe=True,
        clues=Clues(tokens=("<|endofturn|>",), template=("<|tool_declare|>",), names=("K-EXAONE",),
                    vocab_size=153_600),
    ),
)


def family_for_model_type(model_type: str | None, hf_classes: list[str] | tuple[str, ...] = (),
                          chat_template: str | None = None) -> Family | None:
    """The family of a checkpoint: by model_type (or, failing that, HF class), then, where families share
    a model type (EXAONE 3.5 and Deep), by the reasoning tags its chat template uses; None for non-EXAONE."""
    rows = [f for f in FAMILIES if model_type in f.model_types] or \
        [f for f in FAMILIES if any(c in f.hf_classes for c in hf_classes)]
    return _by_template(rows, chat_template)


def _by_template(rows: list[Family], chat_template: str | None) -> Family | None:
    if chat_template:
        for fam in rows:
            if fam.reasoning_tags and fam.reasoning_tags[1] in chat_template:
                return fam
    return next((f for f in rows if f.reasoning_tags is None), rows[0] if rows else None)


@dataclass(frozen=True)
class GGUFFacts:
    """What ``family_for_gguf`` reads in a GGUF: its family key (exaone-convert's files), chat template, names,
    vocabulary (anything answering ``in``) and size, and whether a fitting vision projector sits beside it
    (asked only when the other clues leave a tie)."""

    arch: str
    key: str | None = None
    chat_template: str | None = None
    names: tuple[str, ...] = ()
    tokens: Container[str] = ()
    vocab_size: int = 0
    has_mmproj: Callable[[], bool] = lambda: False


def _name_form(text: str) -> str:
    return "".join(c for c in text.lower() if c not in " -_")


def clue_count(fam: Family, facts: GGUFFacts) -> int:
    """How many kinds of ``fam``'s clues ``facts`` shows (tokens, template, name, vocabulary size)."""
    c = fam.clues
    names = [_name_form(n) for n in facts.names if n]
    template = facts.chat_template or ""
    return (any(t in facts.tokens for t in c.tokens)
            + any(t in template for t in c.template)
            + any(n.startswith(_name_form(start)) for n in names for start in c.names)
            + (c.vocab_size is not None and facts.vocab_size == c.vocab_size))


def family_for_gguf(facts: GGUFFacts) -> Family | None:
    """The family a GGUF belongs to: the row exaone-convert named (``key``); else, among the rows of its
    architecture, the one with most clues (a fitting vision projector beside the file counts for a vision
    family); else as ``family_for_gguf_arch`` (reasoning tags, then the plain row)."""
    rows = [f for f in FAMILIES if f.gguf_arch == facts.arch]
    named = next((f for f in rows if f.key == facts.key), None)
    if named is not None or len(rows) < 2:
        return named or (rows[0] if rows else None)
    scores = {f.key: clue_count(f, facts) for f in rows}
    leaders = _leaders(rows, scores)
    if len(leaders) != 1 and any(f.vision for f in leaders or rows) and facts.has_mmproj():
        scores = {f.key: scores[f.key] + f.vision for f in rows}
        leaders = _leaders(rows, scores)
    return leaders[0] if len(leaders) == 1 else _by_template(leaders or rows, facts.chat_template)


def _leaders(rows: list[Family], scores: Mapping[str, int]) -> list[Family]:
    """The rows with most clues (none when no row has any)."""
    best = max(scores.values())
    return [f for f in rows if best > 0 and scores[f.key] == best]


def recommended_defaults(fam: Family) -> dict[str, Any]:
    """LG's recommended settings for ``fam`` by GenerationSettings field name (sampling, thinking default):
    what fills the gaps of a GGUF made by another converter."""
    out: dict[str, Any] = {k: v for k, v in asdict(fam.sampling).items() if v is not None}
    if fam.thinking_default is not None:
        out["enable_thinking"] = fam.thinking_default
    return out


def family_for_gguf_arch(arch: str, chat_template: str | None = None, key: str | None = None) -> Family | None:
    """The family a GGUF belongs to: the row its converter named (``key``), else by architecture, then (for
    ``exaone``: 3.5 or Deep) by reasoning tags."""
    rows = [f for f in FAMILIES if f.gguf_arch == arch]
    named = next((f for f in rows if f.key == key), None)
    return named if named is not None else _by_template(rows, chat_template)


def sliding_layers(fam: Family | None, n_layers: int, window: int | None = None,
                   pattern: tuple[bool, ...] | int = ()) -> tuple[int, tuple[bool, ...]]:
    """(window, a flag per layer: True where the layer keeps only the window) as llama.cpp runs an
    ``n_layers``-layer model of ``fam`` whose GGUF holds ``window`` and ``pattern`` (see ``WindowPattern``);
    (0, ()) when no layer has a window."""
    rule = fam.swa if fam is not None else WindowPattern()
    if n_layers not in rule.layer_counts:
        return 0, ()
    if isinstance(pattern, tuple) and pattern:
        flags = tuple(pattern[:n_layers]) + (False,) * max(n_layers - len(pattern), 0)
    else:
        period = rule.period if isinstance(pattern, tuple) else int(pattern)
        flags = tuple(period == 0 or il % period < period - 1 for il in range(n_layers))
    size = window or rule.window
    return (size, flags) if size and any(flags) else (0, ())


def family_by_key(key: str | None) -> Family | None:
    return next((f for f in FAMILIES if f.key == key), None)


def supported_model_types() -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for f in FAMILIES for t in f.model_types))


def supported_gguf_architectures() -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.gguf_arch for f in FAMILIES))


def known_reasoning_tags() -> tuple[tuple[str, str], ...]:
    """Every reasoning tag pair a family uses, newest family first (the order a chat template is searched in)."""
    return tuple(dict.fromkeys(f.reasoning_tags for f in reversed(FAMILIES) if f.reasoning_tags))


def official_gguf_repos() -> dict[str, GGUFRepo]:
    return {r.repo_id: r for f in FAMILIES for r in f.gguf_repos}


def draft_repo_for(repo_id: str) -> GGUFRepo | None:
    """The official repo whose model drafts for the model of ``repo_id`` (its family's ``draft_repo``, when
    that is another, smaller model); None when the family has no pair or ``repo_id`` is the small one."""
    for fam in FAMILIES:
        repos = {r.repo_id: r for r in fam.gguf_repos}
        if repo_id in repos and fam.draft_repo in repos:
            draft = repos[fam.draft_repo]
            return draft if draft.parameters < repos[repo_id].parameters else None
    return None
