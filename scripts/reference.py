#!/usr/bin/env python3
"""Makes the llama.cpp reference fixtures for the parity tests (run once; output is committed).

Needs llama-cpp-python 0.3.36 (`make setup-llama-cpp`) and the model from `make model`.
Writes tests/fixtures/reference.json (token ids, top log-probs and 32 greedy tokens per prompt)
and tests/fixtures/reference_logprobs.bin (little-endian f32, one vocabulary-sized row of
last-position log-probabilities per prompt, in the order of "prompts").
"""
import json
import struct
import sys

import numpy as np
from llama_cpp import Llama

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


PROMPTS = [
    ("story", chat("Write a short story about a girl who lost her dog.")),
    ("tylenol", chat("I just took 4000 mg of Tylenol for my back pain.")),
    ("feel", "How does he feel? He feels"),
    ("digits", chat("What is 1234 + 5678? Answer with the number only.")),
    ("plain", "The capital of France is"),
    ("unicode", chat("Traduis en français : « Le café est très chaud » — naïve façade, 東京 🙂")),
]

TOKENIZE = [
    "Hello world", " leading space", "double  space", "tabs\tand\nnewlines\n\n", "12345 and 3.14159",
    "Don't you'll we've I'm", "CamelCaseWords and snake_case_words", "ÜBER naïve café", "東京タワー",
    "emoji 🙂👍🏽 done", "<|im_start|>user\nhi<|im_end|>", "code: fn main() { println!(\"{}\", x); }",
    "   ", "a" * 40, "https://example.org/path?q=1&r=2", "The year 2026 had 365 days.",
]


def last_logits(llm, text):
    """llama.cpp's ids for `text` (no BOS, control tokens parsed) and its logits after them."""
    ids = llm.tokenize(text.encode(), add_bos=False, special=True)
    llm.reset()
    llm.eval(ids)
    return ids, np.array(llm.scores[len(ids) - 1], dtype=np.float64)


def main():
    llm = Llama(model_path=MODEL, n_ctx=2048, n_threads=2, n_batch=512, logits_all=True, verbose=False)
    vocab = llm.n_vocab()
    out = {"model": MODEL.split("/")[-1], "engine": "llama-cpp-python 0.3.36", "vocab": vocab,
           "prompts": [], "tokenize": []}
    rows = []
    for name, text in PROMPTS:
        ids, logits = last_logits(llm, text)
        logprobs = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
        rows.append(logprobs.astype(np.float32))
        top = np.argsort(-logprobs)[:10]
        greedy, seq = [], list(ids)
        nxt = int(np.argmax(logits))
        for _ in range(32):
            if nxt == 2:  # <|im_end|>
                break
            greedy.append(nxt)
            llm.eval([nxt])
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out["prompts"].append({"name": name, "text": text, "ids": ids,
                               "top": [{"id": int(i), "logprob": float(logprobs[i])} for i in top],
                               "greedy": greedy})
    for text in TOKENIZE:
        out["tokenize"].append({"text": text, "ids": llm.tokenize(text.encode(), add_bos=False, special=True)})
    json.dump(out, open("tests/fixtures/reference.json", "w"), indent=1, ensure_ascii=False)
    with open("tests/fixtures/reference_logprobs.bin", "wb") as f:
        for r in rows:
            f.write(struct.pack(f"<{vocab}f", *r.tolist()))
    print(f"wrote {len(PROMPTS)} prompts and {len(TOKENIZE)} tokenizer cases")


if __name__ == "__main__":
    main()
