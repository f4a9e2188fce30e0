//! Deterministic byte mutations in the manner of AFL's havoc stage: bit flips, interesting
//! bytes and integers (0, all ones, 2^31, 2^32, 2^40, 2^60, u64::MAX), integers that look like
//! lengths nudged or blown up, chunk insert / delete / duplicate / overwrite, dictionary words,
//! truncation and splicing with another input of the same target.

/// The crate's SplitMix64 ([`limbic::crossval::Rng`]): small, seedable, the same stream on
/// every machine; with the few draws the mutators need.
pub struct Rng(limbic::crossval::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(limbic::crossval::Rng(seed))
    }
    pub fn next(&mut self) -> u64 {
        self.0.next()
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const BYTES: [u8; 9] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b' ', b'"', b'{'];
const INTS: [u64; 18] = [
    0,
    1,
    2,
    3,
    0x7f,
    0xff,
    0x100,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    1 << 48,
    1 << 60,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
];

/// Applies 1 to 8 stacked mutations to `data`; `other` is a second input for splicing and
/// `dict` holds words of the format (keys, tokens) to insert or write over.
pub fn mutate(data: &mut Vec<u8>, rng: &mut Rng, other: &[u8], dict: &[&[u8]]) {
    let n = 1 << rng.below(4);
    for _ in 0..n {
        mutate_once(data, rng, other, dict);
    }
}

fn mutate_once(data: &mut Vec<u8>, rng: &mut Rng, other: &[u8], dict: &[&[u8]]) {
    let len = data.len();
    match rng.below(14) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = if rng.chance(3) {
                rng.next() as u8
            } else {
                *rng.pick(&BYTES)
            };
        }
        2 | 3 if len > 0 => {
            let width = *rng.pick(&[2usize, 4, 8]);
            let v = interesting(rng, len);
            put(data, rng.below(len), &v.to_le_bytes()[..width]);
        }
        4 | 5 => blow_up_length(data, rng),
        6 if len > 0 => {
            let i = rng.below(len);
            let delta = rng.below(33) as i32 - 16;
            data[i] = (data[i] as i32).wrapping_add(delta) as u8;
        }
        7 if len > 0 => {
            let at = rng.below(len);
            let n = chunk(rng, len - at);
            data.drain(at..at + n);
        }
        8 => {
            let at = rng.below(len + 1);
            let n = chunk(rng, 64).max(1);
            let fill: Vec<u8> = if rng.chance(2) {
                vec![rng.next() as u8; n]
            } else {
                (0..n).map(|_| rng.next() as u8).collect()
            };
            data.splice(at..at, fill);
        }
        9 if len > 0 => {
            let from = rng.below(len);
            let piece = data[from..from + chunk(rng, len - from)].to_vec();
            let at = rng.below(len + 1);
            if rng.chance(2) {
                data.splice(at..at, piece);
            } else {
                put(data, at.min(len - 1), &piece);
            }
        }
        10 if !dict.is_empty() => {
            let word = *rng.pick(dict);
            let at = rng.below(len + 1);
            if rng.chance(2) {
                data.splice(at..at, word.iter().copied());
            } else {
                put(data, at.min(len.saturating_sub(1)), word);
            }
        }
        11 if len > 0 => data.truncate(rng.below(len)),
        12 if !other.is_empty() => {
            let keep = rng.below(len + 1);
            let from = rng.below(other.len());
            data.truncate(keep);
            data.extend_from_slice(&other[from..]);
        }
        _ => {
            if len > 0 {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
        }
    }
}

/// An interesting integer: one of the table, a length near the input's, or random.
fn interesting(rng: &mut Rng, len: usize) -> u64 {
    match rng.below(4) {
        0 => (len as u64)
            .wrapping_add(rng.below(17) as u64)
            .wrapping_sub(8),
        1 => rng.next(),
        _ => *rng.pick(&INTS),
    }
}

/// A chunk length in `0..=max`: mostly short, sometimes long.
fn chunk(rng: &mut Rng, max: usize) -> usize {
    if max == 0 {
        return 0;
    }
    match rng.below(4) {
        0 => rng.below(max) + 1,
        _ => rng.below(max.min(16)) + 1,
    }
}

/// Finds, from a random place, a little-endian u64 or u32 that could be a length or count (1
/// ..= the input's length) and changes it: ±1, doubled, or to an interesting value.
fn blow_up_length(data: &mut [u8], rng: &mut Rng) {
    let len = data.len();
    let width = if rng.chance(2) { 8 } else { 4 };
    if len < width {
        return;
    }
    let start = rng.below(len - width + 1);
    for i in (start..=len - width).chain(0..start).take(4096) {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(&data[i..i + width]);
        let v = u64::from_le_bytes(b);
        if v >= 1 && v <= len as u64 {
            let new = match rng.below(5) {
                0 => v + 1,
                1 => v - 1,
                2 => v * 2,
                _ => interesting(rng, len),
            };
            data[i..i + width].copy_from_slice(&new.to_le_bytes()[..width]);
            return;
        }
    }
}

/// Writes `bytes` over `data` from `at`, as far as `data` reaches.
fn put(data: &mut [u8], at: usize, bytes: &[u8]) {
    let end = (at + bytes.len()).min(data.len());
    if at < end {
        data[at..end].copy_from_slice(&bytes[..end - at]);
    }
}
