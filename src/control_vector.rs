//! llama.cpp control vectors (GGUF), written for the CLI's `limbic export --format llama-cpp`
//! and the page's export of a made vector, and read back by `limbic import` and `--control-vector`.
//!
//! The layout llama.cpp's `common_control_vector_load` (common/common.cpp) reads, and both its
//! `cvector-generator` and repeng's `export_gguf` write: `general.architecture = "controlvector"`,
//! `controlvector.model_hint` (the model family), `controlvector.layer_count` (the number of
//! direction tensors: i32 from cvector-generator, u32 from repeng; llama.cpp does not read it,
//! and neither do we), and one 1-D f32 tensor `direction.{l}` of `n_embd` values per layer, in
//! any order (cvector-generator ascending from 1, repeng descending from the last layer).
//! llama.cpp adds `strength · direction.{l}` to the output of block `l` (`llama_adapter_cvec`,
//! applied as `l_out` of block `l`) — our `blocks.{l}.hook_resid_post` (see [`crate::hooks`]) — to
//! every token, and has no `direction.0`, so block 0 can be neither written nor read.
//!
//! Reading refuses what llama.cpp would skip (a tensor not named `direction.N`, N = 0, not f32,
//! not 1-D, lengths that differ) and, checked against the model ([`ControlVector::check`]), a
//! file made for another model: another embedding size, or a layer the model does not have
//! (llama.cpp drops those silently).

use candle_core::quantized::gguf_file::{self, Value as G};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use crate::error::{Error, Result};
use crate::gguf::clip;

/// The GGUF bytes of a control vector adding `(layer, vector (d))` at each layer; `model_hint`
/// is the model family (`general.architecture` of the model, e.g. "llama").
pub fn write_gguf(directions: &[(usize, Vec<f32>)], model_hint: &str) -> Result<Vec<u8>> {
    if directions.is_empty() {
        return Err(Error::Steer(
            "a control vector needs at least one layer".into(),
        ));
    }
    if directions.iter().any(|(l, _)| *l == 0) {
        return Err(Error::Steer(
            "llama.cpp control vectors cannot address block 0; start the range at 1".into(),
        ));
    }
    let mut tensors = Vec::new();
    for (l, v) in directions {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::Steer(format!("direction.{l} has non-finite values")));
        }
        let t = candle_core::Tensor::from_slice(v, v.len(), &Device::Cpu)?;
        tensors.push((
            format!("direction.{l}"),
            QTensor::quantize(&t, GgmlDType::F32)?,
        ));
    }
    let md = [
        ("general.architecture", G::String("controlvector".into())),
        ("controlvector.model_hint", G::String(model_hint.into())),
        ("controlvector.layer_count", G::U32(directions.len() as u32)),
    ];
    let md_refs: Vec<(&str, &G)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut buf = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &md_refs, &t_refs)?;
    Ok(buf.into_inner())
}

/// A control vector read from a GGUF file: what llama.cpp adds at each layer at strength 1.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlVector {
    /// `controlvector.model_hint`: the model family the file says it was made for, if it says.
    pub model_hint: Option<String>,
    /// `(layer, direction (n_embd))` in layer order, every layer ≥ 1; added at
    /// `blocks.{layer}.hook_resid_post`.
    pub directions: Vec<(usize, Vec<f32>)>,
}

fn bad(m: String) -> Error {
    Error::Steer(format!("control vector file: {m}"))
}

impl ControlVector {
    /// Reads a control-vector GGUF (cvector-generator's or repeng's layout) from `bytes`.
    pub fn read_gguf(bytes: &[u8]) -> Result<Self> {
        let mut cursor = std::io::Cursor::new(bytes);
        let content = crate::gguf::read_header(&mut cursor).map_err(|e| match e {
            Error::Model(m) => bad(m),
            other => other,
        })?;
        let string = |key: &str| match content.metadata.get(key) {
            None => Ok(None),
            Some(G::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("{key} is not a string"))),
        };
        match string("general.architecture")? {
            Some(a) if a == "controlvector" => {}
            Some(a) => {
                return Err(bad(format!(
                    "general.architecture is {:?}, not \"controlvector\" (a model file?)",
                    clip(&a)
                )))
            }
            None => {
                return Err(bad(
                    "no general.architecture (want \"controlvector\")".into()
                ))
            }
        }
        let model_hint = string("controlvector.model_hint")?;
        let mut directions = Vec::new();
        let mut n_embd: Option<(usize, usize)> = None;
        for (name, info) in &content.tensor_infos {
            let layer = name
                .strip_prefix("direction.")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| bad(format!("tensor {:?} is not named direction.N", clip(name))))?;
            if layer == 0 {
                return Err(bad(
                    "direction.0: llama.cpp control vectors have no direction for block 0".into(),
                ));
            }
            if info.ggml_dtype != GgmlDType::F32 {
                return Err(bad(format!(
                    "{name} is {:?}; directions are f32",
                    info.ggml_dtype
                )));
            }
            let dims = info.shape.dims();
            if dims.len() != 1 {
                return Err(bad(format!(
                    "{name} has shape {dims:?}; directions are 1-D"
                )));
            }
            match n_embd {
                Some((n, l)) if n != dims[0] => {
                    return Err(bad(format!(
                        "{name} has {} values but direction.{l} has {n}",
                        dims[0]
                    )))
                }
                None => n_embd = Some((dims[0], layer)),
                _ => {}
            }
            let v: Vec<f32> = content
                .tensor(&mut cursor, name, &Device::Cpu)
                .and_then(|t| t.dequantize(&Device::Cpu)?.to_vec1())
                .map_err(|e| bad(format!("{name}: {}", crate::error::first_line(&e))))?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("{name} has non-finite values")));
            }
            directions.push((layer, v));
        }
        if directions.is_empty() {
            return Err(bad("it holds no direction tensors".into()));
        }
        directions.sort_by_key(|(l, _)| *l);
        Ok(Self {
            model_hint,
            directions,
        })
    }

    /// The length of each direction (the embedding size of the model it was made for).
    pub fn n_embd(&self) -> usize {
        self.directions.first().map_or(0, |(_, v)| v.len())
    }

    /// Checks the file against a model of `n_layer` blocks and embedding size `d_model`: a file
    /// made for another model is refused, saying why.
    pub fn check(&self, n_layer: usize, d_model: usize) -> Result<()> {
        let made_for = match &self.model_hint {
            Some(h) => format!("it was made for another model (its hint: {:?})", clip(h)),
            None => "it was made for another model".into(),
        };
        if self.n_embd() != d_model {
            return Err(Error::Steer(format!(
                "the control vector's directions have {} values, but this model's embedding has {d_model}: {made_for}",
                self.n_embd()
            )));
        }
        if let Some((l, _)) = self.directions.iter().find(|(l, _)| *l >= n_layer) {
            return Err(Error::Steer(format!(
                "the control vector has direction.{l}, but this model has {n_layer} layers (direction.1 to direction.{}): {made_for}",
                n_layer.saturating_sub(1)
            )));
        }
        Ok(())
    }

    /// What steering with the file at `strength` adds: `(layer, strength · direction (d))`, as
    /// llama.cpp's `--control-vector-scaled FILE STRENGTH` does.
    pub fn scaled(&self, strength: f32) -> Vec<(usize, Vec<f32>)> {
        self.directions
            .iter()
            .map(|(l, v)| (*l, v.iter().map(|x| x * strength).collect()))
            .collect()
    }
}
