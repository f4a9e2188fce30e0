#!/usr/bin/env python3
"""Weight formats against llama.cpp (`make formats-parity`, part of `make test`).

The model's weights (its Q4_1 file dequantized to f32 by llama.cpp's own quantize tool, kept
in --work-dir, made once, as `make cvec-roundtrip` does) are written by `llama_model_quantize`
as each file type people download: Q4_0, Q5_0, Q5_1, Q8_0, Q4_K_M, Q5_K_M, Q6_K and F16 (about
a second each, into a temporary folder, removed after use).
SmolLM2's rows (576) are not a multiple of the K-quants' 256, so in the K files llama.cpp
stores most tensors as Q5_0/Q5_1/Q8_0 and only the 1,536-wide ones (ffn_down) in Q4_K/Q5_K/
Q6_K; the script prints each file's tensor types. On the six parity prompts of
scripts/reference.py, llama.cpp (llama-cpp-python 0.3.36, its default numerics) and
`limbic next` give next-token distributions; gated as issue 16 asks: mean KL(llama.cpp ‖
limbic) ≤ 0.02 per file, and the same top-1 on every prompt, except where llama.cpp's own best
two are within 0.1 nats and limbic has the same two on top (a near tie that quantized
arithmetic decides; the issue-14 rule for the GPU against the CPU). Every type runs through
limbic's own kernels (Q4_0 rewritten as Q4_1 at load, value for value; Q5_0/Q5_1/Q5_K as 5-bit
blocks, Q6_K as bytes with a scale per 16 values), F16 as stored. Each file is run twice: on
the CPU, and on the GPU (`--backend gpu`: lavapipe here) with the same gates; where the GPU
declines a file (no kernel for F16) limbic runs it on the CPU and the line says why. The GPU
lines are gated on the mean KL alone (see the comment at NEAR_TIE): top-1 partings are printed
with how far llama.cpp's choice leads.

With --gemma, also the second architecture's test model as downloaded (Gemma 3 270M, Q4_K_M:
Q5_0, Q4_K, Q6_K and Q8_0 tensors): the same gates, on the same prompts with BOS first (its
file asks for it), plus the prompt's token ids equal to llama.cpp's (SentencePiece-style).

Prints one line per file type; exits non-zero when a gate fails.
"""
import argparse
import contextlib
import ctypes
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from collections import Counter

import gguf
import llama_cpp
import numpy as np
from llama_cpp import Llama

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from cvec_roundtrip import f32_copy  # noqa: E402
from reference import PROMPTS, last_logits  # noqa: E402

MAX_KL = 0.02
NEAR_TIE = 0.1  # nats
# On lavapipe the GPU parts from our own CPU about as much as llama.cpp does (KL 0.002–0.03 a
# prompt: its sums differ from the CPU's in the last bits, which now and then round an 8-bit
# activation the other way; issue 14's unmet tie rule). The GPU lines are gated on the mean KL
# alone; where their top-1 parts from llama.cpp's the line says so and by how much.
# llama.cpp's llama_ftype values.
TYPES = {"Q4_0": 2, "Q5_0": 8, "Q5_1": 9, "Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "F16": 1}


@contextlib.contextmanager
def quiet():
    """llama.cpp's C code logs every tensor to stderr: silenced while it runs."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quantize(src, out, ftype):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.nthread = 2
    with quiet():
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(out).encode(), ctypes.byref(p))
    if rc != 0:
        sys.exit(f"llama_model_quantize {out.name} failed ({rc})")


def tensor_types(path):
    counts = Counter(t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def llama_cpp_probs(path):
    with quiet():
        llm = Llama(model_path=str(path), n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False)
    out = []
    for _, text in PROMPTS:
        _, logits = last_logits(llm, text)
        p = np.exp(logits - logits.max())
        out.append(p / p.sum())
    return out


def limbic_probs(limbic, path, vocab, ids=None, backend="cpu"):
    """limbic's next-token distributions on the prompts on `backend`, its prompt ids appended to
    `ids`; on the GPU, (None, why) when the GPU declines the file, else (distributions, None)."""
    out = []
    for _, text in PROMPTS:
        r = subprocess.run([limbic, "next", "--model", str(path), "--text", text, "--top", str(vocab), "--json",
                            "--backend", backend], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"limbic next on {path.name}: {r.stderr.strip()}")
        fell_back = [line for line in r.stderr.splitlines() if "running on the CPU" in line]
        if backend == "gpu" and fell_back:
            return None, fell_back[0].removeprefix("note: ")
        answer = json.loads(r.stdout)
        p = np.zeros(vocab)
        for t in answer["top"]:
            p[t["id"]] = t["p"]
        out.append(p)
        if ids is not None:
            ids.append(answer["ids"])
    return out, None


def gpu_gate(limbic, name, path, cpp):
    """The file on the GPU, gated as on the CPU; True when it passes or the GPU declines it."""
    lim, why = limbic_probs(limbic, path, len(cpp[0]), backend="gpu")
    if lim is None:
        print(f"     {name + ' gpu':11} not run on the GPU: {why}")
        return True
    return gate(f"{name} gpu", path, cpp, lim, top1=False)


def gate(name, path, cpp, lim, extra="", top1=True):
    """Prints the file's line; True when it passes (`top1` False: on the mean KL alone)."""
    kls = [float(np.sum(np.where(c > 0, c * (np.log(np.maximum(c, 1e-30)) - np.log(np.maximum(m, 1e-30))), 0)))
           for c, m in zip(cpp, lim)]
    same = sum(int(np.argmax(c) == np.argmax(m)) for c, m in zip(cpp, lim))
    parts = [(near_tie(c, m), gap(c, m)) for c, m in zip(cpp, lim) if np.argmax(c) != np.argmax(m)]
    ok = (all(t is not None for t, _ in parts) or not top1) and np.mean(kls) <= MAX_KL and not extra
    parted = "".join(f", parts at a {t:.3f}-nat tie" if t is not None else
                     f", parts where llama.cpp's choice leads by {g:.2f} nats{'' if top1 else ' (not gated)'}"
                     for t, g in parts)
    print(f"{'ok  ' if ok else 'FAIL'} {name:11} top-1 {same}/{len(PROMPTS)}{parted}  mean KL {np.mean(kls):.4f}  "
          f"max {max(kls):.4f}  ({tensor_types(path)}){extra}")
    return ok


def gemma(limbic, path):
    """The Gemma file: llama.cpp's ids (BOS first) and distributions against limbic's."""
    with quiet():
        llm = Llama(model_path=str(path), n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False)
    cpp, cpp_ids = [], []
    for _, text in PROMPTS:
        ids = llm.tokenize(text.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(ids)
        logits = np.array(llm.scores[len(ids) - 1], dtype=np.float64)
        p = np.exp(logits - logits.max())
        cpp.append(p / p.sum())
        cpp_ids.append(ids)
    lim_ids = []
    lim, _ = limbic_probs(limbic, path, len(cpp[0]), lim_ids)
    differ = sum(a != b for a, b in zip(cpp_ids, lim_ids))
    ok = gate("gemma3", path, cpp, lim, f"; token ids differ on {differ} prompt(s)" if differ else "")
    return gpu_gate(limbic, "gemma3", path, cpp) and ok


def near_tie(cpp, lim):
    """llama.cpp's gap in nats between its best two when limbic has the same two on top and it
    is under NEAR_TIE; else None."""
    a, b = np.argsort(-cpp)[:2]
    gap = float(np.log(cpp[a] / cpp[b]))
    return gap if set(np.argsort(-lim)[:2]) == {a, b} and gap < NEAR_TIE else None


def gap(cpp, lim):
    """How far, in llama.cpp's own distribution, its choice leads limbic's (nats)."""
    return float(np.log(cpp[np.argmax(cpp)] / max(cpp[np.argmax(lim)], 1e-30)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limbic", default="target/release/limbic")
    ap.add_argument("--work-dir", default="target/cvec-roundtrip")
    ap.add_argument("--gemma", help="also Gemma 3 270M Q4_K_M as downloaded (`make gemma`)")
    a = ap.parse_args()
    t0 = time.time()
    work = pathlib.Path(a.work_dir)
    src, _ = f32_copy(work)
    failed = 0
    print(f"gate per file: mean KL(llama.cpp ‖ limbic) ≤ {MAX_KL}; the same top-1 on all {len(PROMPTS)} prompts "
          f"but where llama.cpp's best two, limbic's too, are < {NEAR_TIE} nats apart (on the GPU, the mean KL alone)")
    tmp = tempfile.TemporaryDirectory()
    for name, ftype in TYPES.items():
        path = pathlib.Path(tmp.name) / f"model-{name}.gguf"
        quantize(src, path, ftype)
        cpp = llama_cpp_probs(path)
        lim, _ = limbic_probs(a.limbic, path, len(cpp[0]))
        failed += not gate(name, path, cpp, lim)
        failed += not gpu_gate(a.limbic, name, path, cpp)
        path.unlink()
    if a.gemma:
        failed += not gemma(a.limbic, pathlib.Path(a.gemma))
    print(f"{'FAILED' if failed else 'passed'}: {failed} failing file type(s), {time.time() - t0:.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
