//! Choosing tokens on the GPU: draws at a temperature (Gumbel-max), top-p and the repeat
//! penalty made where the logits are, so only the id comes back. Natively on whatever Vulkan
//! adapter there is (lavapipe without a GPU).

mod common;
use common::*;

use limbic::backend::gpu::Gpu;
use limbic::backend::{Backend, GpuCounts};
use limbic::sampler::Gumbel;
use limbic::{ModelFile, Sampler, Session};

fn counts(s: &Session) -> GpuCounts {
    s.backend().gpu_counts().expect("on the GPU")
}

/// A reply of up to `max` tokens to `prompt` under `sampler`: its ids, and the bytes read back
/// while it was generated.
fn generate(s: &mut Session, prompt: &str, sampler: &Sampler, max: usize) -> (Vec<u32>, u64) {
    s.start_now(s.encode_prompt(prompt).unwrap(), sampler, max)
        .unwrap();
    let before = counts(s);
    let mut ids = Vec::new();
    while let Some(step) = s.step_now().unwrap() {
        ids.push(step.id);
    }
    (ids, counts(s).readback_bytes - before.readback_bytes)
}

/// Checks draw frequencies `seen` (of `n`) against probabilities `p`, within 4 standard errors.
fn frequencies_match(seen: &[usize], p: &[f64], n: usize) {
    for (k, (&count, &pk)) in seen.iter().zip(p).enumerate() {
        let got = count as f64 / n as f64;
        let se = (pk * (1.0 - pk) / n as f64).sqrt();
        assert!(
            (got - pk).abs() <= 4.0 * se + 1e-9,
            "token {k}: {got:.3} drawn, p {pk:.3}"
        );
    }
}

#[test]
fn the_device_draws_from_the_softmax_at_its_temperature() {
    let cfg = ModelFile::from_bytes(&model_bytes()).unwrap().config;
    let gpu = Gpu::new(&cfg).unwrap();
    let logits = [1.0f32, 0.5, -0.3, 2.0, f32::NAN, 0.0];
    let x = gpu.tensor(&logits, 1, logits.len()).unwrap();
    let t = 0.8f32;
    let draw = |seed: u64, counter: u32| {
        let g = Gumbel {
            counter,
            ..Gumbel::new(t, seed)
        };
        gpu.read(&gpu.sample(&x, None, g).unwrap()).unwrap()[0] as usize
    };
    // The same seed and counter, the same draw; a NaN logit is never drawn.
    assert_eq!(draw(7, 3), draw(7, 3));
    let n = 3000;
    let mut seen = [0usize; 6];
    for c in 0..n {
        seen[draw(42, c)] += 1;
    }
    assert_eq!(seen[4], 0, "NaN drawn");
    // The frequencies are softmax(logits / t)'s, within 4 standard errors.
    let w: Vec<f64> = logits
        .iter()
        .map(|l| {
            if l.is_nan() {
                0.0
            } else {
                ((l / t) as f64).exp()
            }
        })
        .collect();
    let sum: f64 = w.iter().sum();
    let p: Vec<f64> = w.iter().map(|wk| wk / sum).collect();
    frequencies_match(&seen, &p, n as usize);
    // Another seed, another stream.
    assert_ne!(
        (0..32).map(|c| draw(42, c)).collect::<Vec<_>>(),
        (0..32).map(|c| draw(43, c)).collect::<Vec<_>>()
    );
}

#[test]
fn a_sampled_reply_is_drawn_on_the_device_the_same_on_every_run() {
    let plain = Sampler {
        temperature: 0.9,
        ..Sampler::default()
    };
    let top_p = Sampler {
        temperature: 0.8,
        top_p: 0.9,
        repeat_penalty: 1.2,
        ..Sampler::default()
    };
    for sampler in [plain, top_p] {
        let mut gpu = Session::gpu_native(model_bytes()).expect("load");
        assert_eq!(gpu.backend_name(), "webgpu", "no GPU: {:?}", gpu.fallback);
        let reply = |s: &mut Session, seed: u64| {
            let sampler = Sampler {
                seed,
                ..sampler.clone()
            };
            generate(s, "Once upon a time", &sampler, 16)
        };
        let (a, bytes) = reply(&mut gpu, 7);
        assert_eq!(a.len(), 16);
        assert_eq!(
            reply(&mut gpu, 7).0,
            a,
            "{sampler:?}: the same seed drew another reply"
        );
        assert_ne!(
            reply(&mut gpu, 8).0,
            a,
            "{sampler:?}: another seed drew the same reply"
        );
        // Passes recorded ahead on the device's own draws: the same reply (a draw's randomness
        // is its position's, whenever it is recorded; the recent tokens travel with the draws).
        gpu.set_ahead(3);
        assert_eq!(
            reply(&mut gpu, 7).0,
            a,
            "{sampler:?}: recording ahead changed the draws"
        );
        // Only the ids came back (4 bytes a token), never the 49,152 logits.
        assert!(
            bytes <= 16 * 4,
            "{sampler:?}: {bytes} bytes read back for 16 tokens"
        );
    }
}

#[test]
fn the_device_draws_from_the_nucleus_after_the_repeat_penalty() {
    let cfg = ModelFile::from_bytes(&model_bytes()).unwrap().config;
    let gpu = Gpu::new(&cfg).unwrap();
    let logits = [1.0f32, 0.5, -0.3, 2.0, f32::NAN, 0.0, -1.0, 1.6];
    let x = gpu.tensor(&logits, 1, logits.len()).unwrap();
    // The last four tokens read were 3, 2, 3, 7 (positions 10..=13): 3 once penalised.
    let g = Gumbel {
        counter: 13,
        top_p: 0.8,
        penalty: 1.5,
        last_n: 4,
        ..Gumbel::new(0.8, 42)
    };
    let mut history = vec![5u32; 10];
    history.extend([3, 2, 3, 7]);
    let slots = g.recent(&history).unwrap();
    let recent = gpu.tensor(&slots, 1, slots.len()).unwrap();
    let draw = |g: Gumbel| {
        let y = gpu.sample(&x, Some(&recent), g).unwrap();
        gpu.read(&y).unwrap()[0] as usize
    };
    // The CPU's arithmetic: the penalty, softmax(z / t), then the nucleus as candle keeps it
    // (the most likely first, while the mass kept is below top-p).
    let z: Vec<f64> = logits
        .iter()
        .enumerate()
        .map(|(k, &l)| {
            let l = if [3, 2, 7].contains(&k) {
                if l >= 0.0 {
                    l / 1.5
                } else {
                    l * 1.5
                }
            } else {
                l
            };
            l as f64 / 0.8
        })
        .collect();
    let w: Vec<f64> = z
        .iter()
        .map(|v| if v.is_nan() { 0.0 } else { v.exp() })
        .collect();
    let sum: f64 = w.iter().sum();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    let (mut kept, mut mass) = (vec![0.0; w.len()], 0.0);
    for &k in &order {
        if mass < 0.8 {
            kept[k] = w[k] / sum;
            mass += w[k] / sum;
        }
    }
    let p: Vec<f64> = kept.iter().map(|k| k / mass).collect();
    let n = 3000;
    let mut seen = vec![0usize; w.len()];
    for c in 0..n {
        seen[draw(Gumbel {
            seed: c as u64,
            ..g
        })] += 1;
    }
    for (k, &pk) in p.iter().enumerate() {
        if pk == 0.0 {
            assert_eq!(seen[k], 0, "token {k} is outside the nucleus but was drawn");
        }
    }
    assert!(
        p.iter().filter(|&&pk| pk > 0.0).count() >= 3,
        "a nucleus of one"
    );
    frequencies_match(&seen, &p, n);
    // Greedy after a penalty of 2.5: 2.0 / 2.5 < 1.0, so token 0 wins, as on the CPU.
    let greedy = draw(Gumbel {
        temperature: 0.0,
        penalty: 2.5,
        ..g
    });
    let mut cpu = Sampler {
        repeat_penalty: 2.5,
        repeat_last_n: 4,
        ..Sampler::default()
    }
    .choice();
    assert_eq!(greedy as u32, cpu.next(logits.to_vec(), &history).unwrap());
    assert_eq!(greedy, 0);
}

#[test]
fn greedy_with_a_repeat_penalty_chooses_on_the_device_as_the_host_would() {
    let mut gpu = Session::gpu_native(model_bytes()).expect("load");
    let reply = |s: &mut Session, last_n: usize| {
        let sampler = Sampler {
            repeat_penalty: 1.3,
            repeat_last_n: last_n,
            ..Sampler::default()
        };
        generate(s, "Say one word three times.", &sampler, 24)
    };
    // A window of 64 the device keeps; one of 300 (longer than it keeps) is the host's, on
    // the same GPU's logits. Both windows hold the whole conversation here.
    let (device, bytes) = reply(&mut gpu, 64);
    let (host, host_bytes) = reply(&mut gpu, 300);
    assert!(gpu.ids().len() < 64, "the windows differ");
    assert_eq!(device, host, "the device's penalty chose other tokens");
    assert!(bytes <= 24 * 4, "{bytes} bytes read back on the device");
    assert!(
        host_bytes > 24 * 4 * 1000,
        "the host path read back {host_bytes} bytes"
    );
    gpu.set_ahead(3);
    assert_eq!(
        reply(&mut gpu, 64).0,
        device,
        "recording ahead changed the choices"
    );
}
