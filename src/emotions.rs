//! `EmotionSet`: the emotion names, one unit vector per emotion and layer, the per-layer
//! centre and mean residual norm; the vectors file format; readout and steering maths.
//!
//! Readout score of a residual vector `x` at layer `l` for emotion `e`:
//! `w_{l,e} (x − centre_l) · v̂_{l,e} + b_{l,e}` — a projection onto unit vectors after
//! centring, weighted and offset so that it is the linear discriminant's score (v6 files,
//! `weight.{l}` and `bias.{l}`; without them `w = 1`, `b = 0`: the plain projection).
//! Steering (the maths in [`crate::steer`]) adds a multiple of the emotion's unit mean, or of
//! the emotion against neutral text, at the file's (or the emotion's own) steering layers.
//!
//! `v̂` is the readout's direction: in files from `limbic extract` the discriminant of the
//! emotion's mean (see [`crate::extract::discriminant`]); steering adds the mean itself (the
//! paper's vector, `mean.{l}`, f16), which v3 files carry beside it.
//!
//! v2 files add, per layer, the raw direction lengths, the neutral offset and the readout's
//! neutral calibration for each smoothing window ([`crate::readout`]), and the steering layers
//! and per-emotion strengths; a v1 file without them still loads. v4 files add the neutral
//! principal components themselves (`neutral_pc.{l}`), so that a vector made in the page from
//! new texts is built exactly as the emotions were. v5 files add generation-based steering
//! directions (`generated.{l}`, f16, at the layers the steering sweep tries) and name each
//! setting's direction (`"direction"`; v3/v4 said `"contrastive": true|false`).

use std::collections::HashMap;
use std::path::Path;

use half::f16;

use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};
use crate::io::{from_le_bytes, le_bytes, write_atomic};
use crate::numerics::dot;
use crate::readout::{Calibration, Emotional, Readout};
pub use crate::steer::{Direction, SteerSetting};

mod tensors;
use tensors::malformed;
pub use tensors::{narrow, widen, Tensors};
use tensors::{neutral_basis, NEUTRAL_PC_NOTE};

/// The hook site the vectors were read at and are added to.
pub const HOOK: &str = "resid_post";

/// Emotion directions for every layer of one model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmotionSet {
    pub names: Vec<String>,
    pub d_model: usize,
    /// Per layer: unit vectors `(n_emotions, d_model)` row-major.
    pub vectors: Vec<Vec<f32>>,
    /// Per layer: the mean residual vector of the corpus `(d_model)`, subtracted before projecting.
    pub centres: Vec<Vec<f32>>,
    /// Per layer: each emotion's score weight and bias `(n)` (v6; else empty: 1 and 0).
    pub weights: Vec<Vec<f32>>,
    pub biases: Vec<Vec<f32>>,
    /// Per layer: mean L2 norm of the residual stream over the corpus.
    pub resid_norm: Vec<f32>,
    pub default_layer: usize,
    /// Tokens skipped at the start of each story before averaging.
    pub token_offset: usize,
    /// Per layer: how many neutral principal components were projected out.
    pub neutral_pcs: Vec<usize>,
    /// Per layer: those components, `(neutral_pcs[l], d_model)` orthonormal rows (v4, for
    /// vectors made from new texts, [`crate::make`]; empty in older files).
    pub neutral_basis: Vec<Vec<f32>>,
    pub model_sha256: String,
    pub method: String,
    /// Default steering strength (fraction of the mean residual norm) for `--steer NAME`.
    pub default_strength: f32,
    /// Per layer: each direction's length before it was scaled to 1, `(n)` (v2; else empty).
    pub raw_norm: Vec<Vec<f32>>,
    /// Per layer: the neutral scenes' effect minus the centre, `(d)` (v2; else empty).
    pub neutral: Vec<Vec<f32>>,
    /// Readout smoothing windows in tokens (v2; else empty) and the default one.
    pub windows: Vec<usize>,
    pub default_window: usize,
    /// Per window, at the default layer: the intensity that neutral text stays below (the
    /// [`crate::calibrate::FLOOR_QUANTILE`] quantile; empty in older files).
    pub intensity_floor: Vec<f32>,
    /// Per layer, per window: the smoothed scores' mean and spread on neutral text.
    pub calibration: Vec<Vec<Calibration>>,
    /// Where `--steer NAME` adds its vector (empty: the default layer).
    pub steer_layers: Vec<usize>,
    /// Which direction `--steer` adds by default ([`Direction`]).
    pub steer_direction: Direction,
    /// Per emotion: the default steering strength (empty: `default_strength` for all).
    pub steer_strength: Vec<f32>,
    /// Per layer: the emotion means `(n, d)`, unit, held in f16 as the file has them: what
    /// steering adds (v3; else empty, and `vectors` serve both).
    pub means: Vec<Vec<f16>>,
    /// Per emotion (empty, or one entry each): its own steering layers and direction where the
    /// steering sweep chose them (v3); `None` follows `steer_layers` and `steer_direction`.
    pub steer_own: Vec<Option<SteerSetting>>,
    /// Per layer: the generation-based directions `(n, d)`, unit, f16 (v5: at the layers the
    /// steering sweep tries; empty at the others and in older files).
    pub generated: Vec<Vec<f16>>,
}

/// Largest steering strength accepted, in units of the mean residual norm.
pub const MAX_STRENGTH: f32 = 5.0;

impl EmotionSet {
    pub fn n_layer(&self) -> usize {
        self.vectors.len()
    }

    /// Unit vector of emotion `e` at `layer`, `(d_model)`.
    pub fn vector(&self, layer: usize, e: usize) -> &[f32] {
        &self.vectors[layer][e * self.d_model..(e + 1) * self.d_model]
    }

    /// Unit mean of emotion `e` at `layer` (the steering direction's base), `(d_model)`.
    pub fn mean(&self, layer: usize, e: usize) -> Vec<f32> {
        match self.means.get(layer) {
            Some(m) => widen(&m[e * self.d_model..(e + 1) * self.d_model]),
            None => self.vector(layer, e).to_vec(),
        }
    }

    /// The generation-based direction of emotion `e` at `layer`, where the file has one.
    pub fn generated(&self, layer: usize, e: usize) -> Option<Vec<f32>> {
        let d = self.d_model;
        let g = self.generated.get(layer)?;
        (g.len() >= (e + 1) * d).then(|| widen(&g[e * d..(e + 1) * d]))
    }

    /// Index of an emotion by name; an unknown name is an error that suggests the closest names.
    pub fn index(&self, name: &str) -> Result<usize> {
        let want = name.trim().to_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == want) {
            return Ok(i);
        }
        let mut near: Vec<(usize, &String)> = self
            .names
            .iter()
            .map(|n| (edit_distance(&want, n), n))
            .collect();
        near.sort();
        let near: Vec<&str> = near.iter().take(3).map(|(_, n)| n.as_str()).collect();
        Err(Error::Steer(format!(
            "unknown emotion {name:?}; closest: {}",
            near.join(", ")
        )))
    }

    /// Checks a layer number.
    pub fn check_layer(&self, layer: usize) -> Result<()> {
        crate::hooks::check_layer(layer, self.n_layer()).map_err(Error::Steer)
    }

    /// Emotion `e`'s score weight and bias at `layer` (1 and 0 where the file has none).
    pub fn affine(&self, layer: usize, e: usize) -> (f32, f32) {
        let at = |v: &[Vec<f32>], or| v.get(layer).and_then(|r| r.get(e)).copied().unwrap_or(or);
        (at(&self.weights, 1.0), at(&self.biases, 0.0))
    }

    /// The unit vectors at `layer` each times its score weight: rows `w v̂`, `(n_emotions, d)`.
    pub fn weighted_basis(&self, layer: usize) -> Vec<f32> {
        (0..self.names.len())
            .flat_map(|e| {
                let w = self.affine(layer, e).0;
                self.vector(layer, e).iter().map(move |v| w * v)
            })
            .collect()
    }

    /// The readout at `layer`: the basis `(n_emotions, d)`, rows `w v̂`, and per-emotion offsets
    /// `w centre · v̂ − b`, so `score = x · basis_e − offset_e`.
    pub fn readout(&self, layer: usize) -> Result<Readout> {
        self.check_layer(layer)?;
        let offsets = (0..self.names.len())
            .map(|e| {
                let (w, b) = self.affine(layer, e);
                w * dot(self.vector(layer, e), &self.centres[layer]) - b
            })
            .collect();
        Ok(Readout {
            layer,
            basis: self.weighted_basis(layer),
            offsets,
        })
    }

    /// Scores `(n_emotions)` of one residual vector `x (d)` at `layer`.
    pub fn scores(&self, layer: usize, x: &[f32]) -> Vec<f32> {
        let c = &self.centres[layer];
        (0..self.names.len())
            .map(|e| {
                let (w, b) = self.affine(layer, e);
                let p: f32 = (self.vector(layer, e).iter().zip(x.iter().zip(c)))
                    .map(|(v, (x, c))| v * (x - c))
                    .sum();
                w * p + b
            })
            .collect()
    }

    /// The readout calibration at `layer` for a smoothing window, if the file has one.
    pub fn calibration(&self, layer: usize, window: usize) -> Option<&Calibration> {
        let w = self.windows.iter().position(|&x| x == window)?;
        self.calibration.get(layer)?.get(w)
    }

    /// Writes the set as safetensors: `layer.{l}` (n, d) and `centre.{l}` (d) f32, metadata as
    /// JSON strings. Written to a temporary file and renamed, so a failure leaves nothing half-written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let n = self.names.len();
        let bytes: Vec<Tensor> = (0..self.n_layer())
            .flat_map(|l| {
                [
                    (
                        format!("layer.{l}"),
                        Dtype::F32,
                        le_bytes(&self.vectors[l]),
                        vec![n, self.d_model],
                    ),
                    (
                        format!("centre.{l}"),
                        Dtype::F32,
                        le_bytes(&self.centres[l]),
                        vec![self.d_model],
                    ),
                ]
            })
            .chain(self.v2_tensors())
            .collect();
        let views = bytes
            .iter()
            .map(|(name, dtype, b, shape)| {
                Ok((name.clone(), TensorView::new(*dtype, shape.clone(), b)?))
            })
            .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| Error::Steer(format!("vectors file: {e}")))?;
        let json = |v: serde_json::Value| v.to_string();
        let metadata: HashMap<String, String> = [
            ("emotions", json(serde_json::json!(self.names))),
            ("default_layer", self.default_layer.to_string()),
            ("resid_norm", json(serde_json::json!(self.resid_norm))),
            ("hook", HOOK.to_string()),
            ("token_offset", self.token_offset.to_string()),
            ("neutral_pcs", json(serde_json::json!(self.neutral_pcs))),
            ("model_sha256", self.model_sha256.clone()),
            ("method", self.method.clone()),
            ("default_strength", self.default_strength.to_string()),
            ("windows", json(serde_json::json!(self.windows))),
            ("default_window", self.default_window.to_string()),
            ("intensity_floor", json(serde_json::json!(self.intensity_floor))),
            ("neutral_pc", NEUTRAL_PC_NOTE.to_string()),
            ("steer", json(serde_json::json!({"layers": self.steer_layers, "direction": self.steer_direction, "strength": self.steer_strength, "own": self.steer_own}))),
        ]
        .into_iter()
        // The note on `neutral_pc.{l}` only where the file holds them.
        .filter(|(k, _)| *k != "neutral_pc" || !self.neutral_basis.is_empty())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let out = safetensors::serialize(views, Some(metadata))
            .map_err(|e| Error::Steer(format!("vectors file: {e}")))?;
        write_atomic(path, &out)
    }

    /// The v2 tensors: `raw_norm.{l}` (n), `neutral.{l}` (d), `calibration.{l}` (windows, 2, n),
    /// v3's `mean.{l}` (n, d) in f16, v6's `weight.{l}` and `bias.{l}` (n), and at the default
    /// layer `intensity.{l}` (windows, n + 2).
    fn v2_tensors(&self) -> Vec<Tensor> {
        let n = self.names.len();
        let mut out = Vec::new();
        for (name, rows) in [
            ("raw_norm", &self.raw_norm),
            ("weight", &self.weights),
            ("bias", &self.biases),
        ] {
            for (l, r) in rows.iter().enumerate() {
                out.push((format!("{name}.{l}"), Dtype::F32, le_bytes(r), vec![n]));
            }
        }
        for (l, u) in self.neutral.iter().enumerate() {
            out.push((
                format!("neutral.{l}"),
                Dtype::F32,
                le_bytes(u),
                vec![self.d_model],
            ));
        }
        for (name, layers) in [("mean", &self.means), ("generated", &self.generated)] {
            for (l, m) in layers.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
                let b = m.iter().flat_map(|x| x.to_le_bytes()).collect();
                out.push((format!("{name}.{l}"), Dtype::F16, b, vec![n, self.d_model]));
            }
        }
        for (l, b) in self.neutral_basis.iter().enumerate() {
            let k = b.len() / self.d_model.max(1);
            out.push((
                format!("neutral_pc.{l}"),
                Dtype::F32,
                le_bytes(b),
                vec![k, self.d_model],
            ));
        }
        for (l, cs) in self.calibration.iter().enumerate() {
            let flat: Vec<f32> = cs
                .iter()
                .flat_map(|c| c.mean.iter().chain(&c.sd).copied())
                .collect();
            out.push((
                format!("calibration.{l}"),
                Dtype::F32,
                le_bytes(&flat),
                vec![cs.len(), 2, n],
            ));
        }
        // The intensity's direction at the default layer, per window: `intensity.{l}` (windows,
        // n + 2).
        let emotional: Option<Vec<&Emotional>> = self
            .calibration
            .get(self.default_layer)
            .and_then(|cs| cs.iter().map(|c| c.emotional.as_ref()).collect());
        if let Some(es) = emotional.filter(|es| !es.is_empty()) {
            let flat: Vec<f32> = es.iter().flat_map(|e| e.to_row()).collect();
            out.push((
                format!("intensity.{}", self.default_layer),
                Dtype::F32,
                le_bytes(&flat),
                vec![es.len(), n + 2],
            ));
        }
        out
    }

    /// Reads a vectors file; `model_sha256`, when given, must match the file's.
    pub fn load(path: &Path, model_sha256: Option<&str>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Steer(format!(
                "cannot read emotion vectors {}: {e} (made by `limbic extract`)",
                path.display()
            ))
        })?;
        let set = Self::from_bytes(&bytes)?;
        if let Some(want) = model_sha256 {
            if set.model_sha256 != want {
                return Err(Error::Steer(format!(
                    "{} was made for another model (sha256 {}…, this model is {}…)",
                    path.display(),
                    &set.model_sha256.get(..12).unwrap_or(&set.model_sha256),
                    &want.get(..12).unwrap_or(want)
                )));
            }
        }
        Ok(set)
    }

    /// Parses a vectors file held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_tensors(&Tensors::from_bytes(bytes)?)
    }

    /// Parses a vectors file's tensors, read one at a time.
    pub fn from_tensors(st: &Tensors) -> Result<Self> {
        let bad = |m: String| malformed(m);
        let md = st
            .metadata()
            .cloned()
            .ok_or_else(|| bad("no metadata".into()))?;
        let get = |k: &str| {
            md.get(k)
                .cloned()
                .ok_or_else(|| bad(format!("metadata {k} is missing")))
        };
        let parse = |k: &str| -> Result<serde_json::Value> {
            serde_json::from_str(&get(k)?).map_err(|e| bad(format!("{k}: {e}")))
        };
        let names: Vec<String> =
            serde_json::from_value(parse("emotions")?).map_err(|e| bad(e.to_string()))?;
        if names.is_empty() {
            return Err(bad("no emotions".into()));
        }
        let resid_norm: Vec<f32> =
            serde_json::from_value(parse("resid_norm")?).map_err(|e| bad(e.to_string()))?;
        let neutral_pcs: Vec<usize> =
            serde_json::from_value(parse("neutral_pcs")?).map_err(|e| bad(e.to_string()))?;
        let num = |k: &str| -> Result<f64> {
            get(k)?.parse::<f64>().map_err(|e| bad(format!("{k}: {e}")))
        };
        let n_layer = resid_norm.len();
        let (mut vectors, mut centres) = (Vec::new(), Vec::new());
        let mut d_model = 0;
        for l in 0..n_layer {
            let t = st.need(&format!("layer.{l}"))?;
            let c = st.need(&format!("centre.{l}"))?;
            if t.dtype != Dtype::F32
                || c.dtype != Dtype::F32
                || t.shape.len() != 2
                || t.shape[0] != names.len()
            {
                return Err(bad(format!(
                    "layer.{l} has shape {:?}, want ({}, d) f32",
                    t.shape,
                    names.len()
                )));
            }
            d_model = t.shape[1];
            if c.shape != [d_model] {
                return Err(bad(format!(
                    "centre.{l} has shape {:?}, want ({d_model})",
                    c.shape
                )));
            }
            vectors.push(from_le_bytes(&t.data));
            centres.push(from_le_bytes(&c.data));
        }
        let n = names.len();
        // One layer's `name.{l}`: absent, or `len` f32 or f16 values; a wrong shape is an error.
        let at = |name: &str, l: usize, len: usize| -> Result<Option<Vec<f32>>> {
            let Some(t) = st.get(&format!("{name}.{l}")) else {
                return Ok(None);
            };
            match (t.dtype, t.data.len()) {
                (Dtype::F32, b) if b == 4 * len => Ok(Some(from_le_bytes(&t.data))),
                (Dtype::F16, b) if b == 2 * len => Ok(Some(
                    t.data
                        .chunks_exact(2)
                        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                        .collect(),
                )),
                _ => Err(bad(format!(
                    "{name}.{l} has shape {:?}, want {len} f32 or f16 values",
                    t.shape
                ))),
            }
        };
        // v2 tensors: all layers or none, read a layer at a time.
        let layers = |name: &'static str, len: usize| {
            let all = if st.get(&format!("{name}.0")).is_some() {
                n_layer
            } else {
                0
            };
            (0..all)
                .map(move |l| at(name, l, len)?.ok_or_else(|| bad(format!("no tensor {name}.{l}"))))
        };
        let optional = |name: &'static str, len: usize| -> Result<Vec<Vec<f32>>> {
            layers(name, len).collect()
        };
        // v5's generation-based directions: at some layers.
        let mut generated: Vec<Vec<f16>> = (0..n_layer)
            .map(|l| Ok(narrow(at("generated", l, n * d_model)?.unwrap_or_default())))
            .collect::<Result<_>>()?;
        if generated.iter().all(Vec::is_empty) {
            generated.clear();
        }
        let windows: Vec<usize> = match md.get("windows") {
            Some(w) => serde_json::from_str(w).map_err(|e| bad(format!("windows: {e}")))?,
            None => Vec::new(),
        };
        let mut calibration: Vec<Vec<Calibration>> =
            optional("calibration", windows.len() * 2 * n)?
                .into_iter()
                .map(|flat| {
                    flat.chunks_exact(2 * n)
                        .map(|c| Calibration {
                            mean: c[..n].to_vec(),
                            sd: c[n..].to_vec(),
                            emotional: None,
                        })
                        .collect()
                })
                .collect();
        let default = num("default_layer")? as usize;
        if let Some(t) = st.get(&format!("intensity.{default}")) {
            let at = calibration
                .get_mut(default)
                .filter(|_| t.dtype == Dtype::F32 && t.shape == [windows.len(), n + 2]);
            let Some(cs) = at else {
                return Err(bad(format!("intensity has shape {:?}", t.shape)));
            };
            for (c, row) in cs
                .iter_mut()
                .zip(from_le_bytes(&t.data).chunks_exact(n + 2))
            {
                let e = Emotional::from_row(row);
                c.emotional = Some(e.ok_or_else(|| bad("intensity out of range".into()))?);
            }
        }
        let steer: serde_json::Value = match md.get("steer") {
            Some(s) => serde_json::from_str(s).map_err(|e| bad(format!("steer: {e}")))?,
            None => serde_json::Value::Null,
        };
        let steer_layers: Vec<usize> =
            serde_json::from_value(steer["layers"].clone()).unwrap_or_default();
        let steer_strength: Vec<f32> =
            serde_json::from_value(steer["strength"].clone()).unwrap_or_default();
        let steer_own: Vec<Option<SteerSetting>> = match steer.get("own") {
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| bad(format!("steer.own: {e}")))?
            }
            None => Vec::new(),
        };
        let set = Self {
            names,
            d_model,
            vectors,
            centres,
            resid_norm,
            default_layer: num("default_layer")? as usize,
            token_offset: num("token_offset")? as usize,
            neutral_basis: neutral_basis(st, &neutral_pcs, d_model)?,
            neutral_pcs,
            model_sha256: get("model_sha256")?,
            method: get("method")?,
            default_strength: num("default_strength")? as f32,
            raw_norm: optional("raw_norm", n)?,
            weights: optional("weight", n)?,
            biases: optional("bias", n)?,
            neutral: optional("neutral", d_model)?,
            default_window: md
                .get("default_window")
                .and_then(|w| w.parse().ok())
                .unwrap_or(1),
            intensity_floor: match md.get("intensity_floor") {
                Some(f) => {
                    serde_json::from_str(f).map_err(|e| bad(format!("intensity_floor: {e}")))?
                }
                None => Vec::new(),
            },
            windows,
            calibration,
            steer_direction: Direction::of_json(&steer),
            steer_layers,
            steer_strength,
            // Each layer narrowed as it is read: never every layer in f32 at once.
            means: layers("mean", n * d_model)
                .map(|m| m.map(narrow))
                .collect::<Result<_>>()?,
            steer_own,
            generated,
        };
        if set.steer_layers.iter().any(|&l| l >= n_layer)
            || !(set.steer_strength.is_empty() || set.steer_strength.len() == n)
            || !(set.steer_own.is_empty() || set.steer_own.len() == n)
            || !(set.intensity_floor.is_empty() || set.intensity_floor.len() == set.windows.len())
            || set.intensity_floor.iter().any(|x| !x.is_finite())
            || set
                .steer_own
                .iter()
                .flatten()
                .any(|o| o.layers.is_empty() || o.layers.iter().any(|&l| l >= n_layer))
            || set
                .steer_strength
                .iter()
                .any(|s| check_strength(*s).is_err())
            || set
                .calibration
                .iter()
                .flatten()
                .flat_map(|c| c.mean.iter().chain(&c.sd))
                .any(|x| !x.is_finite())
        {
            return Err(bad("steering or calibration metadata out of range".into()));
        }
        if n_layer == 0 || set.default_layer >= n_layer || set.neutral_pcs.len() != n_layer {
            return Err(bad("layer counts disagree".into()));
        }
        if set
            .vectors
            .iter()
            .chain(&set.centres)
            .chain(&set.weights)
            .chain(&set.biases)
            .chain(&set.raw_norm)
            .chain(&set.neutral)
            .chain(&set.neutral_basis)
            .flatten()
            .any(|x| !x.is_finite())
            || set
                .means
                .iter()
                .chain(&set.generated)
                .flatten()
                .any(|x| !x.is_finite())
        {
            return Err(bad("non-finite values".into()));
        }
        Ok(set)
    }
}

/// A steering strength must be a finite number within ±[`MAX_STRENGTH`].
pub fn check_strength(s: f32) -> Result<()> {
    if !s.is_finite() || s.abs() > MAX_STRENGTH {
        return Err(Error::Steer(format!(
            "strength {s} must be a finite number within ±{MAX_STRENGTH}"
        )));
    }
    Ok(())
}

/// A tensor to write: name, dtype, little-endian bytes, shape.
type Tensor = (String, Dtype, Vec<u8>, Vec<usize>);

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != *cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
