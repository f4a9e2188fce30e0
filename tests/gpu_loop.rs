//! The GPU's decode loop: greedy passes recorded ahead on the device's own choices (the
//! embedding reads the id the argmax wrote; the host reads the ids back a few steps behind),
//! against the CPU. Natively on whatever Vulkan adapter there is (lavapipe without a GPU).

mod common;
use common::*;

use limbic::backend::gpu::Gpu;
use limbic::backend::{Backend, GpuCounts};
use limbic::readout::Readout;
use limbic::{Cpu, ModelFile, Sampler, Session};

/// Each step of a greedy reply (its token and readout scores), and the GPU's work over the
/// steps when on the GPU.
fn steps(s: &mut Session, text: &str, max: usize) -> (Vec<(u32, Vec<f32>)>, Option<GpuCounts>) {
    let ids = s.encode_prompt(text);
    s.start_now(ids.unwrap(), &Sampler::default(), max).unwrap();
    let before = s.backend().gpu_counts();
    let mut out = Vec::new();
    while let Some(step) = s.step_now().unwrap() {
        out.push((step.id, s.scores(&step.captures).expect("scores")));
    }
    let work = before
        .zip(s.backend().gpu_counts())
        .map(|(a, b)| GpuCounts {
            dispatches: b.dispatches - a.dispatches,
            copies: b.copies - a.copies,
            submits: b.submits - a.submits,
            readback_bytes: b.readback_bytes - a.readback_bytes,
            submit_ns: b.submit_ns - a.submit_ns,
        });
    (out, work)
}

fn counts(s: &Session) -> GpuCounts {
    s.backend().gpu_counts().expect("on the GPU")
}

#[test]
fn embedding_the_devices_choice_is_embedding_its_id() {
    let cfg = ModelFile::from_bytes(&model_bytes()).unwrap().config;
    let (cpu, gpu) = (Cpu::new(&cfg).unwrap(), Gpu::new(&cfg).unwrap());
    let file = ModelFile::from_bytes(&model_bytes()).unwrap();
    let (table_c, table_g) = (
        cpu.matrix(file.weights.token_embd.clone()).unwrap(),
        gpu.matrix(file.weights.token_embd).unwrap(),
    );
    for seed in [1, 2, 3] {
        let row = rand(cfg.vocab, seed, 3.0);
        let want = cpu.read(
            &cpu.argmax(&cpu.tensor(&row, 1, cfg.vocab).unwrap())
                .unwrap(),
        );
        let id = want.unwrap()[0] as u32;
        let chosen = gpu
            .argmax(&gpu.tensor(&row, 1, cfg.vocab).unwrap())
            .unwrap();
        let got = gpu.read(&gpu.embed_chosen(&table_g, &chosen).unwrap());
        let want = cpu.read(&cpu.embed(&table_c, &[id]).unwrap()).unwrap();
        close(&format!("row of token {id}"), &got.unwrap(), &want, 0.0);
    }
}

#[test]
fn greedy_replies_recorded_ahead_are_the_cpus_and_end_where_they_end() {
    let mut cpu = engine();
    let mut gpu = Session::gpu_native(model_bytes()).expect("load");
    assert_eq!(gpu.backend_name(), "webgpu", "no GPU: {:?}", gpu.fallback);
    let d = cpu.config().d_model;
    let readout = Readout {
        layer: 21,
        basis: rand(171 * d, 5, 0.05),
        offsets: vec![0.0; 171],
    };
    cpu.set_readout(Some(readout.clone())).unwrap();
    gpu.set_readout(Some(readout)).unwrap();
    // "2 + 2 = 4", then the end of the turn; and the golden prompt the GPU follows exactly.
    let short = &cpu
        .tokenizer
        .chat_prompt("What is 2 + 2? Answer with the number only.", None)
        .unwrap();
    let long = fixture("golden.json")[3]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let long = &long;

    // Three ahead by default on a real GPU, none on a CPU emulating one (its submit blocks).
    let want = if gpu.backend().real_gpu() { 3 } else { 0 };
    assert_eq!(gpu.ahead(), want, "{}", gpu.backend().adapter());
    // Where the backend cannot tell (the browser), the page says which it is.
    gpu.set_emulated_gpu(false);
    assert_eq!((gpu.ahead(), gpu.backend().real_gpu()), (3, true));
    gpu.set_emulated_gpu(true);
    assert_eq!((gpu.ahead(), gpu.backend().real_gpu()), (0, false));
    gpu.set_ahead(3);

    // A reply left with passes in flight: the first step records its pass and three ahead.
    let ids = gpu.encode_prompt(long);
    gpu.start_now(ids.unwrap(), &Sampler::default(), 32)
        .unwrap();
    let before = counts(&gpu).submits;
    gpu.step_now().unwrap().expect("a token");
    assert_eq!(counts(&gpu).submits - before, 4, "one pass and three ahead");
    gpu.step_now().unwrap().expect("a token");

    // The long prompt up to its first near tie (token 23: the CPU's best two 0.18 nats apart,
    // where lavapipe's GPU parts; tests/gpu.rs).
    for (text, max) in [(short, 24), (long, 22)] {
        let (want, _) = steps(&mut cpu, text, max);
        gpu.set_ahead(0);
        let (one_by_one, _) = steps(&mut gpu, text, max);
        gpu.set_ahead(3);
        let (got, work) = steps(&mut gpu, text, max);
        let work = work.expect("on the GPU");
        let ids = |v: &[(u32, Vec<f32>)]| v.iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{text:?}: the CPU's tokens");
        // The same kernels on the same inputs: recording ahead changes no bit of any score.
        assert_eq!(
            got, one_by_one,
            "{text:?}: as when each token is read first"
        );
        // Passes recorded past the end of the reply are forgotten: the cache holds the reply.
        assert_eq!(gpu.model().pos(), gpu.ids().len(), "{text:?}");
        if text == short {
            assert!(want.len() < max, "the short reply ends by itself");
        } else {
            // One submission and the id and 171 scores read back per step.
            assert_eq!(want.len(), max);
            assert_eq!(work.submits, max as u64);
            assert_eq!(work.readback_bytes, (max * (4 + 171 * 4)) as u64);
        }
    }
}
