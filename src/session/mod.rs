//! One TCP connection's analysis: from the two reassembled byte streams to
//! WebSocket records.
//!
//! Owns: deciding which side is the client, finding the HTTP Upgrade
//! handshake (or recognising WebSocket without one), running a frame decoder
//! per direction, assembling messages, tracking closes, and byte accounting.
//! May import: model, http, ws. Must not import: capture, decode, flow
//! internals (the pipeline adapts reassembly events to the calls below),
//! report, rayon.
//!
//! The session is fed in capture order. Sides are named by who sent the
//! connection's first captured packet (`OPENER`) and the other (`RESPONDER`);
//! roles (client/server) are decided from the SYN, else from who sends the
//! HTTP request, else from which side masks its frames, else from the ports.

pub mod diagnosis;
pub mod handshake;
pub mod record;
pub mod verdict;

use crate::http::{self, HeadParse};
use crate::model::{ConnId, Direction, Endpoint, PacketIndex, Timestamp};
use crate::ws::close::CloseBody;
use crate::ws::deflate::DeflateParams;
use crate::ws::rules::{MustFail, PongMatch, PongTracker, Role as RuleRole, Rule, Severity, Violation};
use crate::ws::{DecodedFrame, DecoderConfig, DirectionContext, FrameDecoder, FrameSink, UndecodedRegion, opcode};
use diagnosis::{CloseFacts, MessageSize, diagnose};
use record::{
    ByteAccount, CloseSeen, ConnectionRecord, Finding, FrameRecord, HandshakeInfo, HandshakeState, MessageRecord, RecordSink, Termination,
    ViolationRecord,
};
use verdict::DirectionChecks;

/// Index of the side that sent the connection's first captured packet.
pub const OPENER: usize = 0;
/// Index of the other side.
pub const RESPONDER: usize = 1;

/// Session limits.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    pub decoder: DecoderConfig,
    /// Bytes per side looked at to recognise WebSocket without a handshake
    /// before the connection is judged not to be WebSocket.
    pub probe_limit: usize,
    /// Inflation of one compressed message stops here (`--max-message`).
    pub max_message: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { decoder: DecoderConfig::default(), probe_limit: 64 * 1024, max_message: crate::ws::deflate::DEFAULT_MAX_MESSAGE }
    }
}

/// TCP-level totals for one side, supplied by the reassembler at the end.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpTotals {
    /// Payload bytes of every captured segment, retransmissions included.
    pub captured: u64,
    /// Captured bytes not delivered to the stream (duplicates, conflicting
    /// overlaps, bytes before the stream start or after the FIN).
    pub not_delivered: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing decided yet.
    Probe,
    /// HTTP heads being read.
    Http,
    /// Upgraded: frames both ways.
    Ws,
    /// No handshake: searching both streams for frames.
    Search,
    /// Not WebSocket (or no longer decodable as such).
    NotWs,
}

/// Bytes of one side held while the handshake is read, with the packet of
/// each piece so frames after the handshake keep their packets.
#[derive(Debug, Default)]
struct Pending {
    /// Stream offset of `bytes[0]`.
    offset: u64,
    bytes: Vec<u8>,
    marks: Vec<(usize, PacketIndex, Timestamp)>,
}

impl Pending {
    fn push(&mut self, offset: u64, data: &[u8], packet: PacketIndex, ts: Timestamp) {
        if self.bytes.is_empty() {
            self.offset = offset;
            self.marks.clear();
        }
        self.marks.push((self.bytes.len(), packet, ts));
        self.bytes.extend_from_slice(data);
    }

    /// Drops `n` bytes from the front; returns the packet and time of the
    /// last byte dropped.
    fn consume(&mut self, n: usize) -> Option<(PacketIndex, Timestamp)> {
        let n = n.min(self.bytes.len());
        if n == 0 {
            return None;
        }
        let last = self.marks.partition_point(|m| m.0 < n).checked_sub(1).and_then(|i| self.marks.get(i)).map(|m| (m.1, m.2));
        self.bytes.drain(..n);
        self.offset += n as u64;
        let covering = self.marks.partition_point(|m| m.0 <= n).saturating_sub(1);
        self.marks.drain(..covering);
        for m in &mut self.marks {
            m.0 = m.0.saturating_sub(n);
        }
        last
    }

    /// Pieces of the held bytes with their packets, in order.
    fn pieces(&self) -> impl Iterator<Item = (u64, &[u8], PacketIndex, Timestamp)> {
        let ends = self.marks.iter().skip(1).map(|m| m.0).chain(std::iter::once(self.bytes.len()));
        self.marks.iter().zip(ends).filter_map(move |(&(start, packet, ts), end)| {
            let piece = self.bytes.get(start..end)?;
            (!piece.is_empty()).then_some((self.offset + start as u64, piece, packet, ts))
        })
    }

    fn take(&mut self) -> Pending {
        std::mem::take(self)
    }
}

/// Per-side state.
#[derive(Debug, Default)]
struct SideState {
    pending: Pending,
    /// Boxed: [`Session::decode`] takes it out of the session for every
    /// chunk of data (the sink borrows the session), and moving a pointer
    /// is cheaper than moving the decoder (2% of a run's instructions).
    decoder: Option<Box<FrameDecoder>>,
    /// Protocol checks of the frames this side sends.
    checks: Option<DirectionChecks>,
    /// Pings this side received and has yet to answer.
    pongs: PongTracker,
    /// HTTP bytes (heads and bodies) on this side.
    handshake_bytes: u64,
    /// Body bytes still to skip after a head.
    skip_body: u64,
    /// Bytes counted as undecoded by the session itself (not the decoder).
    undecoded: u64,
    gap: u64,
    /// Bytes given to a searching decoder without finding frames.
    probed: u64,
    frames: u64,
    messages: u64,
    payload_bytes: u64,
    /// A fragmented data message is open: its index.
    /// The data message being assembled, if its last frame is still to come.
    open_message: Option<MessageRecord>,
    next_message: u64,
    close: Option<CloseSeen>,
    fin: Option<(PacketIndex, Timestamp)>,
    /// The largest complete data message or Ping/Pong this side sent so
    /// far, and as it was when the other side sent its Close.
    largest_message: Option<MessageSize>,
    largest_at_peer_close: Option<MessageSize>,
}

/// One connection being analyzed. See the module docs.
#[derive(Debug)]
pub struct Session {
    conn: ConnId,
    ends: [Endpoint; 2],
    cfg: SessionConfig,
    client: Option<usize>,
    roles_from: &'static str,
    phase: Phase,
    sides: [SideState; 2],
    http: HandshakeInfo,
    handshake: Option<HandshakeState>,
    /// The last request asked for WebSocket and awaits its answer.
    awaiting_response: bool,
    upgrade_requested: bool,
    first_packet: PacketIndex,
    last_packet: PacketIndex,
    start_ts: Timestamp,
    end_ts: Timestamp,
    rst: Option<(usize, PacketIndex, Timestamp)>,
    close_initiator: Option<usize>,
    deflate: bool,
    /// The agreed permessage-deflate parameters.
    deflate_params: Option<DeflateParams>,
    /// The last upgrade request, for judging its answer.
    request: Option<http::Request>,
    /// TCP findings (gaps, overlap conflicts) by side, reported at the end
    /// when the connection turns out to be WebSocket.
    tcp_findings: Vec<(usize, Finding)>,
    tcp_findings_dropped: u64,
    /// The last HTTP answer was a 101 that did not switch to WebSocket.
    last_was_101: bool,
    /// Violations so far (up to `MAX_KEPT_VIOLATIONS`), for the diagnosis.
    violations: Vec<ViolationRecord>,
}

/// Violations kept per connection for the close diagnosis; all of them are
/// still reported.
const MAX_KEPT_VIOLATIONS: usize = 256;

/// At most this many TCP findings are kept per connection; the rest are
/// counted in one summary finding.
const MAX_TCP_FINDINGS: usize = 1000;

impl Session {
    /// A session for a connection whose first captured packet went from
    /// `opener` to `responder`.
    pub fn new(conn: ConnId, opener: Endpoint, responder: Endpoint, packet: PacketIndex, ts: Timestamp, cfg: SessionConfig) -> Session {
        Session {
            conn,
            ends: [opener, responder],
            cfg,
            client: None,
            roles_from: "",
            phase: Phase::Probe,
            sides: Default::default(),
            http: HandshakeInfo::default(),
            handshake: None,
            awaiting_response: false,
            upgrade_requested: false,
            first_packet: packet,
            last_packet: packet,
            start_ts: ts,
            end_ts: ts,
            rst: None,
            close_initiator: None,
            deflate: false,
            deflate_params: None,
            request: None,
            tcp_findings: Vec::new(),
            tcp_findings_dropped: 0,
            last_was_101: false,
            violations: Vec::new(),
        }
    }

    /// Whether this connection has shown WebSocket (an upgrade request, or
    /// frames found without one) and so will be reported.
    pub fn is_websocket(&self) -> bool {
        self.upgrade_requested || self.sides.iter().any(|s| s.decoder.as_deref().is_some_and(FrameDecoder::ever_synced))
    }

    /// Whether nothing more needs to be looked at (not WebSocket): the
    /// pipeline may stop feeding data.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::NotWs && !self.is_websocket()
    }

    /// Every captured packet of the connection, for its time span.
    pub fn packet(&mut self, packet: PacketIndex, ts: Timestamp) {
        self.last_packet = self.last_packet.max(packet);
        self.end_ts = self.end_ts.max(ts);
    }

    /// A SYN from `side` (with `ack`: a SYN+ACK). The SYN's sender is the
    /// client (RFC 9293 §3.5).
    pub fn syn(&mut self, side: usize, ack: bool) {
        if self.roles_from != "syn" {
            self.client = Some(if ack { 1 - side } else { side });
            self.roles_from = "syn";
        }
    }

    pub fn fin(&mut self, side: usize, packet: PacketIndex, ts: Timestamp) {
        if let Some(s) = self.sides.get_mut(side) {
            s.fin.get_or_insert((packet, ts));
        }
    }

    pub fn rst(&mut self, side: usize, packet: PacketIndex, ts: Timestamp) {
        self.rst.get_or_insert((side, packet, ts));
    }

    /// `packet` carried bytes that differ from the copy already received.
    pub fn overlap_conflict(&mut self, side: usize, offset: u64, len: u64, packet: PacketIndex, ts: Timestamp, first_packet: PacketIndex) {
        let detail = format!("retransmitted bytes differ from the first copy (packet {first_packet}); the first copy was kept");
        self.keep_tcp_finding(side, "tcp-overlap-conflict", packet, ts, offset, len, detail);
    }

    #[allow(clippy::too_many_arguments)]
    fn keep_tcp_finding(
        &mut self,
        side: usize,
        kind: &'static str,
        packet: PacketIndex,
        ts: Timestamp,
        offset: u64,
        len: u64,
        detail: String,
    ) {
        if self.tcp_findings.len() >= MAX_TCP_FINDINGS {
            self.tcp_findings_dropped += 1;
            return;
        }
        let f = Finding {
            conn_id: Some(self.conn),
            direction: None,
            kind,
            packet: Some(packet),
            ts: Some(ts),
            stream_offset: Some(offset),
            len: Some(len),
            detail,
        };
        self.tcp_findings.push((side & 1, f));
    }

    /// In-order bytes of `side` at stream offset `offset`, carried by `packet`.
    pub fn data(&mut self, side: usize, offset: u64, bytes: &[u8], packet: PacketIndex, ts: Timestamp, out: &mut dyn RecordSink) {
        if side > 1 || bytes.is_empty() {
            return;
        }
        match self.phase {
            Phase::NotWs => self.side(side).undecoded += bytes.len() as u64,
            Phase::Ws | Phase::Search => {
                self.decode(side, out, |d, sink| d.data(offset, bytes, packet, ts, sink));
                if self.phase == Phase::Search {
                    self.check_search_progress(side, bytes.len());
                }
            }
            Phase::Probe | Phase::Http => {
                self.side(side).pending.push(offset, bytes, packet, ts);
                self.advance(out);
            }
        }
    }

    /// Bytes `[offset, offset + len)` of `side` were never captured
    /// (`reason`: why the reassembler gave them up).
    #[allow(clippy::too_many_arguments)]
    pub fn gap(&mut self, side: usize, offset: u64, len: u64, packet: PacketIndex, ts: Timestamp, reason: &str, out: &mut dyn RecordSink) {
        if side > 1 || len == 0 {
            return;
        }
        let detail = format!("{len} bytes never captured ({reason})");
        self.keep_tcp_finding(side, "tcp-gap", packet, ts, offset, len, detail);
        match self.phase {
            Phase::Ws | Phase::Search => self.decode(side, out, |d, sink| d.gap(offset, len, packet, ts, sink)),
            Phase::NotWs => self.side(side).gap += len,
            Phase::Probe | Phase::Http => {
                // A handshake cannot be read across a gap: what is held is
                // lost, and frames must be found without the handshake.
                self.side(side).gap += len;
                let dir = self.dir_of(side);
                let pending = self.side(side).pending.take();
                if !pending.bytes.is_empty() {
                    self.side(side).undecoded += pending.bytes.len() as u64;
                    self.report(
                        out,
                        Some(dir),
                        "handshake-gap",
                        Some(packet),
                        Some(ts),
                        Some(pending.offset),
                        Some(pending.bytes.len() as u64),
                        "HTTP bytes held before a gap could not be parsed",
                    );
                }
                let strict = !self.upgrade_requested;
                self.enter_search_with(out, Some((side, offset + len)), strict);
            }
        }
    }

    /// Ends the session: flushes decoders and emits the connection record
    /// (only for WebSocket connections). `tcp` holds the reassembler's
    /// totals per side.
    pub fn finish(mut self, tcp: [TcpTotals; 2], out: &mut dyn RecordSink) {
        if matches!(self.phase, Phase::Probe | Phase::Http) && self.upgrade_requested {
            // The upgrade was never answered in the capture.
            self.handshake.get_or_insert(HandshakeState::Failed);
        }
        for side in [OPENER, RESPONDER] {
            self.decode(side, out, |d, sink| d.finish(sink));
            if let Some(c) = self.side(side).checks.as_mut() {
                c.finish();
            }
            let held = self.side(side).pending.take();
            if !held.bytes.is_empty() {
                self.side(side).undecoded += held.bytes.len() as u64;
                if self.is_websocket() {
                    let dir = self.dir_of(side);
                    let (packet, ts) = held.marks.first().map_or((None, None), |m| (Some(m.1), Some(m.2)));
                    self.report(
                        out,
                        Some(dir),
                        "undecoded-http",
                        packet,
                        ts,
                        Some(held.offset),
                        Some(held.bytes.len() as u64),
                        "bytes after the last HTTP head that are neither HTTP nor frames",
                    );
                }
            }
        }
        if !self.is_websocket() {
            return;
        }
        for side in [OPENER, RESPONDER] {
            if let Some(m) = self.side(side).open_message.take() {
                out.message(m);
            }
            if let Some(v) = self.unanswered_ping(side) {
                let ts = self.end_ts;
                self.violations_from(out, side, None, v.1, ts, vec![v.0]);
            }
        }
        for (side, mut f) in std::mem::take(&mut self.tcp_findings) {
            f.direction = Some(self.dir_of(side));
            out.finding(f);
        }
        if self.tcp_findings_dropped > 0 {
            let detail = format!("{} more TCP findings on this connection were not listed", self.tcp_findings_dropped);
            self.report(out, None, "tcp-findings-truncated", None, None, None, None, &detail);
        }
        let client = self.client_side();
        let side_of = |dir: Direction| if dir == Direction::ClientToServer { client } else { 1 - client };
        let mut rec = ConnectionRecord {
            conn_id: self.conn,
            community_id: crate::model::community_id(self.ends[OPENER], self.ends[RESPONDER]),
            client: self.ends[client],
            server: self.ends[1 - client],
            roles_from: if self.roles_from.is_empty() { "port" } else { self.roles_from },
            first_packet: self.first_packet,
            last_packet: self.last_packet,
            start_ts: self.start_ts,
            end_ts: self.end_ts,
            handshake: self.handshake.unwrap_or(HandshakeState::Missing),
            http: std::mem::take(&mut self.http),
            frames: [0; 2],
            messages: [0; 2],
            payload_bytes: [0; 2],
            closes: [None, None],
            close_initiator: self.close_initiator.map(|s| self.dir_of(s)),
            termination: Termination::CaptureEnd,
            fin_packet: [None; 2],
            fin_ts: [None; 2],
            rst_packet: self.rst.map(|r| r.1),
            rst_ts: self.rst.map(|r| r.2),
            rst_from: self.rst.map(|r| self.dir_of(r.0)),
            bytes: [ByteAccount::default(); 2],
        };
        for dir in Direction::BOTH {
            let s = side_of(dir);
            let st = &self.sides[s];
            let i = dir.index();
            rec.frames[i] = st.frames;
            rec.messages[i] = st.messages;
            rec.payload_bytes[i] = st.payload_bytes;
            rec.closes[i] = st.close.clone();
            rec.fin_packet[i] = st.fin.map(|f| f.0);
            rec.fin_ts[i] = st.fin.map(|f| f.1);
            let dec = st.decoder.as_deref().map(FrameDecoder::stats).unwrap_or_default();
            rec.bytes[i] = ByteAccount {
                captured: tcp[s].captured,
                handshake: st.handshake_bytes,
                frame_headers: dec.header_bytes,
                frame_payload: dec.payload_bytes,
                undecoded: dec.undecoded_bytes + dec.pending_bytes + st.undecoded,
                duplicate: tcp[s].not_delivered,
                gap: dec.gap_bytes + st.gap,
            };
        }
        rec.termination = match (rec.closes[0].is_some(), rec.closes[1].is_some()) {
            (true, true) => Termination::CloseHandshake,
            (true, false) | (false, true) => Termination::CloseUnanswered,
            _ if rec.rst_packet.is_some() => Termination::Rst,
            _ if rec.fin_packet.iter().any(Option::is_some) => Termination::Fin,
            _ => Termination::CaptureEnd,
        };
        let closes = [rec.closes[0].as_ref(), rec.closes[1].as_ref()];
        let facts = CloseFacts {
            conn_id: self.conn,
            closes,
            initiator: rec.close_initiator,
            violations: &self.violations,
            fin: [0, 1].map(|i| rec.fin_packet[i].zip(rec.fin_ts[i])),
            rst: self.rst.map(|(side, p, ts)| (self.dir_of(side), p, ts)),
            upgrade_failed: (rec.handshake == HandshakeState::Failed).then_some(rec.http.status),
            frames_seen: rec.frames.iter().any(|n| *n > 0),
        };
        let largest = Direction::BOTH.map(|d| self.sides[side_of(d)].largest_at_peer_close);
        let diagnosis = diagnose(&facts, largest);
        for v in diagnosis.violations {
            out.violation(v);
        }
        for f in diagnosis.findings {
            out.finding(f);
        }
        for c in diagnosis.closes {
            out.close(c);
        }
        out.connection(rec);
    }

    fn side(&mut self, side: usize) -> &mut SideState {
        &mut self.sides[side & 1]
    }

    /// The client's side, deciding from the ports if nothing better is known:
    /// the server is the side on a well-known port, else the lower port.
    fn client_side(&self) -> usize {
        self.client.unwrap_or_else(|| {
            let (a, b) = (self.ends[OPENER].port(), self.ends[RESPONDER].port());
            // The opener is the client unless its port looks like the server's.
            if a < b && (a < 1024 || b >= 32768) { RESPONDER } else { OPENER }
        })
    }

    fn dir_of(&self, side: usize) -> Direction {
        if side == self.client_side() { Direction::ClientToServer } else { Direction::ServerToClient }
    }

    fn set_client(&mut self, side: usize, from: &'static str) {
        if self.roles_from != "syn" && self.client.is_none() {
            self.client = Some(side);
            self.roles_from = from;
        }
    }

    /// A Ping `side` received and never answered (§5.5.2: answer "as soon
    /// as is practical", unless a Close came first), judged only where the
    /// capture shows enough: the Ping waited at least a second before the
    /// peer's Close or the end of the connection, and `side` had no reason
    /// to fail the connection instead (a violation by the peer).
    fn unanswered_ping(&self, side: usize) -> Option<(Violation, Option<PacketIndex>)> {
        let (packet, ts) = self.sides[side].pongs.oldest()?;
        let peer_dir = self.dir_of(1 - side);
        if self.violations.iter().any(|v| v.direction == peer_dir && v.rule != Rule::PingUnanswered.id()) {
            return None;
        }
        let ended = self.rst.map(|r| r.2).or(self.sides.iter().filter_map(|s| s.fin.map(|f| f.1)).min());
        let deadline = match (&self.sides[1 - side].close, ended) {
            (Some(c), _) => c.ts,
            (None, Some(t)) => t,
            // Still open when the capture ended: maybe answered later.
            (None, None) => return None,
        };
        if deadline.secs_since(ts) < 1.0 {
            return None;
        }
        let waiting = self.sides[side].pongs.unanswered();
        let detail =
            format!("{waiting} Ping(s) never answered with a Pong; the oldest (packet {packet}) waited {:.3} s", deadline.secs_since(ts));
        Some((Violation::new(Rule::PingUnanswered, detail), Some(packet)))
    }

    /// Reports catalogue violations by `side`'s bytes: breaches of a MUST
    /// become violation records (kept for the close diagnosis), notices
    /// become findings.
    fn violations_from(
        &mut self,
        out: &mut dyn RecordSink,
        side: usize,
        frame_index: Option<u64>,
        packet: Option<PacketIndex>,
        ts: Timestamp,
        found: Vec<Violation>,
    ) {
        let direction = self.dir_of(side);
        for v in found {
            let info = v.rule.info();
            if info.severity != Severity::Violation {
                self.report(out, Some(direction), info.id, packet, Some(ts), None, None, &v.detail);
                continue;
            }
            let rec = ViolationRecord {
                conn_id: self.conn,
                direction,
                frame_index,
                ts,
                packet,
                rule: info.id,
                rfc_section: info.rfc,
                expected_close: info.expected_close,
                detail: v.detail,
            };
            if self.violations.len() < MAX_KEPT_VIOLATIONS {
                self.violations.push(rec.clone());
            }
            out.violation(rec);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        out: &mut dyn RecordSink,
        dir: Option<Direction>,
        kind: &'static str,
        packet: Option<PacketIndex>,
        ts: Option<Timestamp>,
        offset: Option<u64>,
        len: Option<u64>,
        detail: &str,
    ) {
        out.finding(Finding {
            conn_id: Some(self.conn),
            direction: dir,
            kind,
            packet,
            ts,
            stream_offset: offset,
            len,
            detail: detail.to_string(),
        });
    }

    /// Runs `f` on `side`'s decoder with a sink that turns its output into
    /// records.
    fn decode(&mut self, side: usize, out: &mut dyn RecordSink, f: impl FnOnce(&mut FrameDecoder, &mut dyn FrameSink)) {
        let side = side & 1;
        let Some(mut decoder) = self.sides[side].decoder.take() else { return };
        {
            let mut sink = SideSink { session: self, side, out };
            f(&mut decoder, &mut sink);
        }
        self.sides[side].decoder = Some(decoder);
    }

    /// In search mode, gives up on a side that shows no frames after the
    /// probe limit, and on the connection when neither side does.
    fn check_search_progress(&mut self, side: usize, fed: usize) {
        let limit = self.cfg.probe_limit as u64;
        let st = self.side(side);
        if st.decoder.as_deref().is_some_and(FrameDecoder::ever_synced) {
            return;
        }
        st.probed += fed as u64;
        // Give up when every side that sent bytes has shown no frames in
        // `probe_limit` bytes.
        let stalled = |s: &SideState| s.probed >= limit || s.probed == 0;
        if !self.is_websocket() && stalled(&self.sides[OPENER]) && stalled(&self.sides[RESPONDER]) {
            self.phase = Phase::NotWs;
            for s in &mut self.sides {
                s.decoder = None;
            }
        }
    }

    /// Moves the handshake reading forward as far as the held bytes allow.
    fn advance(&mut self, out: &mut dyn RecordSink) {
        loop {
            let progressed = match self.phase {
                Phase::Probe => self.probe(out),
                Phase::Http => self.http_step(out),
                _ => false,
            };
            if !progressed {
                break;
            }
        }
    }

    /// Decides what the connection carries from the first bytes.
    fn probe(&mut self, out: &mut dyn RecordSink) -> bool {
        for side in [OPENER, RESPONDER] {
            let bytes = &self.sides[side].pending.bytes;
            if bytes.is_empty() {
                continue;
            }
            let prefix = bytes.get(..bytes.len().min(16)).unwrap_or_default();
            if http::looks_like_request(prefix) {
                if prefix.len() < 16 && http::head_end(bytes).is_none() {
                    // Too short to be sure; wait for more.
                    return false;
                }
                self.set_client(side, "http-request");
                self.phase = Phase::Http;
                return true;
            }
            if http::looks_like_response(prefix) && self.sides[1 - side].pending.bytes.is_empty() {
                if prefix.len() < 5 {
                    return false;
                }
                // The request was not captured; the answer tells the roles.
                self.set_client(1 - side, "http-response");
                self.phase = Phase::Http;
                return true;
            }
        }
        // Bytes that are not HTTP. With the connection's start captured, a
        // WebSocket connection would have begun with its handshake.
        let any = self.sides.iter().any(|s| !s.pending.bytes.is_empty());
        if any {
            if self.roles_from == "syn" {
                self.phase = Phase::NotWs;
                for s in &mut self.sides {
                    let n = s.pending.take().bytes.len() as u64;
                    s.undecoded += n;
                }
            } else {
                self.enter_search_with(out, None, true);
            }
            return false;
        }
        false
    }

    /// One step of reading HTTP heads.
    fn http_step(&mut self, out: &mut dyn RecordSink) -> bool {
        let client = self.client_side();
        let server = 1 - client;
        // Skip body bytes announced by Content-Length.
        for side in [client, server] {
            let st = self.side(side);
            if st.skip_body > 0 && !st.pending.bytes.is_empty() {
                let n = st.skip_body.min(st.pending.bytes.len() as u64);
                st.pending.consume(n as usize);
                st.skip_body -= n;
                st.handshake_bytes += n;
            }
        }
        if !self.awaiting_response && self.sides[client].skip_body == 0 && !self.sides[client].pending.bytes.is_empty() {
            match http::parse_request(&self.sides[client].pending.bytes) {
                HeadParse::Complete(req) => {
                    let st = self.side(client);
                    let (packet, ts) = st.pending.consume(req.head_len).unzip();
                    st.handshake_bytes += req.head_len as u64;
                    st.skip_body = content_length(&req.headers).unwrap_or(0);
                    self.awaiting_response = true;
                    if req.wants_websocket() {
                        self.upgrade_requested = true;
                        self.record_request(&req, packet, ts);
                        let problems = handshake::check_request(&req);
                        self.violations_from(out, client, None, packet, ts.unwrap_or_default(), problems);
                        self.request = Some(req);
                    }
                    return true;
                }
                HeadParse::Incomplete => {}
                HeadParse::Invalid(why) => {
                    if self.last_was_101 {
                        // After a 101, bytes that are not HTTP are most
                        // likely frames.
                        self.enter_search_with(out, None, false);
                    } else {
                        self.stop_http(out, client, &why);
                    }
                    return false;
                }
            }
        }
        if self.sides[server].skip_body == 0 && !self.sides[server].pending.bytes.is_empty() {
            match http::parse_response(&self.sides[server].pending.bytes) {
                HeadParse::Complete(resp) => {
                    let st = self.side(server);
                    let (packet, ts) = st.pending.consume(resp.head_len).unzip();
                    st.handshake_bytes += resp.head_len as u64;
                    if resp.status != 101 && (100..200).contains(&resp.status) {
                        // 100 Continue and friends: the final answer follows.
                        return true;
                    }
                    self.awaiting_response = false;
                    let answered_upgrade = self.http.request_packet.is_some() && self.http.response_packet.is_none();
                    if answered_upgrade || !self.upgrade_requested && resp.status == 101 {
                        self.record_response(&resp, packet, ts);
                    }
                    if resp.status == 101 {
                        self.upgrade_requested = true;
                        // A request the server had to refuse (§4.2.1), accepted.
                        let client_dir = self.dir_of(client);
                        let accepted: Vec<(&'static str, Option<PacketIndex>)> = self
                            .violations
                            .iter()
                            .filter(|v| {
                                v.direction == client_dir && Rule::from_id(v.rule).is_some_and(|r| r.info().must_fail == MustFail::Server)
                            })
                            .map(|v| (v.rule, v.packet))
                            .collect();
                        for (rule, at) in accepted {
                            let dir = self.dir_of(server);
                            let detail =
                                format!("the server answered 101 to a request it must refuse ({rule}, packet {})", at.unwrap_or_default());
                            self.report(out, Some(dir), "violation-not-answered", packet, ts, None, None, &detail);
                        }
                        let (problems, negotiation) = handshake::check_response(self.request.as_ref(), &resp);
                        self.violations_from(out, server, None, packet, ts.unwrap_or_default(), problems);
                        if resp.headers.has_token("upgrade", "websocket") {
                            self.handshake = Some(HandshakeState::Ok);
                            self.deflate_params = negotiation.params;
                            self.deflate |= negotiation.params.is_some();
                            self.enter_ws(out);
                            return false;
                        }
                        // A 101 to some other protocol (RFC 6455 §4.1 item 2:
                        // the client must fail the connection). What follows
                        // is read as HTTP again, else searched for frames.
                        self.handshake = Some(HandshakeState::Failed);
                        self.last_was_101 = true;
                        return true;
                    }
                    self.last_was_101 = false;
                    if answered_upgrade {
                        self.handshake = Some(HandshakeState::Failed);
                    }
                    match response_body_length(&resp) {
                        Some(n) => self.side(server).skip_body = n,
                        None => {
                            self.stop_http(out, server, "response body without a length: the rest of the connection is not parsed");
                            return false;
                        }
                    }
                    return true;
                }
                HeadParse::Incomplete => {}
                HeadParse::Invalid(why) => {
                    self.stop_http(out, server, &why);
                    return false;
                }
            }
        }
        false
    }

    /// HTTP can no longer be followed on this connection.
    fn stop_http(&mut self, out: &mut dyn RecordSink, side: usize, why: &str) {
        self.phase = Phase::NotWs;
        for s in [OPENER, RESPONDER] {
            let held = self.side(s).pending.take();
            let n = held.bytes.len() as u64;
            self.side(s).undecoded += n;
            if n > 0 && self.upgrade_requested {
                let (packet, ts) = held.marks.first().map_or((None, None), |m| (Some(m.1), Some(m.2)));
                let dir = self.dir_of(s);
                let detail = if s == side { why.to_string() } else { "bytes after the HTTP exchange".to_string() };
                self.report(out, Some(dir), "undecoded-http", packet, ts, Some(held.offset), Some(n), &detail);
            }
        }
    }

    fn record_request(&mut self, req: &http::Request, packet: Option<PacketIndex>, ts: Option<Timestamp>) {
        let h = &req.headers;
        let get = |n: &str| h.get(n).unwrap_or_default();
        self.http = HandshakeInfo {
            method: req.method.clone(),
            path: req.path.clone(),
            host: get("host"),
            origin: get("origin"),
            user_agent: get("user-agent"),
            key: get("sec-websocket-key"),
            version: get("sec-websocket-version"),
            protocols_offered: h.get_joined("sec-websocket-protocol").unwrap_or_default(),
            extensions_offered: h.get_joined("sec-websocket-extensions").unwrap_or_default(),
            request_packet: packet,
            request_ts: ts,
            request_headers: h.clone(),
            ..HandshakeInfo::default()
        };
    }

    fn record_response(&mut self, resp: &http::Response, packet: Option<PacketIndex>, ts: Option<Timestamp>) {
        let h = &resp.headers;
        self.http.status = resp.status;
        self.http.subprotocol = h.get("sec-websocket-protocol").unwrap_or_default();
        self.http.extensions = h.get_joined("sec-websocket-extensions").unwrap_or_default();
        self.http.accept = h.get("sec-websocket-accept").unwrap_or_default();
        self.http.accept_valid =
            (!self.http.key.is_empty() && resp.status == 101).then(|| http::accept_for_key(&self.http.key) == self.http.accept);
        self.http.response_packet = packet;
        self.http.response_ts = ts;
        self.deflate = http::parse_extensions(&self.http.extensions)
            .iter()
            .any(|e| e.name == "permessage-deflate" || e.name == "x-webkit-deflate-frame");
    }

    /// The upgrade succeeded: frames start right after each side's head.
    fn enter_ws(&mut self, out: &mut dyn RecordSink) {
        self.phase = Phase::Ws;
        let client = self.client_side();
        for side in [OPENER, RESPONDER] {
            let ctx = DirectionContext { masked: Some(side == client), rsv1_allowed: self.deflate };
            let cfg = self.cfg.decoder;
            let st = self.side(side);
            // Body bytes still owed by HTTP would be a protocol mix-up; the
            // frames start where the head ended.
            st.skip_body = 0;
            let start = st.pending.offset;
            // `pending.offset` is where this side's next byte goes, whether or
            // not bytes are held.
            st.decoder = Some(Box::new(FrameDecoder::in_sync(cfg, ctx, start)));
        }
        let max = self.cfg.max_message;
        for side in [OPENER, RESPONDER] {
            let sender = if side == client { RuleRole::Client } else { RuleRole::Server };
            let inflate = self.deflate_params.map(|p| p.inflater_config(sender, max));
            let mut checks = DirectionChecks::after_handshake(sender, inflate);
            checks.keep_inflated(self.cfg.decoder.data_keep);
            self.side(side).checks = Some(checks);
        }
        self.replay_pending(out);
    }

    /// No usable handshake: look for frames in both directions.
    /// `gapped`: the side whose handshake bytes were lost in a gap, and the
    /// offset after that gap.
    fn enter_search_with(&mut self, out: &mut dyn RecordSink, gapped: Option<(usize, u64)>, strict: bool) {
        self.phase = Phase::Search;
        let client = self.client;
        for side in [OPENER, RESPONDER] {
            let masked = client.map(|c| c == side);
            let ctx = DirectionContext { masked, rsv1_allowed: true };
            let cfg = self.cfg.decoder;
            let st = self.side(side);
            let start = match gapped {
                Some((s, after)) if s == side => after,
                _ => st.pending.offset,
            };
            st.decoder = Some(Box::new(FrameDecoder::searching(cfg, ctx, start, strict)));
        }
        let max = self.cfg.max_message;
        for side in [OPENER, RESPONDER] {
            let sender = client.map(|c| if c == side { RuleRole::Client } else { RuleRole::Server });
            let mut checks = DirectionChecks::without_handshake(sender, max);
            checks.keep_inflated(self.cfg.decoder.data_keep);
            self.side(side).checks = Some(checks);
        }
        self.replay_pending(out);
    }

    /// Gives the held bytes to the decoders that were just created.
    fn replay_pending(&mut self, out: &mut dyn RecordSink) {
        for side in [OPENER, RESPONDER] {
            let held = self.side(side).pending.take();
            if held.bytes.is_empty() {
                continue;
            }
            for (offset, piece, packet, ts) in held.pieces() {
                self.decode(side, out, |d, sink| d.data(offset, piece, packet, ts, sink));
            }
        }
    }
}

fn content_length(h: &http::Headers) -> Option<u64> {
    h.get("content-length").and_then(|v| v.parse().ok())
}

/// Length of a response body when it can be known from the head (RFC 9112
/// §6.3); `None` for chunked or read-until-close bodies.
fn response_body_length(resp: &http::Response) -> Option<u64> {
    if resp.status == 204 || resp.status == 304 || (100..200).contains(&resp.status) {
        return Some(0);
    }
    if resp.headers.get("transfer-encoding").is_some() {
        return None;
    }
    content_length(&resp.headers)
}

/// Turns one side's decoder output into records.
struct SideSink<'a> {
    session: &'a mut Session,
    side: usize,
    out: &'a mut dyn RecordSink,
}

impl FrameSink for SideSink<'_> {
    fn frame(&mut self, f: DecodedFrame) {
        let s = &mut *self.session;
        if s.client.is_none() && s.phase == Phase::Search {
            // Without a handshake, the side that masks its frames is the
            // client (RFC 6455 §5.1).
            let client = if f.header.mask.is_some() { self.side } else { 1 - self.side };
            s.client = Some(client);
            s.roles_from = "masking";
            for side in [OPENER, RESPONDER] {
                if let Some(d) = s.sides[side].decoder.as_mut() {
                    d.set_context(DirectionContext { masked: Some(side == client), rsv1_allowed: true });
                }
                if let Some(c) = s.sides[side].checks.as_mut() {
                    c.set_sender(if side == client { RuleRole::Client } else { RuleRole::Server });
                }
            }
        }
        let outcome = s.sides[self.side].checks.as_mut().map(|c| c.frame_end(&f)).unwrap_or_default();
        let mut payload_violations = outcome.payload;
        let peer = 1 - self.side;
        match f.header.opcode {
            // §5.5.2-5.5.3: a Ping awaits the peer's Pong echoing it.
            // An invalid Ping (too long, fragmented...) is to be failed, not
            // answered.
            opcode::PING if outcome.header.is_empty() => s.sides[peer].pongs.ping(&f.payload, f.last_packet, f.ts),
            opcode::PONG => {
                if let PongMatch::Mismatch(v) = s.sides[self.side].pongs.pong(&f.payload) {
                    payload_violations.push(v);
                }
            }
            opcode::CLOSE => {
                if let Some(c) = s.sides[peer].checks.as_mut() {
                    c.peer_closed();
                }
            }
            _ => {}
        }
        let dir = s.dir_of(self.side);
        let conn = s.conn;
        let st = &mut s.sides[self.side];
        st.frames += 1;
        st.payload_bytes = st.payload_bytes.saturating_add(f.header.payload_len);
        // Messages (§5.4): a Text/Binary frame opens one, continuations
        // belong to the open one, FIN ends it.
        let message_index = match f.header.opcode {
            opcode::TEXT | opcode::BINARY => {
                if let Some(interrupted) = st.open_message.take() {
                    self.out.message(interrupted);
                }
                let index = st.next_message;
                st.next_message += 1;
                st.open_message = Some(MessageRecord {
                    conn_id: conn,
                    direction: dir,
                    index,
                    opcode: f.header.opcode,
                    frames: 0,
                    payload_len: 0,
                    first_frame: f.index,
                    last_frame: f.index,
                    first_packet: f.first_packet,
                    last_packet: f.last_packet,
                    first_ts: f.first_ts,
                    ts: f.ts,
                    complete: false,
                    compressed: f.header.rsv1,
                    inflated_len: None,
                });
                Some(index)
            }
            opcode::CONTINUATION => st.open_message.as_ref().map(|m| m.index),
            _ => None,
        };
        let text = match f.header.opcode {
            opcode::TEXT => true,
            opcode::CONTINUATION => message_index.is_some() && st.open_message.as_ref().is_some_and(|m| m.opcode == opcode::TEXT),
            _ => false,
        };
        if message_index.is_some()
            && let Some(m) = st.open_message.as_mut()
        {
            m.frames += 1;
            m.payload_len = m.payload_len.saturating_add(f.header.payload_len);
            m.last_frame = f.index;
            m.last_packet = f.last_packet;
            m.ts = f.ts;
            if f.header.fin {
                m.complete = true;
                m.inflated_len = outcome.message_inflated;
                st.messages += 1;
                if st.largest_message.is_none_or(|l| m.payload_len > l.len) {
                    st.largest_message = Some(MessageSize { len: m.payload_len, packet: m.last_packet });
                }
                if let Some(done) = st.open_message.take() {
                    self.out.message(done);
                }
            }
        }
        // A Ping or Pong can be what is too big for a small limit too.
        if matches!(f.header.opcode, opcode::PING | opcode::PONG) && st.largest_message.is_none_or(|l| f.header.payload_len > l.len) {
            st.largest_message = Some(MessageSize { len: f.header.payload_len, packet: f.last_packet });
        }
        let (close_code, close_reason) = if f.header.opcode == opcode::CLOSE {
            let body = CloseBody::parse(&f.payload);
            (body.code(), Some(body.reason_lossy()))
        } else {
            (None, None)
        };
        if f.header.opcode == opcode::CLOSE && st.close.is_none() {
            st.close = Some(CloseSeen {
                code: close_code,
                reason: close_reason.clone().unwrap_or_default(),
                packet: f.last_packet,
                ts: f.ts,
                frame_index: f.index,
            });
            if s.close_initiator.is_none() {
                s.close_initiator = Some(self.side);
            }
            // What the peer had sent when this side closed (a 1009's cause).
            let peer = 1 - self.side;
            s.sides[peer].largest_at_peer_close = s.sides[peer].largest_message;
        }
        self.out.frame(FrameRecord {
            conn_id: conn,
            direction: dir,
            index: f.index,
            header: f.header,
            stream_offset: f.stream_offset,
            first_packet: f.first_packet,
            last_packet: f.last_packet,
            first_ts: f.first_ts,
            ts: f.ts,
            captured_len: f.captured_len,
            gap_len: f.gap_len,
            truncated: f.truncated,
            message_index,
            compressed: outcome.compressed,
            inflated_len: outcome.inflated,
            close_code,
            close_reason,
            payload: f.payload,
            inflated: outcome.inflated_preview,
            text,
        });
        s.violations_from(self.out, self.side, Some(f.index), Some(f.first_packet), f.first_ts, outcome.header);
        s.violations_from(self.out, self.side, Some(f.index), Some(f.last_packet), f.ts, payload_violations);
    }

    fn header(&mut self, header: &crate::ws::FrameHeader, _frame_index: u64) {
        if let Some(c) = self.session.sides[self.side].checks.as_mut() {
            c.header(header);
        }
    }

    fn wants_payload(&self, _header: &crate::ws::FrameHeader) -> bool {
        self.session.sides[self.side].checks.as_ref().is_some_and(DirectionChecks::wants_payload)
    }

    fn payload(&mut self, _header: &crate::ws::FrameHeader, _frame_index: u64, pos: u64, bytes: &[u8]) {
        if let Some(c) = self.session.sides[self.side].checks.as_mut() {
            c.payload(pos, bytes);
        }
    }

    fn undecoded(&mut self, r: UndecodedRegion) {
        let dir = self.session.dir_of(self.side);
        if self.session.is_websocket() || self.session.phase == Phase::Ws {
            self.session.report(
                self.out,
                Some(dir),
                r.reason.as_str(),
                Some(r.first_packet),
                Some(r.ts),
                Some(r.offset),
                Some(r.len),
                "captured bytes that are not part of any frame",
            );
        }
    }

    fn resynced(&mut self, offset: u64, skipped: u64) {
        if let Some(c) = self.session.sides[self.side].checks.as_mut() {
            c.resynced();
        }
        let dir = self.session.dir_of(self.side);
        let detail = format!("frame boundaries found at stream offset {offset} after skipping {skipped} bytes");
        self.session.report(self.out, Some(dir), "resync", None, None, Some(offset), Some(skipped), &detail);
    }
}
