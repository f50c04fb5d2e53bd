//! Arbitrary bytes as a pcap/pcapng file: open it, read every packet, decode
//! each one down to TCP. No panic; every packet holds at most the bytes of
//! the file (nothing is allocated from a bogus length field).
//!
//! `CaptureReader` only opens paths, so the input is written to a per-process
//! file in /dev/shm (memory-backed) and read back.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wsforensics::capture::{CaptureReader, MAX_CAPLEN};
use wsforensics::decode::{Decoded, decode_packet};

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
        dir.join(format!("wsforensics-fuzz-capture-{}.bin", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write scratch capture");
    let Ok(mut reader) = CaptureReader::open(std::slice::from_ref(path)) else {
        return;
    };
    let mut packets = 0usize;
    let mut last_index = 0;
    while let Ok(Some(pkt)) = reader.next_packet() {
        packets += 1;
        assert!(pkt.data.len() <= data.len(), "packet {} holds {} bytes, file has {}", pkt.index, pkt.data.len(), data.len());
        assert!(pkt.data.len() as u64 <= u64::from(MAX_CAPLEN), "packet over MAX_CAPLEN");
        assert!(pkt.index > last_index, "packet indices must increase");
        last_index = pkt.index;
        // A record needs at least a 16-byte header (pcap) / 12-byte block.
        assert!(packets <= data.len() / 12 + 1, "more packets than the file can hold");
        match decode_packet(pkt.linktype, &pkt.data) {
            Decoded::Tcp(seg) => {
                assert!(seg.payload.len() <= pkt.data.len());
            }
            Decoded::Skipped(reason) => {
                let _ = reason.id();
            }
        }
    }
    reader.finish();
    for n in reader.notices() {
        let _ = n.to_string();
    }
    assert!(reader.bytes_read() <= reader.total_bytes().max(data.len() as u64));
    let _ = reader.unknown_blocks();
});
