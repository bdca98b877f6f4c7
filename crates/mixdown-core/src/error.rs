//! One error type for the engine. Every error a user can see names the file (when there is one)
//! and the problem in one line, so the CLI can print it as is.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with a particular file: unreadable, undecodable, unwritable, unsupported.
    #[error("{}: {msg}", path.display())]
    File { path: PathBuf, msg: String },
    /// A problem with what was asked (bad option values, impossible targets).
    #[error("{0}")]
    Usage(String),
    /// A problem in the audio itself that is not tied to a file (e.g. synthesised input).
    #[error("{0}")]
    Audio(String),
}

impl Error {
    pub fn file(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::File {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
        }
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn audio(msg: impl Into<String>) -> Self {
        Error::Audio(msg.into())
    }
    /// Attach a file name to an error that has none yet.
    pub fn in_file(self, path: impl AsRef<Path>) -> Self {
        match self {
            Error::File { .. } => self,
            Error::Usage(m) | Error::Audio(m) => Error::file(path, m),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
