//! Shared helpers for the integration tests: run the library on a capture
//! and collect every record, and read tshark oracle files.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wsforensics::pipeline::{AnalysisOptions, AnalysisStats, analyze};
use wsforensics::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};

/// Every record of one analysis, in output order.
#[derive(Default)]
pub struct Collected {
    pub connections: Vec<ConnectionRecord>,
    pub frames: Vec<FrameRecord>,
    pub messages: Vec<MessageRecord>,
    pub closes: Vec<CloseRecord>,
    pub violations: Vec<ViolationRecord>,
    pub findings: Vec<Finding>,
}

impl RecordSink for Collected {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.connections.push(rec);
    }
    fn frame(&mut self, rec: FrameRecord) {
        self.frames.push(rec);
    }
    fn message(&mut self, rec: MessageRecord) {
        self.messages.push(rec);
    }
    fn close(&mut self, rec: CloseRecord) {
        self.closes.push(rec);
    }
    fn violation(&mut self, rec: ViolationRecord) {
        self.violations.push(rec);
    }
    fn finding(&mut self, rec: Finding) {
        self.findings.push(rec);
    }
}

pub fn run(paths: &[PathBuf], threads: usize) -> (Collected, AnalysisStats) {
    let opts = AnalysisOptions { threads, ..AnalysisOptions::default() };
    let mut c = Collected::default();
    let stats = analyze(paths, &opts, &mut c, &mut ()).unwrap_or_else(|e| panic!("analysis of {paths:?} failed: {e}"));
    (c, stats)
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/captures/public` beside the project.
pub fn public_dir() -> PathBuf {
    manifest_dir().join("../shared/captures/public")
}

pub fn samples_dir() -> PathBuf {
    manifest_dir().join("samples")
}

/// Every capture under `dir` (recursively) that has a `.tshark.tsv` oracle.
pub fn captures_with_oracle(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(captures_with_oracle(&p));
        } else if let Some(name) = p.file_name().and_then(|n| n.to_str())
            && name.ends_with(".tshark.tsv")
        {
            out.push(p.with_file_name(name.trim_end_matches(".tshark.tsv")));
        }
    }
    out
}

/// One row of a tshark oracle: one WebSocket frame as tshark decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleFrame {
    pub frame_number: u64,
    pub index_in_frame: u32,
    pub tcp_stream: u64,
    pub src: String,
    pub src_port: u16,
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: bool,
    pub payload_len: u64,
    pub close_code: Option<u16>,
    pub close_reason: String,
}

pub fn read_oracle(capture: &Path) -> Vec<OracleFrame> {
    let path = PathBuf::from(format!("{}.tshark.tsv", capture.display()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{}: no column {name}", path.display()));
    let (fnum, idx, stream, src, sport, fin, rsv, op, mask, len, code, reason) = (
        col("frame.number"),
        col("ws.index_in_frame"),
        col("tcp.stream"),
        col("ip.src"),
        col("tcp.srcport"),
        col("websocket.fin"),
        col("websocket.rsv"),
        col("websocket.opcode"),
        col("websocket.mask"),
        col("payload_len_effective"),
        col("websocket.payload.close.status_code"),
        col("websocket.payload.close.reason"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or_default();
            OracleFrame {
                frame_number: get(fnum).parse().unwrap_or(0),
                index_in_frame: get(idx).parse().unwrap_or(0),
                tcp_stream: get(stream).parse().unwrap_or(0),
                src: get(src).to_string(),
                src_port: get(sport).parse().unwrap_or(0),
                fin: get(fin) == "1",
                rsv: get(rsv).parse().unwrap_or(0),
                opcode: get(op).parse().unwrap_or(0),
                mask: get(mask) == "1",
                payload_len: get(len).parse().unwrap_or(0),
                close_code: get(code).parse().ok(),
                close_reason: get(reason).to_string(),
            }
        })
        .collect()
}
