//! Other families' blocks on the WebGPU backend against the CPU's ops (natively on lavapipe
//! without a GPU): what the GPU runs of them goes op by op, the fused kernels being llama's.

mod common;
use common::*;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use limbic::backend::gpu::Gpu;
use limbic::backend::{Backend, Block, QWeight};
use limbic::{Config, Cpu};

fn qweight(rows: usize, cols: usize, dtype: GgmlDType, seed: u64) -> QWeight {
    let t = Tensor::from_vec(rand(rows * cols, seed, 0.5), (rows, cols), &Device::Cpu).unwrap();
    limbic::gguf::qweight(&QTensor::quantize(&t, dtype).unwrap()).unwrap()
}

/// qwen2's block (q/k/v biases, NEOX rope) on 64-wide heads, as Qwen2.5 0.5B has them: the GPU
/// runs it op by op (the fused kernels are llama's) and matches the CPU's ops, over a 5-token
/// prompt and two single tokens.
#[test]
fn a_qwen2_block_with_biases_and_neox_rope_matches_the_cpu() {
    let c = Config {
        arch: "qwen2".into(),
        qkv_bias: true,
        rope_neox: true,
        ..llama_config(2, 160, (6, 2), 224, 10000.0, (64, 50))
    };
    c.check_gpu_runnable().unwrap();
    let (cpu, gpu) = (
        Cpu::new(&c).unwrap(),
        Gpu::new(&c).expect("a WebGPU adapter"),
    );
    let (d, ff, q, kv) = (c.d_model, c.d_ff, c.n_head * 64, c.n_kv_head * 64);
    let shapes = [(q, d), (kv, d), (kv, d), (d, q), (ff, d), (ff, d), (d, ff)];
    let w: Vec<QWeight> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(r, k))| qweight(r, k, GgmlDType::Q4_1, 60 + i as u64))
        .collect();
    let vectors = [d, d, q, kv, kv].map(|n| rand(n, n as u64, 1.0));
    fn held<B: Backend>(be: &B, w: &[QWeight], v: &[Vec<f32>]) -> (Vec<B::Matrix>, Vec<B::Tensor>) {
        let m = w.iter().map(|w| be.matrix(w.clone()).unwrap()).collect();
        let t = v
            .iter()
            .map(|v| be.tensor(v, 1, v.len()).unwrap())
            .collect();
        (m, t)
    }
    fn block<'a, B: Backend>(h: &'a (Vec<B::Matrix>, Vec<B::Tensor>)) -> Block<'a, B> {
        let (m, t) = h;
        Block {
            attn_norm: &t[0],
            ffn_norm: &t[1],
            wq: &m[0],
            wk: &m[1],
            wv: &m[2],
            wo: &m[3],
            w_gate: &m[4],
            w_up: &m[5],
            w_down: &m[6],
            qkv_bias: Some([&t[2], &t[3], &t[4]]),
            qk_norm: None,
            post_norms: None,
            layer: 0,
        }
    }
    let (hc, hg) = (held(&cpu, &w, &vectors), held(&gpu, &w, &vectors));
    let (mut cc, mut cg) = (cpu.cache().unwrap(), gpu.cache().unwrap());
    for (pos, t) in [(0, 5), (5, 1), (6, 1)] {
        let x = rand(t * d, 200 + pos as u64, 3.0);
        let want = cpu
            .block(
                &cpu.tensor(&x, t, d).unwrap(),
                &block(&hc),
                &mut cc,
                &c,
                pos,
            )
            .unwrap();
        let got = gpu
            .block(
                &gpu.tensor(&x, t, d).unwrap(),
                &block(&hg),
                &mut cg,
                &c,
                pos,
            )
            .unwrap();
        let what = format!("qwen2 block at {pos}..{}", pos + t);
        close(
            &what,
            &gpu.read(&got).unwrap(),
            &cpu.read(&want).unwrap(),
            2e-2,
        );
    }
}
