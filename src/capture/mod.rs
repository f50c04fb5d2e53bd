//! Capture input: pcap and pcapng files read as one stream of packets.
//!
//! Owns: [`CaptureReader`] (several files merged in time order, packet
//! numbering), [`Packet`] (one captured record, owned bytes),
//! [`CaptureNotice`] (damage found in a file, reported as data), and
//! [`LinkType`].
//! May import: std, pcap-parser, `crate::model`, `crate::error`.
//! Must not import: etherparse, or any later stage (`decode`, `flow`, ...):
//! this module knows nothing of the bytes inside a packet.
//!
//! Files are streamed, never loaded whole: each open file has one read
//! buffer (1 MiB; a pcapng block larger than that is damage, or skipped as
//! it streams past when its content is not used, up to [`MAX_BLOCK_LEN`]).
//! Formats: pcap with microsecond or nanosecond
//! timestamps in either byte order, and the "modified" pcap variant
//! (draft-ietf-opsawg-pcap); pcapng with any number of sections and
//! interfaces, each interface with its own link type, `if_tsresol` and
//! `if_tsoffset`, and Enhanced, Simple and obsolete Packet Blocks
//! (draft-ietf-opsawg-pcapng).
//!
//! Several files are one capture: packets are merged in timestamp order
//! like `mergecap` (ties go to the earlier file in the list; within one
//! file, packets keep file order even when timestamps go backwards), and
//! numbered 1, 2, ... in that merged order. For a single file the numbers
//! are Wireshark's `frame.number`.
//!
//! Damage is never an `Err`: a record cut at the end of the file, a corrupt
//! record or block, a packet of an unsupported link type each give a
//! [`CaptureNotice`] (file, byte offset, what was lost), and reading goes on
//! where the format allows. `Err` means the input cannot be read at all:
//! a file that cannot be opened, is not pcap/pcapng, or an I/O error.

mod file;
mod linktype;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::path::{Path, PathBuf};

use file::{BUFFER_CAPACITY, FileReader};
pub use file::{MAX_BLOCK_LEN, MAX_CAPLEN};
pub use linktype::LinkType;

use crate::error::Error;
use crate::model::{PacketIndex, Timestamp};

/// One captured packet as the file holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    /// 1-based number across all input, in merged order (Wireshark's
    /// `frame.number` for a single file).
    pub index: PacketIndex,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts: Timestamp,
    /// The link-layer header type the bytes start with.
    pub linktype: LinkType,
    /// The captured bytes (`caplen` of them).
    pub data: Vec<u8>,
    /// Length of the packet on the wire; more than `data.len()` when the
    /// snapshot length cut it.
    pub orig_len: u32,
    /// Index of the file in the list given to [`CaptureReader::open`].
    pub file: usize,
    /// Byte offset of the record (pcap) or block (pcapng) in its file.
    pub offset: u64,
    /// Interface number in the file (pcapng; numbered across sections like
    /// Wireshark's `frame.interface_id`); always 0 for pcap.
    pub interface: u32,
}

/// What kind of damage or limitation a [`CaptureNotice`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureNoticeKind {
    /// The file ends inside a record or block: everything before it was
    /// read, the partial record is dropped.
    Truncated,
    /// A record or block could not be trusted. `resumed_at` is the byte
    /// offset where reading went on (after the block, or at the next
    /// plausible record found by scanning); `None` if the rest of the file
    /// was given up.
    Corrupt { resumed_at: Option<u64> },
    /// A pcapng packet block names an interface its section never
    /// described; the block is skipped.
    UnknownInterface,
    /// Packets of an interface whose link type `decode` does not
    /// understand. They are still returned by the reader; `packets` counts
    /// them (final once the file has been read to its end).
    UnsupportedLinkType { linktype: LinkType, interface: u32, packets: u64 },
}

impl CaptureNoticeKind {
    /// Stable snake_case identifier, for counting and machine output.
    pub const fn id(&self) -> &'static str {
        match self {
            CaptureNoticeKind::Truncated => "truncated",
            CaptureNoticeKind::Corrupt { .. } => "corrupt",
            CaptureNoticeKind::UnknownInterface => "unknown_interface",
            CaptureNoticeKind::UnsupportedLinkType { .. } => "unsupported_link_type",
        }
    }
}

/// Damage found while reading a capture file. Displays as
/// `capture.pcap: byte 123456: truncated record: header says 1514 bytes,
/// 200 left in file (capture cut while writing?)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureNotice {
    /// The file, as given to [`CaptureReader::open`].
    pub file: PathBuf,
    /// Byte offset of the damaged record or block in that file.
    pub offset: u64,
    /// The last packet of this file handed out before the damage, if any.
    pub after_packet: Option<PacketIndex>,
    pub kind: CaptureNoticeKind,
    /// What happened and what was lost, in words.
    pub message: String,
}

impl fmt::Display for CaptureNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: byte {}: {}", self.file.display(), self.offset, self.message)
    }
}

/// At most this many files are kept open from the start; with more, each
/// file is opened only when the merge reaches its first packet and closed at
/// its end (a rotated `tcpdump -C` set then keeps one or two open).
const KEEP_OPEN: usize = 8;

enum SourceState {
    /// Not open yet; its first packet's timestamp is its key in the heap.
    Pending,
    Active(Box<FileReader>),
    /// Read to the end (or given up); `bytes` counts as read.
    Done {
        bytes: u64,
    },
}

/// One input file in the merge.
struct Source {
    path: PathBuf,
    state: SourceState,
    /// The file's next packet, once read; reused for every packet.
    head: Packet,
    /// Index of the last packet of this file handed out.
    last_index: Option<PacketIndex>,
}

/// Reads one or more capture files as a single time-ordered packet stream.
///
/// ```no_run
/// # fn main() -> Result<(), wsforensics::error::Error> {
/// use wsforensics::capture::CaptureReader;
/// let mut reader = CaptureReader::open(&["a.pcap".into(), "b.pcapng".into()])?;
/// while let Some(pkt) = reader.next_packet()? {
///     println!("{} {} {} bytes", pkt.index, pkt.ts, pkt.data.len());
/// }
/// for notice in reader.notices() {
///     eprintln!("{notice}");
/// }
/// # Ok(()) }
/// ```
pub struct CaptureReader {
    paths: Vec<PathBuf>,
    sources: Vec<Source>,
    /// Sources with a known next timestamp: (timestamp, file index), min
    /// first, so ties go to the earlier file.
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// The source whose head was handed out last; it is advanced at the
    /// next call.
    current: Option<usize>,
    next_index: PacketIndex,
    notices: Vec<CaptureNotice>,
    total_bytes: u64,
    unknown_blocks_done: u64,
}

impl CaptureReader {
    /// Opens every file and reads its header. `Err` if a file cannot be
    /// opened or is not a pcap/pcapng capture at all (the message names the
    /// file and what was found, e.g. the magic bytes). Damage further in is
    /// reported by [`notices`](Self::notices).
    pub fn open(paths: &[PathBuf]) -> Result<CaptureReader, Error> {
        Self::open_with(paths, KEEP_OPEN)
    }

    fn open_with(paths: &[PathBuf], keep_open: usize) -> Result<CaptureReader, Error> {
        let mut r = CaptureReader {
            paths: paths.to_vec(),
            sources: Vec::with_capacity(paths.len()),
            heap: BinaryHeap::with_capacity(paths.len()),
            current: None,
            next_index: 0,
            notices: Vec::new(),
            total_bytes: 0,
            unknown_blocks_done: 0,
        };
        let lazy = paths.len() > keep_open;
        for (i, path) in paths.iter().enumerate() {
            let mut reader = FileReader::open(path, i, BUFFER_CAPACITY)?;
            let size = reader.size().unwrap_or(0);
            r.total_bytes += size;
            let mut head = Packet::default();
            if lazy {
                // Probe for the first timestamp, then close; the file is
                // read again (with its notices) when the merge reaches it.
                let mut scratch = Vec::new();
                let key = if reader.read_packet(&mut head, &mut scratch, None)? {
                    head.ts
                } else {
                    // No packet: open it first, to collect its notices.
                    Timestamp(i64::MIN)
                };
                r.heap.push(Reverse((key, i)));
                r.sources.push(Source { path: path.clone(), state: SourceState::Pending, head: Packet::default(), last_index: None });
            } else {
                r.sources.push(Source { path: path.clone(), state: SourceState::Active(Box::new(reader)), head, last_index: None });
                r.advance(i)?;
            }
        }
        Ok(r)
    }

    /// The next packet in merged time order, or `None` at the end of all
    /// input. The packet is valid until the next call. `Err` only for I/O
    /// errors.
    pub fn next_packet(&mut self) -> Result<Option<&Packet>, Error> {
        if let Some(i) = self.current.take() {
            self.advance(i)?;
        }
        loop {
            let Some(Reverse((_, i))) = self.heap.pop() else {
                self.finish();
                return Ok(None);
            };
            let pending = match self.sources.get(i).map(|s| &s.state) {
                Some(SourceState::Pending) => true,
                Some(SourceState::Active(_)) => false,
                _ => continue,
            };
            if pending {
                if let Some(src) = self.sources.get_mut(i) {
                    let reader = FileReader::open(&src.path, i, BUFFER_CAPACITY)?;
                    src.state = SourceState::Active(Box::new(reader));
                    src.head = Packet::default();
                }
                self.advance(i)?;
                continue;
            }
            self.next_index += 1;
            let index = self.next_index;
            if let Some(src) = self.sources.get_mut(i) {
                src.head.index = index;
                src.last_index = Some(index);
            }
            self.current = Some(i);
            return Ok(self.sources.get(i).map(|s| &s.head));
        }
    }

    /// Reads source `i`'s next packet into its head and queues it, or
    /// closes the source at its end.
    fn advance(&mut self, i: usize) -> Result<(), Error> {
        let Some(src) = self.sources.get_mut(i) else {
            return Ok(());
        };
        let SourceState::Active(reader) = &mut src.state else {
            return Ok(());
        };
        if reader.read_packet(&mut src.head, &mut self.notices, src.last_index)? {
            self.heap.push(Reverse((src.head.ts, i)));
        } else {
            reader.finalize_notices(&mut self.notices);
            self.unknown_blocks_done += reader.unknown_blocks();
            let bytes = reader.size().unwrap_or_else(|| reader.position());
            src.state = SourceState::Done { bytes };
            src.head.data = Vec::new();
        }
        Ok(())
    }

    /// Brings the packet counts in unsupported-link-type notices up to date
    /// for files not read to their end (when stopping early). Called
    /// automatically when [`next_packet`](Self::next_packet) returns `None`.
    pub fn finish(&mut self) {
        for src in &self.sources {
            if let SourceState::Active(reader) = &src.state {
                reader.finalize_notices(&mut self.notices);
            }
        }
    }

    /// Damage found so far, in the order it was found.
    pub fn notices(&self) -> &[CaptureNotice] {
        &self.notices
    }

    /// Bytes of input read so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.sources
            .iter()
            .map(|s| match &s.state {
                SourceState::Pending => 0,
                SourceState::Active(r) => r.position(),
                SourceState::Done { bytes } => *bytes,
            })
            .sum()
    }

    /// Total size of the input files (0 for inputs of unknown size, such as
    /// pipes).
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// The input files, in the order given.
    pub fn files(&self) -> &[PathBuf] {
        &self.paths
    }

    /// pcapng blocks of unknown types skipped so far (legal, not damage).
    pub fn unknown_blocks(&self) -> u64 {
        self.unknown_blocks_done
            + self
                .sources
                .iter()
                .map(|s| match &s.state {
                    SourceState::Active(r) => r.unknown_blocks(),
                    _ => 0,
                })
                .sum::<u64>()
    }

    /// The path of input file `file` (as in [`Packet::file`]).
    pub fn file_path(&self, file: usize) -> Option<&Path> {
        self.paths.get(file).map(PathBuf::as_path)
    }
}

#[cfg(test)]
mod tests;
