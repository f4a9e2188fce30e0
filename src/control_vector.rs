//! llama.cpp control vectors (GGUF), written once for the CLI's `limbic export --format
//! llama-cpp` and the page's export of a made vector.
//!
//! The layout llama.cpp's `llama_control_vector_load` (common/common.cpp) reads and repeng's
//! `export_gguf` writes: `general.architecture = "controlvector"`, `controlvector.model_hint`
//! (the model family), `controlvector.layer_count` (the number of direction tensors), and one
//! f32 tensor `direction.{l}` of `n_embd` values per layer. llama.cpp adds `direction.{l}` to
//! the output of block `l` — our `blocks.{l}.hook_resid_post` (see [`crate::hooks`]) — and
//! has no `direction.0`, so block 0 cannot be written.

use candle_core::quantized::gguf_file::{self, Value as G};
use candle_core::quantized::{GgmlDType, QTensor};

use crate::error::{Error, Result};

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
        let t = candle_core::Tensor::from_slice(v, v.len(), &candle_core::Device::Cpu)?;
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
