//! Nothing lost: for every WebSocket connection and direction, each captured
//! TCP payload byte is accounted for exactly once (HTTP handshake, frame
//! header, frame payload, undecoded, or a duplicate of bytes already
//! counted), on every bundled sample and public capture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{captures_with_oracle, public_dir, run, samples_dir};

#[test]
fn every_captured_byte_is_accounted_for() {
    let mut captures = captures_with_oracle(&public_dir());
    captures.extend(captures_with_oracle(&samples_dir()));
    assert!(captures.len() >= 40);
    let mut checked = 0;
    let mut failures = Vec::new();
    for capture in &captures {
        let (c, _) = run(std::slice::from_ref(capture), 1);
        for conn in &c.connections {
            for (i, b) in conn.bytes.iter().enumerate() {
                checked += 1;
                if b.accounted() != b.captured {
                    failures.push(format!(
                        "{} conn {} dir {i}: captured {} != accounted {} ({b:?})",
                        capture.display(),
                        conn.conn_id,
                        b.captured,
                        b.accounted()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 80, "only {checked} directions checked");
}
