//! Messages assembled from fragments (RFC 6455 §5.4), on real captures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{public_dir, run, samples_dir};
use wsforensics::model::Direction;

#[test]
fn two_fragments_make_one_message() {
    // zeek/two-binary-fragments.pcap: the server sends "Hello" + " there!"
    // as a binary frame with FIN=0 and a continuation.
    let (c, _) = run(&[public_dir().join("zeek/two-binary-fragments.pcap")], 1);
    let s2c: Vec<_> = c.messages.iter().filter(|m| m.direction == Direction::ServerToClient).collect();
    assert_eq!(s2c.len(), 1);
    let m = s2c[0];
    assert_eq!((m.opcode, m.frames, m.payload_len, m.complete), (2, 2, 12, true));
    assert_eq!(c.connections[0].messages, [1, 1]);
}

#[test]
fn ping_between_fragments_does_not_break_the_message() {
    // suricata-verify/websocket-control-frag.pcap: text FIN=0, ping,
    // continuation FIN=1 (legal: control frames may be interleaved).
    let (c, _) = run(&[public_dir().join("suricata-verify/websocket-control-frag.pcap")], 1);
    let c2s: Vec<_> = c.messages.iter().filter(|m| m.direction == Direction::ClientToServer).collect();
    assert_eq!(c2s.len(), 1);
    assert_eq!((c2s[0].frames, c2s[0].payload_len, c2s[0].complete), (2, 48, true));
    let ping = c.frames.iter().find(|f| f.header.opcode == 9).unwrap();
    assert_eq!(ping.message_index, None);
    let cont = c.frames.iter().find(|f| f.header.opcode == 0).unwrap();
    assert_eq!(cont.message_index, Some(0));
}

#[test]
fn websockets_fragmented_send_from_a_real_library() {
    // samples/py-echo-plain.pcap: websockets sends an iterable of 3 parts as
    // 4 frames (the last an empty FIN continuation), see samples/README.md.
    let (c, _) = run(&[samples_dir().join("py-echo-plain.pcap")], 1);
    let fragmented: Vec<_> = c.messages.iter().filter(|m| m.frames > 1).collect();
    assert!(!fragmented.is_empty());
    for m in &fragmented {
        assert!(m.complete);
        assert_eq!(m.frames, 4, "{m:?}");
    }
    // Every complete message counted in the connection record.
    let complete = c.messages.iter().filter(|m| m.complete).count() as u64;
    assert_eq!(complete, c.connections[0].messages.iter().sum::<u64>());
}
