//! Hook sites in the residual stream and what happens there: capture, steer (add), project.
//!
//! Hooks are data, not callbacks: a [`HookSet`] lists `(HookPoint, Intervention)` pairs and
//! the forward loop applies them at `blocks.{l}.hook_resid_pre` (the block's input) and
//! `blocks.{l}.hook_resid_post` (the block's output), named as in TransformerLens.
//! Blocks are numbered from 0. Adding `alpha * v` at `resid_post` of block `l` is what
//! llama.cpp's control vectors do with their tensor `direction.{l}` (added to the output of
//! block `l`; llama.cpp cannot address block 0).

use crate::error::{Error, Result};

/// Where in block `layer` the residual stream is read or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookPoint {
    /// Input of block `l` (the residual stream before attention).
    ResidPre(usize),
    /// Output of block `l` (after attention and MLP were added).
    ResidPost(usize),
}

impl HookPoint {
    pub fn layer(self) -> usize {
        match self {
            HookPoint::ResidPre(l) | HookPoint::ResidPost(l) => l,
        }
    }

    /// TransformerLens-style name, e.g. `blocks.20.hook_resid_post`.
    pub fn name(self) -> String {
        match self {
            HookPoint::ResidPre(l) => format!("blocks.{l}.hook_resid_pre"),
            HookPoint::ResidPost(l) => format!("blocks.{l}.hook_resid_post"),
        }
    }

    /// Parses a TransformerLens-style name.
    pub fn parse(name: &str) -> Result<Self> {
        let err = || {
            Error::Hook(format!(
                "unknown hook {name:?} (want blocks.L.hook_resid_pre or blocks.L.hook_resid_post)"
            ))
        };
        let rest = name.strip_prefix("blocks.").ok_or_else(err)?;
        let (l, site) = rest.split_once('.').ok_or_else(err)?;
        let l: usize = l.parse().map_err(|_| err())?;
        match site {
            "hook_resid_pre" => Ok(HookPoint::ResidPre(l)),
            "hook_resid_post" => Ok(HookPoint::ResidPost(l)),
            _ => Err(err()),
        }
    }
}

/// Why block `layer` is not in a model of `n_layer` blocks, if it is not: the one check of a
/// layer number (hooks, emotion vectors and the CLI's `--layer` all use it).
pub fn check_layer(layer: usize, n_layer: usize) -> std::result::Result<(), String> {
    if layer < n_layer {
        return Ok(());
    }
    Err(match n_layer {
        0 => format!("layer {layer} does not exist: there are no layers"),
        n => format!(
            "layer {layer} does not exist: the model has layers 0..{}",
            n - 1
        ),
    })
}

/// What to do with the residual stream `x: (T, d)` at a hook point.
#[derive(Debug, Clone, PartialEq)]
pub enum Intervention {
    /// Keep a copy of `x` (T, d).
    Capture,
    /// `x += alpha * vector` on every position; `vector: (d)`.
    Add { vector: Vec<f32>, alpha: f32 },
    /// Keep `x · basisᵀ` (T, n) where `basis: (n, d)` row-major; only the scores leave the device.
    Project { basis: Vec<f32>, n: usize },
}

/// The hooks applied during one forward pass, in order of their points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookSet {
    pub hooks: Vec<(HookPoint, Intervention)>,
}

impl HookSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Whether some hook reads the stream (a capture or a projection).
    pub fn reads(&self) -> bool {
        self.hooks
            .iter()
            .any(|(_, w)| !matches!(w, Intervention::Add { .. }))
    }

    pub fn push(&mut self, point: HookPoint, what: Intervention) -> &mut Self {
        self.hooks.push((point, what));
        self
    }

    /// Checks every hook against the model's shape: layer in range, vector sizes, finite numbers.
    pub fn validate(&self, n_layer: usize, d_model: usize) -> Result<()> {
        for (point, what) in &self.hooks {
            check_layer(point.layer(), n_layer)
                .map_err(|why| Error::Hook(format!("{}: {why}", point.name())))?;
            match what {
                Intervention::Capture => {}
                Intervention::Add { vector, alpha } => {
                    if vector.len() != d_model {
                        return Err(Error::Hook(format!(
                            "{}: vector has {} values, want {d_model}",
                            point.name(),
                            vector.len()
                        )));
                    }
                    if !alpha.is_finite() || vector.iter().any(|v| !v.is_finite()) {
                        return Err(Error::Hook(format!(
                            "{}: steering vector or strength is not finite",
                            point.name()
                        )));
                    }
                }
                Intervention::Project { basis, n } => {
                    if *n == 0 || basis.len() != n * d_model {
                        return Err(Error::Hook(format!(
                            "{}: basis has {} values, want {n}×{d_model}",
                            point.name(),
                            basis.len()
                        )));
                    }
                    if basis.iter().any(|v| !v.is_finite()) {
                        return Err(Error::Hook(format!(
                            "{}: basis is not finite",
                            point.name()
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the hooks of one forward pass kept: `(point, cols, values)` with values (T, cols) row-major.
/// `cols` is `d_model` for a capture and `n` for a projection.
#[derive(Debug, Clone, Default)]
pub struct Captures {
    pub entries: Vec<Capture>,
}

/// One kept matrix (T, cols), row-major.
#[derive(Debug, Clone)]
pub struct Capture {
    pub point: HookPoint,
    pub cols: usize,
    pub values: Vec<f32>,
}

impl Captures {
    /// Appends the rows of a later forward call of the same hooks.
    pub fn append(&mut self, later: Captures) {
        if self.entries.is_empty() {
            *self = later;
            return;
        }
        for (mine, theirs) in self.entries.iter_mut().zip(later.entries) {
            mine.values.extend(theirs.values);
        }
    }

    /// The first capture at `point`, if any.
    pub fn get(&self, point: HookPoint) -> Option<&Capture> {
        self.entries.iter().find(|c| c.point == point)
    }
}
