//! limbic: SmolLM2-135M-Instruct in Rust, with hook points in the residual stream for
//! reading and steering emotion representations; native CLI and WebAssembly.
//!
//! Modules: [`gguf`] reads the model file, [`tokenizer`] turns text into ids, [`chat`] writes
//! conversations in the model's chat format, [`model`] holds the forward loop, [`hooks`] what
//! happens at its hook sites, [`backend`] the ops it runs on (CPU, and WebGPU with the `gpu`
//! feature, chosen at run time), [`session`] generation (the one step loop, greedy GPU passes
//! recorded ahead, the GPU's fall back to the CPU; [`generation`] a reply under way), [`sampler`] the choice of each token, [`error`] the one error type, [`io`]
//! files and hashes, [`numerics`] dot and log-softmax; [`emotions`] the emotion vectors and their
//! file, [`steer`] the steering maths, [`make`] vectors made from new texts, [`control_vector`]
//! llama.cpp control vectors, [`readout`] the per-token readout (smoothing, intensity),
//! [`corpus`] the story corpus, [`extract`] the method's maths, [`calibrate`] runs the model over
//! the corpus and [`crossval`] makes every choice by cross-validation (native only).

pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod calibrate;
pub mod chat;
pub mod control_vector;
pub mod corpus;
#[cfg(not(target_arch = "wasm32"))]
pub mod crossval;
pub mod emotions;
pub mod error;
pub mod extract;
pub mod generation;
pub mod gguf;
pub mod hooks;
pub mod io;
pub mod make;
pub mod model;
pub mod numerics;
pub mod readout;
pub mod sampler;
pub mod session;
pub mod steer;
pub mod tokenizer;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use backend::cpu::Cpu;
pub use backend::AnyBackend;
pub use error::{Error, Result};
pub use gguf::{Config, Header, ModelFile};
pub use hooks::{Captures, HookPoint, HookSet, Intervention};
pub use sampler::Sampler;
pub use session::{Generation, Session, Step};

/// Where `make model` puts the model file.
pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Where the emotion vectors live once extracted.
pub const DEFAULT_VECTORS: &str = "data/vectors/smollm2-135m-instruct.safetensors";
