//! Throughput of the log reader on a plain-text log with Java, Python and
//! Node.js stack traces interleaved: reading, line classification, record
//! grouping, trace parsing and identifier extraction ([`read_log_reader`]).
//!
//! ```text
//! cargo bench --bench log_reader
//! ```
//!
//! The log (32 MiB, `benches/common/loggen.rs`, 2% of records with a stack
//! trace) is held in memory, so this measures parsing, not the disk. The
//! reader parses blocks on the current rayon pool: `1_thread` runs it on a
//! one-thread pool (the per-core figure; issue 5 asks for at least
//! 300 MB/s), `all_cores` on one thread per core.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/loggen.rs"]
mod loggen;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loggen::{LogGenConfig, generate_vec};
use wsforensics::logs::{LogOptions, read_log_reader};

const LOG_BYTES: u64 = 32 << 20;

/// Reads the whole log, counting events and exceptions.
fn read(log: &[u8], opts: &LogOptions) -> (u64, u64) {
    let (mut events, mut traces) = (0u64, 0u64);
    let summary = read_log_reader("bench.log", log, opts, |e| {
        events += 1;
        traces += u64::from(e.exception.is_some());
    });
    black_box(summary);
    (events, traces)
}

fn bench(c: &mut Criterion) {
    let (log, stats) = generate_vec(&LogGenConfig { size: LOG_BYTES, seed: 1, trace_rate: 0.02 });
    let opts = LogOptions::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("log_reader");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Bytes(log.len() as u64));
    for (name, threads) in [("1_thread", 1), ("all_cores", cores)] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        // Sanity: one event per record, every trace grouped into its record.
        let (events, traces) = pool.install(|| read(&log, &opts));
        assert_eq!(events, stats.records, "{name}: events");
        assert_eq!(traces, stats.traces.iter().sum::<u64>(), "{name}: traces");
        group.bench_function(name, |b| b.iter(|| pool.install(|| black_box(read(black_box(&log), &opts)))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
