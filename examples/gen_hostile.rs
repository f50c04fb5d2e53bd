//! Writes the large hostile inputs of `scripts/bench-resources.sh` (the
//! tests build small versions of the same inputs with the same code,
//! `examples/common/hostile.rs`).
//!
//! ```text
//! gen_hostile short-conns  --count 1000000 [--spacing-us 100] --out many.pcap
//! gen_hostile huge-frame   [--declared 9223372036854775807] --captured 1GiB --out frame.pcap
//! gen_hostile bomb         --inflated 16GiB --out bomb.pcap
//! gen_hostile bogus-block  --len 268435452 [--type 6] --before 1000 --after 300000 --out bogus.pcapng
//! gen_hostile log-line     --len 1GiB --out huge.log
//! ```
//!
//! Every input is streamed to the file: the generator holds no more than a
//! few MiB (the inflation bomb holds its compressed message, about 1/1000
//! of `--inflated`).

#[path = "common/hostile.rs"]
mod hostile;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use hostile::{PcapNgWriter, PcapWriter, parse_size};

const USAGE: &str = "usage: gen_hostile KIND --out FILE [options]
  short-conns  --count N [--spacing-us US]   N short WebSocket connections, US apart (default 100)
  huge-frame   [--declared N] --captured SIZE a frame declaring N payload bytes (default 2^63-1), SIZE of them captured
  bomb         --inflated SIZE               a permessage-deflate message inflating to SIZE
  bogus-block  --len L [--type T] [--before N] [--after N]
               pcapng: N connections, a block of type T (default 6, EPB) claiming L bytes, N more
  log-line     --len SIZE                    a text log whose second line is SIZE bytes long";

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().ok_or_else(|| USAGE.to_string())?;
    if kind == "-h" || kind == "--help" {
        return Err(USAGE.to_string());
    }
    let mut opts: HashMap<String, String> = HashMap::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        opts.insert(flag, value);
    }
    let get = |name: &str| opts.get(name).map(String::as_str);
    let size = |name: &str, default: Option<u64>| -> Result<u64, String> {
        match get(name) {
            Some(v) => parse_size(v).ok_or_else(|| format!("{name}: not a size: {v:?}")),
            None => default.ok_or_else(|| format!("{name} is required\n{USAGE}")),
        }
    };
    let out = get("--out").ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let w = BufWriter::with_capacity(1 << 20, file);
    let io = |e: std::io::Error| format!("{out}: {e}");
    match kind.as_str() {
        "short-conns" => {
            let mut p = PcapWriter::new(w, 262_144).map_err(io)?;
            hostile::short_connections(&mut p, size("--count", None)?, size("--spacing-us", Some(100))?).map_err(io)?;
            eprintln!("{out}: {} packets, {} bytes", p.records, p.bytes);
            p.into_inner().flush().map_err(io)?;
        }
        "huge-frame" => {
            let mut p = PcapWriter::new(w, 262_144).map_err(io)?;
            hostile::huge_frame(&mut p, size("--declared", Some((1 << 63) - 1))?, size("--captured", None)?).map_err(io)?;
            eprintln!("{out}: {} packets, {} bytes", p.records, p.bytes);
            p.into_inner().flush().map_err(io)?;
        }
        "bomb" => {
            let mut p = PcapWriter::new(w, 262_144).map_err(io)?;
            hostile::inflation_bomb(&mut p, size("--inflated", None)?).map_err(io)?;
            eprintln!("{out}: {} packets, {} bytes", p.records, p.bytes);
            p.into_inner().flush().map_err(io)?;
        }
        "bogus-block" => {
            let len = u32::try_from(size("--len", None)?).map_err(|_| "--len must fit 32 bits".to_string())?;
            let mut p = PcapNgWriter::new(w).map_err(io)?;
            let btype = u32::try_from(size("--type", Some(6))?).map_err(|_| "--type must fit 32 bits".to_string())?;
            let at = hostile::pcapng_bogus_block(&mut p, size("--before", Some(1000))?, size("--after", Some(300_000))?, btype, len)
                .map_err(io)?;
            eprintln!("{out}: {} bytes, bogus block at byte {at}", p.bytes);
            p.into_inner().flush().map_err(io)?;
        }
        "log-line" => hostile::long_log_line(w, size("--len", None)?).map_err(io)?,
        other => return Err(format!("unknown kind {other:?}\n{USAGE}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
