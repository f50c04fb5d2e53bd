//! Files to blocks: opening (gzip by content), detecting the format on the
//! first bytes, cutting blocks at line boundaries on a reader thread, and
//! parsing blocks in parallel (rayon) in batches, stitched in order. Block
//! buffers go back to the reader once parsed, so a long file reuses the
//! same few buffers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc;

use flate2::bufread::MultiGzDecoder;
use rayon::prelude::*;

use super::group::{self, Block, FileCtx, Stitcher};
use super::{DetectedFormat, Inner, LogEvent, LogFileSummary, LogFormat, LogNotice, LogNoticeKind, LogOptions, Wrapper, header, wrap};
use crate::error::{Error, Result};

/// Bytes sampled for format detection.
const SAMPLE: usize = 64 << 10;
/// The smallest read, and the size of the buffer before the decoder.
const MIN_READ: usize = 64 << 10;

/// A plain or gzip-decoded byte stream.
enum Source<R: BufRead> {
    Plain(R),
    Gzip(Box<MultiGzDecoder<R>>),
}

impl<R: BufRead> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
        }
    }
}

pub(crate) fn read_file(
    index: usize,
    path: &Path,
    opts: &LogOptions,
    sink: &mut dyn FnMut(LogEvent),
    notices: &mut Vec<LogNotice>,
) -> Result<LogFileSummary> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "is a directory, not a log file"),
        });
    }
    Ok(read_source(index, path, file, opts, sink, notices))
}

/// Reads one stream to the end; damage becomes notices.
pub(crate) fn read_source<R: Read + Send>(
    index: usize,
    path: &Path,
    src: R,
    opts: &LogOptions,
    sink: &mut dyn FnMut(LogEvent),
    notices: &mut Vec<LogNotice>,
) -> LogFileSummary {
    // Reads of plain files are at least this large (see `fill_to`): they
    // bypass the buffer instead of being copied through it.
    let mut buffered = BufReader::with_capacity(MIN_READ, src);
    let gzip = matches!(buffered.fill_buf(), Ok([0x1f, 0x8b, ..]));
    let source = if gzip { Source::Gzip(Box::new(MultiGzDecoder::new(buffered))) } else { Source::Plain(buffered) };
    let block_size = opts.block_size.max(1);
    let max_line = opts.max_line.max(64);
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    let mut reader = BlockReader {
        src: source,
        carry: Vec::new(),
        filled: 0,
        eof: false,
        block_size,
        max_line,
        wrapper: None,
        bytes: 0,
        spare: spare_rx,
        failed: None,
    };

    // The format, from the first bytes.
    let mut failure: Option<io::Error> = reader.fill_to(SAMPLE).err();
    let format = detect(reader.pending(), reader.eof, opts.format);
    reader.wrapper = format.wrapper;
    let ctx = FileCtx { file: index, path: path.to_path_buf(), format, tz: opts.tz.0.clone(), reference: opts.reference, max_line };
    if let Inner::Text(shape) = format.inner
        && shape.yearless()
        && opts.reference.is_none()
    {
        notices.push(ctx.notice(
            0,
            0,
            LogNoticeKind::NoYear,
            "timestamps have no year and no reference time was given: their times are left unset".to_string(),
        ));
    }
    let mut stitcher = Stitcher::new();
    let batch = rayon::current_num_threads().max(1) * 2;
    let mut bytes = reader.bytes;
    if failure.is_none() {
        bytes = std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<io::Result<Block>>(batch);
            let producer = scope.spawn(move || {
                loop {
                    match reader.next_block() {
                        Ok(Some(b)) => {
                            if tx.send(Ok(b)).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
                reader.bytes
            });
            let mut done = false;
            while !done {
                let mut blocks = Vec::with_capacity(batch);
                while blocks.len() < batch {
                    match rx.recv() {
                        Ok(Ok(b)) => blocks.push(b),
                        Ok(Err(e)) => {
                            failure = Some(e);
                            done = true;
                            break;
                        }
                        Err(_) => {
                            done = true;
                            break;
                        }
                    }
                }
                let outs: Vec<group::BlockOut> = blocks.par_iter().map(|b| group::parse_block(b, &ctx)).collect();
                for b in blocks {
                    let _ = spare_tx.send(b.data);
                }
                for out in outs {
                    stitcher.push(out, &ctx, sink, notices);
                }
            }
            drop(rx);
            producer.join().unwrap_or(0)
        });
    }
    stitcher.finish(&ctx, sink, notices);
    if let Some(e) = failure {
        let (kind, what) = if gzip { (LogNoticeKind::Decompress, "gzip stream corrupt or cut") } else { (LogNoticeKind::Io, "read error") };
        let at = stitcher.base.max(1);
        notices.push(ctx.notice(at, at, kind, format!("{what} after line {} ({e}): the rest of the file is lost", stitcher.base)));
    }
    LogFileSummary { path: path.to_path_buf(), format, gzip, bytes, lines: stitcher.base, events: stitcher.events }
}

/// Cuts a byte stream into blocks of whole lines.
struct BlockReader<R: Read> {
    src: R,
    /// The bytes read and not yet handed out are `carry[..filled]`; the rest
    /// of `carry` is room for the next reads. That room stays initialized
    /// (buffers are recycled whole), so reading never zeroes memory again.
    carry: Vec<u8>,
    filled: usize,
    eof: bool,
    block_size: usize,
    max_line: usize,
    wrapper: Option<Wrapper>,
    bytes: u64,
    /// Buffers of parsed blocks, to be reused.
    spare: mpsc::Receiver<Vec<u8>>,
    /// A read error, reported once the data read before it is handed out.
    failed: Option<io::Error>,
}

impl<R: Read> BlockReader<R> {
    /// The bytes read and not yet handed out.
    fn pending(&self) -> &[u8] {
        self.carry.get(..self.filled).unwrap_or_default()
    }

    /// Reads until `filled` reaches `target` bytes or the stream ends (a
    /// read error ends it too, and is kept for [`BlockReader::next_block`]).
    fn fill_to(&mut self, target: usize) -> io::Result<()> {
        while !self.eof && self.filled < target {
            let old = self.filled;
            let want = (target - old).clamp(MIN_READ, 4 << 20);
            if self.carry.len() < old + want {
                self.carry.resize(old + want, 0);
            }
            let got = loop {
                match self.src.read(self.carry.get_mut(old..old + want).unwrap_or_default()) {
                    Ok(n) => break Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Err(e),
                }
            };
            match got {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.filled = old + n;
                    self.bytes += n as u64;
                }
                Err(e) => {
                    self.eof = true;
                    self.failed = Some(e);
                }
            }
        }
        Ok(())
    }

    /// Splits the pending bytes at `cut`: the head becomes a block, the tail
    /// moves to a recycled buffer.
    fn take_block(&mut self, cut: usize) -> Block {
        let mut next = self.spare.try_recv().unwrap_or_default();
        let tail = self.carry.get(cut..self.filled).unwrap_or_default();
        next.reserve(self.block_size.saturating_add(4 << 20).min(64 << 20).saturating_sub(next.len()));
        if next.len() < tail.len() {
            next.resize(tail.len(), 0);
        }
        if let Some(dst) = next.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.filled = tail.len();
        Block { data: std::mem::replace(&mut self.carry, next), len: cut, cut_line: None }
    }

    fn next_block(&mut self) -> io::Result<Option<Block>> {
        let mut target = self.block_size;
        loop {
            self.fill_to(target)?;
            if self.filled == 0 {
                return match self.failed.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            // The last newline within the first `block_size` bytes, else the
            // first one after them.
            let pending = self.pending();
            let limit = pending.len().min(self.block_size);
            let head = pending.get(..limit).unwrap_or_default();
            let newline =
                memchr::memrchr(b'\n', head).or_else(|| memchr::memchr(b'\n', pending.get(limit..).unwrap_or_default()).map(|p| p + limit));
            match newline {
                Some(p) => {
                    let Some(w) = self.wrapper else { return Ok(Some(self.take_block(p + 1))) };
                    // Container logs: never cut inside a run of partial lines;
                    // look further (and read more) for a safe cut, up to a limit.
                    let mut end = p + 1;
                    loop {
                        if let Some(cut) = safe_cut(self.pending().get(..end).unwrap_or_default(), w) {
                            return Ok(Some(self.take_block(cut)));
                        }
                        match memchr::memchr(b'\n', self.pending().get(end..).unwrap_or_default()) {
                            Some(q) => end += q + 1,
                            None if self.eof || end > self.max_line + self.block_size => return Ok(Some(self.take_block(end))),
                            None => {
                                let want = self.filled + self.block_size.max(64 << 10);
                                self.fill_to(want)?;
                                if self.filled <= end && !self.eof {
                                    return Ok(Some(self.take_block(end)));
                                }
                            }
                        }
                    }
                }
                None if self.filled > self.max_line => return self.long_line().map(Some),
                None if self.eof => return Ok(Some(self.take_block(self.filled))),
                None => target = (self.filled + self.block_size.max(64 << 10)).min(self.max_line + 1),
            }
        }
    }

    /// A line longer than `max_line` with no newline in sight: keep its
    /// start, skip the rest up to the next newline.
    fn long_line(&mut self) -> io::Result<Block> {
        let mut total = self.filled as u64;
        let len = self.filled.min(self.max_line);
        let kept = std::mem::take(&mut self.carry);
        self.filled = 0;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match self.src.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    self.failed = Some(e);
                    break;
                }
            };
            self.bytes += n as u64;
            let chunk = buf.get(..n).unwrap_or_default();
            match memchr::memchr(b'\n', chunk) {
                Some(p) => {
                    total += p as u64;
                    self.carry.extend_from_slice(chunk.get(p + 1..).unwrap_or_default());
                    self.filled = self.carry.len();
                    break;
                }
                None => total += n as u64,
            }
        }
        Ok(Block { data: kept, len, cut_line: Some(total) })
    }
}

/// For container logs: moves a cut back so that no stream's run of partial
/// lines is split (checks the last 64 lines before the cut); `None` when
/// `data` has no such point.
fn safe_cut(data: &[u8], wrapper: Wrapper) -> Option<usize> {
    let mut end = data.len();
    let mut pos = end;
    let mut seen = [false; 3];
    let mut steps = 0;
    while pos > 0 && steps < 64 {
        let line_end = pos - 1;
        let start = memchr::memrchr(b'\n', data.get(..line_end).unwrap_or_default()).map_or(0, |p| p + 1);
        let line = data.get(start..line_end).unwrap_or_default();
        if let Some((stream, partial)) = wrap::partial_info(line, wrapper) {
            let k = match stream {
                Some(super::Stream::Stdout) => 0,
                Some(super::Stream::Stderr) => 1,
                None => 2,
            };
            if let Some(s) = seen.get_mut(k)
                && !*s
            {
                *s = true;
                if partial {
                    end = start;
                    seen = [false; 3];
                    steps = 0;
                }
            }
        }
        pos = start;
        steps += 1;
    }
    if end == 0 { None } else { Some(end) }
}

/// The format of a file from its first bytes (or the one asked for).
pub(crate) fn detect(sample: &[u8], whole: bool, forced: LogFormat) -> DetectedFormat {
    let mut lines: Vec<&[u8]> = sample.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    if !whole && lines.len() > 1 {
        // The sample may end inside a line.
        lines.pop();
    }
    lines.retain(|l| !l.iter().all(u8::is_ascii_whitespace));
    lines.truncate(400);
    let wrapper = match forced {
        LogFormat::Docker => Some(Wrapper::Docker),
        LogFormat::Cri => Some(Wrapper::Cri),
        LogFormat::Auto => {
            let n = lines.len().clamp(1, 50);
            let docker = lines.iter().take(50).filter(|l| wrap::docker(l).is_some()).count();
            let cri = lines.iter().take(50).filter(|l| wrap::cri(l).is_some()).count();
            if docker * 2 > n {
                Some(Wrapper::Docker)
            } else if cri * 2 > n {
                Some(Wrapper::Cri)
            } else {
                None
            }
        }
        LogFormat::Text | LogFormat::Json => None,
    };
    let inner_lines = group::sample_inner(&lines, wrapper);
    let is_json = |l: &Vec<u8>| l.first() == Some(&b'{') && serde_json::from_slice::<serde_json::Value>(l).is_ok_and(|v| v.is_object());
    let inner = match forced {
        LogFormat::Json => Inner::Json,
        LogFormat::Text => Inner::Text(header::detect(inner_lines.iter().map(Vec::as_slice))),
        _ => {
            let json = inner_lines.iter().take(100).filter(|l| is_json(l)).count();
            if json * 2 > inner_lines.len().clamp(1, 100) {
                Inner::Json
            } else {
                Inner::Text(header::detect(inner_lines.iter().map(Vec::as_slice)))
            }
        }
    };
    DetectedFormat { wrapper, inner }
}
