//! GGUF files described as data, written byte for byte (any version, any lengths, tensors with
//! or without their data), and a structure-aware mutator over that description: it changes
//! what a byte-level mutation rarely hits whole — one metadata value, an array's length, a
//! tensor's dimensions, type or offset, the alignment — and writes the file again.

use candle_core::quantized::gguf_file::Value;

use crate::mutate::Rng;

#[derive(Clone)]
pub struct TensorEntry {
    pub name: String,
    /// GGUF order: innermost dimension first.
    pub dims: Vec<u64>,
    pub dtype: u32,
    pub offset: u64,
}

#[derive(Clone)]
pub struct Gguf {
    pub version: u32,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorEntry>,
    /// Tensor data, written after the header padded to 32 bytes.
    pub data: Vec<u8>,
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

impl Gguf {
    fn len(&self, out: &mut Vec<u8>, n: u64) {
        if self.version == 1 {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    fn string(&self, out: &mut Vec<u8>, s: &str) {
        self.len(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    fn value(&self, out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U8(x) => out.push(*x),
            Value::I8(x) => out.push(*x as u8),
            Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
            Value::Bool(x) => out.push(*x as u8),
            Value::String(s) => self.string(out, s),
            Value::Array(xs) => {
                out.extend_from_slice(&xs.first().map_or(4, type_id).to_le_bytes());
                self.len(out, xs.len() as u64);
                xs.iter().for_each(|x| self.value(out, x));
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        self.len(&mut out, self.tensors.len() as u64);
        self.len(&mut out, self.metadata.len() as u64);
        for (k, v) in &self.metadata {
            self.string(&mut out, k);
            out.extend_from_slice(&type_id(v).to_le_bytes());
            self.value(&mut out, v);
        }
        for t in &self.tensors {
            self.string(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for &d in &t.dims {
                self.len(&mut out, d);
            }
            out.extend_from_slice(&t.dtype.to_le_bytes());
            out.extend_from_slice(&t.offset.to_le_bytes());
        }
        if !self.data.is_empty() {
            out.resize(out.len().div_ceil(32) * 32, 0);
            out.extend_from_slice(&self.data);
        }
        out
    }

    pub fn set(&mut self, key: &str, v: Value) {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = v,
            None => self.metadata.push((key.to_string(), v)),
        }
    }
}

const INTS: [u64; 14] = [
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    0x7fff_ffff,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    1 << 60,
    i64::MAX as u64,
    u64::MAX,
];

fn int_value(rng: &mut Rng) -> Value {
    let x = *rng.pick(&INTS);
    match rng.below(6) {
        0 => Value::U64(x),
        1 => Value::I64(x as i64),
        2 => Value::I32(x as i32),
        3 => Value::U8(x as u8),
        4 => Value::F32(*rng.pick(&[0.0, -1.0, f32::NAN, f32::INFINITY, 1e-30, 1e30])),
        _ => Value::U32(x as u32),
    }
}

/// A changed copy of a value: another integer, another type, an array shortened or lengthened.
fn mutate_value(v: &Value, rng: &mut Rng) -> Value {
    match (v, rng.below(4)) {
        (Value::Array(xs), 0) => Value::Array(xs[..rng.below(xs.len() + 1)].to_vec()),
        (Value::Array(xs), 1) => {
            let mut xs = xs.clone();
            let extra = rng.below(4) + 1;
            for _ in 0..extra {
                xs.push(xs.last().map_or(Value::U32(0), |x| mutate_value(x, rng)));
            }
            Value::Array(xs)
        }
        (Value::Array(xs), 2) if !xs.is_empty() => {
            let mut xs = xs.clone();
            let i = rng.below(xs.len());
            xs[i] = mutate_value(&xs[i], rng);
            Value::Array(xs)
        }
        (Value::String(s), 0) => Value::String(s.chars().take(rng.below(s.len() + 1)).collect()),
        (Value::String(_), 1) => Value::String(
            rng.pick(&["", " ", "llama", "gpt2", "<|im_end|>", "a b c"])
                .to_string(),
        ),
        (_, 3) => Value::Array(vec![int_value(rng); rng.below(3)]),
        (Value::String(s), 2) => Value::String(s.repeat(1 + rng.below(3))),
        _ => int_value(rng),
    }
}

/// Applies 1 to 3 structural changes to `g`.
pub fn mutate_gguf(g: &mut Gguf, rng: &mut Rng) {
    for _ in 0..1 + rng.below(3) {
        let (nm, nt) = (g.metadata.len(), g.tensors.len());
        match rng.below(10) {
            0..=2 if nm > 0 => {
                let i = rng.below(nm);
                g.metadata[i].1 = mutate_value(&g.metadata[i].1, rng);
            }
            3 if nm > 0 => {
                g.metadata.remove(rng.below(nm));
            }
            4 => {
                let v = int_value(rng);
                g.set("general.alignment", v);
            }
            5 if nt > 0 => {
                let t = &mut g.tensors[rng.below(nt)];
                match rng.below(4) {
                    0 if !t.dims.is_empty() => {
                        let j = rng.below(t.dims.len());
                        t.dims[j] = *rng.pick(&INTS);
                    }
                    1 => t.dims.push(*rng.pick(&[1, 2, 32, 1 << 32])),
                    2 => t.dims.truncate(rng.below(t.dims.len() + 1)),
                    _ => t.dims.reverse(),
                }
            }
            6 if nt > 0 => {
                let t = &mut g.tensors[rng.below(nt)];
                t.dtype = *rng.pick(&[0, 1, 2, 3, 8, 10, 12, 14, 15, 30, 31, 4, u32::MAX]);
            }
            7 if nt > 0 => {
                let t = &mut g.tensors[rng.below(nt)];
                t.offset = rng.pick(&INTS).wrapping_add(rng.below(64) as u64);
            }
            8 if nt > 1 => {
                let (i, j) = (rng.below(nt), rng.below(nt));
                let name = g.tensors[j].name.clone();
                if rng.chance(2) {
                    g.tensors[i].name = name;
                } else {
                    g.tensors.remove(i);
                }
            }
            _ => g.version = *rng.pick(&[1, 2, 3, 3, 4]),
        }
    }
}
