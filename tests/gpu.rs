//! The WebGPU backend against the CPU backend: each kernel on seeded irregular shapes (T = 1
//! and T > 1, widths that are not powers of two), then the whole model (every layer, logits,
//! steering and readout; greedy replies in gpu_loop.rs) and the CPU fallback. Natively this runs on
//! whatever Vulkan adapter there is — Mesa's lavapipe (a CPU) on a machine without a GPU.

mod common;
use common::*;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use limbic::backend::gpu::kernels::SOURCES;
use limbic::backend::gpu::Gpu;
use limbic::backend::{Backend, QWeight};
use limbic::{Config, Cpu, HookPoint, HookSet, Intervention, Sampler, Session};

/// A small llama-shaped config: 6 query heads over 2 kv heads of width 64.
fn config() -> Config {
    llama_config(2, 160, (6, 2), 224, 10000.0, (64, 50))
}

fn backends() -> (Cpu, Gpu) {
    let gpu = Gpu::new(&config()).expect("a WebGPU adapter (lavapipe natively)");
    (Cpu::new(&config()).unwrap(), gpu)
}

fn qtensor(rows: usize, cols: usize, dtype: GgmlDType, seed: u64) -> QTensor {
    let t = Tensor::from_vec(rand(rows * cols, seed, 0.5), (rows, cols), &Device::Cpu).unwrap();
    QTensor::quantize(&t, dtype).unwrap()
}

/// [`qtensor`] as the loader hands it to a backend.
fn qweight(rows: usize, cols: usize, dtype: GgmlDType, seed: u64) -> QWeight {
    limbic::gguf::qweight(&qtensor(rows, cols, dtype, seed)).unwrap()
}

#[test]
fn every_kernel_is_valid_wgsl() {
    for (name, src, inputs, outputs) in SOURCES {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(src)));
        // pack2x16float (f16 rounding in quantize.wgsl) is core WGSL; naga lists it as a
        // capability because some of its output languages lack it.
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not validate: {e:?}"));
        assert!(
            module.entry_points.iter().any(|e| e.name == name),
            "{name}.wgsl has no entry point {name}"
        );
        assert_eq!(module.entry_points.len(), 1, "{name}.wgsl: one entry point");
        let bindings = module
            .global_variables
            .iter()
            .filter(|(_, g)| g.binding.is_some())
            .count();
        assert_eq!(
            bindings as u32,
            1 + inputs + outputs,
            "{name}.wgsl: bindings vs the parameters, inputs and outputs its layout declares"
        );
    }
}

#[test]
fn elementwise_norm_rope_and_projection_match_the_cpu() {
    let (cpu, gpu) = backends();
    for (t, seed) in [(1, 1), (7, 2)] {
        let d = 160;
        let x = rand(t * d, seed, 3.0);
        let y = rand(t * d, seed + 10, 3.0);
        let v = rand(d, seed + 20, 1.0);
        let w = rand(d, seed + 30, 1.0);
        let (xc, xg) = (cpu.tensor(&x, t, d).unwrap(), gpu.tensor(&x, t, d).unwrap());
        let (yc, yg) = (cpu.tensor(&y, t, d).unwrap(), gpu.tensor(&y, t, d).unwrap());
        let (vc, vg) = (cpu.tensor(&v, 1, d).unwrap(), gpu.tensor(&v, 1, d).unwrap());
        let (wc, wg) = (cpu.tensor(&w, 1, d).unwrap(), gpu.tensor(&w, 1, d).unwrap());
        let both = |what: &str, c: limbic::backend::cpu::Rows, g, tol| {
            close(
                &format!("{what} T={t}"),
                &gpu.read(&g).unwrap(),
                &cpu.read(&c).unwrap(),
                tol,
            )
        };
        both(
            "add",
            cpu.add(&xc, &yc).unwrap(),
            gpu.add(&xg, &yg).unwrap(),
            1e-6,
        );
        let (c, g) = (
            cpu.silu_mul(&xc, &yc).unwrap(),
            gpu.silu_mul(&xg, &yg).unwrap(),
        );
        both("silu_mul", c, g, 1e-5);
        let (c, g) = (
            cpu.gelu_mul(&xc, &yc).unwrap(),
            gpu.gelu_mul(&xg, &yg).unwrap(),
        );
        both("gelu_mul", c, g, 1e-5);
        let (c, g) = (
            cpu.add_scaled(&xc, &vc, -2.5).unwrap(),
            gpu.add_scaled(&xg, &vg, -2.5).unwrap(),
        );
        both("add_scaled", c, g, 1e-6);
        let (c, g) = (
            cpu.rms_norm(&xc, &wc, 1e-5).unwrap(),
            gpu.rms_norm(&xg, &wg, 1e-5).unwrap(),
        );
        both("rms_norm", c, g, 1e-5);
        both(
            "last_row",
            cpu.last_row(&xc).unwrap(),
            gpu.last_row(&xg).unwrap(),
            0.0,
        );
        // 13 basis rows: not a multiple of the workgroup.
        let basis = rand(13 * d, seed + 40, 1.0);
        let (bc, bg) = (
            cpu.tensor(&basis, 13, d).unwrap(),
            gpu.tensor(&basis, 13, d).unwrap(),
        );
        let (c, g) = (
            cpu.project(&xc, &bc).unwrap(),
            gpu.project(&xg, &bg).unwrap(),
        );
        both("project", c, g, 1e-5);
        // rope on 6 heads of 64 at position 9.
        let q = rand(t * 384, seed + 50, 2.0);
        let (qc, qg) = (
            cpu.tensor(&q, t, 384).unwrap(),
            gpu.tensor(&q, t, 384).unwrap(),
        );
        let (c, g) = (
            cpu.rope(&qc, 6, 9, false).unwrap(),
            gpu.rope(&qg, 6, 9, false).unwrap(),
        );
        both("rope", c, g, 1e-5);
    }
}

#[test]
fn attention_over_a_growing_cache_matches_the_cpu() {
    // Heads of 64 values (the kernel as written), and the other widths it is built for: 16, 32
    // (the tiny test models'), 128 (Llama 3.2 3B, Qwen2.5 1.5B), 256 (Gemma 3). 6 query heads
    // over 2 kv heads each time.
    for head_dim in [64, 16, 32, 128, 256] {
        let mut cfg = config();
        (cfg.head_dim, cfg.rope_dim) = (head_dim, head_dim);
        cfg.attn_scale = 1.0 / (head_dim as f32).sqrt();
        let (cpu, gpu) = (Cpu::new(&cfg).unwrap(), Gpu::new(&cfg).expect("an adapter"));
        let (nq, nkv) = (6 * head_dim, 2 * head_dim);
        let (mut cc, mut gc) = (cpu.cache().unwrap(), gpu.cache().unwrap());
        // A 5-token prompt, then single tokens, then 3 at once: causal masking and GQA each
        // time.
        for (step, t) in [5, 1, 1, 3].into_iter().enumerate() {
            let s = step as u64 * 100 + head_dim as u64;
            let (q, k, v) = (
                rand(t * nq, s, 2.0),
                rand(t * nkv, s + 1, 2.0),
                rand(t * nkv, s + 2, 2.0),
            );
            let c = cpu
                .attention(
                    &cpu.tensor(&q, t, nq).unwrap(),
                    &cpu.tensor(&k, t, nkv).unwrap(),
                    &cpu.tensor(&v, t, nkv).unwrap(),
                    &mut cc,
                    None,
                )
                .unwrap();
            let g = gpu
                .attention(
                    &gpu.tensor(&q, t, nq).unwrap(),
                    &gpu.tensor(&k, t, nkv).unwrap(),
                    &gpu.tensor(&v, t, nkv).unwrap(),
                    &mut gc,
                    None,
                )
                .unwrap();
            close(
                &format!("heads of {head_dim}: attention step {step} T={t}"),
                &gpu.read(&g).unwrap(),
                &cpu.read(&c).unwrap(),
                1e-5,
            );
            assert_eq!(cpu.cache_len(&cc), gpu.cache_len(&gc));
        }
    }
}

#[test]
fn quantized_products_match_the_cpu_and_dequantized_f32() {
    let (cpu, gpu) = backends();
    // (rows, cols): rows not a multiple of 4, cols 5 and 7 blocks (a K-quant's whole 256s).
    for (dtype, rows, cols) in [
        (GgmlDType::Q4_1, 37, 160),
        (GgmlDType::Q8_0, 50, 224),
        (GgmlDType::Q4_0, 37, 160),
        (GgmlDType::Q5_0, 37, 160),
        (GgmlDType::Q5_1, 50, 224),
        (GgmlDType::Q5K, 37, 256),
        (GgmlDType::Q6K, 21, 512),
    ] {
        for t in [1, 6] {
            let x = rand(t * cols, rows as u64 + t as u64, 2.0);
            let w = qtensor(rows, cols, dtype, rows as u64);
            let exact = {
                let wf = w.dequantize(&Device::Cpu).unwrap();
                let xf = Tensor::from_vec(x.clone(), (t, cols), &Device::Cpu).unwrap();
                xf.matmul(&wf.t().unwrap())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            let want = cpu
                .read(
                    &cpu.qmatmul(
                        &cpu.tensor(&x, t, cols).unwrap(),
                        &cpu.matrix(qweight(rows, cols, dtype, rows as u64)).unwrap(),
                    )
                    .unwrap(),
                )
                .unwrap();
            let got = gpu
                .read(
                    &gpu.qmatmul(
                        &gpu.tensor(&x, t, cols).unwrap(),
                        &gpu.matrix(limbic::gguf::qweight(&w).unwrap()).unwrap(),
                    )
                    .unwrap(),
                )
                .unwrap();
            // Same arithmetic as the CPU backend up to the order of the float sum.
            close(
                &format!("{dtype:?} ({rows}, {cols}) T={t} vs cpu"),
                &got,
                &want,
                1e-4,
            );
            // Within 8-bit activation rounding of the exact product (|x|·|w| summed ≈ 30).
            let scale = exact.iter().fold(1.0f32, |a, v| a.max(v.abs()));
            close(
                &format!("{dtype:?} ({rows}, {cols}) T={t} vs dequantized f32"),
                &got.iter().map(|v| v / scale).collect::<Vec<_>>(),
                &exact.iter().map(|v| v / scale).collect::<Vec<_>>(),
                2e-2,
            );
        }
    }
}

#[test]
fn q8_0_activation_scales_are_rounded_to_f16_as_on_the_cpu() {
    // Identity weights make each output one activation quant times its block's scale, so a
    // scale rounded otherwise than the CPU's f16 (NVIDIA's compiler once folded the shader's
    // f16 round trip away) shows as a whole block off by up to 2⁻¹¹. Blocks span magnitudes
    // down to scales below 2⁻¹⁴, where f16 values are subnormal.
    let (cpu, gpu) = backends();
    let cols = 192;
    let mut w = vec![0.0f32; cols * cols];
    for k in 0..cols {
        w[k * cols + k] = 1.0;
    }
    let q = || {
        limbic::gguf::qweight(
            &QTensor::quantize(
                &Tensor::from_vec(w.clone(), (cols, cols), &Device::Cpu).unwrap(),
                GgmlDType::Q8_0,
            )
            .unwrap(),
        )
        .unwrap()
    };
    let mags = [3e-6f32, 4e-5, 7e-4, 0.03, 1.7, 90.0];
    let x: Vec<f32> = rand(cols, 7, 1.0)
        .iter()
        .enumerate()
        .map(|(i, v)| v * mags[i / 32])
        .collect();
    let want = cpu
        .read(
            &cpu.qmatmul(&cpu.tensor(&x, 1, cols).unwrap(), &cpu.matrix(q()).unwrap())
                .unwrap(),
        )
        .unwrap();
    let got = gpu
        .read(
            &gpu.qmatmul(&gpu.tensor(&x, 1, cols).unwrap(), &gpu.matrix(q()).unwrap())
                .unwrap(),
        )
        .unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        // The scale itself may differ by an f32 ulp or two (WGSL's division), not more.
        assert!(
            (g - w).abs() <= 1e-6 * w.abs(),
            "output {i} (block {}): {g} vs {w}",
            i / 32
        );
    }
}

#[test]
fn many_tokens_products_in_tiles_equal_the_untiled_kernel_bit_for_bit() {
    let (cpu, gpu) = backends();
    // Rows past one 64-row tile and short of the next, tokens past one 32-token tile, blocks
    // not a multiple of the 4 a chunk takes (7 and 18); rows of 8192 values (Llama 3.2 1B's
    // ffn_down: wider than the fused kernels' 2048, which leave it to these).
    for (rows, cols, t) in [(100, 224, 45), (576, 576, 33), (37, 160, 2), (9, 8192, 3)] {
        let x = rand(t * cols, rows as u64 + 7, 3.0);
        let m = || qweight(rows, cols, GgmlDType::Q4_1, rows as u64 + 1);
        let w = gpu.matrix(m()).unwrap();
        let product = |tiled: bool| {
            gpu.set_row_lanes(tiled);
            let xg = gpu.tensor(&x, t, cols).unwrap();
            gpu.read(&gpu.qmatmul(&xg, &w).unwrap()).unwrap()
        };
        let (tiled, rows_only) = (product(true), product(false));
        assert_eq!(
            tiled.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            rows_only.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "({rows}, {cols}) T={t}: tiles differ from rows"
        );
        let want = cpu
            .read(
                &cpu.qmatmul(&cpu.tensor(&x, t, cols).unwrap(), &cpu.matrix(m()).unwrap())
                    .unwrap(),
            )
            .unwrap();
        close(
            &format!("tiled ({rows}, {cols}) T={t} vs cpu"),
            &tiled,
            &want,
            1e-4,
        );
    }
    gpu.set_row_lanes(false);
}

#[test]
fn fused_swiglu_equals_the_three_ops() {
    let (cpu, gpu) = backends();
    for t in [1, 6] {
        let x = rand(t * 160, 40 + t as u64, 2.0);
        let w = |seed| qweight(224, 160, GgmlDType::Q4_1, seed);
        let (xc, xg) = (
            cpu.tensor(&x, t, 160).unwrap(),
            gpu.tensor(&x, t, 160).unwrap(),
        );
        let (gc, uc) = (cpu.matrix(w(1)).unwrap(), cpu.matrix(w(2)).unwrap());
        let (gg, ug) = (gpu.matrix(w(1)).unwrap(), gpu.matrix(w(2)).unwrap());
        let fused = gpu.read(&gpu.swiglu(&xg, &gg, &ug).unwrap()).unwrap();
        let unfused = gpu
            .silu_mul(
                &gpu.qmatmul(&xg, &gg).unwrap(),
                &gpu.qmatmul(&xg, &ug).unwrap(),
            )
            .unwrap();
        close(
            &format!("swiglu T={t} vs the GPU's three ops"),
            &fused,
            &gpu.read(&unfused).unwrap(),
            1e-6,
        );
        let want = cpu.read(&cpu.swiglu(&xc, &gc, &uc).unwrap()).unwrap();
        close(&format!("swiglu T={t} vs cpu"), &fused, &want, 1e-4);
    }
}

#[test]
fn the_greedy_choice_on_the_device_is_the_cpus() {
    // A vocabulary-sized row; ties (the first wins), NaN (never wins), one value, all NaN.
    let mut big = rand(49_152, 9, 4.0);
    (big[40_000], big[123], big[7]) = (9.0, 9.0, f32::NAN);
    let nan = f32::NAN;
    let rows = [
        big,
        vec![1., 3., 3., -1.],
        vec![nan, 2., 5.],
        vec![-2.],
        vec![nan; 3],
    ];
    let (cpu, gpu) = backends();
    for (r, want) in rows.iter().zip([123.0, 1.0, 2.0, 0.0, 0.0]) {
        let c = cpu.read(&cpu.argmax(&cpu.tensor(r, 1, r.len()).unwrap()).unwrap());
        let g = gpu.read(&gpu.argmax(&gpu.tensor(r, 1, r.len()).unwrap()).unwrap());
        assert_eq!(
            (c.unwrap(), g.unwrap()),
            (vec![want], vec![want]),
            "{} values",
            r.len()
        );
    }
}

#[test]
fn embedding_rows_match_the_cpu() {
    let (cpu, gpu) = backends();
    let ids = [0u32, 49, 7, 7, 23];
    let c = cpu
        .embed(
            &cpu.matrix(qweight(50, 160, GgmlDType::Q8_0, 3)).unwrap(),
            &ids,
        )
        .unwrap();
    let g = gpu
        .embed(
            &gpu.matrix(qweight(50, 160, GgmlDType::Q8_0, 3)).unwrap(),
            &ids,
        )
        .unwrap();
    close("embed", &gpu.read(&g).unwrap(), &cpu.read(&c).unwrap(), 0.0);
    assert!(gpu
        .embed(
            &gpu.matrix(qweight(50, 160, GgmlDType::Q8_0, 3)).unwrap(),
            &[50]
        )
        .is_err());
    let q4 = gpu.matrix(qweight(50, 160, GgmlDType::Q4_1, 3)).unwrap();
    assert!(
        gpu.embed(&q4, &[1]).is_err(),
        "the token table must be Q8_0, f16 or f32"
    );
    // f16 and f32 tables (as f32 on the GPU): the same rows, exactly.
    for dtype in [GgmlDType::F16, GgmlDType::F32] {
        let (c, g) = (
            cpu.matrix(qweight(50, 64, dtype, 4)).unwrap(),
            gpu.matrix(qweight(50, 64, dtype, 4)).unwrap(),
        );
        let (c, g) = (cpu.embed(&c, &ids).unwrap(), gpu.embed(&g, &ids).unwrap());
        close(
            &format!("{dtype:?} embed"),
            &gpu.read(&g).unwrap(),
            &cpu.read(&c).unwrap(),
            0.0,
        );
    }
}

#[test]
fn matrices_too_large_for_one_buffer_run_in_parts() {
    // As Gemma 3 270M's embedding on an adapter that binds 128 MiB: here a (203, 160) matrix
    // of each kind with buffers capped at 20,000 bytes, so it splits in parts of whole rows.
    let (cpu, gpu) = backends();
    gpu.cap_matrix_buffers(20_000);
    let ids = [0u32, 202, 57, 58, 1, 130];
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_1, GgmlDType::F32] {
        let (rows, cols) = (203, 160);
        let (c, g) = (
            cpu.matrix(qweight(rows, cols, dtype, 9)).unwrap(),
            gpu.matrix(qweight(rows, cols, dtype, 9)).unwrap(),
        );
        let x = rand(3 * cols, 10, 2.0);
        let want = cpu.read(&cpu.qmatmul(&cpu.tensor(&x, 3, cols).unwrap(), &c).unwrap());
        let got = gpu.read(&gpu.qmatmul(&gpu.tensor(&x, 3, cols).unwrap(), &g).unwrap());
        close(
            &format!("{dtype:?} in parts"),
            &got.unwrap(),
            &want.unwrap(),
            1e-4,
        );
        if dtype != GgmlDType::Q4_1 {
            let (ce, ge) = (cpu.embed(&c, &ids).unwrap(), gpu.embed(&g, &ids).unwrap());
            close(
                &format!("{dtype:?} rows from parts"),
                &gpu.read(&ge).unwrap(),
                &cpu.read(&ce).unwrap(),
                0.0,
            );
            assert!(gpu.embed(&g, &[203]).is_err(), "an id past the table");
        }
    }
}

#[test]
fn f16_and_f32_products_match_the_cpu() {
    // The CPU runs them through candle's f32 product; the GPU sums each row in order.
    let (cpu, gpu) = backends();
    for (dtype, rows, cols, t) in [(GgmlDType::F32, 37, 160, 1), (GgmlDType::F16, 50, 96, 6)] {
        let x = rand(t * cols, 5, 2.0);
        let (c, g) = (
            cpu.matrix(qweight(rows, cols, dtype, 6)).unwrap(),
            gpu.matrix(qweight(rows, cols, dtype, 6)).unwrap(),
        );
        let want = cpu.read(&cpu.qmatmul(&cpu.tensor(&x, t, cols).unwrap(), &c).unwrap());
        let got = gpu.read(&gpu.qmatmul(&gpu.tensor(&x, t, cols).unwrap(), &g).unwrap());
        close(
            &format!("{dtype:?} ({rows}, {cols}) T={t}"),
            &got.unwrap(),
            &want.unwrap(),
            1e-5,
        );
    }
}

/// The model on the GPU (a test of the GPU fails when there is none).
fn gpu_session() -> Session {
    let s = Session::gpu_native(model_bytes()).expect("load");
    assert_eq!(s.backend_name(), "webgpu", "no GPU: {:?}", s.fallback);
    s
}

#[test]
fn whole_model_matches_the_cpu_at_every_layer() {
    let mut cpu = engine();
    let mut gpu = gpu_session();
    eprintln!("adapter: {}", gpu.backend().adapter());
    let n_layer = cpu.config().n_layer;
    let mut hooks = HookSet::new();
    for l in 0..n_layer {
        hooks.push(HookPoint::ResidPost(l), Intervention::Capture);
    }
    cpu.set_hooks(hooks.clone()).unwrap();
    gpu.set_hooks(hooks.clone()).unwrap();
    let prompt = cpu
        .tokenizer
        .encode("Once upon a time, there was a little")
        .unwrap();
    let (a, b) = (cpu.run(&prompt).unwrap(), gpu.run(&prompt).unwrap());
    for l in 0..n_layer {
        let p = HookPoint::ResidPost(l);
        let (x, y) = (
            &a.captures.get(p).unwrap().values,
            &b.captures.get(p).unwrap().values,
        );
        let scale = x.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let (x, y): (Vec<f32>, Vec<f32>) = (
            x.iter().map(|v| v / scale).collect(),
            y.iter().map(|v| v / scale).collect(),
        );
        close(&format!("{} (scaled by {scale})", p.name()), &y, &x, 1e-2);
    }
    // One 8-bit activation rounded the other way moves the logits a little (as llama.cpp and
    // limbic differ), so they are held to the same top token and a small KL divergence.
    let (p, q) = (log_softmax(&a.logits), log_softmax(&b.logits));
    let kl: f64 = p.iter().zip(&q).map(|(p, q)| p.exp() * (p - q)).sum();
    let argmax = |v: &[f64]| (0..v.len()).fold(0, |m, i| if v[i] > v[m] { i } else { m });
    assert_eq!(argmax(&p), argmax(&q), "top token");
    eprintln!("logits: KL(cpu ‖ gpu) = {kl}");
    assert!(kl <= 0.01, "KL(cpu ‖ gpu) = {kl}");

    // Steering at block 10 and an emotion-style readout (171 directions) at block 21.
    let d = cpu.config().d_model;
    let mut hooks = HookSet::new();
    hooks.push(
        HookPoint::ResidPost(10),
        Intervention::Add {
            vector: rand(d, 7, 1.0),
            alpha: 40.0,
        },
    );
    hooks.push(
        HookPoint::ResidPost(21),
        Intervention::Project {
            basis: rand(171 * d, 8, 0.05),
            n: 171,
        },
    );
    cpu.set_hooks(hooks.clone()).unwrap();
    gpu.set_hooks(hooks.clone()).unwrap();
    let (a2, b2) = (cpu.run(&prompt).unwrap(), gpu.run(&prompt).unwrap());
    let p21 = HookPoint::ResidPost(21);
    let (x, y) = (
        &a2.captures.get(p21).unwrap().values,
        &b2.captures.get(p21).unwrap().values,
    );
    assert_eq!(x.len(), prompt.len() * 171);
    let scale = x.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let (x, y): (Vec<f32>, Vec<f32>) = (
        x.iter().map(|v| v / scale).collect(),
        y.iter().map(|v| v / scale).collect(),
    );
    close(
        &format!("steered readout (scaled by {scale})"),
        &y,
        &x,
        1e-2,
    );
    let moved = a2
        .logits
        .iter()
        .zip(&a.logits)
        .map(|(s, u)| (s - u).abs())
        .fold(0.0f32, f32::max);
    assert!(
        moved > 1.0,
        "the steer moved the CPU's logits by only {moved}"
    );
    let (p, q) = (log_softmax(&a2.logits), log_softmax(&b2.logits));
    let kl: f64 = p.iter().zip(&q).map(|(p, q)| p.exp() * (p - q)).sum();
    assert!(kl <= 0.01, "steered: KL(cpu ‖ gpu) = {kl}");
}

#[test]
fn a_device_lost_mid_reply_finishes_on_the_cpu() {
    let (prompt, want) = {
        let c = &fixture("golden.json")[2];
        (c["text"].as_str().unwrap().to_string(), ids(&c["ids"]))
    };
    let mut r = gpu_session();
    let ids = r.encode_prompt(&prompt).unwrap();
    r.start_now(ids, &Sampler::default(), 12).unwrap();
    for _ in 0..3 {
        r.step_now().unwrap().expect("a token");
    }
    assert!(r.backend().gpu_live(), "the device is open before the loss");
    r.backend().lose_device();
    assert!(!r.backend().gpu_live(), "lose_device destroys the device");
    while r.step_now().unwrap().is_some() {}
    assert_eq!(r.backend_name(), "cpu");
    assert!(!r.backend().gpu_live(), "the CPU holds no device");
    let why = r.fallback.clone().unwrap_or_default();
    assert!(why.contains("webgpu"), "{why}");
    assert_eq!(r.generation.as_ref().unwrap().generated(), &want[..12]);
}

#[test]
fn oversized_buffers_are_refused_before_they_are_made() {
    let (_, gpu) = backends();
    let err = gpu
        .check_size("a test buffer", 1 << 40)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("this adapter binds at most"), "{err}");
    assert!(
        gpu.tensor(&[1.0; 3], 2, 2).is_err(),
        "3 values for a (2, 2) tensor"
    );
    let x = gpu.tensor(&rand(160, 1, 1.0), 1, 160).unwrap();
    let basis = gpu.tensor(&rand(160, 2, 1.0), 1, 160).unwrap();
    assert!(
        gpu.project(&x, &basis).is_ok(),
        "the device is still usable"
    );
}
