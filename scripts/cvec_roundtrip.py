#!/usr/bin/env python3
"""The llama.cpp round trip of limbic's control vectors (`make cvec-roundtrip`, part of `make test`).

For each emotion and strength, `limbic export --format llama-cpp --steer E:S` (no --layers: the
layers and scale `--steer` itself uses) is loaded into llama.cpp (llama-cpp-python 0.3.36) as
llama.cpp's own `common_control_vector_load` does (`direction.N` at offset (N-1)·n_embd of one
buffer, layers 1 … n_layer) and applied with `llama_set_adapter_cvec`; the next-token
distribution on each prompt is compared with `limbic next --steer E:S`: max |Δp| over the union
of both engines' top 20, and the top-1 token. Then the other way: the cvector-generator-layout
fixture (tests/fixtures/cvec_generator.gguf) in llama.cpp against `limbic next --control-vector`.

Two passes:

1. The exact pass (gates the issue's threshold: max |Δp| ≤ 0.02 and the same top-1, and, since
   the maths is then the same, max |Δp| ≤ 0.001). The model's Q4_1 weights dequantized to f32 by
   llama.cpp's own `llama_model_quantize` (into --work-dir, once), llama.cpp's KV cache in f32,
   and a copy of the vectors file that names that file's SHA-256 (the weights are the same
   numbers). Here both engines compute the same f32 maths, so any gap is the control vector's:
   a layer off by one or a wrong scale shows at once.
2. The shipped Q4_1 model as both engines run it by default (gates the same top-1, or a tie:
   the same two tokens on top in swapped order, each engine's lead smaller than the two
   engines' max |Δp| on that case, so which wins is rounding; or the two top-1s are the exact
   pass's top two on that case with an exact lead smaller than max |Δp|; prints Δp).
   Both quantize activations to 8 bits for Q4_1 products, but not bit for bit alike (rounding,
   summation order; llama.cpp also keeps its KV cache in f16), and each lands a few hundredths
   of p away from the exact f32 result, in its own direction: the engines differ by up to 0.035
   before any steering (the "unsteered" rows). The steering rows are compared with those and
   with each engine's own unsteered numbers ("steering moves p by …"); "lead" is the smaller of
   the two engines' top-1 minus top-2 probability.

Prints one line per case; exits non-zero when a gated check fails.
"""
import argparse
import ctypes
import hashlib
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import time

import gguf
import numpy as np
import llama_cpp
from llama_cpp import Llama

from reference import last_logits

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
VECTORS = ROOT / "data/vectors/smollm2-135m-instruct.safetensors"
FIXTURE = ROOT / "tests/fixtures/cvec_generator.gguf"
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
TOP, MAX_DP, EXACT_DP = 20, 0.02, 0.001
EMOTIONS = ["happy", "sad", "afraid"]
STRENGTHS = [0.1, 0.3]
FIXTURE_STRENGTHS = [1.0, 3.0]
GGML_TYPE_F32, LLAMA_FTYPE_ALL_F32 = 0, 0


def chat(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


PROMPTS = [
    ("chat", chat("Tell me about your day.")),
    ("plain", "When I opened the letter, I felt"),
]


class Limbic:
    def __init__(self, exe, model, vectors):
        self.base = [exe, "--model", str(model), "--vectors", str(vectors)]

    def run(self, args):
        out = subprocess.run(self.base + args, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            sys.exit(f"limbic {' '.join(args[:3])} … failed: {out.stderr.strip()}")
        return out.stdout

    def next(self, text, args):
        """Next-token probabilities: {id: p} of the top 1000."""
        top = json.loads(self.run(["next", "--text", text, "--top", "1000", "--json", *args]))["top"]
        return {t["id"]: t["p"] for t in top}


def load_cvec(path, n_embd):
    """The buffer llama.cpp's common_control_vector_load builds: direction.N at (N-1)·n_embd."""
    reader = gguf.GGUFReader(str(path))
    dirs = {int(t.name.split(".")[1]): np.asarray(t.data, dtype=np.float32) for t in reader.tensors}
    assert all(n >= 1 and d.shape == (n_embd,) for n, d in dirs.items()), path
    data = np.zeros(n_embd * max(dirs), dtype=np.float32)
    for n, d in dirs.items():
        data[(n - 1) * n_embd:n * n_embd] += d
    return data


class LlamaCpp:
    def __init__(self, model, kv_f32):
        kv = {"type_k": GGML_TYPE_F32, "type_v": GGML_TYPE_F32} if kv_f32 else {}
        self.llm = Llama(model_path=str(model), n_ctx=512, n_threads=2, n_batch=512,
                         logits_all=True, verbose=False, **kv)
        self.n_embd, self.n_layer = self.llm.n_embd(), llama_cpp.llama_model_n_layer(self.llm.model)

    def set_cvec(self, data):
        if data is None:
            rc = llama_cpp.llama_set_adapter_cvec(self.llm.ctx, None, 0, self.n_embd, -1, -1)
        else:
            # Full length: llama.cpp leaves the layers past the buffer's end as the last call set
            # them, where a fresh context (llama.cpp's own CLI) has zeros.
            self._buf = np.zeros(self.n_embd * (self.n_layer - 1), dtype=np.float32)
            self._buf[:data.size] = data
            ptr = self._buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            rc = llama_cpp.llama_set_adapter_cvec(self.llm.ctx, ptr, self._buf.size, self.n_embd,
                                                  1, self.n_layer)
        if rc != 0:
            sys.exit(f"llama_set_adapter_cvec failed ({rc})")

    def probs(self, text):
        _, logits = last_logits(self.llm, text)
        p = np.exp(logits - logits.max())
        return p / p.sum()


def compare(name, p_lim, p_cpp, base=None, exact=None):
    """(max |Δp| over both top 20s, same top-1, a tie, line, (limbic's top two, its lead)):
    printed with the steering's effect on each. A tie: the top-1s differ, but either the two
    engines' top two are the same pair in swapped order and each engine's lead is smaller than
    max |Δp| (the engines' numerics part by more than the lead), or the two top-1s are the exact
    pass's top two on this case (`exact`: that pair and its lead) and the exact lead is smaller
    than max |Δp| (the f32 maths itself calls it a near-tie, which each engine's quantized
    numerics break its own way). Only the shipped pass accepts ties; the exact pass, where both
    engines do the same maths, needs the same top-1."""
    top_cpp = [int(i) for i in np.argsort(-p_cpp)[:TOP]]
    top_lim = sorted(p_lim, key=p_lim.get, reverse=True)[:TOP]
    ids = sorted(set(top_cpp) | set(top_lim))
    floor = min(p_lim.values())  # a token below limbic's top 1000 has at most this
    lim = np.array([p_lim.get(i, floor) for i in ids])
    cpp = p_cpp[ids]
    dp = float(np.abs(lim - cpp).max())
    same = top_lim[0] == top_cpp[0]
    leads = (p_lim[top_lim[0]] - p_lim[top_lim[1]], p_cpp[top_cpp[0]] - p_cpp[top_cpp[1]])
    margin = min(leads)
    swapped = top_lim[:2] == top_cpp[1::-1] and max(leads) < dp
    near = exact is not None and {top_lim[0], top_cpp[0]} == set(exact[0]) and exact[1] < dp
    tie = not same and (swapped or near)
    line = (f"{name:34s} max|Δp| {dp:.5f}  top-1 {top_lim[0]}/{top_cpp[0]} "
            f"p {p_lim[top_lim[0]]:.3f}/{p_cpp[top_cpp[0]]:.3f} (lead ≥ {margin:.3f})")
    if base is not None:
        d_lim = lim - np.array([base[0].get(i, floor) for i in ids])
        d_cpp = cpp - base[1][ids]
        line += (f"  steering moves p by ≤ {float(np.abs(d_lim).max()):.3f} / "
                 f"{float(np.abs(d_cpp).max()):.3f}, difference {float(np.abs(d_lim - d_cpp).max()):.5f}")
    if tie and swapped:
        line += f"  [tie: the same two on top, each leads by less than max|Δp|]"
    elif tie:
        line += f"  [tie: the exact pass's top two, its lead {exact[1]:.4f} less than max|Δp|]"
    return dp, same, tie, line, (top_lim[:2], leads[0])


def run_pass(limbic, cpp, tmp, exact=None):
    """Every case: (max |Δp|, same top-1, a tie, line, (limbic's top two, its lead)); `exact`: the
    exact pass's rows, case by case, as the referee of near-ties."""
    out, base = [], {}

    def referee():  # the exact pass's row for the case about to be appended
        return exact[len(out)][4] if exact else None
    cpp.set_cvec(None)
    for pname, text in PROMPTS:
        base[pname] = (limbic.next(text, []), cpp.probs(text))
        out.append(compare(f"{pname} unsteered", *base[pname], exact=referee()))
    for emotion in EMOTIONS:
        for s in STRENGTHS:
            path = pathlib.Path(tmp) / f"{emotion}-{s}.gguf"
            limbic.run(["export", "--format", "llama-cpp", "--steer", f"{emotion}:{s}", "--out", str(path)])
            cpp.set_cvec(load_cvec(path, cpp.n_embd))
            for pname, text in PROMPTS:
                p_lim = limbic.next(text, ["--steer", f"{emotion}:{s}"])
                out.append(compare(f"{pname} {emotion}:{s}", p_lim, cpp.probs(text), base[pname], referee()))
    for s in FIXTURE_STRENGTHS:
        cpp.set_cvec(load_cvec(FIXTURE, cpp.n_embd) * s)
        for pname, text in PROMPTS:
            p_lim = limbic.next(text, ["--control-vector", f"{FIXTURE}:{s}"])
            out.append(compare(f"{pname} import {FIXTURE.stem}:{s}", p_lim, cpp.probs(text), base[pname], referee()))
    cpp.set_cvec(None)
    return out


def f32_copy(work):
    """The model with its Q4_1 weights dequantized to f32 by llama.cpp, and the vectors file naming
    it (made once in `work`)."""
    work.mkdir(parents=True, exist_ok=True)
    model, vectors = work / "model-f32.gguf", work / "vectors-f32.safetensors"
    if not model.exists():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype, params.allow_requantize, params.nthread = LLAMA_FTYPE_ALL_F32, True, 2
        part = work / "model-f32.gguf.part"
        print(f"writing {model} (llama.cpp's quantize to f32)", flush=True)
        stderr = os.dup(2)  # quantize logs every tensor
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        try:
            rc = llama_cpp.llama_model_quantize(str(MODEL).encode(), str(part).encode(), ctypes.byref(params))
        finally:
            os.dup2(stderr, 2)
        if rc:
            sys.exit("llama_model_quantize to f32 failed")
        part.rename(model)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    raw = VECTORS.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header["__metadata__"]["model_sha256"] = sha
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    vectors.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n:])
    return model, vectors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limbic", default=str(ROOT / "target/release/limbic"))
    ap.add_argument("--work-dir", default=str(ROOT / "target/cvec-roundtrip"),
                    help="where the f32 copy of the model is kept")
    a = ap.parse_args()
    t0 = time.time()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        model, vectors = f32_copy(pathlib.Path(a.work_dir))
        print(f"exact pass: Q4_1 weights dequantized to f32 in both engines, llama.cpp KV cache f32; "
              f"gate: max|Δp| ≤ {MAX_DP} (and ≤ {EXACT_DP}), same top-1")
        exact = run_pass(Limbic(a.limbic, model, vectors), LlamaCpp(model, True), tmp)
        for dp, same, _, line, _ in exact:
            ok = dp <= MAX_DP and dp <= EXACT_DP and same
            failed += not ok
            print(("ok   " if ok else "FAIL ") + line)
        print(f"shipped Q4_1 model, each engine's default numerics; gate: same top-1 or a tie "
              f"(max|Δp| printed against {MAX_DP}: the engines' own gap, see the unsteered rows)")
        rows = run_pass(Limbic(a.limbic, MODEL, VECTORS), LlamaCpp(MODEL, False), tmp, exact)
        for dp, same, tie, line, _ in rows:
            failed += not (same or tie)
            print(("ok   " if same or tie else "FAIL ") + line + ("" if dp <= MAX_DP else f"  [Δp > {MAX_DP}]"))
        within = sum(dp <= MAX_DP for dp, *_ in rows)
        ties = sum(tie for _, _, tie, *_ in rows)
        print(f"Q4_1: {within}/{len(rows)} cases within max|Δp| ≤ {MAX_DP}, worst "
              f"{max(dp for dp, *_ in rows):.4f}; {ties} tie(s)")
    print(f"{'FAILED' if failed else 'passed'}: {failed} failing check(s), {time.time() - t0:.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
