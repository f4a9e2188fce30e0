#!/usr/bin/env python3
"""Writes the tiny random-weight models of other shapes and families, and llama.cpp's answers on
them, that tests/tiny_models.rs holds limbic to (`make tiny-models`; run once, committed).

Each model is written with the `gguf` package in the layout llama.cpp's converter writes for its
family, with f32 weights (so both engines compute the same f32 maths and any gap is a
difference in what is computed, not in rounding):

- tests/fixtures/tiny_qwen2.gguf: `qwen2` (Qwen2.5's family): q/k/v biases, NEOX rope (the
  halves of each head rotate together, as llama.cpp runs qwen2), GQA 2:1, head width 16, tied
  output, `tokenizer.ggml.pre = "qwen2"`, ChatML chat template.
- tests/fixtures/tiny_llama.gguf: `llama` with a separate output matrix, GQA 4:1, head width 32,
  rope base 500000 (Llama 3's), `tokenizer.ggml.pre = "smollm"`.
- tests/fixtures/tiny_llama3.gguf: `llama` as Llama 3.x files are: `tokenizer.ggml.pre =
  "llama-bpe"` (its split, whole-word vocabulary hits before merges, BOS first since the file
  does not say otherwise) and rope frequency factors (`rope_freqs.weight`).

- tests/fixtures/tiny_gemma3.gguf: `gemma3` (Gemma 3's family): the embedding scaled by √d,
  per-head q/k norms, norms of the attention's and FFN's outputs, GELU, heads 32 wide over a
  width of 64 (its key length, not d / heads), GQA 4:1, six layers of which the first five attend
  through a sliding window of 4 positions with rope base 10,000 and the sixth to all with the
  file's base; a SentencePiece-style vocabulary (`tokenizer.ggml.model = "llama"`, scores, 256
  byte tokens for what no piece covers, a user-defined token), BOS first, no space prefix.

The others share a byte-level BPE vocabulary: the 256 byte symbols, merges learned from a short text
"- t" and "1 2", and "Ġzebra" (a word only a whole-word lookup finds), so that merging and the
pre-tokenizers' splits matter; and three control tokens. For each
parity text llama.cpp (llama-cpp-python 0.3.36) gives the token ids and the last position's
logits: tests/fixtures/tiny_models.json.
"""
import json
import pathlib
from collections import Counter

import gguf
import numpy as np
from llama_cpp import Llama

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TEXTS = [
    "The cat sat on the mat. It's 2024!",
    "Hello world, hello there.\n\nWe're testing 123 tokens.",
    "  spaces   and\ttabs, don't they?",
    # Where the two pre-tokenizers part: qwen2 lets one non-letter lead a word ("-t" merges) and
    # reads contractions in either case; smollm splits the hyphen off.
    "A well-timed, well-told tale; IT'S 12 o'clock\n\n\nok!!\n",
    "Zebra 12345 zebra!",
]
# Gemma's also: a user-defined token in the text, cut out before the pieces are merged.
GEMMA_TEXTS = TEXTS + ["so <b>the</b> world said <b>"]
SAMPLE = ("the cat sat on the mat and the dog sat on the log while the world said hello there "
          "we are testing tokens and tabs and spaces that they do not like at the end of the day")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2's chat format (ChatML), with its default system turn.
CHATML = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
          "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
          "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def byte_symbols():
    """GPT-2's byte → printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def learn_merges(n):
    """`n` BPE merges learned from SAMPLE's words (a leading space as "Ġ", GPT-2's way)."""
    words = Counter(("Ġ" + w) if i else w for i, w in enumerate(SAMPLE.split()))
    split = {w: list(w) for w in words}
    merges = []
    for _ in range(n):
        pairs = Counter()
        for w, c in words.items():
            s = split[w]
            for a, b in zip(s, s[1:]):
                pairs[a, b] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(f"{a} {b}")
        for w in words:
            split[w] = merged(split[w], a, b)
    return merges


def merged(symbols, a, b):
    """`symbols` with each adjacent `a`, `b` joined, left to right."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def vocab():
    merges = learn_merges(60) + ["- t", "1 2"]
    tokens = byte_symbols() + [m.replace(" ", "") for m in merges] + ["Ġzebra"] + SPECIALS
    types = [1] * (len(tokens) - len(SPECIALS)) + [3] * len(SPECIALS)
    return tokens, types, merges


def spm_vocab():
    """Gemma's layout in small: control tokens, the unknown token, 256 byte tokens, then pieces
    ("▁" for a space) with scores: merges learned from SAMPLE score by their order (the first
    learned highest), single characters lowest; digits, capitals and most punctuation are left to
    the byte tokens. One user-defined token, "<b>"."""
    words = ["▁" + w for w in SAMPLE.split()]
    chars = sorted(set("".join(words)) | set(".,'"))
    split = [list(w) for w in words]
    pieces = []
    for _ in range(80):
        pairs = Counter((a, b) for s in split for a, b in zip(s, s[1:]))
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        pieces.append(a + b)
        split = [merged(s, a, b) for s in split]
    head = [("<pad>", 3), ("<eos>", 3), ("<bos>", 3), ("<unk>", 2), ("<start_of_turn>", 3), ("<end_of_turn>", 3)]
    tokens = [t for t, _ in head] + [f"<0x{b:02X}>" for b in range(256)] + pieces + chars + ["<b>"]
    types = [t for _, t in head] + [6] * 256 + [1] * (len(pieces) + len(chars)) + [4]
    scores = ([0.0] * (len(head) + 256) + [-float(i) for i in range(len(pieces))]
              + [-1000.0 - i for i in range(len(chars))] + [0.0])
    return tokens, types, scores


def write(path, arch, *, d, n_layer, n_head, n_kv, head_dim, d_ff, rope_base, tied, bias, pre, seed,
          add_bos=False, rope_freqs=False, chat=False, window=None):
    rng = np.random.default_rng(seed)
    gemma = arch == "gemma3"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(n_layer)
    w.add_context_length(2048)
    w.add_embedding_length(d)
    w.add_feed_forward_length(d_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(rope_base)
    w.add_layer_norm_rms_eps(1e-6)
    if gemma:
        tokens, types, scores = spm_vocab()
        w.add_sliding_window(window)
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_scores(scores)
        w.add_bos_token_id(2)
        w.add_eos_token_id(1)
        w.add_unk_token_id(3)
        w.add_pad_token_id(0)
        w.add_add_space_prefix(False)
    else:
        tokens, types, merges = vocab()
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(len(tokens) - 3)
        w.add_eos_token_id(len(tokens) - 1)
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    if chat:
        w.add_chat_template(CHATML)

    def mat(rows, cols, scale=None):
        return (rng.standard_normal((rows, cols)) * (scale or cols ** -0.5)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    v = len(tokens)
    w.add_tensor("token_embd.weight", mat(v, d, 1.0))
    if rope_freqs:
        w.add_tensor("rope_freqs.weight", rng.uniform(1.0, 8.0, head_dim // 2).astype(np.float32))
    w.add_tensor("output_norm.weight", norm(d))
    if not tied:
        w.add_tensor("output.weight", mat(v, d))
    q, kv = n_head * head_dim, n_kv * head_dim
    for l in range(n_layer):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", norm(d))
        w.add_tensor(p + "attn_q.weight", mat(q, d))
        w.add_tensor(p + "attn_k.weight", mat(kv, d))
        w.add_tensor(p + "attn_v.weight", mat(kv, d))
        if bias:
            w.add_tensor(p + "attn_q.bias", (0.5 * rng.standard_normal(q)).astype(np.float32))
            w.add_tensor(p + "attn_k.bias", (0.5 * rng.standard_normal(kv)).astype(np.float32))
            w.add_tensor(p + "attn_v.bias", (0.5 * rng.standard_normal(kv)).astype(np.float32))
        if gemma:
            w.add_tensor(p + "attn_q_norm.weight", norm(head_dim))
            w.add_tensor(p + "attn_k_norm.weight", norm(head_dim))
            w.add_tensor(p + "post_attention_norm.weight", norm(d))
            w.add_tensor(p + "post_ffw_norm.weight", norm(d))
        w.add_tensor(p + "attn_output.weight", mat(d, q))
        w.add_tensor(p + "ffn_norm.weight", norm(d))
        w.add_tensor(p + "ffn_gate.weight", mat(d_ff, d))
        w.add_tensor(p + "ffn_up.weight", mat(d_ff, d))
        w.add_tensor(p + "ffn_down.weight", mat(d, d_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def answers(path, texts):
    llm = Llama(model_path=str(path), n_ctx=256, n_threads=2, logits_all=True, verbose=False,
                type_k=0, type_v=0)  # f32 KV cache: the same maths as limbic's
    out = []
    for text in texts:
        ids = llm.tokenize(text.encode(), add_bos=True, special=False)  # BOS where the model wants it
        llm.reset()
        llm.eval(ids)
        out.append({"text": text, "ids": ids, "logits": [round(float(x), 5) for x in llm.scores[len(ids) - 1]]})
    return out


def main():
    models = {
        "tiny_qwen2": dict(arch="qwen2", d=64, n_layer=2, n_head=4, n_kv=2, head_dim=16, d_ff=128,
                           rope_base=1_000_000.0, tied=True, bias=True, pre="qwen2", seed=1, chat=True),
        "tiny_llama": dict(arch="llama", d=128, n_layer=2, n_head=4, n_kv=1, head_dim=32, d_ff=192,
                           rope_base=500_000.0, tied=False, bias=False, pre="smollm", seed=2),
        "tiny_llama3": dict(arch="llama", d=64, n_layer=2, n_head=4, n_kv=2, head_dim=16, d_ff=128,
                            rope_base=500_000.0, tied=True, bias=False, pre="llama-bpe", seed=3,
                            add_bos=None, rope_freqs=True),
        "tiny_gemma3": dict(arch="gemma3", d=64, n_layer=6, n_head=4, n_kv=1, head_dim=32, d_ff=96,
                            rope_base=1_000_000.0, tied=True, bias=False, pre="default", seed=4,
                            add_bos=True, window=4),
    }
    report = {}
    for name, spec in models.items():
        path = OUT / f"{name}.gguf"
        write(path, spec.pop("arch"), **spec)
        report[name] = answers(path, GEMMA_TEXTS if name == "tiny_gemma3" else TEXTS)
        print(f"wrote {path.relative_to(OUT.parent.parent)} ({path.stat().st_size} bytes)")
    (OUT / "tiny_models.json").write_text(json.dumps(report) + "\n")
    print("wrote tests/fixtures/tiny_models.json")


if __name__ == "__main__":
    main()
