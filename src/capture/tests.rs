//! Tests of the capture reader: the public captures, hand-built pcap and
//! pcapng files (every format variant and kind of damage), and the merge.

use super::*;
use std::fs;

const PUBLIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/public/");

fn public(rel: &str) -> PathBuf {
    PathBuf::from(PUBLIC).join(rel)
}

/// Reads every packet: (index, ts ns, linktype, caplen, orig_len, file, offset).
fn read_all(r: &mut CaptureReader) -> Vec<Packet> {
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        out.push(p.clone());
    }
    out
}

fn read_paths(paths: &[PathBuf]) -> (Vec<Packet>, Vec<CaptureNotice>) {
    let mut r = CaptureReader::open(paths).unwrap();
    let pkts = read_all(&mut r);
    assert_eq!(r.bytes_read(), r.total_bytes());
    (pkts, r.notices().to_vec())
}

// --- builders --------------------------------------------------------------

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}
fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

fn pcap_header(be: bool, nanos: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
    let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut v = Vec::new();
    v.extend(u32b(magic, be));
    v.extend(u16b(2, be));
    v.extend(u16b(4, be));
    v.extend(u32b(0, be));
    v.extend(u32b(0, be));
    v.extend(u32b(snaplen, be));
    v.extend(u32b(linktype, be));
    v
}

fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(u32b(sec, be));
    v.extend(u32b(frac, be));
    v.extend(u32b(data.len() as u32, be));
    v.extend(u32b(orig_len, be));
    v.extend(data);
    v
}

/// A pcap (little-endian, microseconds, Ethernet) with one record per
/// (sec, usec, payload byte).
fn simple_pcap(records: &[(u32, u32, u8)]) -> Vec<u8> {
    let mut v = pcap_header(false, false, 65535, 1);
    for &(s, us, b) in records {
        let data = vec![b; 60];
        v.extend(pcap_record(false, s, us, &data, 60));
    }
    v
}

fn ng_block(be: bool, btype: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    let mut v = Vec::new();
    v.extend(u32b(btype, be));
    v.extend(u32b(len, be));
    v.extend(body);
    v.extend(u32b(len, be));
    v
}

fn shb(be: bool) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u32b(0x1A2B_3C4D, be));
    b.extend(u16b(1, be));
    b.extend(u16b(0, be));
    b.extend(if be { (-1i64).to_be_bytes() } else { (-1i64).to_le_bytes() });
    ng_block(be, 0x0A0D_0D0A, &b)
}

fn idb(be: bool, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u16b(linktype, be));
    b.extend(u16b(0, be));
    b.extend(u32b(snaplen, be));
    if let Some(r) = tsresol {
        b.extend(u16b(9, be));
        b.extend(u16b(1, be));
        b.extend([r, 0, 0, 0]);
    }
    if let Some(o) = tsoffset {
        b.extend(u16b(14, be));
        b.extend(u16b(8, be));
        b.extend(if be { o.to_be_bytes() } else { o.to_le_bytes() });
    }
    if tsresol.is_some() || tsoffset.is_some() {
        b.extend([0, 0, 0, 0]); // opt_endofopt
    }
    ng_block(be, 1, &b)
}

fn epb(be: bool, if_id: u32, ts: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u32b(if_id, be));
    b.extend(u32b((ts >> 32) as u32, be));
    b.extend(u32b(ts as u32, be));
    b.extend(u32b(data.len() as u32, be));
    b.extend(u32b(orig_len, be));
    b.extend(data);
    ng_block(be, 6, &b)
}

fn spb(be: bool, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u32b(data.len() as u32, be));
    b.extend(data);
    ng_block(be, 3, &b)
}

fn opb(be: bool, if_id: u16, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u16b(if_id, be));
    b.extend(u16b(0, be));
    b.extend(u32b((ts >> 32) as u32, be));
    b.extend(u32b(ts as u32, be));
    b.extend(u32b(data.len() as u32, be));
    b.extend(u32b(data.len() as u32, be));
    b.extend(data);
    ng_block(be, 2, &b)
}

struct Tmp {
    dir: tempfile::TempDir,
}

impl Tmp {
    fn new() -> Tmp {
        Tmp { dir: tempfile::tempdir().unwrap() }
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    }
}

// --- public captures -------------------------------------------------------

/// Packet counts and link types from the README summary table (checked
/// with capinfos).
const PUBLIC_CAPTURES: &[(&str, usize, LinkType)] = &[
    ("zeek/broker-websocket.pcap", 22, LinkType::ETHERNET),
    ("zeek/fragmented-http-reply.pcap", 18, LinkType::ETHERNET),
    ("zeek/http-websocket.pcap", 27, LinkType::ETHERNET),
    ("zeek/jupyter-websocket.pcap", 20, LinkType::ETHERNET),
    ("zeek/message-too-big-status.pcap", 14, LinkType::ETHERNET),
    ("zeek/oversized-close-frame.pcapng", 8, LinkType::ETHERNET),
    ("zeek/reply-ping-coalesced.pcap", 16, LinkType::ETHERNET),
    ("zeek/reply-ping-separate.pcap", 18, LinkType::ETHERNET),
    ("zeek/two-binary-fragments.pcap", 18, LinkType::ETHERNET),
    ("zeek/wrong-accept-header.pcap", 12, LinkType::ETHERNET),
    ("zeek/wstunnel-http.pcap", 13, LinkType::ETHERNET),
    ("zeek/wstunnel-https.pcap", 124, LinkType::ETHERNET),
    ("zeek/wstunnel-ssh.pcap", 258, LinkType::ETHERNET),
    ("zeek/websocket_baseline.pcap", 15, LinkType::ETHERNET),
    ("zeek/websocket_compressed.pcap", 15, LinkType::ETHERNET),
    ("suricata-verify/websocket.pcap", 21, LinkType::ETHERNET),
    ("suricata-verify/websocket-compressed.pcap", 27, LinkType::ETHERNET),
    ("suricata-verify/websocket-control-frag.pcap", 15, LinkType::ETHERNET),
    ("suricata-verify/websocket-ping.pcap", 19, LinkType::LINUX_SLL),
    ("arkime/websocket.pcap", 19, LinkType::ETHERNET),
    ("arkime/arkime_synthetic.pcap", 918, LinkType::ETHERNET),
    ("ndpi/websocket.pcap", 5, LinkType::ETHERNET),
    ("ndpi/tls_heur__vmess-websocket.pcapng", 100, LinkType::LINUX_SLL),
    ("ndpi/http_origin_different_than_host.pcap", 4, LinkType::ETHERNET),
    ("ndn-tools/ipv4-websocket-segmented.pcap", 23, LinkType::ETHERNET),
    ("ndn-tools/ipv6-websocket-segmented.pcap", 13, LinkType::ETHERNET),
    ("scapy/websocket_compressed_session.pcap", 13, LinkType::ETHERNET),
    ("scapy/websocket_invalid_handshakes.pcap", 19, LinkType::ETHERNET),
    ("malcolm-test-artifacts/HTTP_websocket.pcap", 7, LinkType::ETHERNET),
    ("pcap-ws-parse/ws.pcap", 30, LinkType::LINUX_SLL),
    ("evsetool/cap.pcapng", 66, LinkType::LINUX_SLL),
];

#[test]
fn every_public_capture_reads_completely() {
    for &(rel, count, linktype) in PUBLIC_CAPTURES {
        let (pkts, notices) = read_paths(&[public(rel)]);
        assert_eq!(pkts.len(), count, "{rel}: packet count");
        assert!(notices.is_empty(), "{rel}: {notices:?}");
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(p.index, i as u64 + 1, "{rel}");
            assert_eq!(p.linktype, linktype, "{rel}: packet {}", p.index);
            // (pcap-ws-parse/ws.pcap has orig_len 16 bytes below caplen,
            // as tshark also shows: a writer's quirk, not damage.)
            assert!(!p.data.is_empty() && p.data.len() as u32 <= p.orig_len + 16, "{rel}: packet {}", p.index);
            assert_eq!(p.file, 0);
        }
    }
}

#[test]
fn public_capture_count_matches_table_size() {
    // Every capture in the directory is in the table above.
    let mut n = 0;
    for dir in fs::read_dir(PUBLIC).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                n += 1;
            }
        }
    }
    assert_eq!(n, PUBLIC_CAPTURES.len());
}

#[test]
fn pcap_microsecond_timestamps_and_offsets() {
    // tshark: frame 1 at 1705243573.136079000, 74 bytes; frame 2 at .136092.
    let (pkts, _) = read_paths(&[public("zeek/broker-websocket.pcap")]);
    assert_eq!(pkts[0].ts, Timestamp(1_705_243_573_136_079_000));
    assert_eq!(pkts[1].ts, Timestamp(1_705_243_573_136_092_000));
    assert_eq!(pkts[0].data.len(), 74);
    assert_eq!(pkts[0].orig_len, 74);
    // The first record starts right after the 24-byte file header.
    assert_eq!(pkts[0].offset, 24);
    assert_eq!(pkts[1].offset, 24 + 16 + 74);
    let (pkts, _) = read_paths(&[public("suricata-verify/websocket-ping.pcap")]);
    assert_eq!(pkts[0].ts, Timestamp(1_394_016_340_965_052_000));
}

#[test]
fn pcapng_nanosecond_timestamps() {
    // evsetool/cap.pcapng has if_tsresol = 9; values from tshark
    // frame.time_epoch.
    let (pkts, _) = read_paths(&[public("evsetool/cap.pcapng")]);
    assert_eq!(pkts[0].ts, Timestamp(1_734_005_682_951_486_383));
    assert_eq!(pkts[1].ts, Timestamp(1_734_005_682_951_497_863));
    assert_eq!(pkts[2].ts, Timestamp(1_734_005_682_951_506_320));
    assert_eq!(pkts[65].ts, Timestamp(1_734_005_685_362_910_225));
    assert_eq!((pkts[0].data.len(), pkts[0].orig_len), (76, 76));
    // SHB (0xb0 bytes) then IDB (0x50 bytes) then the first EPB.
    assert_eq!(pkts[0].offset, 0xb0 + 0x50);
}

#[test]
fn pcapng_starting_at_the_epoch() {
    let (pkts, _) = read_paths(&[public("zeek/oversized-close-frame.pcapng")]);
    assert_eq!(pkts[0].ts, Timestamp(0));
    assert_eq!(pkts[1].ts, Timestamp(1_000));
}

// --- pcap variants ---------------------------------------------------------

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    let t = Tmp::new();
    for be in [false, true] {
        for nanos in [false, true] {
            let mut v = pcap_header(be, nanos, 65535, 101);
            v.extend(pcap_record(be, 1_700_000_000, 123_456, &[0x45; 20], 40));
            v.extend(pcap_record(be, 1_700_000_001, 999, &[0x60; 40], 40));
            let p = t.write(&format!("v{be}{nanos}.pcap"), &v);
            let (pkts, notices) = read_paths(&[p]);
            assert!(notices.is_empty());
            assert_eq!(pkts.len(), 2);
            let scale = if nanos { 1 } else { 1_000 };
            assert_eq!(pkts[0].ts, Timestamp(1_700_000_000_000_000_000 + 123_456 * scale));
            assert_eq!(pkts[1].ts, Timestamp(1_700_000_001_000_000_000 + 999 * scale));
            assert_eq!(pkts[0].linktype, LinkType::RAW);
            assert_eq!((pkts[0].data.len(), pkts[0].orig_len), (20, 40));
            assert_eq!(pkts[1].data, vec![0x60; 40]);
        }
    }
}

#[test]
fn pcap_linktype_upper_bits_are_ignored() {
    // FCS-length bits (draft-ietf-opsawg-pcap 4) above the link type.
    let t = Tmp::new();
    let mut v = pcap_header(false, false, 65535, 0x1400_0001);
    v.extend(pcap_record(false, 1, 0, &[0; 64], 64));
    let (pkts, _) = read_paths(&[t.write("fcs.pcap", &v)]);
    assert_eq!(pkts[0].linktype, LinkType::ETHERNET);
}

#[test]
fn modified_pcap_format() {
    // 0xa1b2cd34: 24-byte record headers (ifindex, protocol, pkt_type, pad).
    let t = Tmp::new();
    let mut v = pcap_header(false, false, 65535, 1);
    v[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    for i in 0..3u8 {
        let mut r = pcap_record(false, 10 + u32::from(i), 0, &[i; 30], 30);
        r.splice(16..16, [0u8; 8]);
        v.extend(r);
    }
    let (pkts, notices) = read_paths(&[t.write("mod.pcap", &v)]);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(pkts.len(), 3);
    assert_eq!(pkts[2].data, vec![2; 30]);
    assert_eq!(pkts[1].offset, 24 + 24 + 30);
}

// --- errors ----------------------------------------------------------------

fn open_err(bytes: &[u8]) -> String {
    let t = Tmp::new();
    let p = t.write("bad.cap", bytes);
    let e = CaptureReader::open(std::slice::from_ref(&p)).err().expect("must fail");
    let s = e.to_string();
    assert!(s.contains("bad.cap"), "{s}");
    s
}

#[test]
fn zero_length_file_is_an_error() {
    let s = open_err(&[]);
    assert!(s.contains("empty file (0 bytes)"), "{s}");
}

#[test]
fn wrong_magic_is_an_error_naming_the_bytes() {
    let s = open_err(b"hello world, this is text");
    assert!(s.contains("not a pcap or pcapng capture: found magic bytes 68 65 6c 6c"), "{s}");
    let s = open_err(&[0x1f, 0x8b, 8, 0, 1, 2, 3, 4]);
    assert!(s.contains("gzip"), "{s}");
    let s = open_err(&[0xa1, 0xb2]);
    assert!(s.contains("too short (2 bytes)"), "{s}");
    // pcap magic, header cut short.
    let s = open_err(&pcap_header(false, false, 65535, 1)[..10]);
    assert!(s.contains("pcap file header truncated"), "{s}");
    // pcapng magic with a broken byte-order magic.
    let mut ng = shb(false);
    ng[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let s = open_err(&ng);
    assert!(s.contains("pcapng"), "{s}");
}

#[test]
fn random_bytes_never_panic() {
    // A simple LCG: deterministic "random" inputs, some behind valid magics.
    let mut x: u64 = 0x1234_5678;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as u8
    };
    let t = Tmp::new();
    for round in 0..200 {
        let len = 1 + (round * 37) % 3000;
        let mut v: Vec<u8> = (0..len).map(|_| next()).collect();
        match round % 3 {
            0 if v.len() >= 24 => v[..24].copy_from_slice(&pcap_header(false, false, 65535, 1)),
            1 if v.len() >= 28 => v[..28].copy_from_slice(&shb(false)[..28]),
            _ => {}
        }
        let p = t.write(&format!("r{round}"), &v);
        if let Ok(mut r) = CaptureReader::open(&[p]) {
            while let Ok(Some(_)) = r.next_packet() {}
            let _ = r.notices();
        }
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let e = CaptureReader::open(&[PathBuf::from("/nonexistent/x.pcap")]).err().unwrap();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/x.pcap"));
}

// --- truncation --------------------------------------------------------------

#[test]
fn pcap_cut_inside_a_record_header() {
    let src = public("zeek/broker-websocket.pcap");
    let (pkts, _) = read_paths(std::slice::from_ref(&src));
    let last = pkts.last().unwrap();
    let bytes = fs::read(&src).unwrap();
    let t = Tmp::new();
    let cut = t.write("cut.pcap", &bytes[..last.offset as usize + 5]);
    let (got, notices) = read_paths(&[cut]);
    assert_eq!(got.len(), pkts.len() - 1);
    assert_eq!(got, pkts[..pkts.len() - 1]);
    assert_eq!(notices.len(), 1);
    let n = &notices[0];
    assert_eq!(n.kind, CaptureNoticeKind::Truncated);
    assert_eq!(n.offset, last.offset);
    assert_eq!(n.after_packet, Some(21));
    assert_eq!(n.message, "truncated record header: 5 of 16 bytes left in file (capture cut while writing?)");
}

#[test]
fn pcap_cut_inside_a_record_body() {
    let src = public("zeek/broker-websocket.pcap");
    let (pkts, _) = read_paths(std::slice::from_ref(&src));
    let victim = &pkts[10];
    let bytes = fs::read(&src).unwrap();
    let t = Tmp::new();
    let cut = t.write("capture.pcap", &bytes[..victim.offset as usize + 16 + 10]);
    let (got, notices) = read_paths(std::slice::from_ref(&cut));
    assert_eq!(got, pkts[..10]);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].offset, victim.offset);
    assert_eq!(
        notices[0].to_string(),
        format!(
            "{}: byte {}: truncated record: header says {} bytes, 10 left in file (capture cut while writing?)",
            cut.display(),
            victim.offset,
            victim.data.len()
        )
    );
}

#[test]
fn pcapng_cut_inside_a_block() {
    let src = public("evsetool/cap.pcapng");
    let (pkts, _) = read_paths(std::slice::from_ref(&src));
    let victim = &pkts[40];
    let bytes = fs::read(&src).unwrap();
    let t = Tmp::new();
    for extra in [3usize, 9, 40] {
        let cut = t.write("cut.pcapng", &bytes[..victim.offset as usize + extra]);
        let (got, notices) = read_paths(&[cut]);
        assert_eq!(got, pkts[..40], "cut +{extra}");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].kind, CaptureNoticeKind::Truncated);
        assert_eq!(notices[0].offset, victim.offset);
        assert!(notices[0].message.starts_with("truncated block"), "{}", notices[0].message);
        if extra >= 8 {
            assert!(notices[0].message.contains(&format!("{extra} left in file")), "{}", notices[0].message);
        }
    }
}

// --- corruption ----------------------------------------------------------------

#[test]
fn pcap_bogus_caplen_resynchronises() {
    let recs: Vec<_> = (0..6).map(|i| (1_700_000_000 + i, 0, i as u8)).collect();
    let mut v = simple_pcap(&recs);
    // Record 3 (0-based 2) starts at 24 + 2 * 76; its caplen is at +8.
    let r3 = 24 + 2 * 76;
    v[r3 + 8..r3 + 12].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("c.pcap", &v)]);
    let bytes: Vec<u8> = pkts.iter().map(|p| p.data[0]).collect();
    assert_eq!(bytes, [0, 1, 3, 4, 5]);
    assert_eq!(pkts.iter().map(|p| p.index).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(notices.len(), 1);
    let n = &notices[0];
    assert_eq!(n.offset, r3 as u64);
    assert_eq!(n.kind, CaptureNoticeKind::Corrupt { resumed_at: Some(r3 as u64 + 76) });
    assert_eq!(n.after_packet, Some(2));
    assert!(n.message.contains("caplen 16777215"), "{}", n.message);
    assert!(n.message.contains(&format!("skipped 76 bytes (bytes {}..{})", r3, r3 + 76)), "{}", n.message);
}

#[test]
fn pcap_garbage_between_records_is_skipped() {
    let recs: Vec<_> = (0..4).map(|i| (1_700_000_000 + i, 500, i as u8)).collect();
    let mut v = simple_pcap(&recs);
    let at = 24 + 2 * 76;
    let garbage: Vec<u8> = (0..37u8).map(|i| i.wrapping_mul(97) | 0x80).collect();
    v.splice(at..at, garbage);
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("g.pcap", &v)]);
    assert_eq!(pkts.iter().map(|p| p.data[0]).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(pkts[2].offset, at as u64 + 37);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(at as u64 + 37) });
}

#[test]
fn pcap_unrecoverable_corruption_stops_the_file() {
    let recs: Vec<_> = (0..3).map(|i| (1_700_000_000 + i, 0, i as u8)).collect();
    let mut v = simple_pcap(&recs);
    let r3 = 24 + 2 * 76;
    v[r3 + 8..r3 + 12].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("s.pcap", &v)]);
    assert_eq!(pkts.len(), 2);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: None });
    assert!(notices[0].message.contains("no plausible record found"), "{}", notices[0].message);
}

#[test]
fn pcap_caplen_above_snaplen_is_believed_when_framing_holds() {
    let mut v = pcap_header(false, false, 64, 1);
    v.extend(pcap_record(false, 5, 0, &[1; 100], 100));
    v.extend(pcap_record(false, 5, 1, &[2; 60], 60));
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("s.pcap", &v)]);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(pkts.len(), 2);
}

#[test]
fn pcapng_bogus_huge_block_length_gives_a_notice_without_allocating() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 1, &[1; 60], 60));
    let bad_at = v.len();
    let mut bad = epb(false, 0, 2, &[2; 60], 60);
    bad[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    v.extend(bad);
    let good_at = v.len();
    v.extend(epb(false, 0, 3, &[3; 60], 60));
    let t = Tmp::new();
    let p = t.write("huge.pcapng", &v);

    let mut fr = file::FileReader::open(&p, 0, 4096).unwrap();
    let mut pkt = Packet::default();
    let mut notices = Vec::new();
    let mut seen = Vec::new();
    while fr.read_packet(&mut pkt, &mut notices, None).unwrap() {
        seen.push(pkt.data[0]);
    }
    assert_eq!(seen, [1, 3]);
    assert_eq!(fr.capacity_for_tests(), 4096, "the buffer must not grow for a bogus length");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].offset, bad_at as u64);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(good_at as u64) });
    assert!(notices[0].message.contains("claims 4294967280 bytes"), "{}", notices[0].message);
}

#[test]
fn pcapng_block_length_beyond_end_of_file_is_truncation_without_allocating() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 1, &[1; 60], 60));
    let bad_at = v.len();
    let mut bad = epb(false, 0, 2, &[2; 60], 60);
    bad[4..8].copy_from_slice(&(200u32 << 20).to_le_bytes());
    v.extend(bad);
    let t = Tmp::new();
    let p = t.write("long.pcapng", &v);
    let mut fr = file::FileReader::open(&p, 0, 4096).unwrap();
    let mut pkt = Packet::default();
    let mut notices = Vec::new();
    assert!(fr.read_packet(&mut pkt, &mut notices, None).unwrap());
    assert!(!fr.read_packet(&mut pkt, &mut notices, Some(1)).unwrap());
    assert_eq!(fr.capacity_for_tests(), 4096);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Truncated);
    assert_eq!(notices[0].offset, bad_at as u64);
    assert_eq!(notices[0].after_packet, Some(1));
}

#[test]
fn pcapng_large_block_grows_the_buffer() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    let big = vec![7u8; 100_000];
    v.extend(epb(false, 0, 1, &big, 100_000));
    v.extend(epb(false, 0, 2, &[8; 60], 60));
    let t = Tmp::new();
    let p = t.write("big.pcapng", &v);
    let mut fr = file::FileReader::open(&p, 0, 4096).unwrap();
    let mut pkt = Packet::default();
    let mut notices = Vec::new();
    assert!(fr.read_packet(&mut pkt, &mut notices, None).unwrap());
    assert_eq!(pkt.data, big);
    assert!(fr.read_packet(&mut pkt, &mut notices, None).unwrap());
    assert_eq!(pkt.data, vec![8; 60]);
    assert!(notices.is_empty());
}

#[test]
fn pcapng_bad_trailer_skips_the_block() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    let bad_at = v.len();
    let mut bad = epb(false, 0, 1, &[1; 60], 60);
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&12345u32.to_le_bytes());
    v.extend(bad);
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("t.pcapng", &v)]);
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].data[0], 2);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].offset, bad_at as u64);
    assert!(notices[0].message.contains("12345 at the end"), "{}", notices[0].message);
}

#[test]
fn pcapng_epb_caplen_beyond_block_is_corrupt() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    let mut bad = epb(false, 0, 1, &[1; 60], 60);
    // caplen field of the EPB (offset 8 + 12).
    bad[20..24].copy_from_slice(&5000u32.to_le_bytes());
    v.extend(bad);
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("t.pcapng", &v)]);
    assert_eq!(pkts.len(), 1);
    assert_eq!(notices.len(), 1);
    assert!(matches!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(_) }));
}

#[test]
fn pcapng_corrupt_section_header_resynchronises() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 1, &[1; 60], 60));
    let bad_at = v.len();
    let mut bad = shb(true);
    bad[8..12].copy_from_slice(&[9, 9, 9, 9]); // byte-order magic destroyed
    v.extend(bad);
    let resumed = v.len();
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("s.pcapng", &v)]);
    // The scan resumes at the IDB after the broken SHB (type, length and
    // trailer agree); the packet after it is read.
    assert_eq!(pkts.iter().map(|p| p.data[0]).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].offset, bad_at as u64);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(resumed as u64) });
    assert!(notices[0].message.contains("byte-order magic"), "{}", notices[0].message);
}

#[test]
fn pcapng_unknown_interface_is_a_notice() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 3, 1, &[1; 60], 60));
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("t.pcapng", &v)]);
    assert_eq!(pkts.len(), 1);
    assert_eq!(notices[0].kind, CaptureNoticeKind::UnknownInterface);
    assert!(notices[0].message.contains("interface 3"), "{}", notices[0].message);
}

// --- pcapng features ---------------------------------------------------------

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    let mut v = Vec::new();
    // Section 1, little-endian: Ethernet at microseconds, Linux SLL2 at
    // nanoseconds with a 100 s offset.
    v.extend(shb(false));
    v.extend(idb(false, 1, 0, None, None));
    v.extend(idb(false, 276, 0, Some(9), Some(100)));
    v.extend(epb(false, 0, 1_500_000, &[1; 20], 20)); // 1.5 s
    v.extend(epb(false, 1, 2_000_000_001, &[2; 20], 30)); // 100 + 2.000000001 s
    v.extend(ng_block(false, 0x0000_0005, &[0; 12])); // ISB: ignored
    v.extend(ng_block(false, 0x0000_0999, &[9; 8])); // unknown: counted
    v.extend(spb(false, &[3; 21])); // interface 0, no timestamp
    // Section 2, big-endian: raw IP with binary resolution 2^-20 and the
    // obsolete Packet Block.
    v.extend(shb(true));
    v.extend(idb(true, 101, 0, Some(0x80 | 20), None));
    v.extend(epb(true, 0, 3 << 20, &[4; 20], 20)); // 3 s
    v.extend(opb(true, 0, 5 << 19, &[5; 20])); // 2.5 s
    v.extend(idb(true, 147, 0, None, None));
    v.extend(epb(true, 1, 10, &[6; 20], 20));
    v.extend(epb(true, 1, 11, &[7; 20], 20));
    let t = Tmp::new();
    let p = t.write("multi.pcapng", &v);
    let mut r = CaptureReader::open(std::slice::from_ref(&p)).unwrap();
    let pkts = read_all(&mut r);
    let summary: Vec<_> = pkts.iter().map(|p| (p.data[0], p.ts.0, p.linktype.0, p.interface, p.data.len())).collect();
    assert_eq!(
        summary,
        [
            (1, 1_500_000_000, 1, 0, 20),
            (2, 102_000_000_001, 276, 1, 20),
            (3, 102_000_000_001, 1, 0, 21), // SPB keeps the previous timestamp
            (4, 3_000_000_000, 101, 2, 20),
            (5, 2_500_000_000, 101, 2, 20), // file order kept when ts goes back
            (6, 10_000, 147, 3, 20),        // default resolution: microseconds
            (7, 11_000, 147, 3, 20),
        ]
    );
    assert_eq!(pkts[1].orig_len, 30);
    assert_eq!(r.unknown_blocks(), 1);
    let notices = r.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].kind, CaptureNoticeKind::UnsupportedLinkType { linktype: LinkType(147), interface: 3, packets: 2 });
    assert_eq!(notices[0].message, "link type USER0 (147) is not supported; 2 packets of interface 3 skipped");
}

#[test]
fn unsupported_link_type_counted_once_per_interface() {
    let mut v = pcap_header(false, false, 65535, 147);
    for i in 0..12 {
        v.extend(pcap_record(false, 100 + i, 0, &[0; 10], 10));
    }
    let t = Tmp::new();
    let p = t.write("user0.pcap", &v);
    let (pkts, notices) = read_paths(std::slice::from_ref(&p));
    assert_eq!(pkts.len(), 12);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].offset, 24);
    assert_eq!(
        notices[0].to_string(),
        format!("{}: byte 24: link type USER0 (147) is not supported; 12 packets of interface 0 skipped", p.display())
    );
    // Stopping early: finish() brings the count up to date.
    let mut r = CaptureReader::open(&[p]).unwrap();
    for _ in 0..5 {
        r.next_packet().unwrap();
    }
    r.finish();
    assert!(r.notices()[0].message.contains("; 5 packets of"), "{}", r.notices()[0].message);
}

// --- merge -------------------------------------------------------------------

fn merged(paths: &[PathBuf], keep_open: usize) -> Vec<(usize, u8, PacketIndex)> {
    let mut r = CaptureReader::open_with(paths, keep_open).unwrap();
    let pkts = read_all(&mut r);
    assert_eq!(r.bytes_read(), r.total_bytes());
    pkts.iter().map(|p| (p.file, p.data[0], p.index)).collect()
}

#[test]
fn several_files_merge_in_time_order() {
    let t = Tmp::new();
    // File a: t = 1, 3, 5, 5 ; file b: t = 2, 3, 4, 6 (times in seconds).
    let a = t.write("a.pcap", &simple_pcap(&[(1, 0, 10), (3, 0, 11), (5, 0, 12), (5, 0, 13)]));
    let b = t.write("b.pcap", &simple_pcap(&[(2, 0, 20), (3, 0, 21), (4, 0, 22), (6, 0, 23)]));
    let expect = vec![
        (0, 10, 1),
        (1, 20, 2),
        (0, 11, 3), // tie at t=3: earlier file first
        (1, 21, 4),
        (1, 22, 5),
        (0, 12, 6),
        (0, 13, 7),
        (1, 23, 8),
    ];
    let paths = [a.clone(), b.clone()];
    assert_eq!(merged(&paths, KEEP_OPEN), expect);
    // Same order when files are opened lazily.
    assert_eq!(merged(&paths, 0), expect);
    // Order of the list decides ties only.
    let swapped = merged(&[b, a], KEEP_OPEN);
    assert_eq!(swapped[2..4], [(0, 21, 3), (1, 11, 4)]);
}

#[test]
fn merge_keeps_file_order_when_timestamps_go_backwards() {
    let t = Tmp::new();
    let a = t.write("a.pcap", &simple_pcap(&[(1, 0, 10), (9, 0, 11), (2, 0, 12)]));
    let b = t.write("b.pcap", &simple_pcap(&[(3, 0, 20), (4, 0, 21)]));
    let expect = vec![(0, 10, 1), (1, 20, 2), (1, 21, 3), (0, 11, 4), (0, 12, 5)];
    assert_eq!(merged(&[a.clone(), b.clone()], KEEP_OPEN), expect);
    assert_eq!(merged(&[a, b], 0), expect);
}

#[test]
fn rotated_set_and_mixed_formats() {
    let t = Tmp::new();
    let mut paths = Vec::new();
    for f in 0..5u8 {
        let recs: Vec<_> = (0..3).map(|i| (100 * u32::from(f) + i, 0, f * 10 + i as u8)).collect();
        paths.push(t.write(&format!("rot{f}.pcap"), &simple_pcap(&recs)));
    }
    // A pcapng overlapping the third file.
    let mut ng = shb(false);
    ng.extend(idb(false, 1, 0, None, None));
    ng.extend(epb(false, 0, 201_500_000, &[99; 60], 60));
    paths.push(t.write("extra.pcapng", &ng));
    // An empty-but-valid pcap (header only).
    paths.push(t.write("empty.pcap", &pcap_header(false, false, 65535, 1)));
    for keep in [KEEP_OPEN, 0, 2] {
        let m = merged(&paths, keep);
        let order: Vec<u8> = m.iter().map(|x| x.1).collect();
        assert_eq!(order, [0, 1, 2, 10, 11, 12, 20, 21, 99, 22, 30, 31, 32, 40, 41, 42], "keep_open {keep}");
        assert_eq!(m.iter().map(|x| x.2).collect::<Vec<_>>(), (1..=16).collect::<Vec<_>>());
    }
}

#[test]
fn notices_in_merged_files_name_their_file() {
    let t = Tmp::new();
    let a = t.write("a.pcap", &simple_pcap(&[(1, 0, 10), (3, 0, 11)]));
    let full = simple_pcap(&[(2, 0, 20), (4, 0, 21)]);
    let b = t.write("b.pcap", &full[..full.len() - 7]);
    let mut r = CaptureReader::open(&[a, b.clone()]).unwrap();
    let pkts = read_all(&mut r);
    assert_eq!(pkts.len(), 3);
    let n = r.notices();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].file, b);
    assert_eq!(n[0].offset, 24 + 76);
    // The last packet of b handed out was number 2 overall.
    assert_eq!(n[0].after_packet, Some(2));
    assert_eq!(r.files().len(), 2);
}

#[test]
fn progress_counts_bytes() {
    let p = public("arkime/arkime_synthetic.pcap");
    let size = fs::metadata(&p).unwrap().len();
    let mut r = CaptureReader::open(&[p]).unwrap();
    assert_eq!(r.total_bytes(), size);
    let mut last = 0;
    while r.next_packet().unwrap().is_some() {
        let b = r.bytes_read();
        assert!(b >= last && b <= size);
        last = b;
    }
    assert_eq!(r.bytes_read(), size);
}

#[test]
fn reader_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CaptureReader>();
    send_sync::<Packet>();
    send_sync::<CaptureNotice>();
}

// --- bogus lengths that fit in the file ------------------------------------------

/// Reads `bytes` as a pcapng through a reader with a 4 KiB buffer; returns
/// the first payload byte of each packet, the notices and the buffer size
/// at the end.
fn read_small_buffer(name: &str, bytes: &[u8]) -> (Vec<u8>, Vec<CaptureNotice>, usize, u64) {
    let t = Tmp::new();
    let p = t.write(name, bytes);
    let mut fr = file::FileReader::open(&p, 0, 4096).unwrap();
    let mut pkt = Packet::default();
    let mut notices = Vec::new();
    let mut seen = Vec::new();
    while fr.read_packet(&mut pkt, &mut notices, None).unwrap() {
        seen.push(pkt.data[0]);
    }
    (seen, notices, fr.capacity_for_tests(), fr.unknown_blocks())
}

#[test]
fn pcapng_packet_block_longer_than_any_packet_is_corrupt_without_allocating() {
    // An EPB whose length (2 MiB) fits in the file but is more than a
    // packet block can need: resynchronised at once, not buffered, and the
    // blocks it would have swallowed are read.
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 1, &[1; 60], 60));
    let bad_at = v.len();
    let mut bad = epb(false, 0, 2, &[2; 60], 60);
    bad[4..8].copy_from_slice(&(2u32 << 20).to_le_bytes());
    v.extend(bad);
    let good_at = v.len();
    for i in 0..40_000u32 {
        v.extend(epb(false, 0, 3 + u64::from(i), &[3; 60], 60));
    }
    assert!(v.len() > good_at + (2 << 20));
    let (seen, notices, capacity, _) = read_small_buffer("long-epb.pcapng", &v);
    assert_eq!(seen.len(), 40_001);
    assert_eq!(capacity, 4096, "the buffer must not grow for a bogus length");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].offset, bad_at as u64);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(good_at as u64) });
    assert!(notices[0].message.contains("claims 2097152 bytes (more than the 1048576-byte limit for its type)"), "{}", notices[0].message);
}

#[test]
fn pcapng_length_past_the_end_with_blocks_after_it_is_corruption() {
    // A damaged length that runs past the end of the file, with good
    // blocks after the damage: not a truncation; they are read.
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    let bad_at = v.len();
    let mut bad = epb(false, 0, 1, &[1; 60], 60);
    bad[4..8].copy_from_slice(&(64u32 << 10).to_le_bytes());
    v.extend(bad);
    let good_at = v.len();
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    v.extend(epb(false, 0, 3, &[3; 60], 60));
    let (seen, notices, _, _) = read_small_buffer("past-end.pcapng", &v);
    assert_eq!(seen, [2, 3]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!((notices[0].offset, notices[0].kind), (bad_at as u64, CaptureNoticeKind::Corrupt { resumed_at: Some(good_at as u64) }));
    assert!(
        notices[0].message.starts_with("corrupt block header: block type 0x6 claims 65536 bytes, 276 left in file"),
        "{}",
        notices[0].message
    );
}

#[test]
fn pcapng_large_unused_blocks_stream_past_without_growing_the_buffer() {
    let mut v = shb(false);
    v.extend(idb(false, 1, 0, None, None));
    v.extend(epb(false, 0, 1, &[1; 60], 60));
    // A legitimate 100 KB Name Resolution Block and unknown block.
    v.extend(ng_block(false, 4, &vec![0x55; 100_000]));
    v.extend(ng_block(false, 0x0F0F, &vec![0x66; 100_000]));
    v.extend(epb(false, 0, 2, &[2; 60], 60));
    // A Name Resolution Block whose length is damaged (3 MiB, within the
    // file): skipped as it streams, its trailer found wrong.
    let bad_at = v.len();
    let mut bad = ng_block(false, 4, &[0x77; 64]);
    bad[4..8].copy_from_slice(&(3u32 << 20).to_le_bytes());
    v.extend(bad);
    for i in 0..60_000u32 {
        v.extend(epb(false, 0, 3 + u64::from(i), &[3; 60], 60));
    }
    let (seen, notices, capacity, unknown) = read_small_buffer("nrb.pcapng", &v);
    assert_eq!(capacity, 4096, "no block is buffered whole");
    assert_eq!(unknown, 1);
    assert_eq!(&seen[..2], [1, 2]);
    assert!(seen.len() > 2 && seen.len() < 60_002, "{}", seen.len());
    assert_eq!(notices[0].offset, bad_at as u64);
    assert_eq!(notices[0].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(bad_at as u64 + (3 << 20)) });
    assert!(notices[0].message.starts_with("corrupt block: length 3145728 at the start"), "{}", notices[0].message);
    // Reading went on from there: it landed inside a packet block, so one
    // more notice finds the next block.
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!(notices[1].offset, bad_at as u64 + (3 << 20));
    assert!(matches!(notices[1].kind, CaptureNoticeKind::Corrupt { resumed_at: Some(_) }), "{notices:?}");
}

#[test]
fn pcap_original_lengths_left_at_zero_are_read() {
    // Some writers leave the original length 0: caplen is then "above" it
    // in every record, which alone is no damage.
    let mut v = pcap_header(false, false, 65535, 1);
    for i in 0..5u8 {
        v.extend(pcap_record(false, 1_700_000_000, u32::from(i), &[i; 100], 0));
    }
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("orig0.pcap", &v)]);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(pkts.len(), 5);
}

#[test]
fn pcap_caplen_above_its_original_length_and_past_the_end_is_corrupt() {
    // A flipped bit makes record 2's caplen 65636 (under the snapshot
    // length, far above its original length 100, past the end of the
    // file): the rest of the file is still read.
    let mut v = pcap_header(false, false, 262_144, 1);
    let mut offsets = Vec::new();
    for i in 0..5u8 {
        offsets.push(v.len());
        v.extend(pcap_record(false, 1_700_000_000, u32::from(i), &[i; 100], 100));
    }
    v[offsets[2] + 10] ^= 0x01;
    let t = Tmp::new();
    let (pkts, notices) = read_paths(&[t.write("flip.pcap", &v)]);
    assert_eq!(pkts.iter().map(|p| p.data[0]).collect::<Vec<_>>(), [0, 1, 3, 4]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        (notices[0].offset, notices[0].kind),
        (offsets[2] as u64, CaptureNoticeKind::Corrupt { resumed_at: Some(offsets[3] as u64) })
    );
    assert!(
        notices[0].message.starts_with("corrupt record header: caplen 65636 is above the record's original length 100"),
        "{}",
        notices[0].message
    );
}
