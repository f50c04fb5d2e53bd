//! The fast path of [`super::decode_packet`]: unfragmented TCP over IPv4
//! without an authentication header, or over IPv6 without extension
//! headers, behind any link layer `decode` supports without VLAN tags.
//!
//! Owns: nothing of its own; it answers the common case with the same
//! result as the lax path ([`super::decode_packet_lax`]) does, and answers
//! nothing otherwise.
//! May import: std, etherparse's header slices, the sibling `link` module.
//!
//! Why: etherparse's [`etherparse::LaxSlicedPacket`] is a large struct that
//! is built and moved several times per packet; nearly every packet of a
//! WebSocket capture is a plain TCP segment for which the zero-copy header
//! slices ([`Ethernet2Slice`], [`Ipv4HeaderSlice`], [`Ipv6HeaderSlice`],
//! [`TcpSlice`]) are enough. Every check here mirrors what the lax path
//! does for the same bytes; anything else (a skip, a fragment, an IPv4
//! authentication header, IPv6 extension headers, VLAN tags, GTP-U, an
//! error of any kind) returns `None` and the caller takes the lax path,
//! which then decides. So the fast path never produces a [`super::Decoded::Skipped`],
//! and it never needs to agree with the lax path on why a packet is skipped.

use std::net::IpAddr;

use etherparse::{EtherType, Ethernet2Slice, IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, TcpSlice};

use super::link::{self, Next};
use super::{TcpSegment, segment};
use crate::capture::LinkType;

/// The TCP segment of a common packet, or `None` for the lax path.
pub(super) fn decode(linktype: LinkType, data: &[u8]) -> Option<TcpSegment<'_>> {
    let ip = match linktype {
        LinkType::ETHERNET => ethernet(data)?,
        LinkType::LINUX_SLL => ip_of(link::linux_sll(data))?,
        LinkType::LINUX_SLL2 => ip_of(link::linux_sll2(data))?,
        LinkType::NULL | LinkType::LOOP => ip_of(link::loopback(data))?,
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => data,
        LinkType::RAW_LEGACY_12 | LinkType::RAW_LEGACY_14 => ip_of(link::legacy_raw(data))?,
        _ => return None,
    };
    match ip.first()? >> 4 {
        4 => ipv4(ip),
        6 => ipv6(ip),
        _ => None,
    }
}

/// IEEE 802.3 clause 3.2: destination (6 bytes), source (6), then the
/// EtherType (2, >= 0x0600 for Ethernet II), and the payload. No FCS is
/// assumed, as in the lax path; it is cut off by the IP length fields.
/// VLAN tags (802.1Q) and everything that is not IP go the lax way.
fn ethernet(data: &[u8]) -> Option<&[u8]> {
    let eth = Ethernet2Slice::from_slice_without_fcs(data).ok()?;
    ip_of(Next::Ether(eth.ether_type(), eth.payload_slice()))
}

/// The IP datagram after a link-layer header. Like etherparse, both IP
/// EtherTypes lead to the same IP parsing, which then goes by the version
/// nibble (so an IPv6 packet under EtherType IPv4 is still IPv6).
fn ip_of(next: Next<'_>) -> Option<&[u8]> {
    match next {
        Next::Ether(EtherType::IPV4 | EtherType::IPV6, ip) | Next::Ip(ip) => Some(ip),
        _ => None,
    }
}

/// RFC 791 section 3.1. `Ipv4HeaderSlice::from_slice` checks the version
/// (4), IHL >= 5 and that the IHL * 4 header bytes are captured; the lax
/// path accepts exactly those headers.
fn ipv4(ip: &[u8]) -> Option<TcpSegment<'_>> {
    let h = Ipv4HeaderSlice::from_slice(ip).ok()?;
    // Protocol: TCP right after the header. An authentication header
    // (RFC 4302) or any other protocol is the lax path's business.
    // Flags / Fragment Offset: MF set or a non-zero offset is a fragment,
    // which the lax path skips.
    if h.protocol() != IpNumber::TCP || h.is_fragmenting_payload() {
        return None;
    }
    let hdr_len = h.slice().len();
    // Total Length counts header and data. The datagram ends there, or at
    // the end of the capture (snapshot length), which leaves the rest
    // missing; 0 is TCP segmentation offload (the rest of the frame is the
    // datagram); any other value below the header length is malformed, a
    // skip.
    let total = usize::from(h.total_len());
    let (end, missing) = if total == 0 {
        (ip.len(), 0)
    } else if total < hdr_len {
        return None;
    } else if ip.len() < total {
        (ip.len(), total - ip.len())
    } else {
        (total, 0)
    };
    let tcp = TcpSlice::from_slice(ip.get(hdr_len..end)?).ok()?;
    let missing = u32::try_from(missing).ok()?;
    Some(segment(&tcp, IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), missing))
}

/// RFC 8200 section 3. `Ipv6HeaderSlice::from_slice` checks the version (6)
/// and that the fixed 40-byte header is captured.
fn ipv6(ip: &[u8]) -> Option<TcpSegment<'_>> {
    let h = Ipv6HeaderSlice::from_slice(ip).ok()?;
    // Next Header: TCP right after the fixed header. Extension headers
    // (RFC 8200 section 4), a fragment header among them, go the lax way.
    if h.next_header() != IpNumber::TCP {
        return None;
    }
    let rest = ip.get(h.slice().len()..)?;
    // Payload Length counts what follows the fixed header. 0 with bytes
    // following is an unset length (or a jumbogram's, RFC 2675): the rest of
    // the frame is the payload, as etherparse takes it. Fewer captured bytes
    // than declared leave the rest missing.
    let declared = usize::from(h.payload_length());
    let (payload, missing) = if declared == 0 && !rest.is_empty() {
        (rest, 0)
    } else if rest.len() < declared {
        (rest, declared - rest.len())
    } else {
        (rest.get(..declared)?, 0)
    };
    let tcp = TcpSlice::from_slice(payload).ok()?;
    let missing = u32::try_from(missing).ok()?;
    Some(segment(&tcp, IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()), missing))
}
