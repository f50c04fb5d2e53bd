//! Output: the terminal summary, CSV, JSON Lines, the HTML and Markdown
//! reports, and the stages just before them (filters, redaction).
//!
//! Owns: selecting and formatting. Takes records (plain data) and writes them.
//! May import: model, session::record, ws (names of opcodes and codes),
//! correlate (the log matches it reports).
//! Must not import: capture, decode, flow, pipeline.

pub mod csv;
pub mod explain;
pub mod filter;
pub mod html;
pub mod incident;
pub mod json;
pub mod markdown;
pub mod matches;
pub mod preview;
pub mod redact;
pub mod summary;
