//! Our Q4_1 kernel: SIMD equals the scalar reference bit for bit; the quantized product is
//! within a stated tolerance of dequantize + f32 matmul on the model's own weights.

mod common;

use candle_core::quantized::gguf_file::Content;
use candle_core::Device;
use limbic::backend::quant::{simd, QMatrix, Q8};

/// Deterministic pseudo-random bytes.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

#[test]
fn simd_block_dot_equals_the_scalar_reference() {
    for seed in 0..2000u64 {
        let w = bytes(16, seed);
        let mut x: Vec<i8> = bytes(32, seed + 7)
            .iter()
            .map(|&b| (b as i8).max(-127))
            .collect();
        if seed % 10 == 0 {
            // Extremes: every nibble 15 against ±127.
            let w = vec![0xFFu8; 16];
            x.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = if i % 2 == 0 { 127 } else { -127 });
            assert_eq!(simd::dot_q4(&w, &x), simd::dot_q4_scalar(&w, &x));
        }
        assert_eq!(
            simd::dot_q4(&w, &x),
            simd::dot_q4_scalar(&w, &x),
            "seed {seed}"
        );
    }
}

#[test]
fn q4_1_product_matches_dequantized_f32_and_the_reference_bit_for_bit() {
    let bytes = common::model_bytes();
    let mut cur = std::io::Cursor::new(&bytes);
    let content = Content::read(&mut cur).unwrap();
    for name in ["blk.3.attn_k.weight", "blk.17.ffn_down.weight"] {
        let qt = content.tensor(&mut cur, name, &Device::Cpu).unwrap();
        let q = QMatrix::new(&qt).unwrap().expect("Q4_1");
        let exact_w: Vec<f32> = qt
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for t in [1usize, 3] {
            // Irregular activations with a few large entries, as residual streams have.
            let x: Vec<f32> = (0..t * q.cols)
                .map(|i| {
                    ((i * 7919 % 1013) as f32 / 506.0 - 1.0) * if i % 97 == 0 { 6.0 } else { 1.0 }
                })
                .collect();
            let got = q.matmul(&x, t);
            assert_eq!(got.len(), t * q.rows);
            let (mut worst, mut worst_at) = (0.0f64, 0);
            for ti in 0..t {
                let xr = &x[ti * q.cols..(ti + 1) * q.cols];
                let xq = Q8::new(xr);
                let norm: f64 = xr.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                for r in 0..q.rows {
                    let i = ti * q.rows + r;
                    assert_eq!(
                        got[i].to_bits(),
                        q.dot_row_reference(r, &xq).to_bits(),
                        "{name} t {ti} row {r}"
                    );
                    let w = &exact_w[r * q.cols..(r + 1) * q.cols];
                    let want: f64 = w.iter().zip(xr).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let wn: f64 = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                    // Activation quantization error, relative to |w|·|x| (Cauchy–Schwarz scale).
                    let e = (got[i] as f64 - want).abs() / (wn * norm);
                    if e > worst {
                        (worst, worst_at) = (e, i);
                    }
                }
            }
            assert!(
                worst < 5e-3,
                "{name} T={t}: worst relative error {worst:.2e} at index {worst_at}"
            );
        }
        assert_eq!(
            q.dequantize_row(5),
            exact_w[5 * q.cols..6 * q.cols].to_vec()
        );
    }
}
