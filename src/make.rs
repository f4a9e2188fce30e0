//! Vectors made from a visitor's own texts (the page's Make view, `limbic make-vector`), by the
//! method the emotion vectors were made with ([`crate::extract`]), and what is shown of them.
//!
//! Per layer `l`: each text's residual stream (`hook_resid_post`) is averaged over its tokens
//! from the vectors file's token offset on, as each story was (a text no longer than the offset
//! is averaged from token 1: position 0 is the attention sink, whose activation is not content,
//! and a short text has no tokens past the offset). The concept is the mean of its texts' means;
//! the baseline is the mean of the opposite texts' means when there are any, else the file's
//! `centre.{l}` (the mean over all emotions, what every emotion was measured against). Concept
//! minus baseline, with the file's neutral principal components (`neutral_pc.{l}`) projected
//! out, scaled to unit length: comparable with the emotions' `mean.{l}`, which were built the
//! same way (unit, neutral PCs out).
//!
//! Steering with a made vector adds `s · resid_norm_l · v̂_l` at one layer, [`steer_layer`]:
//! one layer, so that a link carries it compactly (one layer in f16) and reproduces the steering
//! exactly (the vector steered with is held in f16 precision from the start).
//!
//! A llama.cpp control vector read from a file ([`MadeVector::from_control`]) is kept the same
//! way for its neighbours, lens and trace, but steers as llama.cpp applies it: strength `s`
//! adds `s ·` each of its directions at its layer, so that strength 1 is the file as it is.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::Backend;
use crate::control_vector::ControlVector;
use crate::emotions::{check_strength, EmotionSet};
use crate::error::{Error, Result};
use crate::extract::{normalise_rows, project_out};
use crate::hooks::{Captures, HookPoint, HookSet, Intervention};
use crate::numerics::dot;
use crate::readout::Readout;
use crate::session::Session;

/// Fewest concept texts a vector is made from.
pub const MIN_TEXTS: usize = 4;
/// Most texts (concept and opposite together) one vector is made from.
pub const MAX_TEXTS: usize = 64;
/// How far from 1 the length of a vector may be and count as unit (f16 rounding of a unit
/// vector moves it by ~1e-4).
const UNIT_TOLERANCE: f32 = 1e-3;
/// Longest name a made vector may have, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// A vector made from texts, or read from a link: unit `(d)` per layer it has.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeVector {
    pub name: String,
    /// Layer → unit vector `(d)`; made from texts: every layer; from a link: one.
    pub layers: BTreeMap<usize, Vec<f32>>,
    /// Where steering with it adds (a control vector's: the layer it is shown at).
    pub steer_layer: usize,
    /// Read from a control-vector file: what strength 1 adds, `(layer, direction (d))` (then
    /// strength is llama.cpp's scale, not a fraction of the residual norm).
    pub control: Option<Vec<(usize, Vec<f32>)>>,
}

/// Per-layer mean `(n_layer, d)` of one text's captured residual stream (each layer's
/// `hook_resid_post` capture, `(T, d)`; other captures, e.g. a readout's scores, are passed
/// over), over tokens from `offset` on (from token 1 when `T ≤ offset`).
pub fn text_means(
    captures: &Captures,
    n_layer: usize,
    d: usize,
    offset: usize,
) -> Result<Vec<Vec<f32>>> {
    (0..n_layer)
        .map(|l| {
            let c = captures
                .entries
                .iter()
                .find(|c| c.point == HookPoint::ResidPost(l) && c.cols == d)
                .ok_or_else(|| Error::Model(format!("layer {l} was not captured")))?;
            let t_len = c.values.len() / d.max(1);
            if t_len < 2 {
                return Err(Error::Prompt(
                    "a text needs at least two tokens to make a vector from".into(),
                ));
            }
            let from = if t_len > offset { offset } else { 1 };
            let mut m = vec![0.0f64; d];
            for row in c.values[from * d..t_len * d].chunks_exact(d) {
                m.iter_mut().zip(row).for_each(|(a, &v)| *a += v as f64);
            }
            Ok(m.iter()
                .map(|&v| (v / (t_len - from) as f64) as f32)
                .collect())
        })
        .collect()
}

/// Hooks that capture every layer's `hook_resid_post`.
pub fn capture_every_layer(n_layer: usize) -> HookSet {
    let mut hooks = HookSet::new();
    for l in 0..n_layer {
        hooks.push(HookPoint::ResidPost(l), Intervention::Capture);
    }
    hooks
}

/// Makes a vector `(n_layer, d)` from texts on `session`, one blocking pass per text (natively,
/// or the CPU): `progress(k)` after the `k`-th text; the session's hooks are cleared after.
pub fn make_from_texts(
    session: &mut Session,
    set: &EmotionSet,
    concept: &[String],
    opposite: &[String],
    progress: &dyn Fn(usize),
) -> Result<Vec<Vec<f32>>> {
    session.set_hooks(capture_every_layer(session.config().n_layer))?;
    let mut read = |texts: &[String], done: usize| -> Result<Vec<Vec<Vec<f32>>>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let fwd = session.run(&session.encode_prompt(t)?)?;
                progress(done + i + 1);
                text_means(&fwd.captures, set.n_layer(), set.d_model, set.token_offset)
            })
            .collect()
    };
    let means = read(concept, 0).and_then(|c| Ok((c, read(opposite, concept.len())?)));
    session.set_hooks(HookSet::new())?;
    let (c, o) = means?;
    make_vector(set, &c, &o)
}

/// The layer steering with a made vector adds at: the first after the readout's, the nearest to
/// where the vector is read and past it, so its readout shows what steering did through the text
/// it wrote, not the vector added in place. (The middle of the file's steering layers until those
/// moved up to 20–25 on 7 December 2026; it was 19 on SmolLM2 then as now.)
pub fn steer_layer(set: &EmotionSet) -> usize {
    (set.default_layer + 1).min(set.n_layer().saturating_sub(1))
}

/// The vector `(n_layer, d)`, unit per layer, of `concept` texts against `opposite` ones (or
/// the file's centres when there are none); each text given as its [`text_means`].
pub fn make_vector(
    set: &EmotionSet,
    concept: &[Vec<Vec<f32>>],
    opposite: &[Vec<Vec<f32>>],
) -> Result<Vec<Vec<f32>>> {
    if concept.len() < MIN_TEXTS {
        return Err(Error::Prompt(format!(
            "a vector needs at least {MIN_TEXTS} texts; {} given",
            concept.len()
        )));
    }
    if concept.len() + opposite.len() > MAX_TEXTS {
        return Err(Error::Prompt(format!(
            "at most {MAX_TEXTS} texts make one vector"
        )));
    }
    if set.neutral_basis.len() != set.n_layer() {
        return Err(Error::Steer(
            "this vectors file has no neutral PCs (made before v4): run `limbic extract --neutral-basis-only`".into(),
        ));
    }
    let (n_layer, d) = (set.n_layer(), set.d_model);
    let bad_shape = |m: &Vec<Vec<f32>>| m.len() != n_layer || m.iter().any(|r| r.len() != d);
    if concept.iter().chain(opposite).any(bad_shape) {
        return Err(Error::Model(format!(
            "text means must be ({n_layer}, {d}) per text"
        )));
    }
    (0..n_layer)
        .map(|l| {
            let mut v = mean_at(concept, l, d);
            let base = if opposite.is_empty() {
                set.centres[l].clone()
            } else {
                mean_at(opposite, l, d)
            };
            v.iter_mut().zip(&base).for_each(|(a, b)| *a -= b);
            project_out(&mut v, d, &neutral_rows(set, l));
            let len = dot(&v, &v).sqrt();
            if !len.is_finite() || len < 1e-6 {
                return Err(Error::Steer(format!(
                    "the texts and their baseline give no direction at layer {l}: write texts that differ from it"
                )));
            }
            normalise_rows(&mut v, d);
            Ok(v)
        })
        .collect()
}

/// The file's neutral principal components at layer `l` as rows, for [`project_out`].
pub fn neutral_rows(set: &EmotionSet, l: usize) -> Vec<Vec<f32>> {
    set.neutral_basis[l]
        .chunks_exact(set.d_model)
        .map(<[f32]>::to_vec)
        .collect()
}

/// The mean over texts of their means at layer `l`, `(d)`.
fn mean_at(texts: &[Vec<Vec<f32>>], l: usize, d: usize) -> Vec<f32> {
    let mut m = vec![0.0f64; d];
    for t in texts {
        m.iter_mut().zip(&t[l]).for_each(|(a, &v)| *a += v as f64);
    }
    m.iter()
        .map(|&v| (v / texts.len().max(1) as f64) as f32)
        .collect()
}

/// The `k` emotions whose unit means at `layer` are nearest to `v (d)` by cosine, nearest first.
pub fn neighbours(
    set: &EmotionSet,
    layer: usize,
    v: &[f32],
    k: usize,
) -> Result<Vec<(usize, f32)>> {
    set.check_layer(layer)?;
    let len = dot(v, v).sqrt().max(f32::MIN_POSITIVE);
    let mut cos: Vec<(usize, f32)> = (0..set.names.len())
        .map(|e| {
            let m = &set.mean(layer, e);
            (
                e,
                dot(v, m) / (len * dot(m, m).sqrt().max(f32::MIN_POSITIVE)),
            )
        })
        .collect();
    cos.sort_by(|a, b| b.1.total_cmp(&a.1));
    cos.truncate(k);
    Ok(cos)
}

/// Indices of the `k` largest of `logits`, largest first (the tokens a direction promotes).
pub fn top_ids(logits: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    idx.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
    idx.truncate(k);
    idx
}

impl MadeVector {
    /// A made vector from a name and its layers; the name must be new beside the emotions'
    /// (a steer row names one or the other), short and printable, and every vector finite,
    /// `(d)` long and not zero. Each is scaled to unit length (unless it is within
    /// [`UNIT_TOLERANCE`] of it), and the one at the steering layer is rounded to f16, as a link
    /// carries it: a link's vector passes through unchanged, so it steers exactly as the page
    /// that made it.
    pub fn new(
        set: &EmotionSet,
        name: &str,
        layers: BTreeMap<usize, Vec<f32>>,
        steer_layer: usize,
    ) -> Result<Self> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(Error::Steer(format!(
                "a made vector needs a name of 1 to {MAX_NAME_CHARS} printable characters"
            )));
        }
        if set.names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(Error::Steer(format!(
                "{name:?} is one of the built-in emotions: give the made vector another name"
            )));
        }
        set.check_layer(steer_layer)?;
        if !layers.contains_key(&steer_layer) {
            return Err(Error::Steer(format!(
                "the made vector has no vector at its steering layer {steer_layer}"
            )));
        }
        let mut out = BTreeMap::new();
        for (l, mut v) in layers {
            set.check_layer(l)?;
            let len = dot(&v, &v).sqrt();
            if v.len() != set.d_model || v.iter().any(|x| !x.is_finite()) || len <= 0.0 {
                return Err(Error::Steer(format!(
                    "the made vector at layer {l} must be {} finite numbers, not all zero",
                    set.d_model
                )));
            }
            // A vector already of unit length to f16 precision (a link's) is kept as it is.
            if (len - 1.0).abs() > UNIT_TOLERANCE {
                normalise_rows(&mut v, set.d_model);
            }
            if l == steer_layer {
                v.iter_mut()
                    .for_each(|x| *x = half::f16::from_f32(*x).to_f32());
            }
            out.insert(l, v);
        }
        Ok(Self {
            name: name.to_string(),
            layers: out,
            steer_layer,
            control: None,
        })
    }

    /// A control vector read from a file (checked against the model here), kept under `name`:
    /// shown at the readout layer when it has a direction there, else at its longest one.
    pub fn from_control(set: &EmotionSet, name: &str, cv: ControlVector) -> Result<Self> {
        cv.check(set.n_layer(), set.d_model)?;
        let layers: BTreeMap<usize, Vec<f32>> = cv
            .directions
            .iter()
            .filter(|(_, v)| v.iter().any(|x| *x != 0.0))
            .cloned()
            .collect();
        let longest = layers
            .iter()
            .max_by(|a, b| dot(a.1, a.1).total_cmp(&dot(b.1, b.1)))
            .map(|(l, _)| *l)
            .ok_or_else(|| Error::Steer("the control vector's directions are all zero".into()))?;
        let shown = if layers.contains_key(&set.default_layer) {
            set.default_layer
        } else {
            longest
        };
        let mut m = Self::new(set, name, layers, shown)?;
        m.control = Some(cv.directions);
        Ok(m)
    }

    /// What steering with strength `s` adds, `(layer, vector (d))` per layer: made from texts
    /// or read from a link, `s · resid_norm · v̂` at its steering layer (`s` a fraction of the
    /// mean residual norm); a control vector, `s ·` each direction (llama.cpp's scale).
    pub fn steering(&self, set: &EmotionSet, s: f32) -> Result<Vec<(usize, Vec<f32>)>> {
        check_strength(s)?;
        if let Some(c) = &self.control {
            return Ok(c
                .iter()
                .map(|(l, v)| (*l, v.iter().map(|x| x * s).collect()))
                .collect());
        }
        let l = self.steer_layer;
        let v = self
            .layers
            .get(&l)
            .ok_or_else(|| Error::Steer(format!("{:?} has no vector at layer {l}", self.name)))?;
        let scale = s * set.resid_norm[l];
        Ok(vec![(l, v.iter().map(|x| x * scale).collect())])
    }

    /// Its readout, a trace of one score per token: `(x − centre) · v̂` at the layer it is shown
    /// at (the emotions' readout layer when it has that layer), as an emotion's score is read.
    pub fn trace(&self, set: &EmotionSet) -> Result<Readout> {
        let layer = self.shown_layer(set.default_layer);
        let v = self.layers.get(&layer).ok_or_else(|| {
            Error::Steer(format!("{:?} has no vector at layer {layer}", self.name))
        })?;
        Ok(Readout {
            layer,
            basis: v.clone(),
            offsets: vec![dot(v, &set.centres[layer])],
        })
    }

    /// The layer its neighbours are read at: `readout` when it has that layer, else its
    /// steering layer.
    pub fn shown_layer(&self, readout: usize) -> usize {
        if self.layers.contains_key(&readout) {
            readout
        } else {
            self.steer_layer
        }
    }
}

/// A made vector as JSON: its name, the model, the hook, where and how hard steering adds it
/// (`added`: what steering at `strength` adds, per layer), and its unit vector at each layer
/// it has.
pub fn to_json(m: &MadeVector, set: &EmotionSet, strength: f32) -> Result<String> {
    let added: serde_json::Map<String, serde_json::Value> = m
        .steering(set, strength)?
        .into_iter()
        .map(|(l, v)| (l.to_string(), serde_json::json!(v)))
        .collect();
    let layers: serde_json::Map<String, serde_json::Value> = m
        .layers
        .iter()
        .map(|(l, v)| (l.to_string(), serde_json::json!(v)))
        .collect();
    Ok(serde_json::json!({
        "format": "limbic made vector", "version": 1, "name": m.name,
        "model_sha256": set.model_sha256, "hook": crate::emotions::HOOK,
        "d_model": set.d_model, "token_offset": set.token_offset,
        "steer_layer": m.steer_layer, "strength": strength,
        "resid_norm": set.resid_norm.get(m.steer_layer),
        "control_vector": m.control.is_some(),
        "added": added,
        "method": "per-text mean of hook_resid_post from the token offset; concept mean minus the opposite texts' mean (or the emotions' centre); neutral PCs projected out; unit length",
        "layers": layers,
    })
    .to_string())
}

/// What is shown of a made vector: its steering layer and vector there (f16 values), and at
/// the layer shown (the readout layer when it has it) its 10 nearest emotions and the tokens it
/// promotes (logit lens).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub name: String,
    pub steer_layer: usize,
    pub vector: Vec<f32>,
    pub shown_layer: usize,
    pub neighbours: Vec<(String, f32)>,
    pub lens: Vec<String>,
    /// How many layers it has (all when made from texts; one from a link; a control vector's).
    pub layers: usize,
    /// Read from a control-vector file (strength is then llama.cpp's scale).
    pub imported: bool,
}

/// The [`Summary`] of `m`, reading it out at `set`'s default layer when it has that layer.
pub fn summary(set: &EmotionSet, m: &MadeVector, session: &mut Session) -> Result<Summary> {
    let (s, lens) = summary_start(set, m, session)?;
    summary_finish(s, lens, session)
}

/// [`summary`] in two halves for a GPU in the browser, which cannot wait for the device: the
/// summary without its `lens`, and the logit lens's read, recorded and submitted; then, once the
/// session is ready, [`summary_finish`].
pub fn summary_start(
    set: &EmotionSet,
    m: &MadeVector,
    session: &mut Session,
) -> Result<(Summary, crate::backend::any::Pending)> {
    let shown = m.shown_layer(set.default_layer);
    let at = |l: usize| {
        m.layers
            .get(&l)
            .ok_or_else(|| Error::Steer(format!("{:?} has no vector at layer {l}", m.name)))
    };
    let v = at(shown)?;
    let neighbours = neighbours(set, shown, v, 10)?
        .into_iter()
        .map(|(e, c)| (set.names[e].clone(), c))
        .collect();
    let model = session.model();
    let lens = model.logit_lens_start(v)?;
    model.backend.flush()?;
    let s = Summary {
        name: m.name.clone(),
        steer_layer: m.steer_layer,
        vector: at(m.steer_layer)?.clone(),
        shown_layer: shown,
        neighbours,
        lens: Vec::new(),
        layers: m.layers.len(),
        imported: m.control.is_some(),
    };
    Ok((s, lens))
}

/// Reads the logit lens [`summary_start`] started into the summary: the 10 tokens it promotes.
pub fn summary_finish(
    mut s: Summary,
    lens: crate::backend::any::Pending,
    session: &mut Session,
) -> Result<Summary> {
    let logits = session.model().backend.read_finish(lens)?;
    s.lens = session.tokenizer.pieces(&top_ids(&logits, 10))?;
    Ok(s)
}
