//! Fatal errors: the ones that stop the analysis or a whole input file.
//! Damage inside a readable file (a truncated record, a bad block) is not an
//! error but a [`crate::capture::CaptureNotice`], reported with the results.

use std::path::PathBuf;

/// An error that stops the analysis of an input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: byte {offset}: {message}")]
    Capture { path: PathBuf, offset: u64, message: String },
    #[error("{path}: {message}")]
    Output { path: PathBuf, message: String },
}

pub type Result<T> = std::result::Result<T, Error>;
