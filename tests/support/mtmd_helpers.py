"""Raw llama.cpp multimodal (mtmd) access for parity tests: a prompt with one image through our text GGUF and
mmproj, and the same through transformers' EXAONE 4.5 with its own image processor."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import torch
from llama_cpp import mtmd_cpp as mtmd

from tests.support import llama_helpers as lh

MARKER = mtmd.mtmd_default_marker().decode()


FLASH_ATTN_DISABLED = 0  # LLAMA_FLASH_ATTN_TYPE_DISABLED


class Multimodal:
    """One text GGUF (f32 KV cache) with its mmproj loaded by mtmd. Flash attention is off in the vision
    encoder: with it, K/V go through f16 (about 1.5e-3 of max|logit|), which would measure llama.cpp's
    arithmetic rather than the conversion (off: about 7e-4)."""

    def __init__(self, text_gguf: Path, mmproj: Path) -> None:
        self.llm = lh.load(str(text_gguf))
        params = mtmd.mtmd_context_params_default()
        params.use_gpu, params.n_threads, params.warmup = False, 2, False
        params.flash_attn_type = FLASH_ATTN_DISABLED
        self.ctx = mtmd.mtmd_init_from_file(str(mmproj).encode(), self.llm.model, params)
        if not self.ctx:
            raise RuntimeError(f"mtmd could not load {mmproj}")

    def close(self) -> None:
        mtmd.mtmd_free(self.ctx)

    def run(self, prompt: str, pixels: np.ndarray, image_token_id: int, n_greedy: int
            ) -> tuple[list[int], np.ndarray, list[int]]:
        """(token ids as transformers would see them, last logits after the prompt, greedy continuation)."""
        h, w, _ = pixels.shape
        bitmap = mtmd.mtmd_bitmap_init(w, h, (ctypes.c_uint8 * pixels.size).from_buffer_copy(pixels.tobytes()))
        text = mtmd.mtmd_input_text()
        raw = prompt.encode()
        text.text, text.text_len, text.add_special, text.parse_special = raw, len(raw), False, True
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            if mtmd.mtmd_tokenize(self.ctx, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1):
                raise RuntimeError("mtmd_tokenize failed")
            ids: list[int] = []
            for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, i)
                if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                    n = ctypes.c_size_t()
                    tokens = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                    ids += [tokens[j] for j in range(n.value)]
                else:
                    ids += [image_token_id] * mtmd.mtmd_input_chunk_get_n_tokens(chunk)
            self.llm.reset()
            lctx = self.llm._ctx.ctx
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(lctx), True)
            n_past = llama_cpp.llama_pos(0)
            if mtmd.mtmd_helper_eval_chunks(self.ctx, lctx, chunks, 0, 0, 512, True, ctypes.byref(n_past)):
                raise RuntimeError("mtmd_helper_eval_chunks failed")
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            mtmd.mtmd_bitmap_free(bitmap)
        n_vocab = self.llm.n_vocab()

        def last_logits() -> np.ndarray:
            return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(lctx, -1), shape=(n_vocab,)).copy()

        first = last_logits()
        out: list[int] = []
        pos = n_past.value
        logits = first
        for _ in range(n_greedy):
            token = int(np.argmax(logits))
            out.append(token)
            arr = (llama_cpp.llama_token * 1)(token)
            batch = llama_cpp.llama_batch_get_one(arr, 1)
            if llama_cpp.llama_decode(lctx, batch):
                raise RuntimeError("llama_decode failed")
            pos += 1
            logits = last_logits()
        return ids, first, out


def image_processor(ckpt: Path) -> Any:
    """transformers' Qwen2-VL image processor (EXAONE 4.5's), configured from the checkpoint's
    preprocessor_config.json."""
    from transformers import Qwen2VLImageProcessorPil

    pre = json.loads((ckpt / "preprocessor_config.json").read_text())
    return Qwen2VLImageProcessorPil(
        min_pixels=pre["min_pixels"], max_pixels=pre["max_pixels"], patch_size=pre["patch_size"],
        merge_size=pre["merge_size"], temporal_patch_size=pre["temporal_patch_size"],
        image_mean=pre["image_mean"], image_std=pre["image_std"],
    )


def image_inputs(ckpt: Path, pixels: np.ndarray) -> dict[str, torch.Tensor]:
    """pixel_values and image_grid_thw for one image, from EXAONE 4.5's image processor."""
    from PIL import Image

    enc = image_processor(ckpt)(images=[Image.fromarray(pixels)], return_tensors="pt")
    return {"pixel_values": enc["pixel_values"], "image_grid_thw": enc["image_grid_thw"]}


def processor_inputs(ckpt: Path, messages: list[dict[str, Any]], images: list[np.ndarray], **template_kwargs: Any
                     ) -> tuple[list[int], dict[str, torch.Tensor]]:
    """(input ids, pixel_values and image_grid_thw) as transformers' EXAONE 4.5 processor builds them: the chat
    template rendered with ``{"type": "image"}`` parts, then each ``<|image_pad|>`` repeated once per image
    position."""
    from PIL import Image
    from transformers import AutoTokenizer, Exaone4_5_Processor

    class ImageProcessor(Exaone4_5_Processor):
        """transformers' EXAONE 4.5 processor without its video processor (that one needs torchvision, which the
        tests do not install): text and images go through transformers' own code."""

        def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None) -> None:
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template)

    tokenizer = AutoTokenizer.from_pretrained(str(ckpt))
    processor = ImageProcessor(image_processor=image_processor(ckpt), tokenizer=tokenizer,
                               chat_template=tokenizer.chat_template)
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **template_kwargs)
    enc = processor(text=[text], images=[Image.fromarray(p) for p in images], return_tensors="pt")
    return enc["input_ids"][0].tolist(), {"pixel_values": enc["pixel_values"], "image_grid_thw": enc["image_grid_thw"]}


@torch.no_grad()
def reference_run(model: torch.nn.Module, ids: list[int], images: dict[str, torch.Tensor], n_greedy: int
                  ) -> tuple[np.ndarray, list[int]]:
    """(last logits, greedy continuation) of transformers' EXAONE 4.5 (full recompute each step)."""
    seq = list(ids)
    first: np.ndarray | None = None
    out: list[int] = []
    for _ in range(n_greedy + 1):
        logits = model(input_ids=torch.tensor([seq]), use_cache=False, **images).logits[0, -1].float().numpy()
        if first is None:
            first = logits
        if len(out) == n_greedy:
            break
        token = int(np.argmax(logits))
        out.append(token)
        seq.append(token)
    assert first is not None
    return first, out
