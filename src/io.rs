//! Files and hashes: reading a model file with a message that says how to get it, its SHA-256,
//! and writing a file whole or not at all. The one home of these for the CLI, the extraction and
//! the tests (the page receives its files from the worker, not from here).

use std::path::Path;

use sha2::{Digest, Sha256};

#[cfg(not(target_arch = "wasm32"))]
use crate::error::Error;
use crate::error::Result;

/// A model file opened for reading (buffered), with a message that says how to get it.
#[cfg(not(target_arch = "wasm32"))]
pub fn open_model(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| cannot_open(path, e))?;
    Ok(std::io::BufReader::new(file))
}

/// A model file's SHA-256 (hex), read in pieces, never whole in memory.
#[cfg(not(target_arch = "wasm32"))]
pub fn model_sha256(path: &Path) -> Result<String> {
    let mut hash = Sha256::new();
    std::io::copy(&mut open_model(path)?, &mut hash)?;
    Ok(hex(&hash.finalize()))
}

/// The bytes of a model file on disk, with a message that says how to get it.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_model_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| cannot_open(path, e))
}

#[cfg(not(target_arch = "wasm32"))]
fn cannot_open(path: &Path, e: std::io::Error) -> Error {
    Error::Model(format!(
        "cannot open {}: {e} (run `make model`?)",
        path.display()
    ))
}

/// A model file's bytes and their SHA-256 (hex), with a clear error when it cannot be read.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_model(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = read_model_file(path)?;
    let sha = sha256_hex(&bytes);
    Ok((bytes, sha))
}

/// SHA-256 of some bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of some bytes.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// f32 values as little-endian bytes.
pub fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes as f32 values (a trailing partial value is dropped).
pub fn from_le_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// failure leaves nothing half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
