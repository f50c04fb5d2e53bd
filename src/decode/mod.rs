//! Packet decoding: link layer, then IPv4/IPv6, then TCP.
//!
//! Owns: [`decode_packet`], its result [`Decoded`] (a borrowed
//! [`TcpSegment`] or a counted [`SkipReason`]) and [`TcpFlags`].
//! May import: std, etherparse, `crate::capture` (for `LinkType`),
//! `crate::model`. Must not import: `flow` or any later stage; nothing here
//! keeps state between packets.
//!
//! The work is done by etherparse's lax slicing ([`LaxSlicedPacket`]),
//! which keeps what parsed and says where parsing stopped, and never copies.
//! Link layers: Ethernet II with up to three 802.1Q / 802.1ad (QinQ) tags
//! (etherparse's limit), Linux cooked capture v1 and v2, BSD loopback (NULL
//! and LOOP), raw IP (101, 228, 229, legacy 12 and 14). IPv4 (RFC 791) and
//! IPv6 (RFC 8200, extension headers skipped by etherparse), TCP (RFC 9293
//! section 3.1). GTP-U tunnels (3GPP TS 29.281, UDP port 2152) are opened
//! once to reach the inner IP packet.
//!
//! The TCP payload is bounded by the IP header's length fields (IPv4 total
//! length, IPv6 payload length), never by the link-layer frame: Ethernet
//! pads short frames to 60 bytes and may carry a trailing FCS, and those
//! bytes are not TCP data. When the capture holds fewer bytes than the IP
//! header declares (snapshot length), the segment keeps what is there and
//! says how much is missing ([`TcpSegment::missing_len`]); a TCP header cut
//! short is a skip. Nothing is allocated per packet.
//!
//! [`LaxSlicedPacket`] is large and costly to build and move, so the
//! common case (TCP over unfragmented IPv4 without an authentication
//! header, or over IPv6 without extension headers; no VLAN tag, no tunnel)
//! first goes through the `fast` module's zero-copy header slices, which
//! give the same result or hand the packet to the lax path.

mod fast;
mod gtp;
mod link;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use etherparse::err::packet::SliceError;
use etherparse::err::{Layer, LenError};
use etherparse::{IpNumber, LaxIpPayloadSlice, LaxNetSlice, LaxSlicedPacket, TcpSlice, TransportSlice};

use crate::capture::LinkType;
use link::Next;

/// The outcome of decoding one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A TCP segment, borrowing the packet's bytes.
    Tcp(TcpSegment<'a>),
    /// Not a TCP segment we can use; why.
    Skipped(SkipReason),
}

/// The TCP control bits (RFC 9293 section 3.1, RFC 3168 for ECE/CWR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

impl fmt::Display for TcpFlags {
    /// Wireshark/tcpdump-like letters, e.g. `SA` for SYN+ACK, `.` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = [
            (self.cwr, 'C'),
            (self.ece, 'E'),
            (self.urg, 'U'),
            (self.ack, 'A'),
            (self.psh, 'P'),
            (self.rst, 'R'),
            (self.syn, 'S'),
            (self.fin, 'F'),
        ];
        let mut any = false;
        for (on, c) in bits {
            if on {
                write!(f, "{c}")?;
                any = true;
            }
        }
        if !any {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// One TCP segment, borrowing the packet it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The TCP payload present in the capture, bounded by the IP length
    /// fields (no link-layer padding or FCS).
    pub payload: &'a [u8],
    /// Payload bytes the IP header declares but the capture does not hold
    /// (cut by the snapshot length). They follow `payload`.
    pub missing_len: u32,
}

/// Why a packet yields no TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The link type is not one `decode` understands.
    UnsupportedLinkType(LinkType),
    /// Not IPv4/IPv6 (ARP, LLDP, other EtherTypes or address families, a
    /// GTP-U PDU that is not IP).
    NotIp,
    /// IP but not TCP (UDP, ICMP, ...), including GTP-U signalling.
    NotTcp,
    /// An IP fragment (IPv4 MF/offset or IPv6 Fragment header); fragments
    /// are not reassembled.
    IpFragment,
    /// A header is cut short by the end of the captured data.
    Truncated { layer: &'static str, needed: usize, available: usize },
    /// A header has impossible contents.
    Malformed { layer: &'static str, detail: &'static str },
}

impl SkipReason {
    /// Stable snake_case identifier, for counting.
    pub const fn id(&self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType(_) => "unsupported_link_type",
            SkipReason::NotIp => "not_ip",
            SkipReason::NotTcp => "not_tcp",
            SkipReason::IpFragment => "ip_fragment",
            SkipReason::Truncated { .. } => "truncated",
            SkipReason::Malformed { .. } => "malformed",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::UnsupportedLinkType(lt) => write!(f, "unsupported link type {lt}"),
            SkipReason::NotIp => f.write_str("not IPv4 or IPv6"),
            SkipReason::NotTcp => f.write_str("not TCP"),
            SkipReason::IpFragment => f.write_str("IP fragment (not reassembled)"),
            SkipReason::Truncated { layer, needed, available } => {
                write!(f, "{layer} header truncated: {needed} bytes needed, {available} captured")
            }
            SkipReason::Malformed { layer, detail } => write!(f, "malformed {layer} header: {detail}"),
        }
    }
}

/// Decodes one captured packet of the given link type down to TCP.
pub fn decode_packet(linktype: LinkType, data: &[u8]) -> Decoded<'_> {
    match fast::decode(linktype, data) {
        Some(seg) => Decoded::Tcp(seg),
        None => decode_packet_lax(linktype, data),
    }
}

/// [`decode_packet`] by etherparse's lax slicing alone: the reference the
/// fast path must agree with, and what decides every packet it declines.
fn decode_packet_lax(linktype: LinkType, data: &[u8]) -> Decoded<'_> {
    let next = match linktype {
        LinkType::ETHERNET => {
            return match LaxSlicedPacket::from_ethernet(data) {
                Ok(p) => from_sliced(&p, false),
                Err(e) => truncated(&e),
            };
        }
        LinkType::LINUX_SLL => link::linux_sll(data),
        LinkType::LINUX_SLL2 => link::linux_sll2(data),
        LinkType::NULL | LinkType::LOOP => link::loopback(data),
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => Next::Ip(data),
        LinkType::RAW_LEGACY_12 | LinkType::RAW_LEGACY_14 => link::legacy_raw(data),
        other => return Decoded::Skipped(SkipReason::UnsupportedLinkType(other)),
    };
    match next {
        Next::Ether(ether_type, payload) => from_sliced(&LaxSlicedPacket::from_ether_type(ether_type, payload), false),
        Next::Ip(ip) => from_ip(ip, false),
        Next::Truncated { needed, available } => Decoded::Skipped(SkipReason::Truncated { layer: "link", needed, available }),
        Next::NotIp => Decoded::Skipped(SkipReason::NotIp),
    }
}

fn from_ip(ip: &[u8], tunnelled: bool) -> Decoded<'_> {
    use etherparse::err::ip::HeaderError;
    use etherparse::err::ip::LaxHeaderSliceError as E;
    match LaxSlicedPacket::from_ip(ip) {
        Ok(p) => from_sliced(&p, tunnelled),
        Err(E::Len(e)) => truncated(&e),
        Err(E::Content(HeaderError::UnsupportedIpVersion { .. })) => Decoded::Skipped(SkipReason::NotIp),
        Err(E::Content(HeaderError::Ipv4HeaderLengthSmallerThanHeader { .. })) => malformed("IPv4", "header length (IHL) below 5"),
    }
}

/// The common path once etherparse has sliced the packet.
fn from_sliced<'a>(p: &LaxSlicedPacket<'a>, tunnelled: bool) -> Decoded<'a> {
    let (src_ip, dst_ip, payload, declared) = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            // RFC 791 section 3.1: Total Length counts header and data;
            // IHL is the header length in 32-bit words.
            let h = v4.header();
            let total = usize::from(h.total_len());
            let hdr_len = h.slice().len();
            // Total length 0 is what TCP segmentation offload leaves in
            // captures taken on the sender: the payload is the rest of the
            // frame. Any other value below the header length is bogus.
            if total != 0 && total < hdr_len {
                return malformed("IPv4", "total length smaller than the header");
            }
            let auth = v4.extensions().auth.map_or(0, |a| a.slice().len());
            let declared = total.saturating_sub(hdr_len + auth);
            (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), v4.payload(), declared)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            // RFC 8200 section 3: Payload Length counts everything after the
            // fixed 40-byte header, extension headers included (section 4).
            let h = v6.header();
            let exts = v6.extensions().slice().len();
            let declared = usize::from(h.payload_length()).saturating_sub(exts);
            (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()), v6.payload(), declared)
        }
        Some(LaxNetSlice::Arp(_)) => return Decoded::Skipped(SkipReason::NotIp),
        None => {
            return match &p.stop_err {
                Some((e, layer)) => slice_error(e, *layer),
                None => Decoded::Skipped(SkipReason::NotIp),
            };
        }
    };
    if payload.fragmented {
        return Decoded::Skipped(SkipReason::IpFragment);
    }
    let missing = missing_len(payload, declared);
    match &p.transport {
        Some(TransportSlice::Tcp(tcp)) => Decoded::Tcp(segment(tcp, src_ip, dst_ip, missing)),
        Some(TransportSlice::Udp(udp))
            if !tunnelled && (udp.source_port() == gtp::GTP_U_PORT || udp.destination_port() == gtp::GTP_U_PORT) =>
        {
            match gtp::decapsulate(udp.payload()) {
                gtp::Gtp::Pdu(inner) => from_ip(inner, true),
                gtp::Gtp::NotPdu => Decoded::Skipped(SkipReason::NotTcp),
                gtp::Gtp::Truncated { needed, available } => Decoded::Skipped(SkipReason::Truncated { layer: "GTP-U", needed, available }),
            }
        }
        Some(_) => Decoded::Skipped(SkipReason::NotTcp),
        None => match &p.stop_err {
            // A stop in the IP extension headers, or in the TCP header.
            Some((e, layer)) if payload.ip_number == IpNumber::TCP || is_ip_ext_layer(*layer) => slice_error(e, *layer),
            _ => Decoded::Skipped(SkipReason::NotTcp),
        },
    }
}

/// Bytes the IP header declares beyond what the capture holds. Only an
/// "incomplete" payload (etherparse fell back to the captured length) can
/// miss anything.
fn missing_len(payload: &LaxIpPayloadSlice<'_>, declared: usize) -> u32 {
    if payload.incomplete { u32::try_from(declared.saturating_sub(payload.payload.len())).unwrap_or(u32::MAX) } else { 0 }
}

/// The fields of RFC 9293 section 3.1; the payload starts after Data
/// Offset 32-bit words and ends where the IP datagram does. Inlined so that
/// the fast path writes the segment in place instead of copying it out of
/// a call.
#[inline(always)]
fn segment<'a>(tcp: &TcpSlice<'a>, src_ip: IpAddr, dst_ip: IpAddr, missing_len: u32) -> TcpSegment<'a> {
    TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            psh: tcp.psh(),
            ack: tcp.ack(),
            urg: tcp.urg(),
            ece: tcp.ece(),
            cwr: tcp.cwr(),
        },
        window: tcp.window_size(),
        payload: tcp.payload(),
        missing_len,
    }
}

fn is_ip_ext_layer(layer: Layer) -> bool {
    matches!(
        layer,
        Layer::IpAuthHeader
            | Layer::Ipv6ExtHeader
            | Layer::Ipv6HopByHopHeader
            | Layer::Ipv6DestOptionsHeader
            | Layer::Ipv6RouteHeader
            | Layer::Ipv6FragHeader
    )
}

fn malformed(layer: &'static str, detail: &'static str) -> Decoded<'static> {
    Decoded::Skipped(SkipReason::Malformed { layer, detail })
}

fn truncated(e: &LenError) -> Decoded<'static> {
    Decoded::Skipped(SkipReason::Truncated { layer: layer_name(e.layer), needed: e.required_len, available: e.len })
}

fn slice_error(e: &SliceError, layer: Layer) -> Decoded<'static> {
    use etherparse::err::ip::HeaderError as Ip;
    use etherparse::err::ipv6_exts::HeaderError as V6Ext;
    match e {
        SliceError::Len(l) => truncated(l),
        SliceError::Ip(Ip::UnsupportedIpVersion { .. }) => Decoded::Skipped(SkipReason::NotIp),
        SliceError::Ip(Ip::Ipv4HeaderLengthSmallerThanHeader { .. }) => malformed("IPv4", "header length (IHL) below 5"),
        SliceError::Ipv4(_) => malformed("IPv4", "bad version or header length"),
        SliceError::Ipv6(_) => malformed("IPv6", "bad version"),
        SliceError::Ipv4Exts(_) => malformed("IP authentication", "zero payload length"),
        SliceError::Ipv6Exts(V6Ext::HopByHopNotAtStart) => malformed("IPv6 extension", "hop-by-hop options header not first"),
        SliceError::Ipv6Exts(V6Ext::IpAuth(_)) => malformed("IP authentication", "zero payload length"),
        SliceError::Tcp(_) => malformed("TCP", "data offset below 5"),
        SliceError::LinuxSll(_) | SliceError::Macsec(_) => malformed(layer_name(layer), "unsupported contents"),
    }
}

/// Short names of etherparse's layers for [`SkipReason`].
fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::LinuxSllHeader => "Linux SLL",
        Layer::Ethernet2Header | Layer::EtherPayload => "Ethernet",
        Layer::VlanHeader => "VLAN",
        Layer::MacsecHeader | Layer::MacsecPacket => "MACsec",
        Layer::IpHeader => "IP",
        Layer::Ipv4Header | Layer::Ipv4Packet => "IPv4",
        Layer::IpAuthHeader => "IP authentication",
        Layer::Ipv6Header | Layer::Ipv6Packet => "IPv6",
        Layer::Ipv6ExtHeader
        | Layer::Ipv6HopByHopHeader
        | Layer::Ipv6DestOptionsHeader
        | Layer::Ipv6RouteHeader
        | Layer::Ipv6FragHeader => "IPv6 extension",
        Layer::UdpHeader | Layer::UdpPayload => "UDP",
        Layer::TcpHeader => "TCP",
        Layer::Icmpv4 | Layer::Icmpv4Timestamp | Layer::Icmpv4TimestampReply => "ICMP",
        Layer::Icmpv6 => "ICMPv6",
        Layer::Igmp => "IGMP",
        Layer::Arp => "ARP",
    }
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;
