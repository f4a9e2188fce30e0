//! The full 8192-token context: rotary tables and the growing KV cache past 4096 positions
//! (candle's own quantized_llama stops at 4096), checked at the op level so the test stays fast.

mod common;

use limbic::backend::{cpu::Cpu, Backend};
use limbic::Config;

/// SmolLM2-135M's shape, one layer.
fn config() -> Config {
    common::llama_config(1, 576, (9, 3), 1536, 100_000.0, (8192, 10))
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn rope_is_defined_up_to_the_last_position() {
    let c = config();
    let be = Cpu::new(&c).unwrap();
    let x = values(2 * 64, 1);
    let y = be
        .read(
            &be.rope(&be.tensor(&x, 2, 64).unwrap(), 1, 8190, false)
                .unwrap(),
        )
        .unwrap();
    for t in 0..2 {
        let pos = (8190 + t) as f64;
        for i in 0..32 {
            let freq = 1.0 / (100_000f64).powf(2.0 * i as f64 / 64.0);
            let (s, co) = (pos * freq).sin_cos();
            let (a, b) = (x[t * 64 + 2 * i] as f64, x[t * 64 + 2 * i + 1] as f64);
            let want = [a * co - b * s, a * s + b * co];
            for (k, w) in want.iter().enumerate() {
                let got = y[t * 64 + 2 * i + k] as f64;
                assert!((got - w).abs() < 2e-3, "pos {pos} pair {i}: {got} vs {w}");
            }
        }
    }
    assert!(
        be.rope(&be.tensor(&x, 2, 64).unwrap(), 1, 8191, false)
            .is_err(),
        "rope ran past the context"
    );
}

#[test]
fn attention_reads_a_cache_longer_than_4096_positions() {
    let c = config();
    let be = Cpu::new(&c).unwrap();
    let (kvw, qw) = (c.n_kv_head * c.head_dim, c.n_head * c.head_dim);
    let mut cache = be.cache().unwrap();
    let total = 5000;
    let (ks, vs) = (values(total * kvw, 2), values(total * kvw, 3));
    let mut done = 0;
    while done < total - 1 {
        let t = 512.min(total - 1 - done);
        let q = be.tensor(&values(t * qw, done as u64), t, qw).unwrap();
        let k = be
            .tensor(&ks[done * kvw..(done + t) * kvw], t, kvw)
            .unwrap();
        let v = be
            .tensor(&vs[done * kvw..(done + t) * kvw], t, kvw)
            .unwrap();
        be.attention(&q, &k, &v, &mut cache, None).unwrap();
        done += t;
    }
    let q = values(qw, 9);
    let last = total - 1;
    let got = be
        .read(
            &be.attention(
                &be.tensor(&q, 1, qw).unwrap(),
                &be.tensor(&ks[last * kvw..], 1, kvw).unwrap(),
                &be.tensor(&vs[last * kvw..], 1, kvw).unwrap(),
                &mut cache,
                None,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(be.cache_len(&cache), total);
    // Naive attention of the last query over all 5000 keys, head h using kv head h / 3.
    let hd = c.head_dim;
    let mut worst = 0.0f64;
    for h in 0..c.n_head {
        let g = h / (c.n_head / c.n_kv_head);
        let scores: Vec<f64> = (0..total)
            .map(|j| {
                (0..hd)
                    .map(|i| q[h * hd + i] as f64 * ks[j * kvw + g * hd + i] as f64)
                    .sum::<f64>()
                    / (hd as f64).sqrt()
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::MIN, f64::max);
        let w: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let z: f64 = w.iter().sum();
        for i in 0..hd {
            let want: f64 = (0..total)
                .map(|j| w[j] / z * vs[j * kvw + g * hd + i] as f64)
                .sum();
            worst = worst.max((want - got[h * hd + i] as f64).abs());
        }
    }
    assert!(
        worst < 1e-4,
        "attention over 5000 cached positions is off by {worst}"
    );
}
