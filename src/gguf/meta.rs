//! Typed access to the file's metadata, shared by the config and vocabulary readers: every
//! error is one [`Error::Model`] line naming its key; an optional key may be absent, but not of
//! the wrong type.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::clip;
use crate::error::{first_line, Error, Result};

/// Typed access to the metadata; every error names its key.
pub(super) struct Meta<'a>(pub(super) &'a HashMap<String, Value>);

impl Meta<'_> {
    pub(super) fn get(&self, key: &str) -> Result<&Value> {
        self.0
            .get(key)
            .ok_or_else(|| Error::Model(format!("metadata key {key} is missing")))
    }
    pub(super) fn string(&self, key: &str) -> Result<String> {
        Ok(self.get(key)?.to_string().map_err(|e| bad(key, e))?.clone())
    }
    pub(super) fn usize(&self, key: &str) -> Result<usize> {
        let v = self.get(key)?;
        let n = match v {
            Value::U64(_) | Value::I64(_) => v.to_u64().map_err(|e| bad(key, e))?,
            _ => v.to_u32().map_err(|e| bad(key, e))? as u64,
        };
        usize::try_from(n).map_err(|e| bad(key, e))
    }
    pub(super) fn f32(&self, key: &str) -> Result<f32> {
        self.get(key)?.to_f32().map_err(|e| bad(key, e))
    }
    pub(super) fn strings(&self, key: &str) -> Result<Vec<String>> {
        let list = self.get(key)?.to_vec().map_err(|e| bad(key, e))?;
        list.iter()
            .map(|v| v.to_string().cloned().map_err(|e| bad(key, e)))
            .collect()
    }
    /// `None` when the key is absent; a value of the wrong type is still an error.
    fn opt<T>(&self, key: &str, read: impl Fn(&Self, &str) -> Result<T>) -> Result<Option<T>> {
        if self.0.contains_key(key) {
            read(self, key).map(Some)
        } else {
            Ok(None)
        }
    }
    pub(super) fn opt_string(&self, key: &str) -> Result<Option<String>> {
        self.opt(key, Self::string)
    }
    pub(super) fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        self.opt(key, Self::usize)
    }
    pub(super) fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        self.opt(key, Self::f32)
    }
    pub(super) fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.opt(key, |m, k| m.get(k)?.to_bool().map_err(|e| bad(k, e)))
    }
}

/// A value of the wrong type or range; candle's message shows the value, which may be long.
pub(super) fn bad(key: &str, e: impl std::fmt::Display) -> Error {
    Error::Model(format!("metadata key {key}: {}", clip(&first_line(&e))))
}
