#!/usr/bin/env python3
"""Writes the control-vector fixtures that tests/control_vector.rs imports (run once; committed).

Each file is written with the `gguf` package in the exact layout of one producer:

- tests/fixtures/cvec_generator.gguf: llama.cpp's cvector-generator (tools/cvector-generator,
  `export_gguf`): general.architecture "controlvector", controlvector.model_hint = the model's
  general.architecture ("llama"), controlvector.layer_count as an i32 = n_layer - 1, then
  direction.1 … direction.{n_layer-1} in ascending order, unit f32 vectors of n_embd.
- tests/fixtures/cvec_repeng.gguf: repeng's `ControlVector.export_gguf`: the same architecture,
  model_hint = the Hugging Face model_type ("llama" for SmolLM2), layer_count as a u32 = the
  number of directions, and its default layers range(-1, -n_layer, -1) written in that order
  (direction.{n_layer-1} down to direction.1).
- tests/fixtures/cvec_wrong_embd.gguf: cvector-generator's layout for a model with another
  embedding size (960, SmolLM2-360M's), four layers.
- tests/fixtures/cvec_wrong_layers.gguf: cvector-generator's layout for a model of 32 layers with
  this model's embedding size: direction.30 and direction.31 do not exist in a 30-layer model.

The values are closed-form so that the Rust test recomputes them: direction.{l}[i] ∝
sin(a·(i+1) + b·l), scaled to unit length in f64 and stored as f32; (a, b) = (0.37, 1.3) for
the cvector-generator file, (0.23, 0.7) for repeng's.
"""
import pathlib

import gguf
import numpy as np

N_LAYER, N_EMBD = 30, 576
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def direction(layer, n_embd, a, b):
    v = np.sin(a * np.arange(1, n_embd + 1, dtype=np.float64) + b * layer)
    return (v / np.linalg.norm(v)).astype(np.float32)


def cvector_generator(path, n_layer, n_embd):
    w = gguf.GGUFWriter(str(path), "controlvector")
    w.add_string("controlvector.model_hint", "llama")
    w.add_int32("controlvector.layer_count", n_layer - 1)
    for layer in range(1, n_layer):
        w.add_tensor(f"direction.{layer}", direction(layer, n_embd, 0.37, 1.3))
    finish(w)


def repeng(path, n_layer, n_embd):
    w = gguf.GGUFWriter(str(path), "controlvector")
    layers = [n_layer + i for i in range(-1, -n_layer, -1)]
    w.add_string("controlvector.model_hint", "llama")
    w.add_uint32("controlvector.layer_count", len(layers))
    for layer in layers:
        w.add_tensor(f"direction.{layer}", direction(layer, n_embd, 0.23, 0.7))
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cvector_generator(OUT / "cvec_generator.gguf", N_LAYER, N_EMBD)
    repeng(OUT / "cvec_repeng.gguf", N_LAYER, N_EMBD)
    cvector_generator(OUT / "cvec_wrong_embd.gguf", 5, 960)
    cvector_generator(OUT / "cvec_wrong_layers.gguf", 32, N_EMBD)
    for name in ["cvec_generator", "cvec_repeng", "cvec_wrong_embd", "cvec_wrong_layers"]:
        p = OUT / f"{name}.gguf"
        print(f"wrote {p.relative_to(OUT.parent.parent)} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
