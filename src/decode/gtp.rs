//! GTP-U decapsulation (mobile-network user-plane tunnels).
//!
//! Owns: the GTPv1-U header layout (3GPP TS 29.281 section 5).
//! May import: std only.

/// The registered UDP port of GTP-U (3GPP TS 29.281 section 4.4.2).
pub(super) const GTP_U_PORT: u16 = 2152;

/// GTP-U message type of a G-PDU: a tunnelled user packet.
const G_PDU: u8 = 0xff;

/// What a UDP payload on the GTP-U port holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gtp<'a> {
    /// The tunnelled packet (an IPv4 or IPv6 datagram, possibly cut short
    /// by the capture).
    Pdu(&'a [u8]),
    /// A GTP-U signalling message (echo, error indication, end marker...)
    /// or not GTPv1 at all.
    NotPdu,
    /// The header (with its optional fields and extension headers) is cut.
    Truncated { needed: usize, available: usize },
}

/// Parses a GTPv1-U header (TS 29.281 section 5.1): flags (version 3 bits =
/// 1, protocol type 1 bit = 1, spare, E, S, PN), message type, length
/// (bytes after the first 8), TEID; then, if any of E/S/PN is set, sequence
/// number (2), N-PDU number (1) and next extension header type (1); then
/// extension headers (section 5.2), each a length in 4-byte units, content,
/// and the next type in its last byte.
pub(super) fn decapsulate(d: &[u8]) -> Gtp<'_> {
    const FIXED: usize = 8;
    let (Some(&flags), Some(&msg_type), Some(&[len_hi, len_lo])) = (d.first(), d.get(1), d.get(2..4)) else {
        return Gtp::Truncated { needed: FIXED, available: d.len() };
    };
    if flags >> 5 != 1 || flags & 0x10 == 0 || msg_type != G_PDU {
        return Gtp::NotPdu;
    }
    if d.len() < FIXED {
        return Gtp::Truncated { needed: FIXED, available: d.len() };
    }
    let declared = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    // The message ends where its length says, or where the capture does.
    let end = (FIXED + declared).min(d.len());
    let mut pos = FIXED;
    if flags & 0x07 != 0 {
        let Some(&next) = d.get(FIXED + 3) else {
            return Gtp::Truncated { needed: FIXED + 4, available: d.len() };
        };
        pos = FIXED + 4;
        let mut next_type = next;
        while next_type != 0 {
            let Some(&units) = d.get(pos) else {
                return Gtp::Truncated { needed: pos + 1, available: d.len() };
            };
            if units == 0 {
                // A zero-length extension header is invalid: give up.
                return Gtp::NotPdu;
            }
            let ext_len = usize::from(units) * 4;
            let Some(&t) = d.get(pos + ext_len - 1) else {
                return Gtp::Truncated { needed: pos + ext_len, available: d.len() };
            };
            next_type = t;
            pos += ext_len;
        }
    }
    match d.get(pos..end.max(pos)) {
        Some(pdu) => Gtp::Pdu(pdu),
        None => Gtp::Truncated { needed: pos, available: d.len() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_header() {
        let mut d = vec![0x30, 0xff, 0, 3, 0, 0, 0, 1, 0x45, 0, 0];
        assert_eq!(decapsulate(&d), Gtp::Pdu(&[0x45, 0, 0][..]));
        // Bytes past the declared length are not part of the PDU.
        d.push(0xee);
        assert_eq!(decapsulate(&d), Gtp::Pdu(&[0x45, 0, 0][..]));
        // Cut by the capture: what is there.
        assert_eq!(decapsulate(&d[..9]), Gtp::Pdu(&[0x45][..]));
    }

    #[test]
    fn optional_fields_and_extension_headers() {
        // E and S set; one extension header (PDU session container, 4
        // bytes: len 1, two content bytes, next type 0).
        let d = [0x36, 0xff, 0, 10, 0, 0, 0, 1, 0, 7, 0, 0x85, 1, 0x10, 0x09, 0, 0x60, 0];
        assert_eq!(decapsulate(&d), Gtp::Pdu(&[0x60, 0][..]));
        assert!(matches!(decapsulate(&d[..13]), Gtp::Truncated { .. }));
    }

    #[test]
    fn signalling_and_other_versions_are_not_pdus() {
        // Echo request.
        assert_eq!(decapsulate(&[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]), Gtp::NotPdu);
        // GTPv2-C header on the wrong port.
        assert_eq!(decapsulate(&[0x48, 0xff, 0, 0, 0, 0, 0, 0]), Gtp::NotPdu);
        assert_eq!(decapsulate(&[0x30]), Gtp::Truncated { needed: 8, available: 1 });
    }
}
