//! The one error type: every bad input ends here with a message a person can act on.

/// Everything that can go wrong in limbic. Messages are one line and name the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("model file: {0}")]
    Model(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("prompt: {0}")]
    Prompt(String),
    #[error("sampling: {0}")]
    Sampling(String),
    #[error("hook: {0}")]
    Hook(String),
    #[error("steering: {0}")]
    Steer(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("tensor: {0}")]
    Tensor(String),
    /// The GPU backend failed (no adapter, a kernel rejected, the device lost): callers may
    /// fall back to the CPU.
    #[error("webgpu: {0}")]
    Gpu(String),
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Tensor(first_line(&e))
    }
}

/// The first line of an error's message: candle appends a backtrace when RUST_BACKTRACE is set.
pub fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

pub type Result<T> = std::result::Result<T, Error>;
