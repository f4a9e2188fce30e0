//! The GGUF header and tensor table, read into candle's [`Content`] with every count, length and
//! tensor size checked against the bytes left in the file before anything is allocated for it.
//! candle's own reader bounds lengths too but divides by a zero `general.alignment` (a panic,
//! an abort in wasm), keeps the last of duplicate keys or tensors, and lets a tensor's element
//! count overflow; the format is otherwise read as it does, field for field.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

use candle_core::quantized::gguf_file::{Content, TensorInfo, Value, VersionedMagic};
use candle_core::quantized::GgmlDType;

/// Arrays nest at most this deep (llama.cpp reads no nested arrays at all).
const MAX_DEPTH: usize = 4;
/// Tensors have at most this many dimensions (GGML_MAX_DIMS).
const MAX_DIMS: u32 = 4;

/// A string from the file fit for a one-line message: control characters replaced, at most 80
/// characters.
pub fn clip(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '�' } else { c })
        .collect();
    if s.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

struct Input<R> {
    r: R,
    pos: u64,
    len: u64,
    /// Version 1 writes lengths and dimensions as u32, later versions as u64.
    v1: bool,
}

impl<R: Read> Input<R> {
    fn need(&self, n: u64, what: &str) -> Result<(), String> {
        let left = self.len - self.pos;
        if n > left {
            return Err(format!(
                "{} needs {n} bytes at byte {}, the file has {left} left (truncated?)",
                clip(what),
                self.pos
            ));
        }
        Ok(())
    }
    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        self.need(N as u64, what)?;
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("{}: {e}", clip(what)))?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        self.bytes(what).map(u32::from_le_bytes)
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.bytes(what).map(u64::from_le_bytes)
    }
    /// A length, count or dimension: u32 in version 1, u64 after.
    fn len(&mut self, what: &str) -> Result<u64, String> {
        if self.v1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.len(what)?;
        self.need(n, what)?;
        let mut v = vec![0u8; n as usize];
        self.r
            .read_exact(&mut v)
            .map_err(|e| format!("{}: {e}", clip(what)))?;
        self.pos += n;
        // Written NUL-terminated by some tools, and not always valid UTF-8 (as candle reads them).
        while v.last() == Some(&0) {
            v.pop();
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
    /// The fewest bytes a value of type `ty` takes (to bound an array's length).
    fn min_size(&self, ty: u32) -> u64 {
        let prefix = if self.v1 { 4 } else { 8 };
        match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 => prefix,
            _ => 4 + prefix,
        }
    }
    fn value(&mut self, ty: u32, depth: usize, key: &str) -> Result<Value, String> {
        Ok(match ty {
            0 => Value::U8(self.bytes::<1>(key)?[0]),
            1 => Value::I8(self.bytes::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.bytes(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.bytes(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(self.u32(key)? as i32),
            6 => Value::F32(f32::from_bits(self.u32(key)?)),
            7 => match self.bytes::<1>(key)?[0] {
                b @ 0..=1 => Value::Bool(b == 1),
                b => return Err(format!("metadata {}: bool byte {b}", clip(key))),
            },
            8 => Value::String(self.string(key)?),
            9 if depth < MAX_DEPTH => {
                let elem = self.u32(key)?;
                let n = self.len(key)?;
                self.need(n.saturating_mul(self.min_size(elem)), key)?;
                let mut xs = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    xs.push(self.value(elem, depth + 1, key)?);
                }
                Value::Array(xs)
            }
            9 => return Err(format!("metadata {}: arrays nested too deep", clip(key))),
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(self.u64(key)? as i64),
            12 => Value::F64(f64::from_bits(self.u64(key)?)),
            t => return Err(format!("metadata {}: unknown value type {t}", clip(key))),
        })
    }
}

fn dtype(t: u32) -> Option<GgmlDType> {
    use GgmlDType::*;
    Some(match t {
        0 => F32,
        1 => F16,
        2 => Q4_0,
        3 => Q4_1,
        6 => Q5_0,
        7 => Q5_1,
        8 => Q8_0,
        9 => Q8_1,
        10 => Q2K,
        11 => Q3K,
        12 => Q4K,
        13 => Q5K,
        14 => Q6K,
        15 => Q8K,
        30 => BF16,
        _ => return None,
    })
}

/// Reads the header from the start of `reader`; the error says what is wrong, in one line.
pub fn read<R: Read + Seek>(reader: &mut R) -> Result<Content, String> {
    let len = reader.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut inp = Input {
        r: BufReader::new(reader),
        pos: 0,
        len,
        v1: false,
    };
    inp.bytes::<4>("magic")?;
    let (magic, v1) = match inp.u32("version")? {
        1 => (VersionedMagic::GgufV1, true),
        2 => (VersionedMagic::GgufV2, false),
        3 => (VersionedMagic::GgufV3, false),
        v => return Err(format!("GGUF version {v} is not supported (1 to 3 are)")),
    };
    inp.v1 = v1;
    let n_tensors = inp.len("tensor count")?;
    let n_kv = inp.len("metadata count")?;
    let prefix = if v1 { 4 } else { 8 };
    let least = n_kv
        .saturating_mul(prefix + 5)
        .saturating_add(n_tensors.saturating_mul(prefix + 16));
    inp.need(
        least,
        &format!("{n_kv} metadata entries and {n_tensors} tensors"),
    )?;

    let mut metadata = HashMap::new();
    for _ in 0..n_kv {
        let key = inp.string("metadata key")?;
        let ty = inp.u32(&key)?;
        let value = inp.value(ty, 0, &key)?;
        if metadata.insert(key.clone(), value).is_some() {
            return Err(format!("metadata key {} appears twice", clip(&key)));
        }
    }
    let mut tensors = Vec::new();
    for _ in 0..n_tensors {
        let name = inp.string("tensor name")?;
        let n_dims = inp.u32(&name)?;
        if n_dims > MAX_DIMS {
            return Err(format!(
                "tensor {} has {n_dims} dimensions (at most {MAX_DIMS})",
                clip(&name)
            ));
        }
        let mut dims = (0..n_dims)
            .map(|_| inp.len(&name))
            .collect::<Result<Vec<u64>, _>>()?;
        let t = inp.u32(&name)?;
        let ggml_dtype =
            dtype(t).ok_or_else(|| format!("tensor {}: unknown type {t}", clip(&name)))?;
        let offset = inp.u64(&name)?;
        dims.reverse();
        tensors.push((name, dims, ggml_dtype, offset));
    }
    let alignment = match metadata.get("general.alignment") {
        None => 32,
        Some(v) => match v.to_u64() {
            Ok(a) if a.is_power_of_two() => a,
            _ => {
                let v = clip(&format!("{v:?}"));
                return Err(format!("general.alignment {v} is not a power of two"));
            }
        },
    };
    let data_start = inp.pos.div_ceil(alignment).saturating_mul(alignment);
    let mut tensor_infos = HashMap::new();
    for (name, dims, ggml_dtype, offset) in tensors {
        let bytes = tensor_bytes(&dims, ggml_dtype).ok_or_else(|| {
            format!(
                "tensor {}: shape {dims:?} does not fit {ggml_dtype:?}",
                clip(&name)
            )
        })?;
        let end = data_start.saturating_add(offset).saturating_add(bytes);
        if end > len {
            return Err(format!(
                "tensor {} ends at byte {end}, past the file's end at {len} (truncated?)",
                clip(&name)
            ));
        }
        let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
        let info = TensorInfo {
            ggml_dtype,
            shape: shape.into(),
            offset,
        };
        if tensor_infos.insert(name.clone(), info).is_some() {
            return Err(format!("tensor {} appears twice", clip(&name)));
        }
    }
    Ok(Content {
        magic,
        metadata,
        tensor_infos,
        tensor_data_offset: data_start,
    })
}

/// Bytes a tensor of `dims` in `t` takes; `None` when the count overflows, does not fill whole
/// blocks, or does not fit this platform's `usize`.
pub(crate) fn tensor_bytes(dims: &[u64], t: GgmlDType) -> Option<u64> {
    let elems = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
    usize::try_from(elems).ok()?;
    dims.iter()
        .try_for_each(|&d| usize::try_from(d).map(|_| ()).ok())?;
    let block = t.block_size() as u64;
    if elems % block != 0 {
        return None;
    }
    (elems / block).checked_mul(t.type_size() as u64)
}
