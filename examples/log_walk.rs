//! Times the library's log reader alone on files (no capture): read,
//! classify lines, group records and stack traces, parse exceptions and
//! identifiers, exactly what `--log` does before matching.
//!
//! ```text
//! cargo run --release --example log_walk -- FILE... [--threads N] [--block-size BYTES]
//! ```
//!
//! Blocks are parsed on a rayon pool of `--threads` threads (default: the
//! global pool, `RAYON_NUM_THREADS` or one per core); besides the pool, one
//! thread reads the file. Prints events, stack traces by language, bytes,
//! the elapsed time and MB/s (also per pool thread).

use std::process::ExitCode;
use std::time::Instant;

use wsforensics::logs::{LogOptions, read_logs};

fn main() -> ExitCode {
    let mut paths = Vec::new();
    let mut threads: Option<usize> = None;
    let mut opts = LogOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--block-size" {
            match args.next().and_then(|v| v.parse().ok()).filter(|&n| n > 0) {
                Some(n) => opts.block_size = n,
                None => {
                    eprintln!("log_walk: --block-size needs a number > 0");
                    return ExitCode::from(2);
                }
            }
        } else if a == "--threads" {
            match args.next().and_then(|v| v.parse().ok()).filter(|&n| n > 0) {
                Some(n) => threads = Some(n),
                None => {
                    eprintln!("log_walk: --threads needs a number > 0");
                    return ExitCode::from(2);
                }
            }
        } else {
            paths.push(a);
        }
    }
    if paths.is_empty() {
        eprintln!("usage: log_walk FILE... [--threads N] [--block-size BYTES]");
        return ExitCode::from(2);
    }
    let pool = match threads.map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build()).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("log_walk: thread pool: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut events, mut errors) = (0u64, 0u64);
    let mut traces: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
    let start = Instant::now();
    let mut run = || {
        read_logs(&paths, &opts, |e| {
            events += 1;
            errors += u64::from(e.level.is_some_and(|l| l.is_error()));
            if let Some(x) = &e.exception {
                *traces.entry(x.language.as_str()).or_default() += 1;
            }
        })
    };
    let result = match &pool {
        Some(p) => p.install(run),
        None => run(),
    };
    let secs = start.elapsed().as_secs_f64();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("log_walk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bytes: u64 = summary.files.iter().map(|f| f.bytes).sum();
    let lines: u64 = summary.files.iter().map(|f| f.lines).sum();
    let pool_threads = pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    let mb = bytes as f64 / 1e6;
    println!("files              {}", summary.files.len());
    for f in &summary.files {
        println!("format             {} {:?}", f.path.display(), f.format);
    }
    println!("bytes              {bytes}");
    println!("lines              {lines}");
    println!("events             {events}");
    println!("error_events       {errors}");
    println!("traces             {}", traces.values().sum::<u64>());
    for (lang, n) in &traces {
        println!("traces_{lang:<12} {n}");
    }
    println!("notices            {}", summary.notices.len());
    println!("threads            {pool_threads}");
    println!("elapsed_s          {secs:.3}");
    println!("MB/s               {:.0}", mb / secs);
    println!("MB/s_per_thread    {:.0}", mb / secs / pool_threads as f64);
    ExitCode::SUCCESS
}
