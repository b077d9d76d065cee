"""Split a GGUF into llama.cpp's parts (``NAME-00001-of-0000N.gguf``, ...) with gguf-py's own writer."""

from __future__ import annotations

from pathlib import Path

import gguf


def split_gguf(src: Path, dst: Path, max_tensors: int) -> list[Path]:
    """Write ``src`` as parts of at most ``max_tensors`` tensors named after ``dst`` (``dst`` without .gguf +
    ``-0000I-of-0000N.gguf``); returns the parts, first first."""
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch, split_max_tensors=max_tensors)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub)
    for t in reader.tensors:
        writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)  # the data's numpy (byte) shape
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return sorted(dst.parent.glob(dst.name[: -len(".gguf")] + "-0*-of-*.gguf"))
