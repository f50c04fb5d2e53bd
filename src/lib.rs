//! wsforensics: offline forensic analysis of WebSocket connections in packet
//! captures.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! capture  pcap/pcapng records, several files merged in time order
//!   -> decode    link layer / IPv4 / IPv6 / TCP headers (etherparse)
//!   -> flow      connections (tcp.stream numbering), TCP reassembly both ways
//!   -> http      HTTP/1.1 Upgrade handshake
//!   -> ws        WebSocket frames, messages, closes
//!   -> session   one connection's analysis, from stream events to records
//!   -> pipeline  drives the stages, shards connections over threads
//!   -> report    terminal summary, CSV
//! ```
//!
//! A later stage never imports an earlier one's consumer: `capture` knows
//! nothing of TCP, `flow` nothing of HTTP, `ws` nothing of files.
//! Protocol violations and capture damage are data in the results, never
//! `Err`: `Err` is kept for failures that stop the analysis (I/O, an
//! unreadable capture).

pub mod capture;
pub mod correlate;
pub mod decode;
pub mod error;
pub mod flow;
pub mod http;
pub mod logs;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod session;
pub mod ws;
