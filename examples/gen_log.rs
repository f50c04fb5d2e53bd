//! Deterministic plain-text server log generator: a realistic mix of
//! one-line records (Java logback, Python logging, Node.js; ISO 8601 stamps,
//! client ip:port, request ids, UUIDs, paths) and multi-line Java, Python
//! and Node.js stack traces.
//!
//! ```text
//! cargo run --release --example gen_log -- --size 512MiB --seed 1 --out big.log [--trace-rate 0.02]
//! ```
//!
//! The same arguments always give the same bytes (`benches/common/loggen.rs`).
//! `--out -` writes to standard output.

#[path = "../benches/common/loggen.rs"]
mod loggen;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use loggen::{LogGenConfig, generate, parse_size};

const USAGE: &str = "usage: gen_log --size SIZE --out FILE|- [--seed N] [--trace-rate R]
  SIZE: bytes, or with a unit: 500MB, 2GiB, 64MiB, 1.5GB";

fn parse_args() -> Result<(LogGenConfig, PathBuf), String> {
    let mut cfg = LogGenConfig::default();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let value = inline.or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"))?;
        let bad = |what: &str| format!("{name}: {what}: {value:?}");
        match name.as_str() {
            "--size" => cfg.size = parse_size(&value).ok_or_else(|| bad("not a size"))?,
            "--seed" => cfg.seed = value.parse().map_err(|_| bad("not a number"))?,
            "--trace-rate" => {
                cfg.trace_rate = value.parse().map_err(|_| bad("not a number"))?;
                if !(0.0..=1.0).contains(&cfg.trace_rate) {
                    return Err(bad("must be in 0..=1"));
                }
            }
            "--out" => out = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    Ok((cfg, out.ok_or("--out is required")?))
}

fn main() -> ExitCode {
    let (cfg, out) = match parse_args() {
        Ok(x) => x,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen_log: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let result = if out.as_os_str() == "-" {
        generate(&cfg, std::io::stdout().lock())
    } else {
        // Unlink rather than truncate an old file (see gen_capture).
        if std::fs::symlink_metadata(&out).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&out);
        }
        match File::create(&out) {
            Ok(f) => generate(&cfg, BufWriter::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("gen_log: {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
        }
    };
    let stats = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen_log: writing {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{}: {} bytes, {} lines, {} records, traces: {} java, {} python, {} node; in {secs:.2}s: {:.0} MB/s",
        out.display(),
        stats.bytes,
        stats.lines,
        stats.records,
        stats.traces[0],
        stats.traces[1],
        stats.traces[2],
        stats.bytes as f64 / secs / 1e6
    );
    ExitCode::SUCCESS
}
