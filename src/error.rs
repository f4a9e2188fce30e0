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
    Tensor(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
