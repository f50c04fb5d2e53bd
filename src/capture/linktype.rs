//! Link-layer header types of pcap and pcapng files.
//!
//! Owns: the [`LinkType`] newtype, the constants for the link types the
//! pipeline decodes, and the names printed in notices.
//! May import: std only.
//!
//! The numbers are the `LINKTYPE_*` values of the tcpdump registry
//! (<https://www.tcpdump.org/linktypes.html>, also
//! draft-ietf-opsawg-pcaplinktype). They are the values written in the pcap
//! file header `LinkType` field (low 16 bits) and in the pcapng Interface
//! Description Block `LinkType` field.

use std::fmt;

/// A `LINKTYPE_*` number: what header starts each packet of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LinkType(pub u16);

impl LinkType {
    /// `LINKTYPE_NULL`: BSD loopback, a 4-byte address family in the
    /// *capturing host's* byte order, then the network-layer packet.
    pub const NULL: LinkType = LinkType(0);
    /// `LINKTYPE_ETHERNET`: IEEE 802.3 / Ethernet II.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Legacy raw IP number used by old files written with `DLT_RAW` = 12.
    pub const RAW_LEGACY_12: LinkType = LinkType(12);
    /// Legacy raw IP number used by old BSD/OS files (`DLT_RAW` = 14).
    pub const RAW_LEGACY_14: LinkType = LinkType(14);
    /// `LINKTYPE_RAW`: raw IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// `LINKTYPE_LOOP`: OpenBSD loopback, like NULL but the address family
    /// is in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// `LINKTYPE_LINUX_SLL`: Linux "cooked" capture v1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// `LINKTYPE_IPV4`: raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// `LINKTYPE_IPV6`: raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// `LINKTYPE_LINUX_SLL2`: Linux "cooked" capture v2 (20-byte header),
    /// what `tcpdump -i any` writes since libpcap 1.10.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The link types the `decode` stage understands.
    pub const SUPPORTED: [LinkType; 10] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::RAW_LEGACY_12,
        LinkType::RAW_LEGACY_14,
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::LINUX_SLL2,
    ];

    /// Whether packets of this link type can be decoded down to TCP.
    pub const fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }

    /// The registry name without the `LINKTYPE_` prefix (`"ETHERNET"`), or
    /// `None` for a number this table does not know.
    pub fn name(self) -> Option<&'static str> {
        let name = match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            3 => "AX25",
            6 => "IEEE802_5",
            7 => "ARCNET_BSD",
            8 => "SLIP",
            9 => "PPP",
            10 => "FDDI",
            12 | 14 => "RAW",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            100 => "ATM_RFC1483",
            101 => "RAW",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            107 => "FRELAY",
            108 => "LOOP",
            113 => "LINUX_SLL",
            114 => "LTALK",
            117 => "PFLOG",
            119 => "IEEE802_11_PRISM",
            122 => "IP_OVER_FC",
            123 => "SUNATM",
            127 => "IEEE802_11_RADIOTAP",
            129 => "ARCNET_LINUX",
            138 => "APPLE_IP_OVER_IEEE1394",
            139 => "MTP2_WITH_PHDR",
            140 => "MTP2",
            141 => "MTP3",
            142 => "SCCP",
            143 => "DOCSIS",
            144 => "LINUX_IRDA",
            147 => "USER0",
            148 => "USER1",
            149 => "USER2",
            150 => "USER3",
            151 => "USER4",
            152 => "USER5",
            153 => "USER6",
            154 => "USER7",
            155 => "USER8",
            156 => "USER9",
            157 => "USER10",
            158 => "USER11",
            159 => "USER12",
            160 => "USER13",
            161 => "USER14",
            162 => "USER15",
            163 => "IEEE802_11_AVS",
            165 => "BACNET_MS_TP",
            166 => "PPP_PPPD",
            169 => "GPRS_LLC",
            177 => "LINUX_LAPD",
            187 => "BLUETOOTH_HCI_H4",
            189 => "USB_LINUX",
            192 => "PPI",
            195 => "IEEE802_15_4_WITHFCS",
            197 => "ERF",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            204 => "PPP_WITH_DIR",
            220 => "USB_LINUX_MMAPPED",
            226 => "IPNET",
            227 => "CAN_SOCKETCAN",
            228 => "IPV4",
            229 => "IPV6",
            230 => "IEEE802_15_4_NOFCS",
            231 => "DBUS",
            239 => "NFLOG",
            240 => "NETANALYZER",
            241 => "NETANALYZER_TRANSPARENT",
            242 => "IPOIB",
            243 => "MPEG_2_TS",
            247 => "INFINIBAND",
            248 => "SCTP",
            249 => "USBPCAP",
            251 => "BLUETOOTH_LE_LL",
            252 => "WIRESHARK_UPPER_PDU",
            253 => "NETLINK",
            254 => "BLUETOOTH_LINUX_MONITOR",
            256 => "BLUETOOTH_LE_LL_WITH_PHDR",
            258 => "PKTAP",
            259 => "EPON",
            266 => "USB_DARWIN",
            271 => "VSOCK",
            272 => "NORDIC_BLE",
            274 => "ETHERNET_MPACKET",
            276 => "LINUX_SLL2",
            279 => "EBHSCR",
            280 => "VPP_DISPATCH",
            281 => "DSA_TAG_BRCM",
            282 => "DSA_TAG_BRCM_PREPEND",
            283 => "IEEE802_15_4_TAP",
            284 => "DSA_TAG_DSA",
            285 => "DSA_TAG_EDSA",
            288 => "USB_2_0",
            290 => "ETW",
            _ => return None,
        };
        Some(name)
    }
}

/// `"ETHERNET (1)"`, `"LINUX_SLL2 (276)"`, `"UNKNOWN (999)"`.
impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name().unwrap_or("UNKNOWN"), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(LinkType::ETHERNET.to_string(), "ETHERNET (1)");
        assert_eq!(LinkType::LINUX_SLL2.to_string(), "LINUX_SLL2 (276)");
        assert_eq!(LinkType(147).to_string(), "USER0 (147)");
        assert_eq!(LinkType(999).to_string(), "UNKNOWN (999)");
        assert_eq!(LinkType::RAW_LEGACY_12.to_string(), "RAW (12)");
    }

    #[test]
    fn supported_table_matches_predicate() {
        for lt in LinkType::SUPPORTED {
            assert!(lt.is_supported(), "{lt}");
        }
        let n = (0..=u16::MAX).filter(|&v| LinkType(v).is_supported()).count();
        assert_eq!(n, LinkType::SUPPORTED.len());
    }
}
