//! Link-layer headers that etherparse does not slice for us: Linux cooked
//! capture v1 and v2, BSD loopback (NULL, LOOP), and the legacy raw-IP link
//! types.
//!
//! Owns: the header layouts of those link types, as byte offsets.
//! May import: std, etherparse (its `EtherType` only). Nothing of TCP or
//! later stages.

use etherparse::EtherType;

/// Where the network layer starts after a link-layer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next<'a> {
    /// An EtherType-identified payload (may still carry VLAN tags).
    Ether(EtherType, &'a [u8]),
    /// Raw IPv4 or IPv6, told apart by the version nibble.
    Ip(&'a [u8]),
    /// The header is shorter than its fixed length.
    Truncated { needed: usize, available: usize },
    /// Not an IP packet (other protocol or address family).
    NotIp,
}

fn be16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(off..off + 2)?.try_into().ok()?))
}

/// `ARPHRD_NETLINK`: the protocol field is a netlink protocol, not an
/// EtherType.
const ARPHRD_NETLINK: u16 = 824;

/// Linux cooked capture v1, per
/// <https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html>: packet type
/// (2 bytes), ARPHRD_ type (2), link-layer address length (2), link-layer
/// address (8), protocol type (2), all big-endian; payload at byte 16.
pub(super) fn linux_sll(d: &[u8]) -> Next<'_> {
    const LEN: usize = 16;
    let (Some(hatype), Some(proto), Some(payload)) = (be16(d, 2), be16(d, 14), d.get(LEN..)) else {
        return Next::Truncated { needed: LEN, available: d.len() };
    };
    sll_next(hatype, proto, payload)
}

/// Linux cooked capture v2, per
/// <https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html>: protocol
/// type (2 bytes, big-endian), reserved (2), interface index (4), ARPHRD_
/// type (2), packet type (1), link-layer address length (1), link-layer
/// address (8); payload at byte 20.
pub(super) fn linux_sll2(d: &[u8]) -> Next<'_> {
    const LEN: usize = 20;
    let (Some(proto), Some(hatype), Some(payload)) = (be16(d, 0), be16(d, 8), d.get(LEN..)) else {
        return Next::Truncated { needed: LEN, available: d.len() };
    };
    sll_next(hatype, proto, payload)
}

/// The protocol type of both SLL versions is an EtherType when it is at
/// least 0x0600; smaller values name non-IP framings (802.3, 802.2, CAN...).
fn sll_next(hatype: u16, proto: u16, payload: &[u8]) -> Next<'_> {
    if hatype == ARPHRD_NETLINK || proto < 0x0600 { Next::NotIp } else { Next::Ether(EtherType(proto), payload) }
}

/// BSD `AF_INET` on every BSD-derived system.
const AF_INET: u32 = 2;
/// `AF_INET6` varies: 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD,
/// DragonFly), 30 (macOS, iOS).
const AF_INET6: [u32; 3] = [24, 28, 30];

fn is_ip_family(af: u32) -> bool {
    af == AF_INET || AF_INET6.contains(&af)
}

/// BSD loopback, per <https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html>
/// (`LINKTYPE_NULL`: the 4-byte address family in the capturing host's byte
/// order, so both orders are accepted) and
/// <https://www.tcpdump.org/linktypes/LINKTYPE_LOOP.html> (`LINKTYPE_LOOP`:
/// network byte order; the other order is accepted too, as the two never
/// collide). The address family says IP; the version nibble then says which.
pub(super) fn loopback(d: &[u8]) -> Next<'_> {
    const LEN: usize = 4;
    let (Some(af), Some(payload)) = (d.get(..LEN), d.get(LEN..)) else {
        return Next::Truncated { needed: LEN, available: d.len() };
    };
    let Ok(af): Result<[u8; 4], _> = af.try_into() else {
        return Next::Truncated { needed: LEN, available: d.len() };
    };
    if is_ip_family(u32::from_le_bytes(af)) || is_ip_family(u32::from_be_bytes(af)) { Next::Ip(payload) } else { Next::NotIp }
}

/// Link types 12 and 14: `DLT_RAW` on most systems (12) and BSD/OS (14),
/// but 12 is `DLT_LOOP` on OpenBSD. Decided by content: an IPv4/IPv6 version
/// nibble means raw IP; a loopback address-family word means loopback.
pub(super) fn legacy_raw(d: &[u8]) -> Next<'_> {
    match d.first().map(|b| b >> 4) {
        None => Next::Truncated { needed: 1, available: 0 },
        Some(4 | 6) => Next::Ip(d),
        Some(_) => match loopback(d) {
            Next::Ip(p) => Next::Ip(p),
            _ => Next::NotIp,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sll_headers() {
        let mut v1 = vec![0u8; 16];
        v1[14..16].copy_from_slice(&[0x08, 0x00]);
        v1.extend([0x45, 0]);
        assert_eq!(linux_sll(&v1), Next::Ether(EtherType::IPV4, &[0x45, 0][..]));
        assert_eq!(linux_sll(&v1[..15]), Next::Truncated { needed: 16, available: 15 });
        // 802.2 LLC framing (protocol 0x0004) is not IP.
        v1[14..16].copy_from_slice(&[0x00, 0x04]);
        assert_eq!(linux_sll(&v1), Next::NotIp);

        let mut v2 = vec![0u8; 20];
        v2[0..2].copy_from_slice(&[0x86, 0xdd]);
        v2[8..10].copy_from_slice(&[0x00, 0x01]); // ARPHRD_ETHER
        v2.push(0x60);
        assert_eq!(linux_sll2(&v2), Next::Ether(EtherType::IPV6, &[0x60][..]));
        v2[8..10].copy_from_slice(&ARPHRD_NETLINK.to_be_bytes());
        assert_eq!(linux_sll2(&v2), Next::NotIp);
        assert_eq!(linux_sll2(&v2[..19]), Next::Truncated { needed: 20, available: 19 });
    }

    #[test]
    fn loopback_families_both_orders() {
        for af in [2u32, 24, 28, 30] {
            for bytes in [af.to_le_bytes(), af.to_be_bytes()] {
                let mut d = bytes.to_vec();
                d.push(0x45);
                assert_eq!(loopback(&d), Next::Ip(&[0x45][..]), "af {af}");
            }
        }
        // AF_APPLETALK (16) or garbage.
        assert_eq!(loopback(&[16, 0, 0, 0, 0x45]), Next::NotIp);
        assert_eq!(loopback(&[2, 0]), Next::Truncated { needed: 4, available: 2 });
    }

    #[test]
    fn legacy_raw_is_decided_by_content() {
        assert_eq!(legacy_raw(&[0x45, 1]), Next::Ip(&[0x45, 1][..]));
        assert_eq!(legacy_raw(&[0x60, 1]), Next::Ip(&[0x60, 1][..]));
        assert_eq!(legacy_raw(&[0, 0, 0, 2, 0x45]), Next::Ip(&[0x45][..]));
        assert_eq!(legacy_raw(&[0x12, 0, 0, 2]), Next::NotIp);
        assert_eq!(legacy_raw(&[]), Next::Truncated { needed: 1, available: 0 });
    }
}
