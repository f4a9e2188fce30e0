//! A vectors file's tensors, read one at a time: the safetensors header (the library's
//! [`Metadata`], checked as it checks it) and the bytes of a tensor when it is asked for. A
//! file in memory lends its bytes; the page's, held by JavaScript, is copied into the wasm
//! memory a tensor at a time, never whole.

use std::borrow::Cow;

use half::f16;
use safetensors::tensor::{Dtype, Metadata, SafeTensors};

use crate::error::{Error, Result};
use crate::io::from_le_bytes;

/// One tensor: its type, shape and little-endian bytes.
pub struct Tensor<'a> {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Cow<'a, [u8]>,
}

type ReadRange<'a> = Box<dyn Fn(usize, usize) -> Cow<'a, [u8]> + 'a>;

pub struct Tensors<'a> {
    meta: Metadata,
    /// Bytes `a .. b` of the data after the header (checked to lie inside the file).
    read: ReadRange<'a>,
}

pub(crate) fn malformed(m: impl std::fmt::Display) -> Error {
    Error::Steer(format!("malformed vectors file: {m}"))
}

impl<'a> Tensors<'a> {
    /// The tensors of a whole file in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let (n, meta) = SafeTensors::read_metadata(bytes).map_err(malformed)?;
        let start = 8 + n;
        Ok(Self {
            meta,
            read: Box::new(move |a, b| Cow::Borrowed(&bytes[start + a..start + b])),
        })
    }

    /// The tensors of a file of `len` bytes that `read(a, b)` gives a range of at a time.
    pub fn from_ranges(len: usize, read: impl Fn(usize, usize) -> Vec<u8> + 'a) -> Result<Self> {
        let prefix = read(0, 8.min(len));
        let n = match <[u8; 8]>::try_from(&prefix[..]) {
            Ok(b) => u64::from_le_bytes(b),
            Err(_) => return Err(malformed("shorter than its header")),
        };
        if n > (len as u64).saturating_sub(8) || n > 100 << 20 {
            return Err(malformed(format!(
                "a header of {n} bytes in a file of {len}"
            )));
        }
        let start = 8 + n as usize;
        let meta: Metadata = serde_json::from_slice(&read(8, start)).map_err(malformed)?;
        if start + meta.data_len() != len {
            return Err(malformed(format!(
                "its header describes {} bytes of tensors, the file holds {}",
                meta.data_len(),
                len - start
            )));
        }
        Ok(Self {
            meta,
            read: Box::new(move |a, b| Cow::Owned(read(start + a, start + b))),
        })
    }

    pub fn metadata(&self) -> Option<&std::collections::HashMap<String, String>> {
        self.meta.metadata().as_ref()
    }

    /// `name`'s tensor, or `None` when the file has none of that name.
    pub fn get(&self, name: &str) -> Option<Tensor<'a>> {
        let info = self.meta.info(name)?;
        let (a, b) = info.data_offsets;
        Some(Tensor {
            dtype: info.dtype,
            shape: info.shape.clone(),
            data: (self.read)(a, b),
        })
    }

    /// `name`'s tensor; its absence is an error.
    pub fn need(&self, name: &str) -> Result<Tensor<'a>> {
        self.get(name)
            .ok_or_else(|| malformed(format!("no tensor {name}")))
    }
}

/// f16 values as f32 (exact).
pub fn widen(v: &[f16]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32()).collect()
}

/// f32 values held as f16 (exact for what came from f16).
pub fn narrow(v: Vec<f32>) -> Vec<f16> {
    v.into_iter().map(f16::from_f32).collect()
}

/// What the file's metadata says of `neutral_pc.{l}` when it holds them.
pub(super) const NEUTRAL_PC_NOTE: &str = "neutral_pc.{l} (k_l, d) f32: the neutral dialogues' principal components projected out of every vector at layer l (k_l = neutral_pcs[l]), kept so that vectors made from new texts (limbic make-vector, the page's Make view) are built the same way";

/// `neutral_pc.{l}` for every layer, or none; each `(neutral_pcs[l], d)` f32.
pub(super) fn neutral_basis(st: &Tensors, counts: &[usize], d: usize) -> Result<Vec<Vec<f32>>> {
    if st.get("neutral_pc.0").is_none() {
        return Ok(Vec::new());
    }
    counts
        .iter()
        .enumerate()
        .map(|(l, &k)| {
            let t = st.need(&format!("neutral_pc.{l}"))?;
            if t.dtype != Dtype::F32 || t.shape != [k, d] {
                return Err(malformed(format!(
                    "neutral_pc.{l} has shape {:?}, want ({k}, {d}) f32",
                    t.shape
                )));
            }
            Ok(from_le_bytes(&t.data))
        })
        .collect()
}
