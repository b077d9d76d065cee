"""Resumable downloads without the app (``download_gguf_file(resumable=True)``) against the Hub stand-in on
127.0.0.1, which serves HTTP Range requests: a stopped download keeps its partial file and what it is; the
next call asks only for the rest (``Range: bytes=<partial size>-``) and the result is the Hub's file; a file
that changed on the Hub in between is fetched again from its start."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from exaone_convert import DownloadCancelled, download_gguf_file, find_partials
from exaone_desktop.session import network

from tests.support.hub_stub import HubStub

REPO = "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF"
NAME = "EXAONE-4.0-1.2B-Q4_K_M.gguf"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 << 10)
    with HubStub() as stub:
        network.apply(network.NetworkSettings(stub.endpoint))
        try:
            yield stub
        finally:
            network.apply(network.NetworkSettings(network.DEFAULT_ENDPOINT))


def stopped_download(outfile: Path) -> int:
    """Start a download and stop it after its first bytes; returns the bytes kept."""
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        download_gguf_file(REPO, "Q4_K_M", outfile=outfile, force=True, show_progress=False, resumable=True,
                           cancel=cancel, progress=lambda f: cancel.set() if f > 0.1 else None)
    [partial] = find_partials(outfile.parent)
    assert (partial.repo_id, partial.filename, Path(partial.dest)) == (REPO, NAME, outfile)
    assert not outfile.exists() and 0 < partial.done < partial.size  # type: ignore[operator]
    return partial.done


def cdn_ranges(hub: HubStub) -> list[str | None]:
    return [r.range for r in hub.requests if r.method == "GET" and "/cdn/" in r.path]


def test_a_stopped_download_continues_from_its_partial_size(hub: HubStub, tmp_path: Path, tiny_gguf: Path) -> None:
    data = tiny_gguf.read_bytes()
    hub.add_commit(REPO, {NAME: data})
    out = tmp_path / "models" / NAME
    kept = stopped_download(out)
    before = len(cdn_ranges(hub))
    got = download_gguf_file(REPO, "Q4_K_M", outfile=out, force=True, show_progress=False, resumable=True)
    assert got == out and out.read_bytes() == data
    assert cdn_ranges(hub)[before:] == [f"bytes={kept}-"]
    # nothing of the transfer stays beside the file: no partial, no record, no lock file
    assert find_partials(out.parent) == [] and sorted(p.name for p in out.parent.glob(NAME + "*")) == [NAME]


def test_a_file_changed_on_the_hub_starts_again(hub: HubStub, tmp_path: Path, tiny_gguf: Path) -> None:
    data = tiny_gguf.read_bytes()
    hub.add_commit(REPO, {NAME: data})
    out = tmp_path / "models" / NAME
    stopped_download(out)
    newer = data + b"\0" * 4096  # another file (another ETag) under the same name
    hub.add_commit(REPO, {NAME: newer})
    before = len(cdn_ranges(hub))
    download_gguf_file(REPO, "Q4_K_M", outfile=out, force=True, show_progress=False, resumable=True)
    assert out.read_bytes() == newer and cdn_ranges(hub)[before:] == [None]


def test_a_resumed_download_is_checked_against_the_hubs_sha256(hub: HubStub, tmp_path: Path,
                                                               tiny_gguf: Path) -> None:
    """The kept partial file is damaged while paused: the finished file does not hash to the LFS oid (the
    ETag), so it is deleted with one line instead of being moved into place; the next try starts afresh."""
    from exaone_convert import ConversionError
    from exaone_convert.resume import part_path

    data = tiny_gguf.read_bytes()
    hub.add_commit(REPO, {NAME: data})
    out = tmp_path / "models" / NAME
    kept = stopped_download(out)
    part = part_path(out)
    with part.open("r+b") as f:  # one byte of the kept part flipped
        f.seek(kept - 1)
        byte = f.read(1)
        f.seek(kept - 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ConversionError) as info:
        download_gguf_file(REPO, "Q4_K_M", outfile=out, force=True, show_progress=False, resumable=True)
    line = str(info.value)
    assert "\n" not in line and f"the downloaded {NAME} does not match the Hub's checksum" in line
    assert "download it again" in line
    assert not out.exists() and find_partials(out.parent) == [] and not part.exists()
    before = len(cdn_ranges(hub))
    download_gguf_file(REPO, "Q4_K_M", outfile=out, force=True, show_progress=False, resumable=True)
    assert out.read_bytes() == data and cdn_ranges(hub)[before:] == [None]


def test_a_split_gguf_comes_down_whole_through_partial_files(hub: HubStub, tmp_path: Path, tiny_gguf: Path) -> None:
    """The app's (resumable) download of a model stored as parts: every part is fetched to its own partial file
    and all are moved into place, under the names llama.cpp looks for beside the first."""
    from tests.support.split_gguf import split_gguf

    (tmp_path / "src").mkdir()
    parts = split_gguf(tiny_gguf, tmp_path / "src" / "EXAONE-4.0-1.2B-Q4_K_M.gguf", 8)
    assert len(parts) > 1
    hub.add_commit(REPO, {p.name: p.read_bytes() for p in parts})
    out = tmp_path / "models" / parts[0].name
    got = download_gguf_file(REPO, "Q4_K_M", outfile=out, force=True, show_progress=False, resumable=True)
    assert got == out
    assert [(p.name, p.read_bytes()) for p in sorted(out.parent.iterdir())] == [(p.name, p.read_bytes()) for p in parts]
    assert find_partials(out.parent) == []
