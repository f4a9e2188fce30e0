//! `limbic bench`: decode and prompt speed of the bench prompt, and on the GPU what each decode
//! step costs the device and the CPU that records it (dispatches, copies, submissions, bytes
//! read back, recording time); `--hooks`: the readout's and steering's cost; `--replies`: a
//! sweep's sampled replies one at a time against all at once.

use std::time::Instant;

use serde_json::json;

use crate::emotion;
use limbic::backend::GpuCounts;
use limbic::emotions::EmotionSet;
use limbic::{Result, Sampler, Session};

/// The prompt every speed figure in BENCHMARKS.md uses.
const BENCH_PROMPT: &str = "Write a short story about a girl who lost her dog.";

/// One timed reply to the bench prompt.
struct Timed {
    prompt_tokens: usize,
    prompt_s: f64,
    /// Tokens generated.
    tokens: usize,
    decode_tps: f64,
    /// Mean time of a decode step's `step()`: choosing the token and recording its pass (on
    /// the GPU less the time blocked in the driver's submit, reported apart).
    record_us: f64,
    /// The device's work over the decode steps, per step (GPU only), and the submit time (µs).
    per_step: Option<([f64; 4], f64)>,
}

pub fn speed(
    mut session: Session,
    load_s: f64,
    tokens: usize,
    prompt_tokens: Option<usize>,
    json: bool,
) -> Result<()> {
    let ahead = session.ahead();
    let t = timed_run(&mut session, tokens, prompt_tokens.unwrap_or(0))?;
    let prompt_tps = t.prompt_tokens as f64 / t.prompt_s;
    let mut report = json!({
        "backend": session.backend_name(),
        "load_s": load_s,
        "prompt_tokens": t.prompt_tokens,
        "prompt_tps": prompt_tps,
        "generated_tokens": t.tokens,
        "decode_tps": t.decode_tps,
        "record_us_per_token": t.record_us,
        "ahead": ahead,
    });
    if let Some(([d, c, s, b], wait)) = t.per_step {
        report["submit_wait_us_per_token"] = json!(wait);
        report["dispatches_per_token"] = json!(d);
        report["copies_per_token"] = json!(c);
        report["submits_per_token"] = json!(s);
        report["readback_bytes_per_token"] = json!(b);
    }
    if json {
        println!("{report}");
    } else {
        println!(
            "load {load_s:.2} s, prompt {} tokens at {prompt_tps:.1} tok/s, decode {} tokens at {:.1} tok/s",
            t.prompt_tokens, t.tokens, t.decode_tps
        );
    }
    Ok(())
}

/// The passage a long bench prompt repeats before the bench request.
const PASSAGE: &str =
    "The ferry left the harbour at seven, past the lighthouse and the long grey wall, \
    and the gulls followed it out until the town was a line of roofs behind the rain. ";

/// The bench prompt's ids: the bench request, after the passage repeated until there are at
/// least `at_least` ids.
fn bench_prompt(session: &Session, at_least: usize) -> Result<Vec<u32>> {
    // A speed measure runs on any model: with a chat template limbic does not know, it times
    // the request as a plain transcript and says so.
    let plain = match session.tokenizer.request(BENCH_PROMPT) {
        Ok(_) => false,
        Err(why) => {
            eprintln!("note: {why}; timing the request as a plain transcript");
            true
        }
    };
    let mut text = BENCH_PROMPT.to_string();
    loop {
        let request = if plain {
            limbic::chat::ChatTemplate::transcript().prompt(&[], &text, None)
        } else {
            session.tokenizer.request(&text)?
        };
        let ids = session.encode_prompt(&request)?;
        if ids.len() >= at_least {
            return Ok(ids);
        }
        text.insert_str(0, PASSAGE);
    }
}

/// One timed generation of the bench prompt (see `bench_prompt`).
fn timed_run(session: &mut Session, tokens: usize, at_least: usize) -> Result<Timed> {
    let prompt = bench_prompt(session, at_least)?;
    let prompt_tokens = prompt.len();
    let t1 = Instant::now();
    session.start_now(prompt, &Sampler::default(), tokens)?;
    let prompt_s = t1.elapsed().as_secs_f64();
    // Token 1 comes from the prompt pass; each later token costs one forward of its predecessor.
    let counts0 = session.backend().gpu_counts();
    let (t2, mut n, mut record_s) = (Instant::now(), 0usize, 0.0);
    loop {
        let t = Instant::now();
        let more = session.step()?;
        record_s += t.elapsed().as_secs_f64();
        if !more || session.finish()?.is_none() {
            break;
        }
        n += 1;
    }
    let decode_s = t2.elapsed().as_secs_f64();
    let steps = n.saturating_sub(1).max(1) as f64;
    let per_step = match (counts0, session.backend().gpu_counts()) {
        (Some(a), Some(b)) => Some((
            gpu_per_step(a, b, steps),
            (b.submit_ns - a.submit_ns) as f64 / 1e3 / steps,
        )),
        _ => None,
    };
    let wait_s = per_step.map_or(0.0, |(_, w)| w * steps / 1e6);
    Ok(Timed {
        prompt_tokens,
        prompt_s,
        tokens: n,
        decode_tps: if n > 1 {
            (n - 1) as f64 / decode_s
        } else {
            0.0
        },
        record_us: 1e6 * (record_s - wait_s).max(0.0) / n.max(1) as f64,
        per_step,
    })
}

/// The GPU's work between two counts, per decode step.
fn gpu_per_step(a: GpuCounts, b: GpuCounts, steps: f64) -> [f64; 4] {
    let per = |x: u64, y: u64| (y - x) as f64 / steps;
    [
        per(a.dispatches, b.dispatches),
        per(a.copies, b.copies),
        per(a.submits, b.submits),
        per(a.readback_bytes, b.readback_bytes),
    ]
}

/// Decode speed without hooks, with the readout, and with readout + steer, in the same run.
pub fn hooks(mut session: Session, set: &EmotionSet, tokens: usize) -> Result<()> {
    let l = set.default_layer;
    let readout = set.readout(l)?;
    let (steer, _) = emotion::steer_hooks(Some(set), &["happy".to_string()], Some(l), &[])?;
    let configs = [
        ("none", limbic::HookSet::new(), None),
        ("probe", limbic::HookSet::new(), Some(readout.clone())),
        ("steer+probe", steer, Some(readout)),
    ];
    let mut tps: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    for _ in 0..5 {
        for (i, (_, hooks, readout)) in configs.iter().enumerate() {
            session.set_hooks(hooks.clone())?;
            session.set_readout(readout.clone())?;
            tps[i].push(timed_run(&mut session, tokens, 0)?.decode_tps);
        }
    }
    let med: Vec<f64> = tps.iter_mut().map(|v| median(v)).collect();
    let out: serde_json::Map<String, serde_json::Value> = configs
        .iter()
        .zip(&med)
        .map(|((name, _, _), m)| {
            (
                name.to_string(),
                json!({"decode_tps": m, "overhead_pct": 100.0 * (med[0] / m - 1.0)}),
            )
        })
        .collect();
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}

/// `n` sampled replies of `tokens` tokens to the sweep's choice prompts (temperature 0.7, top-p
/// 0.95, seeds 1..=n) on the CPU, on one thread as a sweep's worker runs: one at a time, then all
/// at once ([`Session::replies`]), alternating over 3 runs; prints the median generated tokens/s
/// of each and their ratio, and fails if the two ways give different tokens.
pub fn replies(bytes: &[u8], n: usize, tokens: usize) -> Result<()> {
    let run = || -> Result<(f64, f64)> {
        let mut session = Session::cpu(bytes)?;
        let prompts = (0..n)
            .map(|i| {
                let p = crate::steer_sweep::CHOICE_PROMPTS
                    [i % crate::steer_sweep::CHOICE_PROMPTS.len()];
                session.encode_prompt(&session.tokenizer.request(p)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let samplers: Vec<Sampler> = (1..=n as u64)
            .map(|seed| Sampler {
                temperature: 0.7,
                top_p: 0.95,
                seed,
                ..Sampler::default()
            })
            .collect();
        let (mut alone, mut together) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let t = Instant::now();
            let one: Vec<Vec<u32>> = prompts
                .iter()
                .zip(&samplers)
                .map(|(p, s)| session.reply(p.clone(), s, tokens))
                .collect::<Result<_>>()?;
            let count = one.iter().map(Vec::len).sum::<usize>() as f64;
            alone.push(count / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let all = session.replies(&prompts, &samplers, tokens)?;
            together.push(count / t.elapsed().as_secs_f64());
            if all.iter().map(|r| &r.0).ne(one.iter()) {
                return Err(limbic::Error::Model(
                    "replies at once differ from replies one at a time".into(),
                ));
            }
        }
        Ok((median(&mut alone), median(&mut together)))
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| limbic::Error::Model(e.to_string()))?;
    let (a, b) = pool.install(run)?;
    println!(
        "{}",
        json!({"replies": n, "tokens": tokens, "one_at_a_time_tps": a, "at_once_tps": b, "speedup": b / a})
    );
    Ok(())
}

/// The median of timed runs (the upper one of an even count).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
