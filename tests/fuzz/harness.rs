//! The fuzz loop: pick an input from the corpus (seeds, plus inputs that gave an error message
//! not seen before — a cheap stand-in for coverage), mutate it, run the target under
//! `catch_unwind` with allocations counted, and check the contract: success or an error with
//! a one-line message, no panic, no allocation beyond the target's bound.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Instant;

use crate::alloc;
use crate::mutate::{mutate, Rng};

/// What a target makes of one input: `Ok` or the error's message.
pub type Outcome = Result<(), String>;
/// A target's body: one input in, its outcome out.
pub type Run<'a> = &'a dyn Fn(&[u8]) -> Outcome;
/// Makes a structure-aware input.
pub type Generate<'a> = &'a dyn Fn(&mut Rng) -> Vec<u8>;

pub struct Target<'a> {
    pub name: &'static str,
    /// (name, bytes, weight): a seed is picked in proportion to its weight.
    pub seeds: Vec<(&'static str, Vec<u8>, u32)>,
    pub dict: Vec<&'static [u8]>,
    pub run: Run<'a>,
    /// Most bytes one run may hold at once, given the input's length.
    pub alloc_bound: fn(usize) -> usize,
    /// Per exec, the chance (1 in n) of a structure-aware input from `generate` instead.
    pub generate: Option<(usize, Generate<'a>)>,
}

pub struct Report {
    pub execs: u64,
    pub secs: f64,
    pub ok: u64,
    pub errors: u64,
    pub distinct_errors: usize,
    pub corpus: usize,
    pub max_alloc_ratio: f64,
    pub max_peak: usize,
    /// (what went wrong, where the input was saved)
    pub crashes: Vec<(String, PathBuf)>,
}

impl Report {
    pub fn line(&self, name: &str) -> String {
        format!(
            "fuzz {name}: {} execs in {:.1} s ({:.0}/s): {} ok, {} errors ({} distinct), corpus {}, \
             peak held {:.1} MiB (≤ {:.2} of bound), {} crashes",
            self.execs,
            self.secs,
            self.execs as f64 / self.secs.max(1e-9),
            self.ok,
            self.errors,
            self.distinct_errors,
            self.corpus,
            self.max_peak as f64 / (1 << 20) as f64,
            self.max_alloc_ratio,
            self.crashes.len()
        )
    }
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A panic hook that, on a fuzzing thread, keeps the message quietly for the report; other
/// threads (the regression tests) keep the default output.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(|f| f.get()) {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = format!("panic at {loc}: {msg}"));
            } else {
                default(info)
            }
        }));
    });
}

/// Where crashing inputs go: `target/tmp/fuzz/`.
pub fn crash_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&d).expect("create crash folder");
    d
}

/// FNV-1a, to name saved inputs.
fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// An error message with its numbers taken out, so "tensor 3" and "tensor 4" count as one.
fn shape(msg: &str) -> String {
    let s: String = msg.chars().filter(|c| !c.is_ascii_digit()).collect();
    s.chars().take(120).collect()
}

/// Problems with an error message: empty, several lines, or too long to read.
pub fn bad_message(msg: &str) -> Option<String> {
    if msg.trim().is_empty() {
        Some("empty error message".into())
    } else if msg.contains('\n') {
        Some(format!(
            "error message of several lines: {:?}",
            &msg[..msg.len().min(300)]
        ))
    } else if msg.len() > 1000 {
        Some(format!(
            "error message of {} bytes: {:?}…",
            msg.len(),
            msg.chars().take(200).collect::<String>()
        ))
    } else {
        None
    }
}

/// Runs `execs` mutated inputs through `t`, deterministically for a given `seed`.
pub fn fuzz(t: &Target, execs: u64, seed: u64) -> Report {
    install_hook();
    FUZZING.with(|f| f.set(true));
    let dir = crash_dir();
    let alloc_path: &'static str = Box::leak(
        dir.join(format!("{}-alloc.bin", t.name))
            .display()
            .to_string()
            .into_boxed_str(),
    );
    let mut rng = Rng::new(seed ^ hash(t.name.as_bytes()));
    let total_weight: u32 = t.seeds.iter().map(|s| s.2).sum();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut crash_kinds: HashMap<String, PathBuf> = HashMap::new();
    let mut r = Report {
        execs: 0,
        secs: 0.0,
        ok: 0,
        errors: 0,
        distinct_errors: 0,
        corpus: 0,
        max_alloc_ratio: 0.0,
        max_peak: 0,
        crashes: Vec::new(),
    };
    let started = Instant::now();
    for _ in 0..execs {
        let input = match t.generate {
            Some((n, gen)) if rng.chance(n) => gen(&mut rng),
            _ => {
                let base = pick(t, &corpus, total_weight, &mut rng);
                let other = pick(t, &corpus, total_weight, &mut rng);
                let mut input = base.to_vec();
                mutate(&mut input, &mut rng, other, &t.dict);
                input
            }
        };
        let start = alloc::begin(&input, alloc_path);
        let outcome = catch_unwind(AssertUnwindSafe(|| (t.run)(&input)));
        let peak = alloc::peak_since(start);
        r.execs += 1;
        let bound = (t.alloc_bound)(input.len());
        r.max_alloc_ratio = r.max_alloc_ratio.max(peak as f64 / bound as f64);
        r.max_peak = r.max_peak.max(peak);
        let problem = match &outcome {
            Err(_) => Some(LAST_PANIC.with(|p| p.borrow().clone())),
            Ok(_) if peak > bound => Some(format!(
                "held {peak} bytes at once for a {}-byte input (bound {bound})",
                input.len()
            )),
            Ok(Err(msg)) => bad_message(msg),
            Ok(Ok(())) => None,
        };
        if let Some(what) = problem {
            let kind = shape(&what);
            if let std::collections::hash_map::Entry::Vacant(e) = crash_kinds.entry(kind) {
                let path = dir.join(format!("{}-{:016x}.bin", t.name, hash(&input)));
                std::fs::write(&path, &input).expect("save crashing input");
                e.insert(path.clone());
                r.crashes.push((what, path));
            }
            if r.crashes.len() >= 20 {
                break;
            }
            continue;
        }
        let key = match &outcome {
            Ok(Err(msg)) => {
                r.errors += 1;
                shape(msg)
            }
            _ => {
                r.ok += 1;
                String::from("ok")
            }
        };
        // New messages grow the corpus; so does one input in 64 that ran, so that mutations
        // compound over generations where no new message shows the way.
        if (seen.insert(key) || rng.chance(64)) && corpus.len() < 4096 {
            corpus.push(input);
        }
    }
    FUZZING.with(|f| f.set(false));
    r.secs = started.elapsed().as_secs_f64();
    r.distinct_errors = seen.len();
    r.corpus = corpus.len();
    r
}

/// A seed by weight three times in four, else an input the run added to the corpus.
fn pick<'a>(t: &'a Target, corpus: &'a [Vec<u8>], total: u32, rng: &mut Rng) -> &'a [u8] {
    if !corpus.is_empty() && rng.chance(4) {
        return rng.pick(corpus).as_slice();
    }
    let mut w = rng.below(total as usize) as u32;
    for (_, bytes, weight) in &t.seeds {
        if w < *weight {
            return bytes;
        }
        w -= weight;
    }
    &t.seeds[0].1
}
