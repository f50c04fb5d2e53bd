//! One input file read as a stream of packets: format detection, pcap record
//! framing, pcapng block framing, timestamps, and damage handling.
//!
//! Owns: [`FileReader`] (crate-private), the byte-level checks that decide
//! whether a record or block can be trusted, and resynchronisation after
//! corrupt framing.
//! May import: std, pcap-parser, `crate::model`, `crate::error`, the parent
//! `capture` module. Must not import etherparse or any later stage.
//!
//! Formats, as specified by draft-ietf-opsawg-pcap (the classic libpcap
//! format: 24-byte file header, 16-byte record headers, magic `A1B2C3D4` for
//! microseconds and `A1B23C4D` for nanoseconds, written in the writer's byte
//! order) and draft-ietf-opsawg-pcapng (blocks of `type, length, body,
//! length`, 32-bit aligned; sections started by a Section Header Block whose
//! byte-order magic `1A2B3C4D` fixes the endianness of the section;
//! interfaces numbered per section by Interface Description Blocks, each with
//! its own link type, `if_tsresol` and `if_tsoffset`).
//!
//! The file is read through pcap-parser's streaming readers
//! ([`LegacyPcapReader`], [`PcapNGReader`]): a fixed buffer, refilled as it is
//! consumed, never larger than [`BUFFER_CAPACITY`] (1 MiB) for the default
//! capacity: pcapng blocks whose content is read have a size bounded by it
//! (a longer length is damage), and larger blocks of the types whose content
//! is not used are skipped as they stream past. Before a record or block is
//! handed to pcap-parser, its header is checked here, so a damaged length
//! can never make the reader ask for gigabytes or loop forever.
//!
//! For pcap, records are parsed with [`PcapReaderIterator::next`]. For pcapng
//! the reader is used for buffering only (`data`, `consume`, `refill`,
//! `grow`) and each complete block is parsed with pcap-parser's
//! `parse_block_le`/`parse_block_be` in the endianness tracked here: the
//! reader's own notion of the section endianness is private and would go
//! stale if a damaged Section Header Block were skipped.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{Block, LegacyPcapReader, OptionCode, PcapBlockOwned, PcapError, PcapNGReader, parse_block_be, parse_block_le};

use super::{CaptureNotice, CaptureNoticeKind, LinkType, Packet};
use crate::error::Error;
use crate::model::{PacketIndex, Timestamp};

/// Initial size of each file's read buffer.
pub(super) const BUFFER_CAPACITY: usize = 1 << 20;
/// Largest pcapng block the reader accepts; a longer block length is
/// treated as corrupt framing. Only blocks whose content is not used (name
/// resolution, decryption secrets, custom, unknown) may be this large, and
/// they are skipped as they stream past, never buffered whole.
pub const MAX_BLOCK_LEN: u32 = 256 << 20;
/// Largest captured length of a single packet: 262144 bytes, the largest
/// snapshot length libpcap and Wireshark use for any link type.
pub const MAX_CAPLEN: u32 = 256 << 10;
/// Largest original length believed during resynchronisation.
const MAX_ORIG_LEN: u32 = 16 << 20;
/// How far a resynchronisation scan looks before giving up on the file.
const RESYNC_SCAN_LIMIT: u64 = 64 << 20;
/// Two consecutive records further apart than this (either way) are not
/// believed during resynchronisation.
const RESYNC_TS_WINDOW_NS: u64 = 86_400 * 1_000_000_000;

// pcapng block types (draft-ietf-opsawg-pcapng section 11.1).
const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 0x0000_0001;
/// Obsolete Packet Block (draft-ietf-opsawg-pcapng appendix A).
const OPB_TYPE: u32 = 0x0000_0002;
const SPB_TYPE: u32 = 0x0000_0003;
const NRB_TYPE: u32 = 0x0000_0004;
const ISB_TYPE: u32 = 0x0000_0005;
const EPB_TYPE: u32 = 0x0000_0006;
const SJE_TYPE: u32 = 0x0000_0009;
const DSB_TYPE: u32 = 0x0000_000A;
const CB_TYPE: u32 = 0x0000_0BAD;
const DCB_TYPE: u32 = 0x4000_0BAD;
const PIB_TYPE: u32 = 0x8000_0001;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Smallest legal total length of a block of this type (header, fixed
/// fields and trailer).
fn min_block_len(block_type: u32) -> u32 {
    match block_type {
        SHB_TYPE => 28,
        IDB_TYPE => 20,
        OPB_TYPE | EPB_TYPE => 32,
        SPB_TYPE => 16,
        ISB_TYPE => 24,
        _ => 12,
    }
}

/// Largest believable total length of a block of this type. Blocks whose
/// size follows from their content cannot be larger than the read buffer
/// ([`BUFFER_CAPACITY`], 1 MiB): a packet block holds at most
/// [`MAX_CAPLEN`] bytes of packet and a few options, a section, interface
/// or statistics block only options. A longer length in one of these
/// headers is damage, found without reading (and buffering) that many
/// bytes. Other blocks (name resolution, decryption secrets, custom,
/// unknown) may legitimately be large and are only bounded by
/// [`MAX_BLOCK_LEN`].
fn max_block_len(block_type: u32) -> u32 {
    match block_type {
        SHB_TYPE | IDB_TYPE | ISB_TYPE | EPB_TYPE | SPB_TYPE | OPB_TYPE => BUFFER_CAPACITY as u32,
        _ => MAX_BLOCK_LEN,
    }
}

fn is_known_block_type(block_type: u32) -> bool {
    matches!(
        block_type,
        SHB_TYPE | IDB_TYPE | OPB_TYPE | SPB_TYPE | NRB_TYPE | ISB_TYPE | EPB_TYPE | SJE_TYPE | DSB_TYPE | CB_TYPE | DCB_TYPE | PIB_TYPE
    )
}

// ---------------------------------------------------------------------------
// Byte helpers: every read is bounds-checked and yields `None` when short.

fn bytes_at<const N: usize>(d: &[u8], off: usize) -> Option<[u8; N]> {
    d.get(off..off.checked_add(N)?)?.try_into().ok()
}

fn u16_at(d: &[u8], off: usize, be: bool) -> Option<u16> {
    let b = bytes_at::<2>(d, off)?;
    Some(if be { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
}

fn u32_at(d: &[u8], off: usize, be: bool) -> Option<u32> {
    let b = bytes_at::<4>(d, off)?;
    Some(if be { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
}

fn i64_at(d: &[u8], off: usize, be: bool) -> Option<i64> {
    let b = bytes_at::<8>(d, off)?;
    Some(if be { i64::from_be_bytes(b) } else { i64::from_le_bytes(b) })
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

// ---------------------------------------------------------------------------
// Input: the file, plus the magic bytes already read to detect the format.

/// Where the last I/O error of an [`Input`] is kept: pcap-parser reports read
/// failures as a bare `PcapError::ReadError`, and this keeps the real cause.
type ErrorSlot = Arc<Mutex<Option<io::Error>>>;

/// Most bytes one `read` asks the file for.
///
/// pcap-parser's buffer moves its unread bytes to the front whenever more
/// than half of it has been consumed. Filled whole (1 MiB) by each refill,
/// that moves half a megabyte for every half megabyte read: the file was
/// copied twice in user space, 5% of all instructions on a generated
/// capture. Reads of a quarter of the buffer keep the read position below
/// the half mark, so the only bytes moved are the partial record left when
/// a refill is needed; 256 KiB reads still cost one system call per few
/// hundred packets, and the chunk stays in the CPU's L2 cache while it is
/// parsed.
const READ_CHUNK: usize = BUFFER_CAPACITY / 4;

/// The file as a `Read`, first replaying the magic bytes read to detect the
/// format (so that pipes work too: nothing needs to seek).
struct Input {
    prefix: [u8; 4],
    prefix_len: usize,
    prefix_pos: usize,
    file: File,
    error: ErrorSlot,
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let Some(rest) = self.prefix.get(self.prefix_pos..self.prefix_len) {
            let k = rest.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..k), rest.get(..k)) {
                dst.copy_from_slice(src);
                self.prefix_pos += k;
                n = k;
            }
        }
        let Some(dst) = buf.get_mut(n..(n + READ_CHUNK).min(buf.len())) else {
            return Ok(n);
        };
        if dst.is_empty() {
            return Ok(n);
        }
        loop {
            match self.file.read(dst) {
                Ok(k) => return Ok(n + k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return Err(copy);
                }
            }
        }
    }
}

/// Reads up to `buf.len()` bytes, fewer only at end of file.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(dst) = buf.get_mut(n..) {
        if dst.is_empty() {
            break;
        }
        match file.read(dst) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What the first bytes of a file say it is.
enum Magic {
    Pcap,
    PcapNg,
    /// Not something we read; the text explains what it looks like.
    Other(String),
}

fn classify_magic(m: &[u8]) -> Magic {
    let hex = m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
    let Some(word) = bytes_at::<4>(m, 0) else {
        return Magic::Other(format!("file too short ({} bytes) to hold a capture file header: not a pcap or pcapng capture", m.len()));
    };
    match u32::from_le_bytes(word) {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 => return Magic::Pcap,
        SHB_TYPE => return Magic::PcapNg,
        0x34cd_b2a1 => {
            return Magic::Other(format!("magic bytes {hex}: big-endian \"modified\" (Kuznetzov) pcap, which is not supported"));
        }
        _ => {}
    }
    let what = match word {
        [0x1f, 0x8b, _, _] => " (gzip-compressed data: decompress it first)",
        [0x28, 0xb5, 0x2f, 0xfd] => " (zstd-compressed data: decompress it first)",
        [0xfd, 0x37, 0x7a, 0x58] => " (xz-compressed data: decompress it first)",
        [b'B', b'Z', b'h', _] => " (bzip2-compressed data: decompress it first)",
        [b'P', b'K', 3, 4] => " (a zip archive: extract it first)",
        [b's', b'n', b'o', b'o'] => " (a Solaris snoop capture: convert it with editcap first)",
        _ => "",
    };
    Magic::Other(format!("not a pcap or pcapng capture: found magic bytes {hex}{what}"))
}

// ---------------------------------------------------------------------------
// Per-format state.

/// The classic pcap file header, as far as reading records needs it.
#[derive(Clone, Copy, Debug)]
struct PcapState {
    big_endian: bool,
    nanos: bool,
    /// 16, or 24 for the "modified" (Kuznetzov) variant.
    hdr_len: usize,
    snaplen: u32,
    linktype: LinkType,
}

impl PcapState {
    /// The largest caplen a record may have without further checks.
    fn caplen_limit(&self) -> u32 {
        if self.snaplen == 0 || self.snaplen > MAX_CAPLEN { MAX_CAPLEN } else { self.snaplen }
    }
}

/// A pcap record header (draft-ietf-opsawg-pcap section 5).
#[derive(Clone, Copy, Debug)]
struct RecHdr {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    orig_len: u32,
}

impl RecHdr {
    fn at(d: &[u8], off: usize, st: &PcapState) -> Option<RecHdr> {
        // All fields must be present, including the extra 8 bytes of the
        // modified format.
        d.get(off..off.checked_add(st.hdr_len)?)?;
        let be = st.big_endian;
        Some(RecHdr {
            ts_sec: u32_at(d, off, be)?,
            ts_frac: u32_at(d, off + 4, be)?,
            caplen: u32_at(d, off + 8, be)?,
            orig_len: u32_at(d, off + 12, be)?,
        })
    }

    fn ts(&self, nanos: bool) -> Timestamp {
        let frac_ns = if nanos { i64::from(self.ts_frac) } else { i64::from(self.ts_frac) * 1_000 };
        Timestamp(i64::from(self.ts_sec) * 1_000_000_000 + frac_ns)
    }

    /// The checks resynchronisation relies on: a sub-second fraction in
    /// range, a caplen within the snapshot length, an original length not
    /// below the caplen (give or take 64 bytes: some writers count a cooked
    /// header in one and not the other), and a timestamp near `near`.
    fn plausible(&self, st: &PcapState, near: Option<Timestamp>) -> bool {
        self.plausible_framing(st, near) && self.orig_len.saturating_add(64) >= self.caplen && self.orig_len <= MAX_ORIG_LEN
    }

    /// [`RecHdr::plausible`] without the original length.
    fn plausible_framing(&self, st: &PcapState, near: Option<Timestamp>) -> bool {
        let frac_max = if st.nanos { 1_000_000_000 } else { 1_000_000 };
        self.ts_frac < frac_max
            && self.caplen >= 1
            && self.caplen <= st.caplen_limit()
            && near.is_none_or(|t| self.ts(st.nanos).0.abs_diff(t.0) <= RESYNC_TS_WINDOW_NS)
    }
}

/// pcapng timestamp unit of an interface (`if_tsresol`, section 4.2): a
/// negative power of 10 (top bit clear) or of 2 (top bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsUnit {
    Pow10(u32),
    Pow2(u32),
}

impl TsUnit {
    fn from_tsresol(v: u8) -> TsUnit {
        if v & 0x80 == 0 { TsUnit::Pow10(u32::from(v)) } else { TsUnit::Pow2(u32::from(v & 0x7f)) }
    }

    fn to_nanos(self, units: u64) -> i128 {
        let units = i128::from(units);
        match self {
            TsUnit::Pow10(k) if k <= 9 => units * 10i128.pow(9 - k),
            TsUnit::Pow10(k) => 10i128.checked_pow(k - 9).map_or(0, |d| units / d),
            // k <= 127 and units * 1e9 < 2^94: no overflow, shift in range.
            TsUnit::Pow2(k) => (units * 1_000_000_000) >> k,
        }
    }
}

/// One pcapng interface (an Interface Description Block).
#[derive(Clone, Copy, Debug)]
struct Iface {
    linktype: LinkType,
    snaplen: u32,
    unit: TsUnit,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_secs: i64,
    /// Interface number within the whole file (Wireshark's
    /// `frame.interface_id`): sections number from 0, this keeps counting.
    global: u32,
}

impl Iface {
    fn ts(&self, ts_high: u32, ts_low: u32) -> Timestamp {
        let units = (u64::from(ts_high) << 32) | u64::from(ts_low);
        let ns = self.unit.to_nanos(units) + i128::from(self.offset_secs) * 1_000_000_000;
        Timestamp(clamp_i64(ns))
    }
}

#[derive(Debug)]
struct NgState {
    big_endian: bool,
    ifaces: Vec<Iface>,
    /// Global number of the first interface of the current section.
    if_base: u32,
}

enum Format {
    Pcap(PcapState),
    Ng(NgState),
}

/// An interface whose link type is not supported, and its notice.
struct Unsupported {
    interface: u32,
    notice: usize,
}

/// Outcome of checking one resynchronisation candidate.
enum Cand {
    Yes,
    No,
    NeedMore,
}

/// What one pcapng block turned out to be, decided while its bytes are
/// borrowed from the buffer, acted on after.
enum NgOutcome {
    Packet { iface: Iface },
    Section { big_endian: bool, major: u16 },
    Interface(Iface),
    Ignored,
    UnknownBlock,
    UnknownInterface { if_id: u32, described: usize },
    Malformed(&'static str),
}

// ---------------------------------------------------------------------------

/// Streaming reader of one pcap or pcapng file.
pub(super) struct FileReader {
    path: PathBuf,
    file: usize,
    /// Size of a regular file; `None` for pipes and other streams.
    size: Option<u64>,
    reader: Box<dyn PcapReaderIterator + Send + Sync>,
    capacity: usize,
    io_error: ErrorSlot,
    format: Format,
    last_ts: Option<Timestamp>,
    done: bool,
    unknown_blocks: u64,
    unsupported: Vec<Unsupported>,
}

impl FileReader {
    /// Opens `path`, checks its magic and file header.
    pub(super) fn open(path: &Path, file: usize, capacity: usize) -> Result<FileReader, Error> {
        let io_err = |source: io::Error| Error::Io { path: path.to_path_buf(), source };
        let mut f = File::open(path).map_err(io_err)?;
        let meta = f.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(Error::Capture { path: path.to_path_buf(), offset: 0, message: "is a directory, not a capture file".to_string() });
        }
        let size = meta.is_file().then_some(meta.len());
        let mut prefix = [0u8; 4];
        let got = read_up_to(&mut f, &mut prefix).map_err(io_err)?;
        let bad = |message: String| Error::Capture { path: path.to_path_buf(), offset: 0, message };
        let magic = match prefix.get(..got) {
            Some([]) | None => {
                return Err(bad("empty file (0 bytes): not a pcap or pcapng capture".to_string()));
            }
            Some(m) => classify_magic(m),
        };
        let io_error: ErrorSlot = Arc::new(Mutex::new(None));
        let input = Input { prefix, prefix_len: got, prefix_pos: 0, file: f, error: io_error.clone() };
        // Maps the error of a reader constructor (which parses the file
        // header) to ours.
        let header_error = |e: PcapError<&'static [u8]>, what: &str| -> Error {
            match e {
                PcapError::ReadError => {
                    io_err(io_error.lock().ok().and_then(|mut s| s.take()).unwrap_or_else(|| io::Error::other("read error")))
                }
                PcapError::Incomplete(_) | PcapError::UnexpectedEof => bad(match size {
                    Some(s) => format!("{what} truncated: the file has only {s} bytes"),
                    None => format!("{what} truncated"),
                }),
                PcapError::HeaderNotRecognized => bad(format!("{what} not recognized (bad byte-order magic)")),
                e => bad(format!("unreadable {what}: {e}")),
            }
        };
        let (reader, format): (Box<dyn PcapReaderIterator + Send + Sync>, Format) = match magic {
            Magic::Other(message) => return Err(bad(message)),
            Magic::Pcap => {
                let mut r = LegacyPcapReader::new(capacity, input).map_err(|e| header_error(e, "pcap file header"))?;
                // The legacy reader hands out the file header first.
                let st = match r.next() {
                    Ok((_, PcapBlockOwned::LegacyHeader(h))) => PcapState {
                        big_endian: h.is_bigendian(),
                        nanos: h.is_nanosecond_precision(),
                        hdr_len: if h.is_modified_format() { 24 } else { 16 },
                        snaplen: h.snaplen,
                        // Low 16 bits: the link type; the upper bits may
                        // hold FCS information (draft-ietf-opsawg-pcap 4).
                        linktype: LinkType((h.network.0 & 0xffff) as u16),
                    },
                    _ => return Err(bad("unreadable pcap file header".to_string())),
                };
                r.consume(24);
                (Box::new(r), Format::Pcap(st))
            }
            Magic::PcapNg => {
                let r = PcapNGReader::new(capacity, input).map_err(|e| header_error(e, "pcapng Section Header Block"))?;
                (Box::new(r), Format::Ng(NgState { big_endian: false, ifaces: Vec::new(), if_base: 0 }))
            }
        };
        Ok(FileReader {
            path: path.to_path_buf(),
            file,
            size,
            reader,
            capacity,
            io_error,
            format,
            last_ts: None,
            done: false,
            unknown_blocks: 0,
            unsupported: Vec::new(),
        })
    }

    #[cfg(test)]
    pub(super) fn capacity_for_tests(&self) -> usize {
        self.capacity
    }

    /// Bytes of the file consumed so far.
    pub(super) fn position(&self) -> u64 {
        self.reader.consumed() as u64
    }

    pub(super) fn size(&self) -> Option<u64> {
        self.size
    }

    /// pcapng blocks of unknown types skipped so far (they are legal).
    pub(super) fn unknown_blocks(&self) -> u64 {
        self.unknown_blocks
    }

    /// Reads the next packet into `pkt` (all fields but `index`).
    /// `Ok(false)` at the end of the file, or when damage made the rest of
    /// it unreadable (a notice says so). `after` is the index of the last
    /// packet of this file handed out, for the notices.
    pub(super) fn read_packet(
        &mut self,
        pkt: &mut Packet,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
    ) -> Result<bool, Error> {
        if self.done {
            return Ok(false);
        }
        let got = match self.format {
            Format::Pcap(st) => self.read_pcap(st, pkt, notices, after)?,
            Format::Ng(_) => self.read_ng(pkt, notices, after)?,
        };
        if got {
            pkt.file = self.file;
            self.last_ts = Some(pkt.ts);
            if !pkt.linktype.is_supported() {
                self.count_unsupported(pkt, notices, after);
            }
        } else {
            self.done = true;
        }
        Ok(got)
    }

    /// Rewrites the unsupported-link-type notices of this file with their
    /// final packet counts.
    pub(super) fn finalize_notices(&self, notices: &mut [CaptureNotice]) {
        for u in &self.unsupported {
            if let Some(n) = notices.get_mut(u.notice)
                && let CaptureNoticeKind::UnsupportedLinkType { linktype, interface, packets } = n.kind
            {
                n.message = unsupported_message(linktype, interface, packets);
            }
        }
    }

    fn count_unsupported(&mut self, pkt: &Packet, notices: &mut Vec<CaptureNotice>, after: Option<PacketIndex>) {
        let interface = pkt.interface;
        if let Some(u) = self.unsupported.iter().find(|u| u.interface == interface) {
            if let Some(CaptureNotice { kind: CaptureNoticeKind::UnsupportedLinkType { packets, .. }, .. }) = notices.get_mut(u.notice) {
                *packets += 1;
            }
            return;
        }
        let kind = CaptureNoticeKind::UnsupportedLinkType { linktype: pkt.linktype, interface, packets: 1 };
        self.unsupported.push(Unsupported { interface, notice: notices.len() });
        notices.push(CaptureNotice {
            file: self.path.clone(),
            offset: pkt.offset,
            after_packet: after,
            kind,
            message: unsupported_message(pkt.linktype, interface, 1),
        });
    }

    fn notice(&self, notices: &mut Vec<CaptureNotice>, offset: u64, after: Option<PacketIndex>, kind: CaptureNoticeKind, message: String) {
        notices.push(CaptureNotice { file: self.path.clone(), offset, after_packet: after, kind, message });
    }

    fn io_failure(&self) -> Error {
        let source = self.io_error.lock().ok().and_then(|mut s| s.take()).unwrap_or_else(|| io::Error::other("read error"));
        Error::Io { path: self.path.clone(), source }
    }

    /// Makes at least `n` bytes available in the buffer if the file has
    /// them; returns how many are available (fewer only at end of file).
    fn fill(&mut self, n: usize) -> Result<usize, Error> {
        if n > self.capacity {
            let new_cap = n.checked_next_power_of_two().unwrap_or(n).min(MAX_BLOCK_LEN as usize).max(n);
            self.reader.grow(new_cap);
            self.capacity = new_cap;
        }
        loop {
            let avail = self.reader.data().len();
            if avail >= n || self.reader.reader_exhausted() {
                return Ok(avail);
            }
            if self.reader.refill().is_err() {
                return Err(self.io_failure());
            }
        }
    }

    /// Consumes up to `n` bytes without holding more than the buffer;
    /// returns how many there were (fewer only at end of file).
    fn skip(&mut self, n: usize) -> Result<usize, Error> {
        let mut done = 0;
        while done < n {
            let avail = self.fill((n - done).min(self.capacity))?;
            if avail == 0 {
                break;
            }
            let k = avail.min(n - done);
            self.reader.consume(k);
            done += k;
        }
        Ok(done)
    }

    /// Bytes left in the file from the current position, when known.
    fn remaining(&self) -> Option<u64> {
        self.size.map(|s| s.saturating_sub(self.position()))
    }

    // -----------------------------------------------------------------------
    // pcap

    fn read_pcap(
        &mut self,
        st: PcapState,
        pkt: &mut Packet,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
    ) -> Result<bool, Error> {
        let hdr = st.hdr_len;
        loop {
            let offset = self.position();
            let avail = self.fill(hdr)?;
            if avail == 0 {
                return Ok(false);
            }
            if avail < hdr {
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Truncated,
                    format!("truncated record header: {avail} of {hdr} bytes left in file (capture cut while writing?)"),
                );
                return Ok(false);
            }
            let Some(h) = RecHdr::at(self.reader.data(), 0, &st) else {
                return Ok(false);
            };
            let need = hdr.saturating_add(h.caplen as usize);
            if let Some(problem) = self.pcap_caplen_problem(&st, &h, need)? {
                if self.resync_pcap(st, offset, problem, notices, after)? {
                    continue;
                }
                return Ok(false);
            }
            let avail = self.fill(need)?;
            if avail < need {
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Truncated,
                    format!(
                        "truncated record: header says {} bytes, {} left in file (capture cut while writing?)",
                        h.caplen,
                        avail.saturating_sub(hdr)
                    ),
                );
                return Ok(false);
            }
            // The record header was read and checked above (the same
            // fields pcap-parser's frame parser reads, plus the plausibility
            // checks it does not make): the data is the `caplen` bytes after
            // it. Parsing the record a second time through the reader cost a
            // tenth of the capture stage.
            let parsed = match self.reader.data().get(hdr..need) {
                Some(data) => {
                    pkt.data.clear();
                    pkt.data.extend_from_slice(data);
                    true
                }
                None => false,
            };
            if !parsed {
                // Cannot happen: `fill` made `need` bytes available. Treat it
                // as corrupt framing rather than trusting anything further.
                let problem = "record not available after its header".to_string();
                if self.resync_pcap(st, offset, problem, notices, after)? {
                    continue;
                }
                return Ok(false);
            }
            self.reader.consume(need);
            pkt.ts = h.ts(st.nanos);
            pkt.linktype = st.linktype;
            pkt.orig_len = h.orig_len;
            pkt.offset = offset;
            pkt.interface = 0;
            return Ok(true);
        }
    }

    /// Why a record's caplen cannot be believed, if it cannot. A caplen
    /// above the file's snapshot length is believed only when the record
    /// after it (or the end of the file) is where it says. So is a caplen
    /// above the record's own original length (a snapshot only ever
    /// shortens a packet; 64 bytes of slack as in [`RecHdr::plausible`]),
    /// except that one running past the end of the file is not taken for a
    /// truncated record: a flipped bit in a caplen must not make the reader
    /// give up the rest of the file as "truncated". (For that check the
    /// next record's own original length is not looked at: a writer that
    /// leaves original lengths wrong, 0 say, has every record read.)
    fn pcap_caplen_problem(&mut self, st: &PcapState, h: &RecHdr, need: usize) -> Result<Option<String>, Error> {
        if h.caplen > MAX_CAPLEN {
            return Ok(Some(format!(
                "corrupt record header: caplen {} is above {} (larger than any capture tool writes)",
                h.caplen, MAX_CAPLEN
            )));
        }
        let above_snaplen = st.snaplen != 0 && h.caplen > st.snaplen;
        let above_orig_len = h.orig_len.saturating_add(64) < h.caplen;
        if !above_snaplen && !above_orig_len {
            return Ok(None);
        }
        let avail = self.fill(need + st.hdr_len)?;
        let exhausted = self.reader.reader_exhausted();
        let next_ok = match RecHdr::at(self.reader.data(), need, st) {
            Some(next) if above_snaplen => next.plausible(st, Some(h.ts(st.nanos))),
            Some(next) => next.plausible_framing(st, Some(h.ts(st.nanos))),
            // Ends exactly at the end of the file; or, for a caplen only
            // above the snapshot length, cut by the end of the file.
            None => exhausted && (avail == need || (avail < need && !above_orig_len)),
        };
        Ok((!next_ok).then(|| {
            if above_orig_len {
                format!("corrupt record header: caplen {} is above the record's original length {}", h.caplen, h.orig_len)
            } else {
                format!("corrupt record header: caplen {} is above the file's snapshot length {}", h.caplen, st.snaplen)
            }
        }))
    }

    fn resync_pcap(
        &mut self,
        st: PcapState,
        offset: u64,
        problem: String,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
    ) -> Result<bool, Error> {
        let near = self.last_ts;
        let check = move |d: &[u8], i: usize, eof: bool| -> Cand {
            let Some(h1) = RecHdr::at(d, i, &st) else {
                return if eof { Cand::No } else { Cand::NeedMore };
            };
            if !h1.plausible(&st, near) {
                return Cand::No;
            }
            let next = i.saturating_add(st.hdr_len).saturating_add(h1.caplen as usize);
            match RecHdr::at(d, next, &st) {
                Some(h2) if h2.plausible(&st, Some(h1.ts(st.nanos))) => Cand::Yes,
                Some(_) => Cand::No,
                None if eof => {
                    if next == d.len() {
                        Cand::Yes
                    } else {
                        Cand::No
                    }
                }
                None => Cand::NeedMore,
            }
        };
        self.resync(offset, 1, problem, check, notices, after, None)
    }

    // -----------------------------------------------------------------------
    // pcapng

    fn read_ng(&mut self, pkt: &mut Packet, notices: &mut Vec<CaptureNotice>, after: Option<PacketIndex>) -> Result<bool, Error> {
        loop {
            let offset = self.position();
            let avail = self.fill(12)?;
            if avail == 0 {
                return Ok(false);
            }
            let Format::Ng(ng) = &self.format else {
                return Ok(false);
            };
            let section_be = ng.big_endian;
            let n_ifaces = ng.ifaces.len();
            let data = self.reader.data();
            let Some(type_le) = u32_at(data, 0, false) else {
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Truncated,
                    format!("truncated block header: {avail} of 8 bytes left in file (capture cut while writing?)"),
                );
                return Ok(false);
            };
            // A Section Header Block carries its own byte order.
            let be = if type_le == SHB_TYPE {
                match u32_at(data, 8, false) {
                    Some(BYTE_ORDER_MAGIC) => false,
                    Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                    Some(m) => {
                        let problem = format!("corrupt Section Header Block: byte-order magic {m:08x} is neither 1a2b3c4d nor 4d3c2b1a");
                        if self.resync_ng(offset, problem, section_be, n_ifaces, notices, after)? {
                            continue;
                        }
                        return Ok(false);
                    }
                    None => {
                        self.notice(
                            notices,
                            offset,
                            after,
                            CaptureNoticeKind::Truncated,
                            format!("truncated Section Header Block: {avail} bytes left in file (capture cut while writing?)"),
                        );
                        return Ok(false);
                    }
                }
            } else {
                section_be
            };
            let (Some(btype), Some(blen)) = (u32_at(data, 0, be), u32_at(data, 4, be)) else {
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Truncated,
                    format!("truncated block header: {avail} of 8 bytes left in file (capture cut while writing?)"),
                );
                return Ok(false);
            };
            let min = min_block_len(btype);
            if blen < min || !blen.is_multiple_of(4) || blen > MAX_BLOCK_LEN {
                let problem = if blen > MAX_BLOCK_LEN {
                    format!("corrupt block header: block type {btype:#x} claims {blen} bytes (more than the {MAX_BLOCK_LEN}-byte limit)")
                } else {
                    format!("corrupt block header: block type {btype:#x} has length {blen} (must be a multiple of 4, at least {min})")
                };
                if self.resync_ng(offset, problem, section_be, n_ifaces, notices, after)? {
                    continue;
                }
                return Ok(false);
            }
            if let Some(left) = self.remaining()
                && u64::from(blen) > left
            {
                // Past the end of the file: a capture cut while writing, or
                // a damaged length with good blocks after it. A plausible
                // block further on tells the second; without one, it is
                // reported as the truncation it most likely is.
                let problem = format!("corrupt block header: block type {btype:#x} claims {blen} bytes, {left} left in file");
                let truncated = (
                    CaptureNoticeKind::Truncated,
                    format!("truncated block: header says {blen} bytes, {left} left in file (capture cut while writing?)"),
                );
                if self.resync_ng_or(offset, problem, section_be, n_ifaces, notices, after, Some(truncated))? {
                    continue;
                }
                return Ok(false);
            }
            let max = max_block_len(btype);
            if blen > max {
                // Checked before any byte of the block is buffered: a bogus
                // length must not grow the read buffer to its size.
                let problem = format!(
                    "corrupt block header: block type {btype:#x} claims {blen} bytes (more than the {max}-byte limit for its type)"
                );
                if self.resync_ng(offset, problem, section_be, n_ifaces, notices, after)? {
                    continue;
                }
                return Ok(false);
            }
            let len = blen as usize;
            if len > self.capacity && max_block_len(btype) == MAX_BLOCK_LEN {
                // A large block whose content is never used (name
                // resolution, decryption secrets, custom, unknown): skipped
                // as it streams past instead of growing the buffer to hold
                // it, so no length read from a file sizes an allocation
                // beyond the 1 MiB of the bounded block types. Its trailer
                // is still checked; a mismatch can only be reported, since
                // the bytes to scan again are gone.
                let skipped = self.skip(len - 4)?;
                let avail = if skipped == len - 4 { self.fill(4)? } else { 0 };
                if avail < 4 {
                    let left = skipped + avail;
                    self.notice(
                        notices,
                        offset,
                        after,
                        CaptureNoticeKind::Truncated,
                        format!("truncated block: header says {blen} bytes, {left} left in file (capture cut while writing?)"),
                    );
                    return Ok(false);
                }
                let trailer = u32_at(self.reader.data(), 0, be);
                self.reader.consume(4);
                if trailer != Some(blen) {
                    let end = trailer.map_or_else(|| "nothing".to_string(), |t| t.to_string());
                    self.notice(
                        notices,
                        offset,
                        after,
                        CaptureNoticeKind::Corrupt { resumed_at: Some(offset + u64::from(blen)) },
                        format!("corrupt block: length {blen} at the start, {end} at the end; block of type {btype:#x} skipped"),
                    );
                } else if !is_known_block_type(btype) {
                    self.unknown_blocks += 1;
                }
                continue;
            }
            let avail = self.fill(len)?;
            if avail < len {
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Truncated,
                    format!("truncated block: header says {blen} bytes, {avail} left in file (capture cut while writing?)"),
                );
                return Ok(false);
            }
            let data = self.reader.data();
            let trailer = u32_at(data, len - 4, be);
            if trailer != Some(blen) {
                if type_le == SHB_TYPE {
                    // Still a new section: its byte order and interface
                    // numbering apply to what follows.
                    self.start_section(be);
                }
                // One of the two lengths is damaged. Skipping `blen` bytes
                // is right only if it is the trailer; scanning from the
                // block's start finds the next block in both cases (and
                // never skips good blocks after a damaged length).
                let end = trailer.map_or_else(|| "nothing".to_string(), |t| t.to_string());
                let problem = format!("corrupt block: length {blen} at the start, {end} at the end (block type {btype:#x})");
                let (section_be, n_ifaces) = match &self.format {
                    Format::Ng(ng) => (ng.big_endian, ng.ifaces.len()),
                    Format::Pcap(_) => (be, 0),
                };
                if self.resync_ng(offset, problem, section_be, n_ifaces, notices, after)? {
                    continue;
                }
                return Ok(false);
            }
            let outcome = match &self.format {
                Format::Ng(ng) => Self::ng_block(data, len, be, btype, ng, pkt),
                Format::Pcap(_) => return Ok(false),
            };
            self.reader.consume(len);
            match outcome {
                NgOutcome::Packet { iface } => {
                    pkt.linktype = iface.linktype;
                    pkt.interface = iface.global;
                    pkt.offset = offset;
                    return Ok(true);
                }
                NgOutcome::Section { big_endian, major } => {
                    self.start_section(big_endian);
                    if major != 1 {
                        self.notice(
                            notices,
                            offset,
                            after,
                            CaptureNoticeKind::Corrupt { resumed_at: Some(offset + u64::from(blen)) },
                            format!("section of pcapng version {major}, not 1: read as version 1, may be misread"),
                        );
                    }
                }
                NgOutcome::Interface(iface) => {
                    if let Format::Ng(ng) = &mut self.format {
                        ng.ifaces.push(iface);
                    }
                }
                NgOutcome::Ignored => {}
                NgOutcome::UnknownBlock => self.unknown_blocks += 1,
                NgOutcome::UnknownInterface { if_id, described } => self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::UnknownInterface,
                    format!("packet block for interface {if_id}, but this section describes {described} interface(s); block skipped"),
                ),
                NgOutcome::Malformed(what) => self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Corrupt { resumed_at: Some(offset + u64::from(blen)) },
                    format!("corrupt block: {what}; block of type {btype:#x} skipped"),
                ),
            }
        }
    }

    fn start_section(&mut self, big_endian: bool) {
        if let Format::Ng(ng) = &mut self.format {
            let used = u32::try_from(ng.ifaces.len()).unwrap_or(u32::MAX);
            ng.if_base = ng.if_base.saturating_add(used);
            ng.ifaces.clear();
            ng.big_endian = big_endian;
        }
    }

    /// Parses one complete, length-checked block and, for packet blocks,
    /// fills `pkt` (data, timestamp, original length).
    fn ng_block(data: &[u8], len: usize, be: bool, btype: u32, ng: &NgState, pkt: &mut Packet) -> NgOutcome {
        let Some(block_bytes) = data.get(..len) else {
            return NgOutcome::Malformed("block shorter than its length");
        };
        let parse = if be { parse_block_be } else { parse_block_le };
        let block = match parse(block_bytes) {
            Ok((_, b)) => b,
            Err(_) => {
                return NgOutcome::Malformed(match btype {
                    EPB_TYPE => "Enhanced Packet Block whose captured length exceeds the block",
                    IDB_TYPE => "malformed Interface Description Block",
                    SHB_TYPE => "malformed Section Header Block",
                    SPB_TYPE => "malformed Simple Packet Block",
                    _ => "block content does not parse",
                });
            }
        };
        let iface_for = |if_id: u32| -> Result<Iface, NgOutcome> {
            ng.ifaces.get(if_id as usize).copied().ok_or(NgOutcome::UnknownInterface { if_id, described: ng.ifaces.len() })
        };
        match block {
            Block::SectionHeader(shb) => NgOutcome::Section { big_endian: shb.big_endian(), major: shb.major_version },
            Block::InterfaceDescription(idb) => {
                let mut unit = TsUnit::Pow10(6);
                let mut offset_secs = 0;
                for opt in &idb.options {
                    let v = opt.value();
                    if opt.code == OptionCode::IfTsresol {
                        if let Some(&r) = v.first() {
                            unit = TsUnit::from_tsresol(r);
                        }
                    } else if opt.code == OptionCode::IfTsoffset {
                        // pcap-parser reads this one little-endian always;
                        // the option is in the section's byte order.
                        if let Some(o) = i64_at(v, 0, be) {
                            offset_secs = o;
                        }
                    }
                }
                let index = u32::try_from(ng.ifaces.len()).unwrap_or(u32::MAX);
                NgOutcome::Interface(Iface {
                    linktype: LinkType((idb.linktype.0 & 0xffff) as u16),
                    snaplen: idb.snaplen,
                    unit,
                    offset_secs,
                    global: ng.if_base.saturating_add(index),
                })
            }
            Block::EnhancedPacket(epb) => {
                let iface = match iface_for(epb.if_id) {
                    Ok(i) => i,
                    Err(o) => return o,
                };
                pkt.data.clear();
                pkt.data.extend_from_slice(epb.packet_data());
                pkt.ts = iface.ts(epb.ts_high, epb.ts_low);
                pkt.orig_len = epb.origlen;
                NgOutcome::Packet { iface }
            }
            Block::SimplePacket(spb) => {
                // A Simple Packet Block belongs to interface 0 and has no
                // timestamp (section 4.4): it gets the previous packet's.
                let iface = match iface_for(0) {
                    Ok(i) => i,
                    Err(o) => return o,
                };
                let mut d = spb.packet_data();
                if iface.snaplen != 0 {
                    d = d.get(..iface.snaplen as usize).unwrap_or(d);
                }
                pkt.data.clear();
                pkt.data.extend_from_slice(d);
                pkt.orig_len = spb.origlen;
                NgOutcome::Packet { iface }
            }
            Block::Unknown(ub) if ub.block_type == OPB_TYPE || ub.block_type.swap_bytes() == OPB_TYPE => {
                // Obsolete Packet Block: interface id (16 bits), drops count
                // (16 bits), timestamp (high, low), caplen, origlen, data.
                let d = ub.data;
                let (Some(if_id), Some(hi), Some(lo), Some(caplen), Some(orig)) =
                    (u16_at(d, 0, be), u32_at(d, 4, be), u32_at(d, 8, be), u32_at(d, 12, be), u32_at(d, 16, be))
                else {
                    return NgOutcome::Malformed("Packet Block too short");
                };
                let Some(bytes) = d.get(20..20usize.saturating_add(caplen as usize)) else {
                    return NgOutcome::Malformed("Packet Block whose captured length exceeds the block");
                };
                let iface = match iface_for(u32::from(if_id)) {
                    Ok(i) => i,
                    Err(o) => return o,
                };
                pkt.data.clear();
                pkt.data.extend_from_slice(bytes);
                pkt.ts = iface.ts(hi, lo);
                pkt.orig_len = orig;
                NgOutcome::Packet { iface }
            }
            Block::Unknown(_) => NgOutcome::UnknownBlock,
            Block::NameResolution(_)
            | Block::InterfaceStatistics(_)
            | Block::SystemdJournalExport(_)
            | Block::DecryptionSecrets(_)
            | Block::ProcessInformation(_)
            | Block::Custom(_) => NgOutcome::Ignored,
        }
    }

    fn resync_ng(
        &mut self,
        offset: u64,
        problem: String,
        section_be: bool,
        n_ifaces: usize,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
    ) -> Result<bool, Error> {
        self.resync_ng_or(offset, problem, section_be, n_ifaces, notices, after, None)
    }

    /// [`Self::resync_ng`], with the notice to give instead when no block
    /// is found (`give_up`).
    #[allow(clippy::too_many_arguments)]
    fn resync_ng_or(
        &mut self,
        offset: u64,
        problem: String,
        section_be: bool,
        n_ifaces: usize,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
        give_up: Option<(CaptureNoticeKind, String)>,
    ) -> Result<bool, Error> {
        // Only blocks that fit the buffer as it is can be verified here.
        let max_len = self.capacity;
        let check = move |d: &[u8], i: usize, eof: bool| -> Cand {
            let more = if eof { Cand::No } else { Cand::NeedMore };
            let Some(type_le) = u32_at(d, i, false) else {
                return more;
            };
            let be = if type_le == SHB_TYPE {
                match u32_at(d, i + 8, false) {
                    Some(BYTE_ORDER_MAGIC) => false,
                    Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                    Some(_) => return Cand::No,
                    None => return more,
                }
            } else {
                section_be
            };
            let (Some(btype), Some(blen)) = (u32_at(d, i, be), u32_at(d, i + 4, be)) else {
                return more;
            };
            if !is_known_block_type(btype)
                || blen < min_block_len(btype)
                || !blen.is_multiple_of(4)
                || blen as usize > max_len
                || blen > max_block_len(btype)
            {
                return Cand::No;
            }
            if btype == EPB_TYPE {
                match u32_at(d, i + 8, be) {
                    Some(if_id) if (if_id as usize) < n_ifaces => {}
                    Some(_) => return Cand::No,
                    None => return more,
                }
            }
            match u32_at(d, i + blen as usize - 4, be) {
                Some(t) if t == blen => Cand::Yes,
                Some(_) => Cand::No,
                None => more,
            }
        };
        self.resync(offset, 4, problem, check, notices, after, give_up)
    }

    // -----------------------------------------------------------------------
    // Resynchronisation

    /// Scans forward from the damaged record at the start of the buffer
    /// (file offset `offset`), `step` bytes at a time, for a position where
    /// `check` trusts the framing again. Records one notice either way
    /// (`give_up`, when given, is the one recorded if nothing is found).
    /// Returns whether reading can go on.
    #[allow(clippy::too_many_arguments)]
    fn resync<F>(
        &mut self,
        offset: u64,
        step: usize,
        problem: String,
        check: F,
        notices: &mut Vec<CaptureNotice>,
        after: Option<PacketIndex>,
        give_up: Option<(CaptureNoticeKind, String)>,
    ) -> Result<bool, Error>
    where
        F: Fn(&[u8], usize, bool) -> Cand,
    {
        let first = step.min(self.reader.data().len());
        self.reader.consume(first);
        let mut scanned = first as u64;
        loop {
            let eof = self.reader.reader_exhausted();
            let full = self.reader.data().len() >= self.capacity;
            let (advance, found) = {
                let data = self.reader.data();
                let mut i = 0;
                let mut result = None;
                while i < data.len() {
                    match check(data, i, eof) {
                        Cand::Yes => {
                            result = Some((i, true));
                            break;
                        }
                        Cand::No => i += step,
                        Cand::NeedMore if i == 0 && full => i += step,
                        Cand::NeedMore => {
                            result = Some((i, false));
                            break;
                        }
                    }
                }
                result.unwrap_or((i.min(data.len()) / step * step, false))
            };
            self.reader.consume(advance);
            scanned += advance as u64;
            if found {
                let at = offset + scanned;
                self.notice(
                    notices,
                    offset,
                    after,
                    CaptureNoticeKind::Corrupt { resumed_at: Some(at) },
                    format!("{problem}; skipped {scanned} bytes (bytes {offset}..{at}) to the next plausible record"),
                );
                return Ok(true);
            }
            if (eof && advance == 0) || scanned >= RESYNC_SCAN_LIMIT || (eof && self.reader.data().len() < step) {
                let rest = match self.remaining() {
                    Some(r) => format!("the rest of the file ({} bytes)", scanned + r),
                    None => "the rest of the file".to_string(),
                };
                let how_far = if eof { "before the end of the file".to_string() } else { format!("in {scanned} bytes") };
                let (kind, message) = give_up.unwrap_or_else(|| {
                    (
                        CaptureNoticeKind::Corrupt { resumed_at: None },
                        format!("{problem}; no plausible record found {how_far}: {rest} ignored"),
                    )
                });
                self.notice(notices, offset, after, kind, message);
                return Ok(false);
            }
            if !eof && self.reader.refill().is_err() {
                return Err(self.io_failure());
            }
        }
    }
}

pub(super) fn unsupported_message(linktype: LinkType, interface: u32, packets: u64) -> String {
    let s = if packets == 1 { "" } else { "s" };
    format!("link type {linktype} is not supported; {packets} packet{s} of interface {interface} skipped")
}
