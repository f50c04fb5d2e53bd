//! Tests of `decode_packet` on the public captures (counts checked against
//! tshark) and on frames built with etherparse's `PacketBuilder`.

use super::*;
use crate::capture::{CaptureReader, Packet};
use etherparse::{PacketBuilder, VlanId};
use std::path::PathBuf;

const PUBLIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures/public/");

fn packets(rel: &str) -> Vec<Packet> {
    let mut r = CaptureReader::open(&[PathBuf::from(PUBLIC).join(rel)]).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        out.push(p.clone());
    }
    out
}

fn tcp(d: Decoded<'_>) -> TcpSegment<'_> {
    match d {
        Decoded::Tcp(t) => t,
        Decoded::Skipped(r) => panic!("skipped: {r}"),
    }
}

fn skip(d: Decoded<'_>) -> SkipReason {
    match d {
        Decoded::Tcp(t) => panic!("decoded TCP {t:?}"),
        Decoded::Skipped(r) => r,
    }
}

/// A TCP/IPv4 packet (no link layer) with `payload`.
fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(40000, 80, 1000, 512).ack(77).psh();
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
    let mut src = [0u8; 16];
    src[15] = 1;
    let mut dst = [0u8; 16];
    dst[15] = 2;
    let b = PacketBuilder::ipv6(src, dst, 64).tcp(40000, 443, 5, 100).syn();
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn check_v4(seg: &TcpSegment<'_>, payload: &[u8]) {
    assert_eq!(seg.src, "10.0.0.1:40000".parse().unwrap());
    assert_eq!(seg.dst, "10.0.0.2:80".parse().unwrap());
    assert_eq!((seg.seq, seg.ack, seg.window), (1000, 77, 512));
    assert!(seg.flags.ack && seg.flags.psh && !seg.flags.syn);
    assert_eq!(seg.payload, payload);
    assert_eq!(seg.missing_len, 0);
}

// --- public captures against tshark ------------------------------------------

/// (file, TCP segments, sum of tcp.len), from
/// `tshark -r FILE -Y "tcp && !icmp && !icmpv6" -T fields -e tcp.len`.
const TSHARK_TCP: &[(&str, usize, usize)] = &[
    ("arkime/arkime_synthetic.pcap", 733, 21822),
    ("arkime/websocket.pcap", 19, 886),
    ("malcolm-test-artifacts/HTTP_websocket.pcap", 7, 954),
    ("ndn-tools/ipv4-websocket-segmented.pcap", 23, 6589),
    ("ndn-tools/ipv6-websocket-segmented.pcap", 13, 6100),
    ("ndpi/http_origin_different_than_host.pcap", 4, 773),
    ("ndpi/websocket.pcap", 5, 171),
    ("pcap-ws-parse/ws.pcap", 30, 1964),
    ("scapy/websocket_compressed_session.pcap", 13, 499),
    ("scapy/websocket_invalid_handshakes.pcap", 19, 1231),
    ("suricata-verify/websocket-compressed.pcap", 27, 637),
    ("suricata-verify/websocket-control-frag.pcap", 15, 359),
    ("suricata-verify/websocket-ping.pcap", 19, 381),
    ("suricata-verify/websocket.pcap", 21, 1484),
    ("zeek/broker-websocket.pcap", 22, 3259),
    ("zeek/fragmented-http-reply.pcap", 18, 584),
    ("zeek/http-websocket.pcap", 27, 1966),
    ("zeek/jupyter-websocket.pcap", 20, 8660),
    ("zeek/message-too-big-status.pcap", 14, 496),
    ("zeek/reply-ping-coalesced.pcap", 16, 508),
    ("zeek/reply-ping-separate.pcap", 18, 508),
    ("zeek/two-binary-fragments.pcap", 18, 510),
    ("zeek/websocket_baseline.pcap", 15, 2771),
    ("zeek/websocket_compressed.pcap", 15, 661),
    ("zeek/wrong-accept-header.pcap", 12, 461),
    ("zeek/wstunnel-http.pcap", 13, 1087),
    ("zeek/wstunnel-https.pcap", 124, 87718),
    ("zeek/wstunnel-ssh.pcap", 258, 23198),
    ("evsetool/cap.pcapng", 66, 3543),
    ("ndpi/tls_heur__vmess-websocket.pcapng", 96, 61720),
    ("zeek/oversized-close-frame.pcapng", 8, 551),
];

#[test]
fn public_captures_match_tshark_tcp_counts_and_lengths() {
    for &(rel, count, bytes) in TSHARK_TCP {
        let mut n = 0;
        let mut sum = 0;
        for p in packets(rel) {
            if let Decoded::Tcp(t) = decode_packet(p.linktype, &p.data) {
                n += 1;
                sum += t.payload.len() + t.missing_len as usize;
            }
        }
        assert_eq!((n, sum), (count, bytes), "{rel}");
    }
}

#[test]
fn arkime_synthetic_non_tcp_is_classified() {
    let mut reasons = std::collections::BTreeMap::new();
    for p in packets("arkime/arkime_synthetic.pcap") {
        if let Decoded::Skipped(r) = decode_packet(p.linktype, &p.data) {
            *reasons.entry(r.id()).or_insert(0) += 1;
        }
    }
    // 918 packets, 733 TCP: the rest is UDP/ICMP (not_tcp) and ARP-like.
    assert_eq!(reasons.values().sum::<usize>(), 918 - 733);
    assert!(!reasons.contains_key("truncated") && !reasons.contains_key("malformed"), "{reasons:?}");
}

#[test]
fn ethernet_padding_is_not_payload() {
    // arkime/websocket.pcap frame 5: a bare ACK in a 60-byte frame (IP total
    // length 40, 6 bytes of Ethernet padding); tshark: tcp.len 0.
    let pkts = packets("arkime/websocket.pcap");
    let p = &pkts[4];
    assert_eq!(p.data.len(), 60);
    let seg = tcp(decode_packet(p.linktype, &p.data));
    assert_eq!(seg.payload.len(), 0);
    assert_eq!(seg.missing_len, 0);
    assert_eq!((seg.src.port(), seg.dst.port()), (12345, 50999));
    assert!(seg.flags.ack && !seg.flags.psh);
    // pcap-ws-parse/ws.pcap frame 5: Linux SLL, 2 bytes of TCP payload then
    // padding (tshark: tcp.len 2).
    let pkts = packets("pcap-ws-parse/ws.pcap");
    let p = &pkts[4];
    let seg = tcp(decode_packet(p.linktype, &p.data));
    assert_eq!(seg.payload.len(), 2);
}

#[test]
fn built_frame_padding_and_fcs_excluded() {
    let ip = ipv4_tcp(b"");
    let mut frame = vec![0xaa; 6];
    frame.extend([0xbb; 6]);
    frame.extend([0x08, 0x00]);
    frame.extend(&ip);
    frame.resize(60, 0);
    frame.extend([0xde, 0xad, 0xbe, 0xef]); // an FCS
    let seg = tcp(decode_packet(LinkType::ETHERNET, &frame));
    check_v4(&seg, b"");
}

#[test]
fn sll_capture() {
    // suricata-verify/websocket-ping.pcap (Linux SLL, port 10301).
    let pkts = packets("suricata-verify/websocket-ping.pcap");
    let segs: Vec<_> = pkts.iter().map(|p| tcp(decode_packet(p.linktype, &p.data))).collect();
    assert_eq!(segs.len(), 19);
    assert!(segs.iter().filter(|s| s.src.port() == 10301 || s.dst.port() == 10301).count() > 0);
    assert!(segs[0].flags.syn);
}

#[test]
fn sll2_built() {
    let ip = ipv4_tcp(b"hello");
    let mut frame = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    frame.extend(&ip);
    check_v4(&tcp(decode_packet(LinkType::LINUX_SLL2, &frame)), b"hello");
    // IPv6 over SLL2.
    let mut frame = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    frame.extend(ipv6_tcp(b"x"));
    let seg = tcp(decode_packet(LinkType::LINUX_SLL2, &frame));
    assert_eq!(seg.dst, "[::2]:443".parse().unwrap());
    // ARP over SLL2.
    let mut arp = frame.clone();
    arp[0..2].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(skip(decode_packet(LinkType::LINUX_SLL2, &arp)), SkipReason::NotIp);
    // Header cut.
    assert_eq!(skip(decode_packet(LinkType::LINUX_SLL2, &frame[..12])), SkipReason::Truncated { layer: "link", needed: 20, available: 12 });
}

#[test]
fn vlan_and_qinq() {
    let payload = b"GET / HTTP/1.1\r\n";
    let mut single = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .single_vlan(VlanId::try_new(10).unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1000, 512)
        .ack(77)
        .psh()
        .write(&mut single, payload)
        .unwrap();
    check_v4(&tcp(decode_packet(LinkType::ETHERNET, &single)), payload);

    let mut double = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .double_vlan(VlanId::try_new(100).unwrap(), VlanId::try_new(200).unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1000, 512)
        .ack(77)
        .psh()
        .write(&mut double, payload)
        .unwrap();
    // The builder writes 802.1ad (0x88a8) as the outer tag type.
    assert_eq!(&double[12..14], &[0x88, 0xa8]);
    check_v4(&tcp(decode_packet(LinkType::ETHERNET, &double)), payload);

    // Three tags: insert another 802.1Q tag after the MAC addresses.
    let mut triple = double.clone();
    triple.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
    check_v4(&tcp(decode_packet(LinkType::ETHERNET, &triple)), payload);
}

#[test]
fn bsd_loopback_both_byte_orders() {
    let ip = ipv4_tcp(b"abc");
    for (lt, af) in [(LinkType::NULL, 2u32.to_le_bytes()), (LinkType::NULL, 2u32.to_be_bytes()), (LinkType::LOOP, 2u32.to_be_bytes())] {
        let mut f = af.to_vec();
        f.extend(&ip);
        check_v4(&tcp(decode_packet(lt, &f)), b"abc");
    }
    for af in [24u32, 28, 30] {
        for bytes in [af.to_le_bytes(), af.to_be_bytes()] {
            let mut f = bytes.to_vec();
            f.extend(ipv6_tcp(b""));
            assert!(tcp(decode_packet(LinkType::NULL, &f)).flags.syn);
        }
    }
    let mut other = 7u32.to_le_bytes().to_vec();
    other.extend(&ip);
    assert_eq!(skip(decode_packet(LinkType::NULL, &other)), SkipReason::NotIp);
}

#[test]
fn raw_ip_link_types() {
    let v4 = ipv4_tcp(b"data");
    let v6 = ipv6_tcp(b"data6");
    for lt in [LinkType::RAW, LinkType::IPV4, LinkType::RAW_LEGACY_12, LinkType::RAW_LEGACY_14] {
        check_v4(&tcp(decode_packet(lt, &v4)), b"data");
    }
    for lt in [LinkType::RAW, LinkType::IPV6, LinkType::RAW_LEGACY_12] {
        let seg = tcp(decode_packet(lt, &v6));
        assert_eq!(seg.payload, b"data6");
        assert_eq!(seg.src, "[::1]:40000".parse().unwrap());
    }
    // OpenBSD writes DLT_LOOP as 12: a loopback header, then IP.
    let mut looped = 2u32.to_be_bytes().to_vec();
    looped.extend(&v4);
    check_v4(&tcp(decode_packet(LinkType::RAW_LEGACY_12, &looped)), b"data");
    // Not IP at all.
    assert_eq!(skip(decode_packet(LinkType::RAW, &[0x15, 0, 0, 0])), SkipReason::NotIp);
}

#[test]
fn ipv6_capture() {
    // ndn-tools/ipv6-websocket-segmented.pcap: all IPv6, port 9696. Packet 6
    // holds the 39-byte masked Interest frame (2 + 4 + 39 = 45 bytes).
    let pkts = packets("ndn-tools/ipv6-websocket-segmented.pcap");
    for p in &pkts {
        let seg = tcp(decode_packet(p.linktype, &p.data));
        assert!(seg.src.is_ipv6() && seg.dst.is_ipv6());
        assert!(seg.src.port() == 9696 || seg.dst.port() == 9696);
    }
    let seg = tcp(decode_packet(pkts[5].linktype, &pkts[5].data));
    assert_eq!(seg.dst.port(), 9696);
    assert_eq!(seg.payload.len(), 45);
    assert_eq!(seg.payload[0], 0x82);
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    // Hop-by-hop options header (8 bytes, PadN) before TCP.
    let mut v = ipv6_tcp(b"xyz");
    let tcp_part = v.split_off(40);
    v[6] = 0; // next header: hop-by-hop
    let plen = u16::from_be_bytes([v[4], v[5]]) + 8;
    v[4..6].copy_from_slice(&plen.to_be_bytes());
    v.extend([6, 0, 1, 4, 0, 0, 0, 0]);
    v.extend(tcp_part);
    assert_eq!(tcp(decode_packet(LinkType::RAW, &v)).payload, b"xyz");
}

#[test]
fn snaplen_cut_gives_missing_len() {
    let payload = vec![0x5a; 1000];
    let full = ipv4_tcp(&payload);
    let cut = &full[..full.len() - 700];
    let seg = tcp(decode_packet(LinkType::RAW, cut));
    assert_eq!(seg.payload.len(), 300);
    assert_eq!(seg.missing_len, 700);
    assert_eq!(seg.payload, &payload[..300]);

    let full6 = ipv6_tcp(&payload);
    let seg = tcp(decode_packet(LinkType::RAW, &full6[..full6.len() - 1]));
    assert_eq!((seg.payload.len(), seg.missing_len), (999, 1));

    // Only the TCP header present: empty payload, everything missing.
    let seg = tcp(decode_packet(LinkType::RAW, &full[..40]));
    assert_eq!((seg.payload.len(), seg.missing_len), (0, 1000));

    // A real capture cut to 68 bytes (tcpdump -s 68): evsetool packet 22
    // carries a WebSocket frame.
    let pkts = packets("evsetool/cap.pcapng");
    let p = &pkts[21];
    let whole = tcp(decode_packet(p.linktype, &p.data));
    let seg = tcp(decode_packet(p.linktype, &p.data[..68]));
    assert_eq!(seg.payload.len() + seg.missing_len as usize, whole.payload.len());
    assert_eq!(seg.payload, &whole.payload[..seg.payload.len()]);
    assert!(seg.missing_len > 0);
}

#[test]
fn cut_tcp_header_is_truncated() {
    let full = ipv4_tcp(b"hello");
    assert_eq!(skip(decode_packet(LinkType::RAW, &full[..30])), SkipReason::Truncated { layer: "TCP", needed: 20, available: 10 });
    assert!(matches!(skip(decode_packet(LinkType::RAW, &full[..10])), SkipReason::Truncated { layer: "IPv4", .. }));
    assert!(matches!(skip(decode_packet(LinkType::ETHERNET, &[0; 10])), SkipReason::Truncated { layer: "Ethernet", .. }));
}

#[test]
fn malformed_and_other_protocols() {
    let mut bad = ipv4_tcp(b"hello");
    bad[32] = 0x20; // TCP data offset 2
    assert_eq!(skip(decode_packet(LinkType::RAW, &bad)), SkipReason::Malformed { layer: "TCP", detail: "data offset below 5" });
    let mut bad = ipv4_tcp(b"hello");
    bad[2..4].copy_from_slice(&10u16.to_be_bytes()); // total length < header
    assert!(matches!(skip(decode_packet(LinkType::RAW, &bad)), SkipReason::Malformed { layer: "IPv4", .. }));
    let mut frag = ipv4_tcp(b"hello");
    frag[6] = 0x20; // MF
    assert_eq!(skip(decode_packet(LinkType::RAW, &frag)), SkipReason::IpFragment);

    let mut udp = Vec::new();
    PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 5).udp(53, 53).write(&mut udp, b"q").unwrap();
    assert_eq!(skip(decode_packet(LinkType::RAW, &udp)), SkipReason::NotTcp);
    assert_eq!(skip(decode_packet(LinkType(147), &udp)), SkipReason::UnsupportedLinkType(LinkType(147)));
    assert_eq!(SkipReason::NotTcp.id(), "not_tcp");
    assert_eq!(SkipReason::UnsupportedLinkType(LinkType(147)).to_string(), "unsupported link type USER0 (147)");
}

#[test]
fn tso_zero_total_length_uses_the_frame() {
    let mut ip = ipv4_tcp(b"0123456789");
    ip[2..4].copy_from_slice(&[0, 0]);
    let seg = tcp(decode_packet(LinkType::RAW, &ip));
    assert_eq!(seg.payload, b"0123456789");
}

#[test]
fn gtp_u_capture_decodes_inner_tcp() {
    // ndpi/http_origin_different_than_host.pcap: tshark shows inner
    // 10.140.206.74:34536 -> 18.135.206.102:80, SYN, SYN/ACK, GET (607
    // bytes), 101 (166 bytes).
    let pkts = packets("ndpi/http_origin_different_than_host.pcap");
    let segs: Vec<_> = pkts.iter().map(|p| tcp(decode_packet(p.linktype, &p.data))).collect();
    assert_eq!(segs.len(), 4);
    assert_eq!(segs[0].src, "10.140.206.74:34536".parse().unwrap());
    assert_eq!(segs[0].dst, "18.135.206.102:80".parse().unwrap());
    assert!(segs[0].flags.syn && !segs[0].flags.ack);
    assert_eq!(segs[0].seq, 961_665_050);
    assert!(segs[1].flags.syn && segs[1].flags.ack);
    assert_eq!(segs[1].seq, 3_671_979_960);
    assert_eq!(segs[2].payload.len(), 607);
    assert!(segs[2].payload.starts_with(b"GET "));
    assert_eq!(segs[3].payload.len(), 166);
    assert!(segs[3].payload.starts_with(b"HTTP/1.1 101"));
}

#[test]
fn gtp_u_built_and_non_pdu() {
    let inner = ipv4_tcp(b"tunnelled");
    let mut gtp = vec![0x30, 0xff];
    gtp.extend((inner.len() as u16).to_be_bytes());
    gtp.extend([0, 0, 0, 9]);
    gtp.extend(&inner);
    let mut outer = Vec::new();
    PacketBuilder::ipv6([1; 16], [2; 16], 9).udp(2152, 2152).write(&mut outer, &gtp).unwrap();
    check_v4(&tcp(decode_packet(LinkType::RAW, &outer)), b"tunnelled");
    // Echo request on the GTP-U port.
    let mut echo = Vec::new();
    PacketBuilder::ipv4([1; 4], [2; 4], 9).udp(2152, 2152).write(&mut echo, &[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
    assert_eq!(skip(decode_packet(LinkType::RAW, &echo)), SkipReason::NotTcp);
}

#[test]
fn flags_display() {
    let f = TcpFlags { syn: true, ack: true, ..Default::default() };
    assert_eq!(f.to_string(), "AS");
    assert_eq!(TcpFlags::default().to_string(), ".");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut x: u64 = 99;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as u8
    };
    let seeds = [ipv4_tcp(b"abcdef"), ipv6_tcp(b"abcdef")];
    for round in 0..4000 {
        let mut d = seeds[round % 2].clone();
        for _ in 0..(round % 7) {
            let i = usize::from(next()) % d.len();
            d[i] = next();
        }
        d.truncate(usize::from(next()) % (d.len() + 1));
        for lt in LinkType::SUPPORTED {
            let _ = decode_packet(lt, &d);
        }
    }
}
