#!/usr/bin/env python3
"""A GGUF file of the same shape as a model, for timing it where the model cannot go.

The device machine that times the GPU takes 64 MiB; SmolLM2's file is 98 MB. So:

    python3 scripts/same_shape.py skeleton models/SmolLM2-135M-Instruct.Q4_1.gguf skel.bin
    # ... carry skel.bin (~2 MB: the header, tokenizer and f32/f16 tensors) ...
    python3 scripts/same_shape.py fill skel.bin same-shape.gguf

`fill` writes the header and the f32/f16 tensors back as they were and every quantized
tensor as valid blocks of the same type (fixed scales, random quants): the same shapes,
types and work, but the text it writes is noise. Only Q4_1 and Q8_0 are filled (SmolLM2's).
"""

import random
import struct
import sys

# ggml types: (block bytes, values a block) and a block's fixed header.
F32, F16, Q4_1, Q8_0 = 0, 1, 3, 8
BLOCK = {F32: (4, 1), F16: (2, 1), Q4_1: (20, 32), Q8_0: (34, 32)}
# Q4_1: f16 d = 0.0043, f16 m = -8 d (weights ~ ±0.03); Q8_0: f16 d = 0.0003.
HEAD = {Q4_1: struct.pack("<ee", 0.0043, -8 * 0.0043), Q8_0: struct.pack("<e", 0.0003)}
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return v[0]

    def string(self):
        n = self.take("Q")
        self.at += n
        return self.data[self.at - n:self.at].decode("utf-8", "replace")

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            inner, n = self.take("I"), self.take("Q")
            return [self.value(inner) for _ in range(n)]
        return self.take(SCALAR[kind])


def header(data):
    """(tensors as (offset, type, values), where the data starts)."""
    r = Reader(data)
    if data[:4] != b"GGUF":
        sys.exit("not a GGUF file")
    r.at = 8
    n_tensors, n_kv = r.take("Q"), r.take("Q")
    align = 32
    for _ in range(n_kv):
        key = r.string()
        v = r.value(r.take("I"))
        if key == "general.alignment":
            align = v
    tensors = []
    for _ in range(n_tensors):
        r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        kind, offset = r.take("I"), r.take("Q")
        if kind not in BLOCK:
            sys.exit(f"type {kind} is not one this script fills")
        n = 1
        for d in dims:
            n *= d
        tensors.append((offset, kind, n))
    start = (r.at + align - 1) // align * align
    return sorted(tensors), start


def size(kind, n):
    block, per = BLOCK[kind]
    return n // per * block


def skeleton(src, out):
    data = open(src, "rb").read()
    tensors, start = header(data)
    with open(out, "wb") as f:
        f.write(data[:start])
        for offset, kind, n in tensors:
            if kind in (F32, F16):
                f.write(data[start + offset:start + offset + size(kind, n)])


def fill(src, out):
    skel = open(src, "rb").read()
    tensors, start = header(skel)
    rng = random.Random(0)
    kept = start
    with open(out, "wb") as f:
        f.write(skel[:start])
        for offset, kind, n in tensors:
            f.write(b"\0" * (start + offset - f.tell()))
            nbytes = size(kind, n)
            if kind in (F32, F16):
                f.write(skel[kept:kept + nbytes])
                kept += nbytes
                continue
            blocks = bytearray(rng.randbytes(nbytes))
            block = BLOCK[kind][0]
            for i, byte in enumerate(HEAD[kind]):
                blocks[i::block] = bytes([byte]) * (nbytes // block)
            f.write(blocks)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("skeleton", "fill"):
        sys.exit(__doc__)
    {"skeleton": skeleton, "fill": fill}[sys.argv[1]](sys.argv[2], sys.argv[3])
