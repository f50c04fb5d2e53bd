//! The log reader (format and header detection, multi-line grouping, trace
//! grouping, identifier extraction): arbitrary bytes to
//! `logs::read_log_bytes` with every `LogFormat`, once with the default
//! options and once with tiny limits (short lines, small parallel blocks, a
//! DST zone, a reference time). No panic; events are numbered sanely.

#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use wsforensics::logs::{LogFormat, LogOptions, LogTz, read_log_bytes};
use wsforensics::model::Timestamp;

const FORMATS: [LogFormat; 5] = [LogFormat::Auto, LogFormat::Text, LogFormat::Json, LogFormat::Docker, LogFormat::Cri];

fn run(data: &[u8], opts: &LogOptions) {
    let (events, summary) = read_log_bytes("fuzz.log", data, opts);
    for e in &events {
        assert_eq!(e.file, 0);
        assert!(e.line >= 1, "line numbers are 1-based: {}", e.line);
        assert!(e.end_line >= e.line, "end_line {} before line {}", e.end_line, e.line);
        let _ = e.raw();
        let _ = e.message();
        let _ = e.ts_raw();
        let _ = e.logger();
        let _ = e.ip_ports().count();
        let _ = e.ids().count();
        let _ = e.paths().count();
        let _ = e.identifiers();
        let _ = e.line_range();
    }
    assert!(summary.files.len() <= 1);
    for n in &summary.notices {
        let _ = n.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let tz = LogTz::from_str("America/New_York").unwrap_or_default();
    for format in FORMATS {
        run(data, &LogOptions { format, ..LogOptions::default() });
        let small =
            LogOptions { format, tz: tz.clone(), reference: Some(Timestamp(1_700_000_000_000_000_000)), block_size: 64, max_line: 48 };
        run(data, &small);
    }
});
