#!/usr/bin/env python3
"""`limbic bench` against llama.cpp (llama-cpp-python, 2 threads) in the same run, same GGUF,
same chat-wrapped prompt, 128 greedy tokens. Prints a Markdown table for BENCHMARKS.md.

Needs `pip install llama-cpp-python==0.3.36` (built from source here) and `make build model`.
Each engine runs RUNS times, alternating; medians are reported. `--model FILE` benches another
GGUF: the same request in its chat format, or for a base model (no chat template: Gemma 3 270M)
as the plain transcript `limbic bench` writes, with BOS where the file asks for it.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from llama_cpp import Llama

MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
          "<|im_start|>user\nWrite a short story about a girl who lost her dog.<|im_end|>\n<|im_start|>assistant\n")
TOKENS, RUNS = 128, 5
REQUEST = "Write a short story about a girl who lost her dog."


def llama_cpp(model):
    t0 = time.perf_counter()
    llm = Llama(model_path=model, n_ctx=2048, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False)
    load = time.perf_counter() - t0
    if model == MODEL or "SmolLM" in llm.metadata.get("tokenizer.chat_template", ""):
        # SmolLM2 in any weight format: its chat format with its default system turn.
        ids = llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
    elif "tokenizer.chat_template" not in llm.metadata:
        # limbic's Tokenizer::request for a base model; BOS as the file's add_bos_token says.
        bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
        ids = llm.tokenize(f"User: {REQUEST}\n\nAssistant:".encode(), add_bos=bos, special=True)
    else:
        sys.exit("--model: only SmolLM2's files and models without a chat template are set up here")
    t1 = time.perf_counter()
    llm.eval(ids)
    prompt_s = time.perf_counter() - t1
    # Sample greedily through llama.cpp's own sampler so no Python-side logits copy is timed.
    tok = llm.sample(temp=0.0)
    t2 = time.perf_counter()
    n = 1
    while n < TOKENS and tok != llm.token_eos():
        llm.eval([tok])
        tok = llm.sample(temp=0.0)
        n += 1
    decode_s = time.perf_counter() - t2
    return {"load_s": load, "prompt_tokens": len(ids), "prompt_tps": len(ids) / prompt_s,
            "decode_tps": (n - 1) / decode_s, "generated_tokens": n}


def limbic(model, binary="target/release/limbic"):
    out = subprocess.check_output([binary, "bench", "--model", model, "--json",
                                   "--tokens", str(TOKENS)])
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--before", help="another limbic binary (an earlier build) in the same alternation")
    a = ap.parse_args()
    runs = {"llama.cpp": [], "limbic": []} | ({"limbic before": []} if a.before else {})
    for _ in range(RUNS):
        runs["llama.cpp"].append(llama_cpp(a.model))
        runs["limbic"].append(limbic(a.model))
        if a.before:
            runs["limbic before"].append(limbic(a.model, a.before))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("load_s", "prompt_tps", "decode_tps")}
           for k, v in runs.items()}
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"machine: {cpu}, {subprocess.check_output(['nproc']).decode().strip()} cores; "
          f"{time.strftime('%Y-%m-%d')}; {a.model}; medians of {RUNS} alternating runs; "
          f"prompt {runs['limbic'][0]['prompt_tokens']} tokens, {TOKENS} greedy tokens")
    print("| engine | load s | prompt tok/s | decode tok/s | prompt × llama.cpp | decode × llama.cpp |")
    print("|---|---|---|---|---|---|")
    base = med["llama.cpp"]
    for k, m in med.items():
        print(f"| {k} | {m['load_s']:.2f} | {m['prompt_tps']:.1f} | {m['decode_tps']:.1f} | "
              f"{m['prompt_tps'] / base['prompt_tps']:.2f} | {m['decode_tps'] / base['decode_tps']:.2f} |")
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
