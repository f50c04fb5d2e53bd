//! Drives the stages over a capture: the only module that knows them all and
//! the only one that uses threads.
//!
//! The reader (the calling thread) reads records, decodes them to TCP
//! segments and numbers connections with the flow table, in capture order.
//! Segments are cut into batches; each batch is split by connection over
//! the shards (one per thread, or a few per thread when there are several,
//! for balance; a connection always goes to the same shard, so its state
//! never crosses threads), and the shards run in parallel with rayon while
//! the reader prepares the next batch. Each shard's output is tagged
//! with the packet that produced it; merging by that tag gives the same
//! output order for any thread count.
//!
//! Memory is bounded by the work in flight: a connection's state is dropped
//! as soon as it ends (RST, or FIN both ways), or when the flow table
//! evicts it; records leave through the sink as each batch completes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::capture::{CaptureNotice, CaptureReader};
use crate::decode::{Decoded, decode_packet};
use crate::error::Error;
use crate::flow::{FlowTable, ReassemblyConfig, SegmentIn, Side, StreamEvent, TcpStreamPair};
use crate::model::{ConnId, Endpoint, PacketIndex, Timestamp};
use crate::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};
use crate::session::{OPENER, RESPONDER, Session, SessionConfig, TcpTotals};

/// What the analysis needs to know.
#[derive(Clone, Debug)]
pub struct AnalysisOptions {
    /// Worker shards (1 = everything on one thread).
    pub threads: usize,
    /// Segments per batch handed to the shards.
    pub batch: usize,
    pub session: SessionConfig,
    pub reassembly: ReassemblyConfig,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch: 4096,
            session: SessionConfig::default(),
            reassembly: ReassemblyConfig::default(),
        }
    }
}

/// Capture-level totals.
#[derive(Clone, Debug, Default)]
pub struct AnalysisStats {
    pub files: Vec<PathBuf>,
    pub packets: u64,
    pub tcp_segments: u64,
    /// Packets that were not TCP or could not be decoded, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// TCP connections seen (the `tcp.stream` count).
    pub tcp_connections: u64,
    pub notices: Vec<CaptureNotice>,
    pub bytes_read: u64,
}

/// Called between batches with the totals so far (for a progress bar).
pub trait Progress {
    fn update(&mut self, _bytes_read: u64, _bytes_total: u64, _packets: u64, _open_connections: usize) {}
}

impl Progress for () {}

/// A record and where it belongs in the output order.
#[derive(Debug)]
enum Record {
    Connection(Box<ConnectionRecord>),
    Frame(FrameRecord),
    Message(MessageRecord),
    Close(CloseRecord),
    Violation(ViolationRecord),
    Finding(Finding),
}

/// Output order: packet that produced the record, then connection, then
/// production order.
type Key = (PacketIndex, ConnId, u32);

/// What the reader hands to a shard.
#[derive(Debug)]
enum Job {
    /// The flow table saw a connection's first segment (the `Segment` job
    /// that follows). The endpoints travel once per connection, not with
    /// every segment: they are most of a segment job's size, and the job
    /// lists are part of the memory peak.
    Open { conn: ConnId, first: Box<Opening> },
    Segment {
        conn: ConnId,
        from_opener: bool,
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        fin: bool,
        rst: bool,
        missing_len: u32,
        /// Range of the payload in the batch's byte arena.
        payload: (usize, usize),
        packet: PacketIndex,
        ts: Timestamp,
    },
    /// The flow table is done with this connection (evicted or superseded
    /// by port reuse): flush it.
    Finish { conn: ConnId, packet: PacketIndex },
}

/// A connection's endpoints, opener first, and its first packet.
#[derive(Debug)]
struct Opening {
    opener: Endpoint,
    responder: Endpoint,
    packet: PacketIndex,
    ts: Timestamp,
}

/// A batch of segments: the jobs in capture order, which of them each
/// shard runs, and one arena with the payloads of them all. One job list
/// and one arena, not one per shard: the shards only read them, and
/// per-shard buffers each grow to the largest share any batch ever gave
/// that shard (a burst of evictions, a run of segments of one busy
/// connection), which multiplies the memory by the shard count and makes it
/// creep up with the capture's length.
#[derive(Debug)]
struct Batch {
    jobs: Vec<Job>,
    /// Per shard, indices into `jobs`, ascending.
    routes: Vec<Vec<u32>>,
    bytes: Vec<u8>,
}

impl Batch {
    fn new(shards: usize) -> Batch {
        // A batch stops once it holds `BATCH_BYTES`, so it may exceed that
        // by one record; the spare capacity is never touched unless used.
        let bytes = Vec::with_capacity(BATCH_BYTES + crate::capture::MAX_CAPLEN as usize);
        Batch { jobs: Vec::new(), routes: (0..shards).map(|_| Vec::new()).collect(), bytes }
    }

    fn clear(&mut self) {
        self.jobs.clear();
        for r in &mut self.routes {
            r.clear();
        }
        self.bytes.clear();
    }

    /// Appends `job` to the jobs of the shard owning `conn`.
    fn push(&mut self, conn: ConnId, job: Job) {
        let shards = self.routes.len().max(1) as u64;
        let Ok(index) = u32::try_from(self.jobs.len()) else { return };
        if let Some(route) = usize::try_from(conn % shards).ok().and_then(|s| self.routes.get_mut(s)) {
            route.push(index);
            self.jobs.push(job);
        }
    }
}

/// A connection being analyzed on a shard.
struct Conn {
    pair: TcpStreamPair,
    session: Session,
}

/// Per-shard state: the connections it owns and its output buffer.
struct Shard {
    /// Boxed: the table grows to the most connections ever open at once
    /// and does not shrink; empty slots of a few bytes, not a few KiB.
    conns: HashMap<ConnId, Box<Conn>, foldhash::fast::RandomState>,
    /// Connections already finished (or not WebSocket) whose later packets
    /// are ignored until the flow table forgets them.
    retired: HashSet<ConnId, foldhash::fast::RandomState>,
    out: Vec<(Key, Record)>,
    opts: AnalysisOptions,
}

/// Collects a shard's records with their order key.
struct Tagger<'a> {
    out: &'a mut Vec<(Key, Record)>,
    packet: PacketIndex,
    conn: ConnId,
    seq: u32,
}

impl Tagger<'_> {
    fn push(&mut self, r: Record) {
        self.out.push(((self.packet, self.conn, self.seq), r));
        self.seq += 1;
    }
}

impl RecordSink for Tagger<'_> {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.push(Record::Connection(Box::new(rec)));
    }
    fn frame(&mut self, rec: FrameRecord) {
        self.push(Record::Frame(rec));
    }
    fn message(&mut self, rec: MessageRecord) {
        self.push(Record::Message(rec));
    }
    fn close(&mut self, rec: CloseRecord) {
        self.push(Record::Close(rec));
    }
    fn violation(&mut self, rec: ViolationRecord) {
        self.push(Record::Violation(rec));
    }
    fn finding(&mut self, rec: Finding) {
        self.push(Record::Finding(rec));
    }
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Opener => OPENER,
        Side::Responder => RESPONDER,
    }
}

impl Shard {
    fn new(opts: AnalysisOptions) -> Shard {
        Shard { conns: HashMap::default(), retired: HashSet::default(), out: Vec::new(), opts }
    }

    /// Runs the jobs at `route` (this shard's share of the batch).
    fn run(&mut self, route: &[u32], jobs: &[Job], arena: &[u8]) {
        for job in route.iter().filter_map(|&i| jobs.get(i as usize)) {
            match *job {
                Job::Open { conn, ref first } => {
                    let session = Session::new(conn, first.opener, first.responder, first.packet, first.ts, self.opts.session);
                    let pair = TcpStreamPair::new(self.opts.reassembly);
                    self.conns.insert(conn, Box::new(Conn { pair, session }));
                }
                Job::Segment { conn, from_opener, seq, ack, syn, fin, rst, missing_len, payload, packet, ts } => {
                    if self.retired.contains(&conn) {
                        continue;
                    }
                    let bytes = arena.get(payload.0..payload.1).unwrap_or_default();
                    let seg = SegmentIn { seq, ack, syn, fin, rst, payload: bytes, missing_len, packet, ts };
                    self.segment(conn, from_opener, &seg);
                }
                Job::Finish { conn, packet } => {
                    self.retired.remove(&conn);
                    if let Some(c) = self.conns.remove(&conn) {
                        self.finish(conn, c, packet);
                    }
                }
            }
        }
    }

    fn segment(&mut self, conn: ConnId, from_opener: bool, seg: &SegmentIn<'_>) {
        // Every connection id starts with its `Open` job and is retired
        // when removed, until its `Finish`; after that the flow table never
        // hands the id out again.
        let Some(c) = self.conns.get_mut(&conn) else {
            debug_assert!(false, "segment for connection {conn} before its Open job");
            return;
        };
        let side = if from_opener { OPENER } else { RESPONDER };
        c.session.packet(seg.packet, seg.ts);
        if seg.syn {
            c.session.syn(side, seg.ack.is_some());
        }
        let mut tag = Tagger { out: &mut self.out, packet: seg.packet, conn, seq: 0 };
        let session = &mut c.session;
        c.pair.segment(from_opener, seg, &mut |s, ev| deliver(session, side_index(s), ev, &mut tag));
        if c.session.is_done() {
            // Not WebSocket: no need to follow it further.
            self.conns.remove(&conn);
            self.retired.insert(conn);
        } else if c.pair.is_closed() {
            if let Some(c) = self.conns.remove(&conn) {
                self.finish(conn, c, seg.packet);
            }
            self.retired.insert(conn);
        }
    }

    fn finish(&mut self, conn: ConnId, mut c: Box<Conn>, packet: PacketIndex) {
        let mut tag = Tagger { out: &mut self.out, packet, conn, seq: 0 };
        let session = &mut c.session;
        c.pair.finish(&mut |s, ev| deliver(session, side_index(s), ev, &mut tag));
        let totals = Side::BOTH.map(|s| {
            let st = c.pair.stats(s);
            TcpTotals { captured: st.bytes_captured, not_delivered: st.bytes_captured.saturating_sub(st.bytes_delivered) }
        });
        c.session.finish(totals, &mut tag);
    }

    /// End of capture: flush every open connection, in connection order.
    fn finish_all(&mut self) {
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(c) = self.conns.remove(&id) {
                self.finish(id, c, PacketIndex::MAX);
            }
        }
        self.retired.clear();
    }
}

/// Hands one reassembly event to the session.
fn deliver(session: &mut Session, side: usize, ev: StreamEvent<'_>, out: &mut dyn RecordSink) {
    match ev {
        StreamEvent::Data { offset, bytes, packet, ts } => session.data(side, offset, bytes, packet, ts, out),
        StreamEvent::Gap { offset, len, packet, ts, reason } => session.gap(side, offset, len, packet, ts, reason.as_str(), out),
        StreamEvent::Fin { packet, ts, .. } => session.fin(side, packet, ts),
        StreamEvent::Rst { packet, ts } => session.rst(side, packet, ts),
        StreamEvent::OverlapConflict { offset, len, packet, ts, first_packet } => {
            session.overlap_conflict(side, offset, len, packet, ts, first_packet)
        }
    }
}

/// Analyzes the capture files as one capture, sending records to `sink` in
/// a deterministic order.
pub fn analyze(
    paths: &[PathBuf],
    opts: &AnalysisOptions,
    sink: &mut dyn RecordSink,
    progress: &mut dyn Progress,
) -> Result<AnalysisStats, Error> {
    let threads = opts.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Output { path: PathBuf::from("<threads>"), message: e.to_string() })?;
    let mut reader = CaptureReader::open(paths)?;
    let mut rs = ReaderState {
        table: FlowTable::default(),
        stats: AnalysisStats { files: paths.to_vec(), ..AnalysisStats::default() },
        evicted: Vec::new(),
        last_expire: Timestamp::default(),
    };
    let shard_count = if threads == 1 { 1 } else { threads * SHARDS_PER_THREAD };
    let mut shards: Vec<Shard> = (0..shard_count).map(|_| Shard::new(opts.clone())).collect();
    let mut eof = false;

    // Three things overlap: the reader fills one set of batches, the
    // shards analyze the other, and this thread hands the records of the
    // batch before to the sink (which need not be `Send`). The two sets are
    // reused, so their buffers are allocated once.
    let mut batch = Batch::new(shard_count);
    read_batch(&mut reader, &mut rs, &mut batch, opts.batch, &mut eof)?;
    let mut spare = Batch::new(shard_count);
    let mut records: Vec<Vec<(Key, Record)>> = (0..shard_count).map(|_| Vec::new()).collect();
    loop {
        let current = batch;
        let mut fill = spare;
        let done_reading = eof;
        let mut read = Ok(());
        pool.in_place_scope(|scope| {
            if !done_reading {
                let (reader, rs, fill, eof, read) = (&mut reader, &mut rs, &mut fill, &mut eof, &mut read);
                scope.spawn(move |_| *read = read_batch(reader, rs, fill, opts.batch, eof));
            }
            let (shards, current) = (&mut shards, &current);
            scope.spawn(move |_| {
                let arena = current.bytes.as_slice();
                let jobs = current.jobs.as_slice();
                shards.par_iter_mut().zip(current.routes.par_iter()).for_each(|(shard, route)| shard.run(route, jobs, arena));
            });
            emit(&mut records, sink);
        });
        collect(&mut shards, &mut records);
        progress.update(reader.bytes_read(), reader.total_bytes(), rs.stats.packets, shards.iter().map(|s| s.conns.len()).sum());
        read?;
        spare = current;
        batch = fill;
        if done_reading {
            break;
        }
    }
    emit(&mut records, sink);
    pool.install(|| shards.par_iter_mut().for_each(Shard::finish_all));
    collect(&mut shards, &mut records);
    emit(&mut records, sink);
    let mut stats = rs.stats;
    stats.tcp_connections = rs.table.connections_seen();
    stats.notices = reader.notices().to_vec();
    stats.bytes_read = reader.bytes_read();
    Ok(stats)
}

/// Shards per pool thread when there is more than one. One batch round
/// runs the reader's job and every shard's job on the pool; with one shard
/// per thread, the thread that read waits for a whole shard to be free and
/// the other idles at the end of the round. Smaller units let the two
/// balance.
const SHARDS_PER_THREAD: usize = 4;

/// What the reader thread keeps between batches.
struct ReaderState {
    table: FlowTable,
    stats: AnalysisStats,
    evicted: Vec<ConnId>,
    /// Capture time of the last flow-table expiry.
    last_expire: Timestamp,
}

/// Payload bytes per batch (all shards together).
const BATCH_BYTES: usize = 2 << 20;

/// Reads up to `batch` TCP segments and splits them over the shards'
/// batches (cleared first, their buffers kept).
fn read_batch(reader: &mut CaptureReader, rs: &mut ReaderState, out: &mut Batch, batch: usize, eof: &mut bool) -> Result<(), Error> {
    let ReaderState { table, stats, evicted, last_expire } = rs;
    out.clear();
    let mut segments = 0;
    // Batches end at a segment count or a payload size, whichever comes
    // first: two sets are in flight (one read, one analyzed), and their
    // payload copies are part of the memory peak.
    while segments < batch && out.bytes.len() < BATCH_BYTES {
        let Some(pkt) = reader.next_packet()? else {
            *eof = true;
            break;
        };
        stats.packets += 1;
        let tcp = match decode_packet(pkt.linktype, &pkt.data) {
            Decoded::Tcp(t) => t,
            Decoded::Skipped(reason) => {
                *stats.skipped.entry(reason.id().to_string()).or_default() += 1;
                continue;
            }
        };
        stats.tcp_segments += 1;
        segments += 1;
        let seg = SegmentIn {
            seq: tcp.seq,
            ack: tcp.flags.ack.then_some(tcp.ack),
            syn: tcp.flags.syn,
            fin: tcp.flags.fin,
            rst: tcp.flags.rst,
            payload: tcp.payload,
            missing_len: tcp.missing_len,
            packet: pkt.index,
            ts: pkt.ts,
        };
        let hit = table.lookup(tcp.src, tcp.dst, &seg);
        if let Some(old) = hit.superseded {
            out.push(old, Job::Finish { conn: old, packet: pkt.index });
        }
        if hit.new {
            let (opener, responder) = if hit.from_opener { (tcp.src, tcp.dst) } else { (tcp.dst, tcp.src) };
            let first = Box::new(Opening { opener, responder, packet: pkt.index, ts: pkt.ts });
            out.push(hit.conn, Job::Open { conn: hit.conn, first });
        }
        let start = out.bytes.len();
        out.bytes.extend_from_slice(tcp.payload);
        let payload = (start, out.bytes.len());
        out.push(
            hit.conn,
            Job::Segment {
                conn: hit.conn,
                from_opener: hit.from_opener,
                seq: seg.seq,
                ack: seg.ack,
                syn: seg.syn,
                fin: seg.fin,
                rst: seg.rst,
                missing_len: seg.missing_len,
                payload,
                packet: pkt.index,
                ts: pkt.ts,
            },
        );
        let (index, ts) = (pkt.index, pkt.ts);
        // Eviction works in minutes; checking once per second of capture
        // time (or if the clock goes back) is plenty and keeps it off the
        // per-packet path.
        if ts.as_nanos().abs_diff(last_expire.as_nanos()) >= 1_000_000_000 {
            *last_expire = ts;
            table.expire(ts, evicted);
        }
        for conn in evicted.drain(..) {
            out.push(conn, Job::Finish { conn, packet: index });
        }
    }
    Ok(())
}

/// Takes each shard's output (sorted by key) as one run of `runs`, which
/// must have been emitted (emptied) first: the vectors are swapped, so their
/// buffers go back and forth without copying a record.
fn collect(shards: &mut [Shard], runs: &mut [Vec<(Key, Record)>]) {
    for (s, run) in shards.iter_mut().zip(runs.iter_mut()) {
        debug_assert!(run.is_empty());
        std::mem::swap(&mut s.out, run);
        // A shard produces in key order but for the connections the flow
        // table evicts at a packet, which may sort before that packet's own
        // connection. A stable sort restores the order (and only checks
        // when nothing is out of place).
        if !run.is_sorted_by_key(|(k, _)| *k) {
            run.sort_by_key(|(k, _)| *k);
        }
    }
}

/// Hands the runs' records to the sink in key order: a merge of the
/// sorted runs (ties go to the earlier shard, as a stable sort of the runs
/// concatenated would order them), leaving the runs empty. The merge order
/// is worked out on the keys first, so each record is moved once, straight
/// to the sink.
fn emit(runs: &mut [Vec<(Key, Record)>], sink: &mut dyn RecordSink) {
    let mut order: Vec<usize> = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    let mut pos = vec![0usize; runs.len()];
    loop {
        let mut first: Option<(usize, &Key)> = None;
        for (i, run) in runs.iter().enumerate() {
            if let Some((k, _)) = pos.get(i).and_then(|&p| run.get(p))
                && first.is_none_or(|(_, f)| k < f)
            {
                first = Some((i, k));
            }
        }
        let Some((i, _)) = first else { break };
        order.push(i);
        if let Some(p) = pos.get_mut(i) {
            *p += 1;
        }
    }
    let mut drains: Vec<std::vec::Drain<'_, (Key, Record)>> = runs.iter_mut().map(|r| r.drain(..)).collect();
    for i in order {
        let Some((_, r)) = drains.get_mut(i).and_then(Iterator::next) else { continue };
        match r {
            Record::Connection(c) => sink.connection(*c),
            Record::Frame(f) => sink.frame(f),
            Record::Message(m) => sink.message(m),
            Record::Close(c) => sink.close(c),
            Record::Violation(v) => sink.violation(v),
            Record::Finding(f) => sink.finding(f),
        }
    }
}
