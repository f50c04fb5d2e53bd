//! Frame-for-frame agreement with tshark on every capture that has an oracle:
//! the public captures in `../shared/captures/public/` and the project's own
//! samples in `samples/`.
//!
//! For each WebSocket frame tshark decoded we must decode the same frame:
//! same TCP stream number, sender, packet where the frame completes
//! (`frame.number`), FIN, RSV, opcode, MASK, payload length, close code and
//! reason. Where we disagree with tshark on purpose, the disagreement is
//! listed in `KNOWN_DISAGREEMENTS` with the evidence of who is right, and the
//! test checks that the disagreement is exactly that.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{OracleFrame, captures_with_oracle, public_dir, read_oracle, run, samples_dir};

/// A frame tshark does not report and we do (or the reverse), by capture.
struct Disagreement {
    /// Path relative to the captures directory.
    file: &'static str,
    /// Frames we decode that tshark does not: (frame.number, opcode).
    only_ours: &'static [(u64, u8)],
    /// Frames tshark decodes that we do not.
    only_tshark: &'static [(u64, u8)],
    /// Why we are right.
    why: &'static str,
}

const KNOWN_DISAGREEMENTS: &[Disagreement] = &[
    Disagreement {
        file: "ndn-tools/ipv4-websocket-segmented.pcap",
        only_ours: &[(1, 8), (3, 8)],
        only_tshark: &[],
        why: "tcp.stream 0 starts mid-connection (no SYN, no handshake), so tshark, told only that port 9696 \
              is HTTP, leaves it as TCP. Its two payloads are a WebSocket closing handshake: packet 1 carries \
              88 82 e3 55 be f7 e0 bc, a masked Close from the client (key e355bef7, body 03 e9 = 1001 Going \
              Away, what Chrome sends when a page is left), and packet 3 carries 88 02 03 e9, the server's \
              unmasked Close 1001 answer; the client's FIN follows. Masking by role, exact packet fit and the \
              echoed code leave no doubt: it is the end of an earlier WebSocket connection.",
    },
    Disagreement {
        file: "scapy/websocket_invalid_handshakes.pcap",
        only_ours: &[(16, 1)],
        only_tshark: &[],
        why: "The connection holds five HTTP request/response pairs; the first 101 reply names the upgrade \
          `websockets` (a typo), so tshark 4.0 never hands the stream to its WebSocket dissector and decodes \
          nothing. The last exchange is a 101 to a proper `Upgrade: websocket` request, and packet 16 is a \
          masked text frame (FIN=0, key 0x11223344, payload \"Hello, world!\"). The capture's own project \
          (scapy PR #4579, test/contrib/websocket.uts) asserts that packet 16 decodes as that frame.",
    },
];

fn escape_reason(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r")
}

/// Our frames in the oracle's shape.
fn our_frames(capture: &Path) -> Vec<OracleFrame> {
    let (c, _) = run(&[capture.to_path_buf()], 2);
    let ends: HashMap<u64, (std::net::SocketAddr, std::net::SocketAddr)> =
        c.connections.iter().map(|k| (k.conn_id, (k.client, k.server))).collect();
    let mut frames: Vec<(u64, u64, u8, u64, OracleFrame)> = c
        .frames
        .iter()
        .map(|f| {
            let (client, server) = ends.get(&f.conn_id).copied().unwrap_or_else(|| panic!("frame of unreported connection {}", f.conn_id));
            let src = if f.direction == wsforensics::model::Direction::ClientToServer { client } else { server };
            let h = &f.header;
            let of = OracleFrame {
                frame_number: f.last_packet,
                index_in_frame: 0,
                tcp_stream: f.conn_id,
                src: src.ip().to_string(),
                src_port: src.port(),
                fin: h.fin,
                rsv: h.rsv_bits(),
                opcode: h.opcode,
                mask: h.mask.is_some(),
                payload_len: h.payload_len,
                close_code: f.close_code,
                close_reason: f.close_reason.as_deref().map(escape_reason).unwrap_or_default(),
            };
            (f.last_packet, f.conn_id, f.direction as u8, f.index, of)
        })
        .collect();
    frames.sort_by_key(|(p, c, d, i, _)| (*p, *c, *d, *i));
    // Number frames within each packet as the oracle does.
    let mut out: Vec<OracleFrame> = Vec::with_capacity(frames.len());
    for (_, _, _, _, mut f) in frames {
        f.index_in_frame = match out.last() {
            Some(prev) if prev.frame_number == f.frame_number => prev.index_in_frame + 1,
            _ => 1,
        };
        out.push(f);
    }
    out
}

fn check_capture(root: &Path, capture: &Path) -> Result<(), String> {
    let rel = capture.strip_prefix(root).unwrap_or(capture).to_string_lossy().replace('\\', "/");
    let mut oracle = read_oracle(capture);
    oracle.sort_by_key(|f| (f.frame_number, f.index_in_frame));
    let ours = our_frames(capture);
    let known = KNOWN_DISAGREEMENTS.iter().find(|d| d.file == rel);
    let only_ours: Vec<(u64, u8)> = ours
        .iter()
        .filter(|o| !oracle.iter().any(|t| t.frame_number == o.frame_number && t.index_in_frame == o.index_in_frame))
        .map(|o| (o.frame_number, o.opcode))
        .collect();
    let only_tshark: Vec<(u64, u8)> = oracle
        .iter()
        .filter(|t| !ours.iter().any(|o| t.frame_number == o.frame_number && t.index_in_frame == o.index_in_frame))
        .map(|t| (t.frame_number, t.opcode))
        .collect();
    let (want_ours, want_tshark) = known.map_or((&[][..], &[][..]), |d| (d.only_ours, d.only_tshark));
    if only_ours != want_ours || only_tshark != want_tshark {
        return Err(format!(
            "{rel}: frames only we decode {only_ours:?} (expected {want_ours:?}); frames only tshark decodes {only_tshark:?} (expected {want_tshark:?})\n  ours:   {:?}\n  tshark: {:?}",
            ours.iter().map(|f| (f.frame_number, f.opcode, f.payload_len)).collect::<Vec<_>>(),
            oracle.iter().map(|f| (f.frame_number, f.opcode, f.payload_len)).collect::<Vec<_>>()
        ));
    }
    for t in &oracle {
        let Some(o) = ours.iter().find(|o| o.frame_number == t.frame_number && o.index_in_frame == t.index_in_frame) else { continue };
        // tshark's pmc column aside, every field must agree.
        let mut t_cmp = t.clone();
        if t_cmp.close_code.is_none() {
            t_cmp.close_reason = o.close_reason.clone();
        }
        if *o != t_cmp {
            return Err(format!(
                "{rel}: frame at packet {} #{} differs\n  ours:   {o:?}\n  tshark: {t:?}",
                t.frame_number, t.index_in_frame
            ));
        }
    }
    Ok(())
}

fn check_all(root: &Path) -> usize {
    let captures = captures_with_oracle(root);
    let mut failures = Vec::new();
    for capture in &captures {
        if let Err(e) = check_capture(root, capture) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} captures disagree with tshark:\n{}", failures.len(), captures.len(), failures.join("\n"));
    captures.len()
}

#[test]
fn public_captures_agree_with_tshark() {
    let root = public_dir();
    let n = check_all(&root);
    assert!(n >= 31, "expected the 31 public captures under {}, found {n}", root.display());
}

#[test]
fn samples_agree_with_tshark() {
    let root = samples_dir();
    let n = check_all(&root);
    assert!(n >= 4, "expected recorded samples with oracles under {}, found {n}", root.display());
}

#[test]
fn known_disagreements_name_real_files() {
    for d in KNOWN_DISAGREEMENTS {
        let p: PathBuf = public_dir().join(d.file);
        assert!(p.exists(), "{} does not exist", p.display());
        assert!(!d.why.is_empty());
    }
}
