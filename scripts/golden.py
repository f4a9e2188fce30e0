#!/usr/bin/env python3
"""Regenerates tests/fixtures/golden.json: 32 greedy tokens for four prompts, from our own CLI
(the CPU backend; the wasm tests hold the browser's CPU and WebGPU paths to these).

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
    cases.append({"text": text, "ids": out["ids"], "reply": out["text"]})
json.dump(cases, open("tests/fixtures/golden.json", "w"), indent=1, ensure_ascii=False)
print("wrote tests/fixtures/golden.json")
