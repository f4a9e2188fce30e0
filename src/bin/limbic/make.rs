//! `limbic make-vector`: a vector made from texts (one per line) as the page's Make view makes
//! it ([`limbic::make`]), timed; prints its nearest emotions and the tokens it promotes, and
//! writes it as JSON or a llama.cpp control vector.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::json;

use limbic::emotions::EmotionSet;
use limbic::io::write_atomic;
use limbic::make::{self, MadeVector};
use limbic::{Error, Result, Session};

#[derive(Args)]
pub struct MakeArgs {
    /// Texts showing the concept, one per line (at least 4).
    #[arg(long)]
    texts: PathBuf,
    /// Texts showing its opposite, one per line (else the emotions' centre is the baseline).
    #[arg(long)]
    opposite: Option<PathBuf>,
    #[arg(long, default_value = "made")]
    name: String,
    /// Where to write it: `.gguf` a llama.cpp control vector at --strength, else JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 0.2)]
    strength: f32,
}

fn lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Prompt(format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Makes the vector and reports it as one JSON line (seconds, tokens, neighbours, lens).
pub fn run(session: &mut Session, set: &EmotionSet, a: MakeArgs) -> Result<()> {
    let concept = lines(&a.texts)?;
    let opposite = a
        .opposite
        .as_deref()
        .map(lines)
        .transpose()?
        .unwrap_or_default();
    let tokens: usize = concept
        .iter()
        .chain(&opposite)
        .map(|t| session.encode_prompt(t).map_or(0, |i| i.len()))
        .sum();
    let t0 = Instant::now();
    let vectors = make::make_from_texts(session, set, &concept, &opposite, &|k| {
        eprint!("\r{k} texts read")
    })?;
    let seconds = t0.elapsed().as_secs_f64();
    eprintln!();
    let made = MadeVector::new(
        set,
        &a.name,
        vectors.into_iter().enumerate().collect(),
        make::steer_layer(set),
    )?;
    let summary = make::summary(set, &made, session)?;
    if let Some(out) = &a.out {
        let bytes = if out.extension().is_some_and(|e| e == "gguf") {
            limbic::control_vector::write_gguf(
                &made.steering(set, a.strength)?,
                &session.config().arch,
            )?
        } else {
            make::to_json(&made, set, a.strength)?.into_bytes()
        };
        write_atomic(out, &bytes)?;
    }
    println!(
        "{}",
        json!({"name": made.name, "texts": concept.len() + opposite.len(), "tokens": tokens, "seconds": seconds,
               "layer": summary.shown_layer, "steer_layer": made.steer_layer, "neighbours": summary.neighbours, "lens": summary.lens})
    );
    Ok(())
}
