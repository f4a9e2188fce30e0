#!/usr/bin/env python3
"""Regenerates tests/fixtures/golden.json: 32 greedy tokens for four prompts, from our own CLI
(the CPU backend; the wasm tests hold the browser's CPU and WebGPU paths to these), and the
SHA-256 of the log-probabilities after each prompt with its five best tokens (the browser's CPU
engine must compute the same bits).

Run only when a change is meant to alter greedy output, and say why in the commit.
"""
import json
import subprocess

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
PROMPTS = [
    f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nWhat should I cook for dinner tonight?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "Once upon a time, in a small village by the sea,",
    "How does he feel? He feels",
    "My favourite season is autumn because",
]

cases = []
for text in PROMPTS:
    out = json.loads(subprocess.check_output(
        ["target/release/limbic", "generate", "--prompt", text, "--max-tokens", "32", "--json"]))
    logits = json.loads(subprocess.check_output(
        ["target/release/limbic", "logits", "--text", text, "--top", "5", "--json"]))
    top = [{"id": t["id"], "logprob": t["logprob"]} for t in logits["top"]]
    cases.append({"text": text, "ids": out["ids"], "reply": out["text"],
                  "logprobs_sha256": logits["sha256"], "top": top})
json.dump(cases, open("tests/fixtures/golden.json", "w"), indent=1, ensure_ascii=False)
print("wrote tests/fixtures/golden.json")
