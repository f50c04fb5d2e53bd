//! The fast path agrees with the lax path: [`decode_packet`] and
//! [`decode_packet_lax`] give the same [`Decoded`] (down to the payload's
//! address in the packet) on every packet of the sample and public captures
//! and of the local fuzz corpus, on random bytes, and on random mutations
//! of valid TCP packets.
//!
//! Test-only; imports the decode module, `crate::capture`, proptest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::capture::CaptureReader;

/// Equal results, and a TCP payload that is the same slice of the packet,
/// not merely equal bytes.
fn same(fast: Decoded<'_>, lax: Decoded<'_>) -> Result<(), String> {
    if fast != lax {
        return Err(format!("decode_packet {fast:?}\n  decode_packet_lax {lax:?}"));
    }
    if let (Decoded::Tcp(f), Decoded::Tcp(l)) = (fast, lax)
        && f.payload.as_ptr() != l.payload.as_ptr()
    {
        return Err(format!("payload at {:p}, lax at {:p}", f.payload.as_ptr(), l.payload.as_ptr()));
    }
    Ok(())
}

// --- captures ------------------------------------------------------------------

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// pcap and pcapng files under `dir`, recursively, sorted.
fn capture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            capture_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap") {
            out.push(p);
        }
    }
    out.sort();
}

/// Packets read, taken by the fast path, and TCP segments the lax path
/// found that the fast path left to it (by file: candidates for a wider
/// fast path).
#[derive(Default, Debug)]
struct Tally {
    files: usize,
    packets: usize,
    fast: usize,
    tcp_fallbacks: BTreeMap<String, usize>,
}

/// Compares both paths on every packet of `file`. Files the reader refuses,
/// and the damage it reports, are not this test's concern: what it reads is
/// compared.
fn compare_file(file: &Path, tally: &mut Tally) {
    let Ok(mut reader) = CaptureReader::open(std::slice::from_ref(&file.to_path_buf())) else { return };
    tally.files += 1;
    while let Ok(Some(p)) = reader.next_packet() {
        let lax = decode_packet_lax(p.linktype, &p.data);
        if let Err(e) = same(decode_packet(p.linktype, &p.data), lax) {
            panic!("{} packet {:?} (link type {}): {e}", file.display(), p.index, p.linktype);
        }
        tally.packets += 1;
        match (fast::decode(p.linktype, &p.data), lax) {
            (Some(_), _) => tally.fast += 1,
            (None, Decoded::Tcp(_)) => *tally.tcp_fallbacks.entry(file.display().to_string()).or_default() += 1,
            (None, Decoded::Skipped(_)) => {}
        }
    }
}

fn compare_dir(dir: &Path) -> Tally {
    let mut files = Vec::new();
    capture_files(dir, &mut files);
    let mut tally = Tally::default();
    for f in &files {
        compare_file(f, &mut tally);
    }
    tally
}

#[test]
fn fast_path_matches_lax_on_samples() {
    let dir = manifest_dir().join("samples");
    let t = compare_dir(&dir);
    eprintln!("samples: {t:?}");
    assert!(t.files > 0 && t.packets > 0, "no sample capture read from {}", dir.display());
    // The samples are plain TCP captures: the fast path must be doing the
    // work, or this test proves nothing.
    assert!(t.fast * 10 > t.packets * 9, "fast path took only {} of {} packets", t.fast, t.packets);
}

#[test]
fn fast_path_matches_lax_on_public_captures() {
    let dir = manifest_dir().join("../shared/captures/public");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; public captures not compared", dir.display());
        return;
    }
    let t = compare_dir(&dir);
    eprintln!("public captures: {t:?}");
    assert!(t.files > 0 && t.fast > 0, "no public capture read from {}", dir.display());
}

/// The local fuzz corpus (not committed) holds damaged and odd captures.
#[test]
fn fast_path_matches_lax_on_fuzz_corpus() {
    let dir = manifest_dir().join("fuzz/corpus/capture_file");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("note: {} is absent; fuzz corpus not compared", dir.display());
        return;
    };
    let mut t = Tally::default();
    for e in entries.flatten() {
        compare_file(&e.path(), &mut t);
    }
    let fallbacks: usize = t.tcp_fallbacks.values().sum();
    eprintln!("fuzz corpus: {} files, {} packets, {} fast, {fallbacks} TCP left to the lax path", t.files, t.packets, t.fast);
}

// --- properties ----------------------------------------------------------------

/// Link layers a packet is wrapped in.
#[derive(Clone, Copy, Debug)]
enum Link {
    Ethernet,
    /// Ethernet with one 802.1Q tag: always the lax path.
    Vlan,
    Sll,
    Sll2,
    /// BSD loopback, address family in little-endian order.
    Null,
    Raw,
}

const LINKS: [Link; 6] = [Link::Ethernet, Link::Vlan, Link::Sll, Link::Sll2, Link::Null, Link::Raw];

/// The link type, the link header, and the byte offsets of its protocol
/// field (EtherType, SLL protocol, address family; none for raw IP).
fn link_header(link: Link, v6: bool) -> (LinkType, Vec<u8>, Vec<usize>) {
    let ether_type: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let macs = [2u8, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    match link {
        Link::Ethernet => (LinkType::ETHERNET, [&macs[..], &ether_type].concat(), vec![12, 13]),
        Link::Vlan => (LinkType::ETHERNET, [&macs[..], &[0x81, 0x00, 0x00, 0x07], &ether_type].concat(), vec![12, 13, 16, 17]),
        Link::Sll => {
            let mut h = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
            h.extend(ether_type);
            (LinkType::LINUX_SLL, h, vec![14, 15])
        }
        Link::Sll2 => {
            let mut h = ether_type.to_vec();
            h.extend([0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            (LinkType::LINUX_SLL2, h, vec![0, 1])
        }
        Link::Null => (LinkType::NULL, if v6 { 30u32 } else { 2 }.to_le_bytes().to_vec(), vec![0, 3]),
        Link::Raw => (LinkType::RAW, Vec::new(), Vec::new()),
    }
}

/// A valid TCP packet's parts, before it is wrapped and mutated.
#[derive(Clone, Debug)]
struct Spec {
    v6: bool,
    link: Link,
    /// IPv4 option words (IHL - 5); ignored for IPv6.
    ip_opt_words: usize,
    /// TCP option words (Data Offset - 5).
    tcp_opt_words: usize,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: Vec<u8>,
    /// Bytes after the IP datagram: Ethernet padding or an FCS.
    trailer: Vec<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        prop::sample::select(LINKS.to_vec()),
        (0usize..=10, 0usize..=10),
        any::<(u16, u16, u32, u32, u8, u16)>(),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(v6, link, (ip_opt_words, tcp_opt_words), (sp, dp, seq, ack, flags, window), payload, trailer)| Spec {
            v6,
            link,
            ip_opt_words,
            tcp_opt_words,
            ports: (sp, dp),
            seq,
            ack,
            flags,
            window,
            payload,
            trailer,
        })
}

/// Where the fields a mutation aims at are in a built packet.
struct Built {
    linktype: LinkType,
    bytes: Vec<u8>,
    /// Link-layer protocol field.
    link_proto: Vec<usize>,
    /// Version/IHL byte.
    version: usize,
    /// IPv4 Total Length or IPv6 Payload Length.
    ip_len: Vec<usize>,
    /// IPv4 Flags and Fragment Offset (IPv6: traffic class and flow label).
    frag: Vec<usize>,
    /// IPv4 Protocol or IPv6 Next Header.
    proto: usize,
    /// TCP Data Offset byte, and the control bits.
    data_offset: usize,
    tcp_flags: usize,
}

/// RFC 791 section 3.1, RFC 8200 section 3, RFC 9293 section 3.1, with the
/// lengths right and checksums zero (nobody checks them).
fn build(s: &Spec) -> Built {
    let mut tcp = Vec::new();
    tcp.extend(s.ports.0.to_be_bytes());
    tcp.extend(s.ports.1.to_be_bytes());
    tcp.extend(s.seq.to_be_bytes());
    tcp.extend(s.ack.to_be_bytes());
    tcp.push(((5 + s.tcp_opt_words) as u8) << 4);
    tcp.push(s.flags);
    tcp.extend(s.window.to_be_bytes());
    tcp.extend([0, 0, 0, 0]);
    tcp.extend(std::iter::repeat_n(1u8, s.tcp_opt_words * 4)); // NOPs
    tcp.extend(&s.payload);

    let (linktype, mut bytes, link_proto) = link_header(s.link, s.v6);
    let ip = bytes.len();
    let ip_hdr_len;
    if s.v6 {
        ip_hdr_len = 40;
        bytes.extend([0x60, 0, 0, 0]);
        bytes.extend((tcp.len() as u16).to_be_bytes());
        bytes.extend([6, 64]);
        bytes.extend([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        bytes.extend([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    } else {
        ip_hdr_len = 20 + s.ip_opt_words * 4;
        bytes.push(0x40 | (5 + s.ip_opt_words) as u8);
        bytes.push(0);
        bytes.extend(((ip_hdr_len + tcp.len()) as u16).to_be_bytes());
        bytes.extend([0x12, 0x34, 0x40, 0]); // identification, DF
        bytes.extend([64, 6, 0, 0]);
        bytes.extend([192, 0, 2, 1, 198, 51, 100, 2]);
        bytes.extend(std::iter::repeat_n(1u8, s.ip_opt_words * 4)); // NOPs
    }
    bytes.extend(&tcp);
    bytes.extend(&s.trailer);
    let t = ip + ip_hdr_len;
    Built {
        linktype,
        bytes,
        link_proto,
        version: ip,
        ip_len: if s.v6 { vec![ip + 4, ip + 5] } else { vec![ip + 2, ip + 3] },
        frag: if s.v6 { vec![ip + 1, ip + 2] } else { vec![ip + 6, ip + 7] },
        proto: if s.v6 { ip + 6 } else { ip + 9 },
        data_offset: t + 12,
        tcp_flags: t + 13,
    }
}

/// A change to a built packet: which field (or any byte), which of its
/// bytes, and whether one bit flips or the whole byte is replaced.
#[derive(Clone, Debug)]
struct Mutation {
    field: u8,
    index: usize,
    bit: u8,
    set: Option<u8>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (0u8..8, any::<usize>(), 0u8..8, prop::option::of(any::<u8>())).prop_map(|(field, index, bit, set)| Mutation { field, index, bit, set })
}

fn mutate(b: &mut Built, m: &Mutation) {
    let offsets: Vec<usize> = match m.field {
        0 => b.link_proto.clone(),
        1 => vec![b.version],
        2 => b.ip_len.clone(),
        3 => b.frag.clone(),
        4 => vec![b.proto],
        5 => vec![b.data_offset],
        6 => vec![b.tcp_flags],
        _ => (0..b.bytes.len()).collect(),
    };
    if offsets.is_empty() {
        return;
    }
    let at = offsets[m.index % offsets.len()];
    let Some(byte) = b.bytes.get_mut(at) else { return };
    *byte = m.set.unwrap_or(*byte ^ (1 << m.bit));
}

fn check(linktype: LinkType, bytes: &[u8]) -> Result<(), TestCaseError> {
    same(decode_packet(linktype, bytes), decode_packet_lax(linktype, bytes)).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// Noise, under every supported link type and an unsupported one.
    #[test]
    fn random_bytes_agree(
        lt in prop::sample::select([&LinkType::SUPPORTED[..], &[LinkType(147)]].concat()),
        bytes in prop::collection::vec(any::<u8>(), 0..160),
    ) {
        check(lt, &bytes)?;
    }

    /// Noise behind a valid link header and a plausible IP version/IHL byte,
    /// so that it reaches the IP and TCP checks.
    #[test]
    fn random_ip_agree(
        link in prop::sample::select(LINKS.to_vec()),
        v6 in any::<bool>(),
        first in prop::sample::select(vec![0x45u8, 0x46, 0x4f, 0x44, 0x60, 0x65]),
        bytes in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let (lt, mut d, _) = link_header(link, v6);
        d.push(first);
        d.extend(bytes);
        check(lt, &d)?;
    }

    /// Valid packets, then changes to the fields the fast path reads, to
    /// any byte, and a cut anywhere (the snapshot length).
    #[test]
    fn mutated_tcp_packets_agree(
        s in spec(),
        mutations in prop::collection::vec(mutation(), 0..4),
        cut in prop::option::of(any::<usize>()),
    ) {
        let mut b = build(&s);
        if mutations.is_empty() && cut.is_none() && !matches!(s.link, Link::Vlan) {
            // Unchanged and untagged: the fast path's own case.
            let seg = fast::decode(b.linktype, &b.bytes);
            prop_assert!(seg.is_some(), "fast path declined {s:?}");
            prop_assert_eq!(seg.map(|t| t.payload), Some(&s.payload[..]));
        }
        for m in &mutations {
            mutate(&mut b, m);
        }
        if let Some(c) = cut {
            b.bytes.truncate(c % (b.bytes.len() + 1));
        }
        check(b.linktype, &b.bytes)?;
    }
}
