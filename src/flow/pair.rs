//! Both directions of one TCP connection: routes each segment to its side's
//! [`Reassembler`] and feeds its acknowledgment number to the other side's.
//!
//! Owns: [`TcpStreamPair`]. May import: `crate::model`, the sibling `flow`
//! modules, std.

use super::reassembly::{Reassembler, ReassemblyConfig, StreamStats};
use super::{SegmentIn, Side, StreamEvent};
use crate::model::{PacketIndex, Timestamp};

/// The two byte streams of one connection (one [`Reassembler`] per [`Side`]).
///
/// Segments of both directions go in in capture order; events come out tagged
/// with the side that sent the bytes. Each direction's events obey the
/// ordering rules of [`StreamEvent`].
#[derive(Debug)]
pub struct TcpStreamPair {
    opener: Reassembler,
    responder: Reassembler,
    syn_sender: Option<Side>,
    last: Option<(PacketIndex, Timestamp)>,
}

impl TcpStreamPair {
    pub fn new(config: ReassemblyConfig) -> Self {
        TcpStreamPair { opener: Reassembler::new(config), responder: Reassembler::new(config), syn_sender: None, last: None }
    }

    pub fn reassembler(&self, side: Side) -> &Reassembler {
        match side {
            Side::Opener => &self.opener,
            Side::Responder => &self.responder,
        }
    }

    fn reassembler_mut(&mut self, side: Side) -> &mut Reassembler {
        match side {
            Side::Opener => &mut self.opener,
            Side::Responder => &mut self.responder,
        }
    }

    pub fn stats(&self, side: Side) -> &StreamStats {
        self.reassembler(side).stats()
    }

    /// Processes one segment sent by the opener (`from_opener`, as returned
    /// by [`super::FlowTable::lookup`]) or the responder.
    pub fn segment(&mut self, from_opener: bool, seg: &SegmentIn<'_>, out: &mut dyn FnMut(Side, StreamEvent<'_>)) {
        let side = Side::from_opener(from_opener);
        self.last = Some((seg.packet, seg.ts));
        if seg.syn && !seg.rst && self.syn_sender.is_none() {
            // RFC 9293 §3.5: the active opener sends SYN, the passive one
            // answers SYN+ACK.
            self.syn_sender = Some(if seg.ack.is_none() { side } else { side.other() });
        }
        if let Some(ack) = seg.ack {
            let peer = self.reassembler_mut(side.other());
            if seg.syn {
                peer.learn_base_from_synack(ack);
            }
            peer.peer_ack(ack);
        }
        self.reassembler_mut(side).segment(seg, &mut |event| out(side, event));
    }

    /// Flushes both directions (end of capture, eviction, or port reuse): see
    /// [`Reassembler::finish`]. Gaps declared here carry the connection's
    /// last packet.
    pub fn finish(&mut self, out: &mut dyn FnMut(Side, StreamEvent<'_>)) {
        let (packet, ts) = self.last.unwrap_or((0, Timestamp::default()));
        for side in Side::BOTH {
            self.reassembler_mut(side).finish(packet, ts, &mut |event| out(side, event));
        }
    }

    /// The side that sent a SYN without ACK (the client, RFC 9293 §3.5), or
    /// the other side of the first SYN+ACK when that SYN was not captured.
    /// `None` for a connection picked up mid-stream.
    pub fn syn_sender(&self) -> Option<Side> {
        self.syn_sender
    }

    /// A RST was seen, or both FINs were delivered (all data before them is
    /// delivered or gapped).
    pub fn is_closed(&self) -> bool {
        self.opener.rst_seen() || self.responder.rst_seen() || (self.opener.fin_delivered() && self.responder.fin_delivered())
    }

    /// Last packet of the connection seen so far.
    pub fn last_packet(&self) -> Option<(PacketIndex, Timestamp)> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::GapReason;

    #[derive(Debug, PartialEq, Eq)]
    enum Ev {
        Data(Side, u64, Vec<u8>, PacketIndex),
        Gap(Side, u64, u64, GapReason),
        Fin(Side, u64, PacketIndex),
        Rst(Side, PacketIndex),
        Conflict(Side, u64, u64),
    }

    fn record(events: &mut Vec<Ev>) -> impl FnMut(Side, StreamEvent<'_>) + '_ {
        move |side, ev| {
            events.push(match ev {
                StreamEvent::Data { offset, bytes, packet, .. } => Ev::Data(side, offset, bytes.to_vec(), packet),
                StreamEvent::Gap { offset, len, reason, .. } => Ev::Gap(side, offset, len, reason),
                StreamEvent::Fin { offset, packet, .. } => Ev::Fin(side, offset, packet),
                StreamEvent::Rst { packet, .. } => Ev::Rst(side, packet),
                StreamEvent::OverlapConflict { offset, len, .. } => Ev::Conflict(side, offset, len),
            })
        }
    }

    const C: u32 = 1000; // client ISN
    const S: u32 = 5000; // server ISN

    fn seg(seq: u32, packet: PacketIndex) -> SegmentIn<'static> {
        SegmentIn { seq, packet, ts: Timestamp(packet as i64), ..Default::default() }
    }

    #[test]
    fn handshake_exchange_and_close() {
        let mut pair = TcpStreamPair::new(ReassemblyConfig::default());
        let mut ev = Vec::new();
        let mut out = record(&mut ev);
        pair.segment(true, &SegmentIn { syn: true, ..seg(C, 1) }, &mut out);
        pair.segment(false, &SegmentIn { syn: true, ack: Some(C + 1), ..seg(S, 2) }, &mut out);
        pair.segment(true, &SegmentIn { ack: Some(S + 1), ..seg(C + 1, 3) }, &mut out);
        let req = b"GET / HTTP/1.1\r\n\r\n";
        pair.segment(true, &SegmentIn { ack: Some(S + 1), payload: req, ..seg(C + 1, 4) }, &mut out);
        let resp = b"HTTP/1.1 101 Switching\r\n\r\n";
        let c_end = C + 1 + req.len() as u32;
        pair.segment(false, &SegmentIn { ack: Some(c_end), payload: resp, ..seg(S + 1, 5) }, &mut out);
        let s_end = S + 1 + resp.len() as u32;
        pair.segment(true, &SegmentIn { fin: true, ack: Some(s_end), ..seg(c_end, 6) }, &mut out);
        pair.segment(false, &SegmentIn { fin: true, ack: Some(c_end + 1), ..seg(s_end, 7) }, &mut out);
        assert!(pair.is_closed());
        pair.segment(true, &SegmentIn { ack: Some(s_end + 1), ..seg(c_end + 1, 8) }, &mut out);
        pair.finish(&mut out);
        drop(out);
        assert_eq!(
            ev,
            vec![
                Ev::Data(Side::Opener, 0, req.to_vec(), 4),
                Ev::Data(Side::Responder, 0, resp.to_vec(), 5),
                Ev::Fin(Side::Opener, req.len() as u64, 6),
                Ev::Fin(Side::Responder, resp.len() as u64, 7),
            ]
        );
        assert_eq!(pair.syn_sender(), Some(Side::Opener));
        for side in Side::BOTH {
            assert!(pair.stats(side).is_balanced(0));
            assert_eq!(pair.stats(side).bytes_gap, 0);
        }
    }

    #[test]
    fn syn_sender_inferred_from_syn_ack_and_base_learned() {
        // SYN not captured: the SYN+ACK's ACK gives the client's ISN + 1, so a
        // lost first data segment shows as a gap at offset 0.
        let mut pair = TcpStreamPair::new(ReassemblyConfig::default());
        let mut ev = Vec::new();
        let mut out = record(&mut ev);
        pair.segment(true, &SegmentIn { syn: true, ack: Some(C + 1), ..seg(S, 1) }, &mut out);
        assert_eq!(pair.syn_sender(), Some(Side::Responder));
        pair.segment(false, &SegmentIn { payload: b"world", ack: Some(S + 1), ..seg(C + 6, 2) }, &mut out);
        pair.finish(&mut out);
        drop(out);
        assert_eq!(ev, vec![Ev::Gap(Side::Responder, 0, 5, GapReason::StreamEnd), Ev::Data(Side::Responder, 5, b"world".to_vec(), 2),]);
    }

    #[test]
    fn acks_cross_over_and_declare_gaps() {
        let mut pair = TcpStreamPair::new(ReassemblyConfig::default());
        let mut ev = Vec::new();
        let mut out = record(&mut ev);
        pair.segment(true, &SegmentIn { syn: true, ..seg(C, 1) }, &mut out);
        pair.segment(false, &SegmentIn { syn: true, ack: Some(C + 1), ..seg(S, 2) }, &mut out);
        // Client bytes 0..4 are lost at the capture point; 4..8 arrive.
        pair.segment(true, &SegmentIn { payload: b"efgh", ack: Some(S + 1), ..seg(C + 5, 3) }, &mut out);
        // The server acknowledges all 8 bytes: it got what we did not.
        pair.segment(false, &SegmentIn { ack: Some(C + 9), ..seg(S + 1, 4) }, &mut out);
        // Nothing declared yet: the client has not spoken since.
        drop(out);
        assert!(ev.is_empty());
        let mut out = record(&mut ev);
        pair.segment(true, &SegmentIn { payload: b"ij", ack: Some(S + 1), ..seg(C + 9, 5) }, &mut out);
        drop(out);
        assert_eq!(
            ev,
            vec![
                Ev::Gap(Side::Opener, 0, 4, GapReason::NotCaptured),
                Ev::Data(Side::Opener, 4, b"efgh".to_vec(), 3),
                Ev::Data(Side::Opener, 8, b"ij".to_vec(), 5),
            ]
        );
    }

    #[test]
    fn rst_closes() {
        let mut pair = TcpStreamPair::new(ReassemblyConfig::default());
        let mut ev = Vec::new();
        let mut out = record(&mut ev);
        pair.segment(true, &SegmentIn { syn: true, ..seg(C, 1) }, &mut out);
        pair.segment(false, &SegmentIn { rst: true, ack: Some(C + 1), ..seg(0, 2) }, &mut out);
        drop(out);
        assert!(pair.is_closed());
        assert_eq!(ev, vec![Ev::Rst(Side::Responder, 2)]);
        assert_eq!(pair.stats(Side::Responder).rsts, 1);
    }
}
