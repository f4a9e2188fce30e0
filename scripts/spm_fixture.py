#!/usr/bin/env python3
"""Makes tests/fixtures/gemma3_ids.json: llama.cpp's token ids for varied texts on Gemma 3's
SentencePiece-style vocabulary, the reference for tests/spm.rs (run once; output is committed).

Needs llama-cpp-python 0.3.36 (`make setup-llama-cpp`) and the model from `make gemma`. Loads
only the vocabulary (vocab_only=True) and, for each text, records
  ids:     llama_tokenize(text, add_special=False, parse_special=True), what limbic's
           `Tokenizer::encode` means (control and user-defined tokens written in the text become
           their ids, no BOS);
  decoded: llama_detokenize(ids, remove_special=False, unparse_special=True), what limbic's
           `Tokenizer::decode` means (control tokens written out as text).
"""
import ctypes
import json
import sys

import llama_cpp
from llama_cpp import Llama

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/gemma-3-270m.Q4_K_M.gguf"
OUT = "tests/fixtures/gemma3_ids.json"

TEXTS = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "She felt a quiet joy when the letter finally arrived, though she could not say why.",
    "Wait... what?! No -- really; (yes) [maybe] {never} \"quoted\" 'single' `tick`",
    "1234567890 3.14159 -42 1e10 2024-06-01 $19.99 100%",
    "one  two   three    four",
    "line one\nline two\n\n\nline five\r\nwindows",
    "\tindented\n\t\ttwice\t\t\tthrice",
    "   leading spaces",
    "trailing spaces   ",
    " ",
    "\n",
    "                                        forty spaces",
    "Café naïve résumé Ångström façade jalapeño",
    "Привет, мир! Γειά σου κόσμε. مرحبا بالعالم. नमस्ते दुनिया",
    "你好，世界！这是一个测试。",
    "こんにちは世界、カタカナとひらがな。",
    "안녕하세요 세계",
    "emoji 😀🎉👍🏽 family 👩‍👩‍👧 flag 🇫🇷 dna 🧬",
    "rare characters with no token: 𠀀 ꙮ 𐍈 and a bell \x07 here",
    "<start_of_turn>user\nHow are you today?<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text after a written BOS<eos>",
    "html: <b>bold</b> <i>it</i> <table><tr><td>x</td></tr></table> <h1>Title</h1>",
    "<unk> <pad> <mask> [multimodal] <start_of_image> <unused0> </s>",
    "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}",
    "def f(a, b=2):\n    return a ** b  # power\n",
    "https://example.com/path?query=1&other=two#frag user@example.org",
    "CamelCaseWords snake_case_words kebab-case-words ALLCAPS",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "It's, we're, they've, I'd, you'll, don't.",
    "Mixed\u00a0non-breaking\u2009thin\u200bzero-width\ufeffbom",
    "a\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nb",
    "nested <start_of_turn><start_of_turn> and half-written <start_of_tur and <end_of_turn",
]


def detokenize(vocab, ids):
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 16 * len(ids)
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, True)
    assert 0 <= n <= size, n
    return buf.raw[:n].decode("utf-8")


def main():
    llm = Llama(model_path=MODEL, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    cases = []
    for text in TEXTS:
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        cases.append({"text": text, "ids": ids, "decoded": detokenize(vocab, ids)})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"model": MODEL.split("/")[-1], "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
