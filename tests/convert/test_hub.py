"""Downloads through huggingface_hub against a stand-in Hub on 127.0.0.1 (real HTTP, child processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from tests.support.hub_stub import HubStub
from tests.support.quant_fixtures import convert_to, hub_env, one_line_error, run_cli, run_py

REPO = "LGAI-EXAONE/Tiny-Instruct"
GGUF_REPO = "LGAI-EXAONE/Tiny-Instruct-GGUF"
EXTRAS = {"README.md": b"# tiny\n", "original/consolidated.pth": b"x" * 1000, "pytorch_model.bin": b"y" * 500}
BIG = "model-extra.safetensors"  # a 3 MiB file so a throttled download can be killed mid-file


def _llama_gguf(path: Path) -> Path:
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoint) -> Path:
    return tiny_checkpoint("exaone3_tied_sharded")


@pytest.fixture(scope="module")
def gguf_files(ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from exaone_convert.quantize import quantize_gguf

    d = tmp_path_factory.mktemp("ggufs")
    bf16 = convert_to(ckpt, d / "EXAONE-Tiny-Instruct-BF16.gguf")
    q4 = quantize_gguf(bf16, d / "EXAONE-Tiny-Instruct-Q4_K_M.gguf", "q4_k_m", threads=1)
    q8 = convert_to(ckpt, d / "EXAONE-Tiny-Instruct-Q8_0.gguf", "q8_0")
    return {p.name: p.read_bytes() for p in (bf16, q4, q8)}


@pytest.fixture()
def hub(ckpt: Path, gguf_files: dict[str, bytes], tmp_path: Path):
    files = {str(p.relative_to(ckpt)): p.read_bytes() for p in ckpt.rglob("*") if p.is_file()}
    big = np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    with HubStub() as stub:
        stub.add_commit(REPO, {**files, **EXTRAS}, ref="v1")
        changed = json.loads(files["generation_config.json"])
        changed["temperature"] = 0.123
        stub.add_commit(REPO, {**files, **EXTRAS, BIG: big,
                               "generation_config.json": json.dumps(changed).encode()})
        stub.add_commit("LGAI-EXAONE/Gated", files, gated=True)
        llama_cfg = {**json.loads(files["config.json"]), "model_type": "llama", "architectures": ["LlamaForCausalLM"]}
        stub.add_commit("someone/llama-tiny", {**files, "config.json": json.dumps(llama_cfg).encode()})
        stub.add_commit(GGUF_REPO, {"README.md": b"ggufs", **gguf_files})
        truncated = gguf_files["EXAONE-Tiny-Instruct-Q4_K_M.gguf"][:5000]
        foreign = _llama_gguf(tmp_path / "l.ggufx").read_bytes()
        stub.add_commit("someone/broken-GGUF", {"tiny-Q4_K_M.gguf": truncated, "tiny-Q8_0.gguf": foreign})
        stub.files = files  # type: ignore[attr-defined]
        stub.big = big  # type: ignore[attr-defined]
        yield stub


def _env(hub: HubStub, tmp_path: Path, **extra: str) -> dict[str, str]:
    return hub_env(hub.endpoint, tmp_path / "hf_home", **extra)


RESOLVE = ("import sys; from exaone_convert.hub import resolve_checkpoint; "
           "print(resolve_checkpoint(sys.argv[1] if len(sys.argv) > 1 else '{repo}', revision={rev!r}))")


def _resolve(env: dict[str, str], repo: str = REPO, rev: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_py(RESOLVE.format(repo=repo, rev=rev), env)


def test_download_and_convert_through_the_hub(hub: HubStub, tmp_path: Path) -> None:
    env = _env(hub, tmp_path)
    proc = run_cli([REPO, "--outtype", "bf16", "--outfile", "tiny.gguf"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    reader = gguf.GGUFReader(tmp_path / "tiny.gguf")
    assert reader.fields["general.architecture"].contents() == "exaone"
    snap = next((tmp_path / "hf_home" / "hub").glob("models--*Tiny-Instruct/snapshots/*"))
    main = hub.repos[REPO].commits[hub.repos[REPO].refs["main"]]
    for name in [*hub.files, BIG]:  # type: ignore[attr-defined]
        assert (snap / name).read_bytes() == main[name], name
    # only what a conversion needs was fetched
    for name in EXTRAS:
        assert hub.count("GET", name) == 0 and not (snap / name).exists(), name


def test_pinned_revision_by_tag_and_by_commit(hub: HubStub, tmp_path: Path) -> None:
    env = _env(hub, tmp_path)
    tagged = _resolve(env, rev="v1")
    assert tagged.returncode == 0, tagged.stderr
    v1 = Path(tagged.stdout.strip())
    assert v1.name == hub.repos[REPO].refs["v1"]
    assert json.loads((v1 / "generation_config.json").read_text()).get("temperature") != 0.123
    assert not (v1 / BIG).exists()
    main_sha = hub.repos[REPO].refs["main"]
    by_sha = _resolve(env, rev=main_sha)
    assert by_sha.returncode == 0, by_sha.stderr
    assert json.loads((Path(by_sha.stdout.strip()) / "generation_config.json").read_text())["temperature"] == 0.123


def test_offline_uses_the_cache_and_names_the_fix_when_empty(hub: HubStub, tmp_path: Path) -> None:
    env = _env(hub, tmp_path)
    online = _resolve(env)
    assert online.returncode == 0, online.stderr
    dead = hub_env("http://127.0.0.1:9", tmp_path / "hf_home", HF_HUB_OFFLINE="1")
    offline = _resolve(dead)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == online.stdout.strip()
    # the --offline flag works without the environment variable too
    flag = run_py("from exaone_convert.hub import resolve_checkpoint as r; "
                  f"print(r({REPO!r}, offline=True))", hub_env("http://127.0.0.1:9", tmp_path / "hf_home"))
    assert flag.returncode == 0 and flag.stdout.strip() == online.stdout.strip(), flag.stderr
    empty = run_cli([REPO, "--outtype", "bf16"], hub_env(hub.endpoint, tmp_path / "empty", HF_HUB_OFFLINE="1"),
                    tmp_path)
    err = one_line_error(empty)
    assert "offline" in err and "without --offline" in err
    assert not list(tmp_path.glob("*.gguf"))


def test_no_network_and_no_cache(tmp_path: Path) -> None:
    proc = run_cli([REPO, "--outtype", "bf16"], hub_env("http://127.0.0.1:9", tmp_path / "hf"), tmp_path)
    err = one_line_error(proc)
    assert "cannot reach the Hub" in err and "connection" in err


def test_gated_repo_names_the_token_fix_and_works_with_a_token(hub: HubStub, tmp_path: Path) -> None:
    err = one_line_error(run_cli(["LGAI-EXAONE/Gated", "--outtype", "bf16"], _env(hub, tmp_path), tmp_path))
    assert "gated" in err and "HF_TOKEN" in err and "hf auth login" in err
    ok = _resolve(_env(hub, tmp_path, HF_TOKEN="hf_good_token"), repo="LGAI-EXAONE/Gated")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["LGAI-EXAONE/NoSuchModel"], "not found"),
        ([REPO, "--revision", "no-such-branch"], "--revision"),
        (["someone/llama-tiny"], "not an EXAONE checkpoint"),
        ([GGUF_REPO], "--file"),
    ],
)
def test_bad_sources_fail_in_one_line(hub: HubStub, tmp_path: Path, args: list[str], expected: str) -> None:
    proc = run_cli([*args, "--outtype", "bf16", "--outfile", "out.gguf"], _env(hub, tmp_path), tmp_path)
    assert expected in one_line_error(proc)
    assert not (tmp_path / "out.gguf").exists()
    if "llama" in args[0]:  # refused from config.json alone, before any weights were fetched
        assert hub.count("GET", "/cdn/") == 0


def test_killed_download_resumes_to_identical_files(hub: HubStub, tmp_path: Path) -> None:
    env = _env(hub, tmp_path)
    hub.throttle_bps = 1 << 20  # 3 MiB at 1 MiB/s
    child = subprocess.Popen([sys.executable, "-c", RESOLVE.format(repo=REPO, rev=None)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    big_sha = next(s for s, b in hub.blobs.items() if b is hub.big)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while hub.bytes_served.get(big_sha, 0) < (1 << 20) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert 0 < hub.bytes_served.get(big_sha, 0) < len(hub.big)  # type: ignore[attr-defined]
    blobs = next((tmp_path / "hf_home" / "hub").glob("models--*Tiny-Instruct/blobs"))
    assert list(blobs.glob("*.incomplete")), "the kill should land mid-file"
    small_gets = hub.count("GET", "/resolve/" + hub.repos[REPO].refs["main"] + "/tokenizer.json")

    hub.throttle_bps = None
    again = _resolve(env)
    assert again.returncode == 0, again.stderr
    snap = Path(again.stdout.strip())
    assert (snap / BIG).read_bytes() == hub.big  # type: ignore[attr-defined]
    for name, data in hub.files.items():  # type: ignore[attr-defined]
        if name != "generation_config.json":
            assert (snap / name).read_bytes() == data, name
    # files finished before the kill were not fetched again; the killed file's leftovers are gone
    assert hub.count("GET", "/resolve/" + hub.repos[REPO].refs["main"] + "/tokenizer.json") == small_gets
    assert not list(blobs.glob("*.incomplete"))


def test_full_disk_fails_cleanly(hub: HubStub, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs a 1 MiB tmpfs (mount permission)")
    try:
        err = one_line_error(run_cli([REPO, "--outtype", "bf16", "--outfile", str(tmp_path / "o.gguf")],
                                     hub_env(hub.endpoint, small), tmp_path))
        assert "disk full" in err and "HF_HOME" in err
        assert not list(small.rglob("*.incomplete")) and not (tmp_path / "o.gguf").exists()
    finally:
        subprocess.run(["umount", str(small)], check=False)


# -- official GGUF repos (--file) ---------------------------------------------------------------


def test_file_downloads_only_that_quant(hub: HubStub, tmp_path: Path, gguf_files: dict[str, bytes]) -> None:
    proc = run_cli([GGUF_REPO, "--file", "q4_k_m", "--outfile", "got.gguf"], _env(hub, tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "got.gguf").read_bytes() == gguf_files["EXAONE-Tiny-Instruct-Q4_K_M.gguf"]
    import hashlib

    def fetched(name: str) -> int:  # resolve (HEAD) on the Hub plus the body from the CDN
        return hub.count("HEAD", name) + hub.count("GET", hashlib.sha256(gguf_files[name]).hexdigest())

    assert fetched("EXAONE-Tiny-Instruct-Q4_K_M.gguf") >= 2
    assert fetched("EXAONE-Tiny-Instruct-BF16.gguf") == 0 and fetched("EXAONE-Tiny-Instruct-Q8_0.gguf") == 0
    from exaone_convert.gguf_check import inspect_gguf

    assert inspect_gguf(tmp_path / "got.gguf").quant_type == "Q4_K_M"


def test_file_with_verify_downloads_but_says_not_verified(hub: HubStub, tmp_path: Path,
                                                         gguf_files: dict[str, bytes]) -> None:
    """A downloaded GGUF has no checkpoint to measure against: --verify never passes on nothing."""
    proc = run_cli([GGUF_REPO, "--file", "q4_k_m", "--outfile", "got.gguf", "--verify"], _env(hub, tmp_path),
                   tmp_path)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith("NOT VERIFIED: a downloaded GGUF has no checkpoint") and "--verify" in last
    assert "its weights were checked and are finite" in last
    assert "PASS" not in proc.stdout
    assert (tmp_path / "got.gguf").read_bytes() == gguf_files["EXAONE-Tiny-Instruct-Q4_K_M.gguf"]


def test_file_unknown_quant_lists_the_choices(hub: HubStub, tmp_path: Path) -> None:
    err = one_line_error(run_cli([GGUF_REPO, "--file", "Q2_K"], _env(hub, tmp_path), tmp_path))
    assert "Q2_K" in err and "Q4_K_M" in err and "BF16" in err


@pytest.mark.parametrize(
    ("quant", "expected"), [("Q4_K_M", "the file is truncated or corrupt"), ("Q8_0", "architecture 'llama'")]
)
def test_file_rejects_corrupt_or_foreign_gguf(hub: HubStub, tmp_path: Path, quant: str, expected: str) -> None:
    err = one_line_error(run_cli(["someone/broken-GGUF", "--file", quant, "--outfile", "x.gguf"],
                                 _env(hub, tmp_path), tmp_path))
    assert expected in err
    assert not (tmp_path / "x.gguf").exists()


def test_file_offline_from_cache(hub: HubStub, tmp_path: Path) -> None:
    assert run_cli([GGUF_REPO, "--file", "Q8_0", "--outfile", "a.gguf"], _env(hub, tmp_path), tmp_path).returncode == 0
    dead = hub_env("http://127.0.0.1:9", tmp_path / "hf_home", HF_HUB_OFFLINE="1")
    proc = run_cli([GGUF_REPO, "--file", "q8_0", "--outfile", "b.gguf"], dead, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a.gguf").read_bytes() == (tmp_path / "b.gguf").read_bytes()


def test_is_hub_id(tmp_path: Path) -> None:
    from exaone_convert.hub import is_hub_id

    assert is_hub_id("LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct")
    assert not is_hub_id(str(tmp_path))
    assert not is_hub_id("./models/x")
    assert not is_hub_id("just-a-name")


def test_pick_gguf_file_matches_the_suffix_case_insensitively() -> None:
    from exaone_convert.errors import ConversionError
    from exaone_convert.hub import pick_gguf_file

    names = [f"EXAONE-3.5-2.4B-Instruct-{q}.gguf" for q in ("BF16", "IQ4_XS", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")]
    assert pick_gguf_file(names + ["README.md"], "q5_k_m", "r") == "EXAONE-3.5-2.4B-Instruct-Q5_K_M.gguf"
    assert pick_gguf_file(names, "iq4_xs", "r") == "EXAONE-3.5-2.4B-Instruct-IQ4_XS.gguf"
    with pytest.raises(ConversionError, match="choose --file from: BF16, IQ4_XS"):
        pick_gguf_file(names, "Q3_K", "r")


PROGRESS = """
import sys, threading
from pathlib import Path
from exaone_convert.errors import ConversionError
from exaone_convert.hub import download_gguf_file
cancel = threading.Event()
if sys.argv[1] == "cancel":  # the user pressed Cancel: the next chunk stops the download
    cancel.set()
seen = []
def progress(fraction):
    seen.append(fraction)
try:
    download_gguf_file("{repo}", "BF16", outfile=Path("out.gguf"), show_progress=False, progress=progress,
                       cancel=cancel)
    print("done", len(seen), seen[-1], seen == sorted(seen))
except ConversionError as err:
    print("error", err)
"""


def test_gguf_download_reports_progress_and_can_be_cancelled(hub: HubStub, tmp_path: Path) -> None:
    """What the app's model manager relies on: a fraction per chunk, and a cancel that leaves no file."""
    code = PROGRESS.format(repo=GGUF_REPO)
    env = _env(hub, tmp_path)
    cancelled = subprocess.run([sys.executable, "-c", code, "cancel"], env=env, cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
    assert cancelled.stdout.startswith("error download cancelled"), cancelled.stdout + cancelled.stderr
    assert not (tmp_path / "out.gguf").exists()
    done = subprocess.run([sys.executable, "-c", code, "run"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    words = done.stdout.split()
    assert words[0] == "done", done.stdout + done.stderr
    assert int(words[1]) >= 1 and float(words[2]) == 1.0 and words[3] == "True"
    assert (tmp_path / "out.gguf").stat().st_size > 0


# -- EXAONE 4.5: the model and its vision projector come down together --------------------------------

VL_REPO = "LGAI-EXAONE/Tiny-VL-GGUF"


@pytest.fixture(scope="module")
def vl_files(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from exaone_convert.mmproj import convert_mmproj

    src, d = tiny_checkpoint("exaone4_5"), tmp_path_factory.mktemp("vl")
    text = convert_to(src, d / "EXAONE-Tiny-VL-Q8_0.gguf", "q8_0")
    bf16 = convert_to(src, d / "EXAONE-Tiny-VL-F16.gguf", "f16")
    mmproj = convert_mmproj(src, d / "mmproj-EXAONE-Tiny-VL-F16.gguf", "f16")
    other = convert_mmproj(tiny_checkpoint("exaone4_5_hybrid64"), d / "mmproj-other-F16.gguf", "f16")
    return {p.name: p.read_bytes() for p in (text, bf16, mmproj)} | {"other": other.read_bytes()}


def test_file_downloads_the_mmproj_beside_the_model(vl_files: dict[str, bytes], tmp_path: Path) -> None:
    files = {k: v for k, v in vl_files.items() if k != "other"}
    with HubStub() as stub:
        stub.add_commit(VL_REPO, files)
        stub.add_commit("someone/mismatched-VL-GGUF", {**files, "mmproj-EXAONE-Tiny-VL-F16.gguf": vl_files["other"]})
        env = hub_env(stub.endpoint, tmp_path / "hf_home")
        # "F16" names the model, never the projector that shares its suffix
        proc = run_cli([VL_REPO, "--file", "F16", "--outfile", "m/vl.gguf"], env, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "m" / "vl.gguf").read_bytes() == files["EXAONE-Tiny-VL-F16.gguf"]
        assert (tmp_path / "m" / "mmproj-EXAONE-Tiny-VL-F16.gguf").read_bytes() == \
            files["mmproj-EXAONE-Tiny-VL-F16.gguf"]
        err = one_line_error(run_cli(["someone/mismatched-VL-GGUF", "--file", "Q8_0", "--outfile", "x/vl.gguf"],
                                     env, tmp_path))
        assert "does not match" in err
        assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())


CONVERT_PROGRESS = """
import sys, threading
from pathlib import Path
from exaone_convert.errors import ConversionError
from exaone_convert.pipeline import ConvertRequest, convert
cancel = threading.Event()
if sys.argv[1] == "cancel-now":  # the GGUF is one chunk here: Cancel is pressed before it comes
    cancel.set()
stages = []
def progress(stage, fraction):
    stages.append(stage)
    if stage == "download" and sys.argv[1] == "cancel":  # the user presses Cancel once the download has begun
        cancel.set()
request = ConvertRequest(sys.argv[2], outfile=Path("out") / "m.gguf", outtype="f16", show_progress=False,
                         progress=progress, cancel=cancel, quant_file=sys.argv[3] or None)
try:
    convert(request)
    print("done", stages.count("download"), " ".join(sorted(set(stages))))
except ConversionError as err:
    print("error", type(err).__name__, err)
"""


@pytest.mark.parametrize(("repo", "quant", "mode"), [(REPO, "", "cancel"), (GGUF_REPO, "BF16", "cancel-now")])
def test_convert_reports_the_download_and_cancel_stops_it(hub: HubStub, tmp_path: Path, repo: str,
                                                          quant: str, mode: str) -> None:
    """convert() (what the app's Convert runs) passes its progress and Cancel to the Hub download: a checkpoint
    (or --file GGUF) download reports the "download" stage, and Cancel during it stops with DownloadCancelled and
    leaves no output file."""
    (tmp_path / "out").mkdir()
    env = _env(hub, tmp_path)
    cancelled = subprocess.run([sys.executable, "-c", CONVERT_PROGRESS, mode, repo, quant], env=env,
                               cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert cancelled.stdout.startswith("error DownloadCancelled download cancelled"), \
        cancelled.stdout + cancelled.stderr
    assert list((tmp_path / "out").iterdir()) == []
    done = subprocess.run([sys.executable, "-c", CONVERT_PROGRESS, "run", repo, quant], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    words = done.stdout.split()
    assert words[:1] == ["done"] and int(words[1]) >= 1 and "download" in words[2:], done.stdout + done.stderr
    assert (tmp_path / "out" / "m.gguf").stat().st_size > 0


# -- a model split into parts (llama.cpp's NAME-QUANT-00001-of-0000N.gguf) -----------------------------------

SPLIT_REPO = "LGAI-EXAONE/Tiny-Split-GGUF"


@pytest.fixture(scope="module")
def split_parts(gguf_files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.support.split_gguf import split_gguf

    d = tmp_path_factory.mktemp("split")
    whole = d / "whole.gguf"
    whole.write_bytes(gguf_files["EXAONE-Tiny-Instruct-Q8_0.gguf"])
    parts = split_gguf(whole, d / "EXAONE-Tiny-Instruct-Q8_0.gguf", 8)
    assert len(parts) >= 3
    return parts


def test_file_downloads_every_part_of_a_split_gguf(hub: HubStub, split_parts: list[Path],
                                                   gguf_files: dict[str, bytes], tmp_path: Path) -> None:
    """``--file Q8_0`` of a repo that stores Q8_0 as parts downloads all of them, named as llama.cpp looks for
    them beside the first, which it then loads; the quant list names each split model once."""
    hub.add_commit(SPLIT_REPO, {"README.md": b"split", **{p.name: p.read_bytes() for p in split_parts},
                                "EXAONE-Tiny-Instruct-Q4_K_M.gguf": gguf_files["EXAONE-Tiny-Instruct-Q4_K_M.gguf"]})
    env = _env(hub, tmp_path)
    proc = run_cli([SPLIT_REPO, "--file", "q8_0", "--outfile", "got.gguf", "--quiet"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = len(split_parts)
    got = [tmp_path / f"got-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1)]
    assert [p.read_bytes() for p in got] == [p.read_bytes() for p in split_parts]
    assert not (tmp_path / "got.gguf").exists() and f"wrote {got[0].name}" in proc.stdout
    assert f"its other {n - 1} parts beside it" in proc.stdout
    load = run_py(f"from llama_cpp import Llama; m = Llama({str(got[0])!r}, verbose=False, n_ctx=32); "
                  "print(m.n_vocab())", env)
    assert load.returncode == 0 and int(load.stdout.split()[-1]) > 0, load.stderr
    err = one_line_error(run_cli([SPLIT_REPO, "--file", "Q2_K"], env, tmp_path))
    assert "choose --file from: Q4_K_M, Q8_0" in err


def test_a_split_gguf_missing_a_part_is_one_line(hub: HubStub, split_parts: list[Path], tmp_path: Path) -> None:
    hub.add_commit(SPLIT_REPO, {p.name: p.read_bytes() for p in split_parts[:1] + split_parts[2:]})
    err = one_line_error(run_cli([SPLIT_REPO, "--file", "q8_0", "--outfile", "got.gguf", "--quiet"],
                                 _env(hub, tmp_path), tmp_path))
    assert f"lacks 1 of the {len(split_parts)} parts of {split_parts[0].name} ({split_parts[1].name}" in err
    assert list(tmp_path.glob("got*")) == []


def test_split_names_are_one_model_in_the_quant_list_and_the_listing() -> None:
    from exaone_convert.families import GGUFRepo
    from exaone_convert.hub import gguf_parts, listed_files, pick_gguf_file, quant_of

    names = [f"M-BF16-0000{i}-of-00003.gguf" for i in (1, 2, 3)] + ["M-Q4_K_M.gguf", "mmproj-M-F16.gguf"]
    assert pick_gguf_file(names, "bf16", "r") == "M-BF16-00001-of-00003.gguf"
    assert gguf_parts(names, "M-BF16-00001-of-00003.gguf", "r") == names[:3]
    assert gguf_parts(names, "M-Q4_K_M.gguf", "r") == ["M-Q4_K_M.gguf"]
    assert quant_of("M-BF16-00002-of-00003.gguf") == "BF16"
    repo = GGUFRepo("LGAI-EXAONE/M-GGUF", 1.0, ())
    listed = listed_files(repo, {names[0]: 10, names[1]: 10, names[2]: 5, names[3]: 7, names[4]: 3})
    assert [(f.name, f.quant, f.size, f.mmproj) for f in listed.files] == [
        ("M-Q4_K_M.gguf", "Q4_K_M", 7, False), ("M-BF16-00001-of-00003.gguf", "BF16", 25, False),
        ("mmproj-M-F16.gguf", "F16", 3, True)]
