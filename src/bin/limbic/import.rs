//! Control vectors from other tools: `limbic import FILE` (what a llama.cpp / repeng control
//! vector holds, checked against the model) and `--control-vector FILE[:STRENGTH]` for `next`
//! and `generate` (steering with it as llama.cpp's `--control-vector-scaled` does).

use std::path::{Path, PathBuf};

use serde_json::json;

use limbic::control_vector::ControlVector;
use limbic::gguf::Config;
use limbic::numerics::dot;
use limbic::{Error, Result};

/// Parses `FILE[:STRENGTH]` (strength 1 when not given, like llama.cpp's `--control-vector`).
pub fn parse_spec(spec: &str) -> Result<(PathBuf, f32)> {
    let (file, strength) = match spec.rsplit_once(':') {
        Some((f, s)) if !f.is_empty() && s.trim().parse::<f32>().is_ok() => {
            (f, s.trim().parse::<f32>().unwrap_or(1.0))
        }
        _ => (spec, 1.0),
    };
    if !strength.is_finite() {
        return Err(Error::Steer(format!(
            "control vector {spec:?}: the strength is not finite"
        )));
    }
    Ok((PathBuf::from(file), strength))
}

/// Reads a control-vector file and checks it against the model `config`.
pub fn read(file: &Path, config: &Config) -> Result<ControlVector> {
    let bytes = std::fs::read(file)
        .map_err(|e| Error::Io(std::io::Error::other(format!("{}: {e}", file.display()))))?;
    let cv = ControlVector::read_gguf(&bytes)
        .and_then(|cv| cv.check(config.n_layer, config.d_model).map(|_| cv))
        .map_err(|e| match e {
            Error::Steer(m) => Error::Steer(format!("{}: {m}", file.display())),
            other => other,
        })?;
    Ok(cv)
}

/// What `--control-vector` specs add: `(layer, vector (d))` terms, each file scaled by its strength.
pub fn terms(specs: &[String], config: &Config) -> Result<Vec<(usize, Vec<f32>)>> {
    let mut out = Vec::new();
    for spec in specs {
        let (file, strength) = parse_spec(spec)?;
        out.extend(read(&file, config)?.scaled(strength));
    }
    Ok(out)
}

/// `limbic import FILE`: the file's layers and direction norms, after checking it fits the model.
pub fn run(file: &Path, config: &Config, json_out: bool) -> Result<()> {
    let cv = read(file, config)?;
    let layers: Vec<usize> = cv.directions.iter().map(|(l, _)| *l).collect();
    let norms: Vec<f32> = cv
        .directions
        .iter()
        .map(|(_, v)| dot(v, v).sqrt())
        .collect();
    let hint_differs = cv.model_hint.as_deref().is_some_and(|h| h != config.arch);
    if json_out {
        println!(
            "{}",
            json!({
                "file": file.display().to_string(), "model_hint": cv.model_hint, "n_embd": cv.n_embd(),
                "layers": layers, "norms": norms, "hook": "blocks.{l}.hook_resid_post",
            })
        );
    } else {
        println!(
            "{}: {} directions of {} values for blocks {:?} (added at blocks.{{l}}.hook_resid_post), model hint {:?}",
            file.display(),
            layers.len(),
            cv.n_embd(),
            layers,
            cv.model_hint.as_deref().unwrap_or("(none)")
        );
        println!(
            "steer with it: limbic generate --control-vector {}:STRENGTH …",
            file.display()
        );
    }
    if hint_differs {
        eprintln!(
            "note: the file's model hint {:?} is not this model's architecture {:?}; its sizes fit, so it is read",
            cv.model_hint.as_deref().unwrap_or_default(),
            config.arch
        );
    }
    Ok(())
}
