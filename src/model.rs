//! Leaf vocabulary shared by every stage of the pipeline: timestamps, packet
//! numbers, endpoints, directions and TCP sequence numbers.
//!
//! Owns: plain value types with no pipeline logic.
//! May import: std, jiff (formatting only). Must not import any other module
//! of this crate: everything else imports this one.

use std::cell::Cell;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// 1-based number of a record across all input files, in the order the
/// analysis reads them: the same as Wireshark's `frame.number` for a single
/// file, so a user can jump straight to it (`frame.number == N`).
pub type PacketIndex = u64;

/// Identifier of a TCP connection: 0-based, in order of the first packet of
/// each connection, counting every TCP connection in the capture (WebSocket or
/// not). It follows the same rules as Wireshark's `tcp.stream`, so
/// `tcp.stream == conn_id` shows the connection in Wireshark.
pub type ConnId = u64;

/// A capture timestamp: nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_nanos(ns: i64) -> Self {
        Timestamp(ns)
    }

    pub fn from_secs_frac(secs: i64, nanos: u32) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos as i64))
    }

    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds as a float, for durations and deltas in reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Seconds elapsed from `earlier` to `self` (negative when `self` is earlier).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1e9
    }

    /// UTC RFC 3339 with exactly six fractional digits, e.g.
    /// `2026-11-24T10:00:01.123456Z` (the CSV timestamp format).
    pub fn rfc3339_micros(self) -> String {
        match self.rfc3339_micros_bytes() {
            Some(b) => b.iter().map(|&c| char::from(c)).collect(),
            None => self.fallback_text(),
        }
    }

    /// Appends [`rfc3339_micros`](Self::rfc3339_micros) to a byte buffer
    /// (a CSV row).
    pub fn push_rfc3339_micros_bytes(self, out: &mut Vec<u8>) {
        match self.rfc3339_micros_bytes() {
            Some(b) => out.extend_from_slice(&b),
            None => out.extend_from_slice(self.fallback_text().as_bytes()),
        }
    }

    /// Seconds and microseconds, for a time whose year has more than four
    /// digits. Cannot happen for nanoseconds in an i64 (1677 to 2262); kept
    /// so a wider clock never prints a wrong date.
    fn fallback_text(self) -> String {
        let micros = self.0.div_euclid(1_000);
        format!("{}.{:06}", micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000))
    }

    /// The RFC 3339 text as bytes; `None` outside years 0..=9999. Every CSV
    /// row has one or two timestamps: this is written by hand (days to
    /// civil date, H. Hinnant's algorithm; two digits per table look-up)
    /// rather than through a general formatter, which cost a third of the
    /// time of writing frames.csv.
    fn rfc3339_micros_bytes(self) -> Option<[u8; 27]> {
        let micros = self.0.div_euclid(1_000);
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000) as usize;
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        let head = buf.get_mut(..19)?;
        match LAST_SECOND.with(Cell::get) {
            (Some(s), text) if s == secs => head.copy_from_slice(&text),
            _ => {
                let days = secs.div_euclid(86_400);
                let sod = secs.rem_euclid(86_400) as usize;
                let (y, m, d) = civil_from_days(days);
                let y = usize::try_from(y).ok().filter(|y| *y <= 9999)?;
                put_pairs(
                    head,
                    &[(0, y / 100), (2, y % 100), (5, m as usize), (8, d as usize), (11, sod / 3600), (14, sod / 60 % 60), (17, sod % 60)],
                );
                let mut text = [0u8; 19];
                text.copy_from_slice(head);
                LAST_SECOND.with(|c| c.set((Some(secs), text)));
            }
        }
        put_pairs(&mut buf, &[(20, frac / 10_000), (22, frac / 100 % 100), (24, frac % 100)]);
        Some(buf)
    }
}

thread_local! {
    /// The date and time of day of the last second formatted on this
    /// thread: rows come in capture order, thousands per second of capture,
    /// and working the civil date out again cost a third of formatting a
    /// timestamp.
    static LAST_SECOND: Cell<(Option<i64>, [u8; 19])> = const { Cell::new((None, [0; 19])) };
}

/// Writes each value (0..=99) as two digits at its offset in `buf`.
fn put_pairs(buf: &mut [u8], fields: &[(usize, usize)]) {
    const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839\
404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    for &(at, v) in fields {
        if let (Some(dst), Some(src)) = (buf.get_mut(at..at + 2), PAIRS.get(v * 2..v * 2 + 2)) {
            dst.copy_from_slice(src);
        }
    }
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339_micros())
    }
}

/// Which way bytes travel on a connection once roles are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Client to server (the side that opened the connection / sent the HTTP request).
    ClientToServer,
    /// Server to client.
    ServerToClient,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

    /// The CSV spelling: `c2s` or `s2c`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }

    pub const fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// Index for per-direction arrays: c2s = 0, s2c = 1.
    pub const fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    /// The side that sends in this direction.
    pub const fn sender(self) -> Role {
        match self {
            Direction::ClientToServer => Role::Client,
            Direction::ServerToClient => Role::Server,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// A TCP endpoint (address and port).
pub type Endpoint = SocketAddr;

/// Direction-independent key of a TCP 4-tuple: the two endpoints in a
/// canonical order (smaller first), as pcap-analyzer and Community ID do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// Builds the key and says whether `src` is the `lo` side.
    pub fn new(src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        let src_is_lo = match (src, dst) {
            // Once per packet: IPv4 addresses compare as the numbers their
            // octets spell, which is the order `Ipv4Addr` defines.
            (SocketAddr::V4(s), SocketAddr::V4(d)) => (s.ip().to_bits(), s.port()) <= (d.ip().to_bits(), d.port()),
            _ => (src.ip(), src.port()) <= (dst.ip(), dst.port()),
        };
        if src_is_lo { (FlowKey { lo: src, hi: dst }, true) } else { (FlowKey { lo: dst, hi: src }, false) }
    }
}

/// Hashed once per packet by the flow table: an IPv4 4-tuple goes to the
/// hasher as two words rather than a write per field of each address
/// (discriminant, octets, port). Equal keys hash equally, as `Eq` needs.
impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match (self.lo, self.hi) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) => {
                state.write_u64((u64::from(a.ip().to_bits()) << 32) | u64::from(b.ip().to_bits()));
                state.write_u32((u32::from(a.port()) << 16) | u32::from(b.port()));
            }
            (a, b) => {
                a.hash(state);
                b.hash(state);
            }
        }
    }
}

/// Community ID v1 (seed 0, base64) of a TCP flow, so rows join with Zeek,
/// Suricata and Arkime data. Empty when the two addresses are of different
/// families (impossible for a real TCP flow).
pub fn community_id(a: Endpoint, b: Endpoint) -> String {
    let ip = |e: Endpoint| -> IpAddr { e.ip() };
    community_id::calculate_community_id(0, ip(a), ip(b), Some(a.port()), Some(b.port()), 6, Default::default()).unwrap_or_default()
}

/// A TCP sequence number. Ordering and distance use wrapping arithmetic
/// (RFC 793 §3.3, RFC 1982 serial numbers), so comparisons stay correct across
/// the 2^32 wrap as long as the two numbers are less than 2^31 apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Signed distance from `other` to `self`: positive when `self` is after.
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    pub fn wrapping_add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    pub fn is_after(self, other: SeqNum) -> bool {
        self.diff(other) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_wraps() {
        let a = SeqNum(u32::MAX - 10);
        let b = a.wrapping_add(20);
        assert_eq!(b.0, 9);
        assert_eq!(b.diff(a), 20);
        assert_eq!(a.diff(b), -20);
        assert!(b.is_after(a));
    }

    #[test]
    fn timestamp_format() {
        let ts = Timestamp::from_secs_frac(1_700_000_000, 123_456_789);
        assert_eq!(ts.rfc3339_micros(), "2023-11-14T22:13:20.123456Z");
        assert_eq!(Timestamp(0).rfc3339_micros(), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn timestamp_format_agrees_with_jiff() {
        // Leap days, century rules, before 1970, both ends of the range of
        // nanoseconds in an i64 (1677 to 2262), and instants in between.
        let mut samples = vec![
            -1_000,
            -1,
            951_782_400_000_000_000,   // 2000-02-29
            4_107_456_000_000_000_000, // 2100-02-28
            i64::MIN,
            i64::MAX,
        ];
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x);
            // The same second again (the formatter remembers the last one),
            // its last microsecond, the next second and one before 1970.
            samples.extend([
                x.wrapping_add(1_000),
                x.wrapping_sub(x.rem_euclid(1_000_000_000)).wrapping_add(999_999_999),
                x.wrapping_add(1_000_000_000),
                x.wrapping_abs().wrapping_neg(),
            ]);
        }
        for ns in samples {
            let jiff = jiff::Timestamp::from_microsecond(ns.div_euclid(1_000)).map(|t| format!("{t:.6}")).unwrap_or_default();
            assert_eq!(Timestamp(ns).rfc3339_micros(), jiff, "{ns}");
        }
    }

    #[test]
    fn flow_key_is_symmetric() {
        let a: Endpoint = "10.0.0.1:5000".parse().unwrap();
        let b: Endpoint = "10.0.0.2:80".parse().unwrap();
        let (k1, a_lo) = FlowKey::new(a, b);
        let (k2, b_lo) = FlowKey::new(b, a);
        assert_eq!(k1, k2);
        assert!(a_lo && !b_lo);
    }

    #[test]
    fn community_id_matches_spec_example() {
        // From the community-id crate docs / spec baseline: 1.2.3.4:1122 -> 5.6.7.8:3344 TCP.
        let a: Endpoint = "1.2.3.4:1122".parse().unwrap();
        let b: Endpoint = "5.6.7.8:3344".parse().unwrap();
        assert_eq!(community_id(a, b), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
        assert_eq!(community_id(b, a), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    }
}
