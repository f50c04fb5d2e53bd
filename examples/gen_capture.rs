//! Deterministic WebSocket capture generator with a ground-truth sidecar.
//!
//! ```text
//! cargo run --release --example gen_capture -- --size 2GiB --seed 1 --out big.pcap \
//!     [--connections 2000] [--violation-rate 0.002] [--deflate-share 0.3] \
//!     [--big-max 4MiB] [--mean-events 40]
//! ```
//!
//! Writes `OUT` (classic pcap, Ethernet/IPv4/TCP, microsecond timestamps)
//! and `OUT.truth.json` (connections, frames by direction and opcode,
//! messages, closes by code, violations by rule, packets, bytes). The same
//! arguments always give the same bytes. See `examples/common/capgen.rs`.
//!
//! `--out -` writes the capture to stdout (then `--truth FILE` names the
//! sidecar); `--truth FILE` also overrides the sidecar's path otherwise.

#[path = "common/capgen.rs"]
mod capgen;

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use capgen::{GenConfig, generate, parse_size};

const USAGE: &str = "usage: gen_capture --size SIZE --out FILE|- [--truth FILE] [--seed N] [--connections N] \
[--violation-rate R] [--deflate-share S] [--big-max SIZE] [--mean-events N]
  SIZE: bytes, or with a unit: 500MB, 2GiB, 64MiB, 1.5GB";

struct Args {
    cfg: GenConfig,
    out: PathBuf,
    truth: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut cfg = GenConfig::default();
    let mut out = None;
    let mut truth = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("{name} needs a value")),
        };
        let bad = |what: &str| format!("{name}: {what}: {value:?}");
        match name.as_str() {
            "--size" => cfg.size = parse_size(&value).ok_or_else(|| bad("not a size"))?,
            "--seed" => cfg.seed = value.parse().map_err(|_| bad("not a number"))?,
            "--out" => out = Some(PathBuf::from(&value)),
            "--truth" => truth = Some(PathBuf::from(&value)),
            "--connections" => {
                cfg.connections = value.parse().map_err(|_| bad("not a number"))?;
                if cfg.connections == 0 {
                    return Err(bad("must be at least 1"));
                }
            }
            "--violation-rate" => {
                cfg.violation_rate = value.parse().map_err(|_| bad("not a number"))?;
                if !(0.0..=1.0).contains(&cfg.violation_rate) {
                    return Err(bad("must be in 0..=1"));
                }
            }
            "--deflate-share" => {
                cfg.deflate_share = value.parse().map_err(|_| bad("not a number"))?;
                if !(0.0..=1.0).contains(&cfg.deflate_share) {
                    return Err(bad("must be in 0..=1"));
                }
            }
            "--big-max" => {
                cfg.big_max = parse_size(&value).ok_or_else(|| bad("not a size"))? as usize;
                if cfg.big_max > 1 << 30 {
                    return Err(bad("at most 1GiB"));
                }
            }
            "--mean-events" => cfg.mean_events = value.parse().map_err(|_| bad("not a number"))?,
            _ => return Err(format!("unknown option {name}")),
        }
    }
    let out: PathBuf = out.ok_or("--out is required")?;
    let truth = match truth {
        Some(t) => t,
        None if out.as_os_str() == "-" => return Err("--out - needs --truth FILE".to_string()),
        None => PathBuf::from(format!("{}.truth.json", out.display())),
    };
    Ok(Args { cfg, out, truth })
}

fn main() -> ExitCode {
    let Args { cfg, out, truth: sidecar } = match parse_args() {
        Ok(x) => x,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen_capture: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Replace an old capture by unlinking it rather than truncating it: ext4
    // flushes a file truncated to zero and rewritten when it is closed
    // (`auto_da_alloc`), which costs more than the generation.
    if std::fs::symlink_metadata(&out).is_ok_and(|m| m.is_file())
        && let Err(e) = std::fs::remove_file(&out)
    {
        eprintln!("gen_capture: {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let start = Instant::now();
    let result = if out.as_os_str() == "-" {
        generate(&cfg, std::io::stdout())
    } else {
        match File::create(&out) {
            Ok(f) => generate(&cfg, f),
            Err(e) => {
                eprintln!("gen_capture: {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
        }
    };
    let truth = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gen_capture: writing {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = std::fs::write(&sidecar, truth.to_json(&cfg)) {
        eprintln!("gen_capture: {}: {e}", sidecar.display());
        return ExitCode::FAILURE;
    }
    let frames: u64 = truth.frames.iter().flatten().sum();
    eprintln!(
        "{}: {} bytes, {} packets, {} connections ({} WebSocket), {} frames, {} violations in {:.2}s: {:.2} GB/s",
        out.display(),
        truth.pcap_bytes,
        truth.packets,
        truth.tcp_connections,
        truth.websocket_connections,
        frames,
        truth.violations.iter().sum::<u64>(),
        secs,
        truth.pcap_bytes as f64 / secs / 1e9
    );
    eprintln!("truth: {}", sidecar.display());
    ExitCode::SUCCESS
}
