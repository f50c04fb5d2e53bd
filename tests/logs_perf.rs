//! Throughput of the log reader (issue 5 target: at least 300 MB/s per core
//! for plain text). A measurement, not a pass/fail test: run it by hand in
//! release, `cargo test --release --test logs_perf -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::Instant;

use wsforensics::logs::{LogOptions, read_logs};

/// Python-asctime lines with a client ip:port, a path and a key=value,
/// one traceback every 200 records.
fn synthetic_log(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 4096);
    let mut i = 0u64;
    while out.len() < target {
        let (m, s, ms) = ((i / 60_000) % 60, (i / 1000) % 60, i % 1000);
        let port = 40000 + (i % 20000);
        if i.is_multiple_of(200) {
            let _ = write!(
                out,
                "2026-11-24 10:{m:02}:{s:02},{ms:03} ERROR websockets.server: connection handler failed\nTraceback (most recent call last):\n  File \"/srv/app/.venv/lib/python3.11/site-packages/websockets/asyncio/server.py\", line 762, in protocol_handler\n    await handler(connection)\n  File \"/srv/app/handler.py\", line 96, in crash_handler\n    result = a / b\n             ~~^~~\nZeroDivisionError: division by zero\n"
            );
        } else {
            let _ = writeln!(
                out,
                "2026-11-24 10:{m:02}:{s:02},{ms:03} INFO app: client 127.0.0.1:{port} request id={i} op=add path=/calc user=alice"
            );
        }
        i += 1;
    }
    out
}

#[test]
#[ignore]
fn plain_text_throughput() {
    let mb: usize = std::env::var("LOGS_PERF_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let data = synthetic_log(mb << 20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    std::fs::write(&path, &data).unwrap();
    if let Ok(secs) = std::env::var("LOGS_PERF_PAUSE") {
        // Lets a profiler attach after the data is written.
        std::thread::sleep(std::time::Duration::from_secs(secs.parse().unwrap()));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let configs: Vec<usize> = match std::env::var("LOGS_PERF_THREADS") {
        Ok(n) => vec![n.parse().unwrap()],
        Err(_) => vec![1, cores],
    };
    let runs: usize = std::env::var("LOGS_PERF_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    for threads in configs {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        // The best of a few runs: the machine may be shared.
        let mut best = f64::MAX;
        let (mut events, mut exceptions) = (0u64, 0u64);
        for _ in 0..runs {
            let start = Instant::now();
            (events, exceptions) = (0, 0);
            pool.install(|| {
                read_logs(&[&path], &LogOptions::default(), |e| {
                    events += 1;
                    exceptions += u64::from(e.exception.is_some());
                })
                .unwrap()
            });
            best = best.min(start.elapsed().as_secs_f64());
        }
        let mb = data.len() as f64 / 1e6;
        println!(
            "{threads} thread(s): {mb:.0} MB in {best:.2} s (best of {runs}) = {:.0} MB/s ({:.0} MB/s per thread), {events} events, {exceptions} exceptions",
            mb / best,
            mb / best / threads as f64
        );
    }
}
