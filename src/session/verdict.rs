//! The protocol checks of one direction, run as its frames stream past:
//! frame-sequence rules, permessage-deflate inflation, UTF-8 of text
//! messages (after inflation) and Close bodies.
//!
//! Owns: routing each frame's payload to the inflater and the UTF-8
//! validator, and the care that keeps damage from becoming a false
//! violation: after a gap inside a payload the message is no longer judged;
//! after a resynchronisation (or a capture that starts mid-connection) the
//! open message is forgotten, a continuation of a message whose start was
//! not captured is not an orphan, and the inflate dictionary is known lost.
//! May import: ws (rules, deflate, utf8, close, decoder types).

use crate::ws::close::CloseBody;
use crate::ws::decoder::DecodedFrame;
use crate::ws::deflate::{Inflater, InflaterConfig};
use crate::ws::frame::FrameHeader;
use crate::ws::opcode;
use crate::ws::rules::{FramePlace, FrameRules, Role, Rule, Violation, check_close_body};
use crate::ws::utf8::Utf8Validator;

/// The data message being checked.
#[derive(Debug)]
struct MessageCheck {
    text: bool,
    compressed: bool,
    /// False once the message can no longer be judged (a gap, an inflate
    /// failure already reported, an invalid byte already reported).
    checking: bool,
    utf8: Utf8Validator,
    inflated: u64,
    inflate_failed: bool,
}

/// What the checks found about one frame.
#[derive(Debug, Default)]
pub struct FrameOutcome {
    /// Violations of the frame's header (evidence: its first packet).
    pub header: Vec<Violation>,
    /// Violations of its payload or of the message it ends (evidence: its
    /// last packet).
    pub payload: Vec<Violation>,
    /// The frame belongs to a compressed message.
    pub compressed: bool,
    /// Bytes its payload inflated to (compressed messages).
    pub inflated: Option<u64>,
    /// When the frame ends a compressed message that inflated whole: the
    /// message's inflated size.
    pub message_inflated: Option<u64>,
    /// The first bytes the frame's payload inflated to, up to the preview
    /// size set with [`DirectionChecks::keep_inflated`].
    pub inflated_preview: Vec<u8>,
}

/// The checks of one direction. See the module docs.
#[derive(Debug)]
pub struct DirectionChecks {
    rules: Option<FrameRules>,
    /// Inflater for compressed messages; created on first use when the
    /// negotiation was not captured.
    inflater: Option<Inflater>,
    /// How to inflate when the negotiation was not captured (mid-stream).
    fallback: Option<InflaterConfig>,
    deflate_known: bool,
    msg: Option<MessageCheck>,
    /// The current frame: its place, the next payload position expected,
    /// bytes inflated so far, and what was found.
    place: FramePlace,
    expect_pos: u64,
    frame_inflated: u64,
    /// Inflated bytes kept per frame for payload previews (0: none).
    inflated_keep: usize,
    outcome: FrameOutcome,
    /// Frame boundaries were lost (or never known): be lenient until the
    /// next message start.
    after_resync: bool,
}

impl DirectionChecks {
    /// Checks for a direction whose handshake was captured. `sender`: who
    /// sends in this direction; `deflate`: how its messages are inflated
    /// when permessage-deflate was agreed.
    pub fn after_handshake(sender: Role, deflate: Option<InflaterConfig>) -> DirectionChecks {
        DirectionChecks {
            rules: Some(FrameRules::new(Some(sender), deflate.is_some())),
            inflater: deflate.map(Inflater::new),
            fallback: None,
            deflate_known: true,
            msg: None,
            place: FramePlace::Control,
            expect_pos: 0,
            frame_inflated: 0,
            inflated_keep: 0,
            outcome: FrameOutcome::default(),
            after_resync: false,
        }
    }

    /// Checks for a direction found without its handshake: RSV1 is given the
    /// benefit of the doubt (the negotiation is unknown) and the first
    /// frames may continue a message whose start was not captured.
    pub fn without_handshake(sender: Option<Role>, max_message: u64) -> DirectionChecks {
        DirectionChecks {
            rules: sender.map(|s| FrameRules::new(Some(s), true)),
            inflater: None,
            fallback: Some(InflaterConfig { max_message, ..InflaterConfig::default() }),
            deflate_known: false,
            after_resync: true,
            ..DirectionChecks::after_handshake(Role::Client, None)
        }
    }

    /// The sender became known (from masking, without a handshake).
    /// Keeps the first `n` inflated bytes of each compressed frame in its
    /// outcome (payload previews show what was sent, not its compression).
    pub fn keep_inflated(&mut self, n: usize) {
        self.inflated_keep = n;
    }

    pub fn set_sender(&mut self, sender: Role) {
        if self.rules.is_none() {
            self.rules = Some(FrameRules::new(Some(sender), !self.deflate_known || self.inflater.is_some()));
        }
    }

    /// The other direction's Close was seen.
    pub fn peer_closed(&mut self) {
        if let Some(r) = self.rules.as_mut() {
            r.peer_closed();
        }
    }

    /// Frame boundaries were lost and found again.
    pub fn resynced(&mut self) {
        if let Some(r) = self.rules.as_mut() {
            r.lost_sync();
        }
        self.abandon_message();
        if let Some(i) = self.inflater.as_mut() {
            i.lose_dictionary();
        }
        self.after_resync = true;
    }

    /// The stream ended (inside a message or not).
    pub fn finish(&mut self) {
        self.abandon_message();
    }

    fn abandon_message(&mut self) {
        if let Some(m) = self.msg.take()
            && m.compressed
            && let Some(i) = self.inflater.as_mut()
        {
            i.abort();
        }
    }

    /// A frame header was read; its payload follows.
    pub fn header(&mut self, h: &FrameHeader) {
        self.outcome = FrameOutcome::default();
        self.expect_pos = 0;
        self.frame_inflated = 0;
        let verdict = self.rules.as_mut().map(|r| r.check(h));
        self.place = match &verdict {
            Some(v) => v.place,
            None => place_of(h, self.msg.is_some()),
        };
        let mut violations = verdict.map(|v| v.violations).unwrap_or_default();
        if self.after_resync {
            // The start of this message may be before the capture or the
            // gap: an orphan continuation proves nothing.
            violations.retain(|v| v.rule != Rule::ContinuationWithoutMessage);
        }
        self.outcome.header = violations;
        match self.place {
            FramePlace::MessageStart { opcode, compressed, .. } => {
                self.after_resync = false;
                self.abandon_message();
                let compressed = compressed || (!self.deflate_known && h.rsv1);
                if compressed && self.inflater.is_none() {
                    // Negotiation not captured: inflate with the defaults,
                    // knowing that earlier context is missing.
                    if let Some(cfg) = self.fallback {
                        let mut i = Inflater::new(cfg);
                        i.lose_dictionary();
                        self.inflater = Some(i);
                    }
                }
                self.msg = Some(MessageCheck {
                    text: opcode == opcode::TEXT,
                    compressed: compressed && self.inflater.is_some(),
                    checking: true,
                    utf8: Utf8Validator::new(),
                    inflated: 0,
                    inflate_failed: false,
                });
            }
            FramePlace::MessageContinue { .. } => {}
            FramePlace::Control | FramePlace::Orphan | FramePlace::Reserved => {}
        }
        self.outcome.compressed = self.in_message() && self.msg.as_ref().is_some_and(|m| m.compressed);
    }

    fn in_message(&self) -> bool {
        matches!(self.place, FramePlace::MessageStart { .. } | FramePlace::MessageContinue { .. }) && self.msg.is_some()
    }

    /// Whether the current frame's payload bytes are needed (after
    /// [`header`](Self::header)): for a text message (UTF-8) or a compressed
    /// one (inflation) that can still be judged. Binary payload is never
    /// looked at.
    pub fn wants_payload(&self) -> bool {
        self.in_message() && self.msg.as_ref().is_some_and(|m| m.checking && (m.text || m.compressed))
    }

    /// Unmasked payload bytes of the current frame at payload position `pos`.
    pub fn payload(&mut self, pos: u64, bytes: &[u8]) {
        if !self.in_message() {
            return;
        }
        let Some(m) = self.msg.as_mut() else { return };
        let skipped = pos.saturating_sub(self.expect_pos);
        self.expect_pos = pos + bytes.len() as u64;
        if !m.checking {
            return;
        }
        if skipped > 0 {
            // Bytes lost in a gap: the message cannot be judged any more.
            m.checking = false;
            if m.compressed
                && let Some(i) = self.inflater.as_mut()
            {
                i.gap(skipped);
            }
            return;
        }
        if m.compressed {
            let Some(inf) = self.inflater.as_mut() else { return };
            let utf8 = m.text.then_some(&mut m.utf8);
            let keep = (&mut self.outcome.inflated_preview, self.inflated_keep);
            let (r, produced, bad_utf8) = inflate_step(inf, utf8, keep, |inf, sink| inf.feed(bytes, sink));
            self.frame_inflated += produced;
            m.inflated += produced;
            if let Some(e) = bad_utf8 {
                self.outcome.payload.push(Violation::new(Rule::InvalidUtf8Text, format!("after inflation: {e}")));
                m.checking = false;
            }
            if let Err(e) = r {
                m.inflate_failed = true;
                m.checking = false;
                if let Some(v) = e.violation() {
                    self.outcome.payload.push(v);
                }
            }
        } else if m.text
            && let Err(e) = m.utf8.feed(bytes)
        {
            self.outcome.payload.push(Violation::new(Rule::InvalidUtf8Text, e.to_string()));
            m.checking = false;
        }
    }

    /// The frame is complete (or the stream ended in it): the verdict on it.
    pub fn frame_end(&mut self, f: &DecodedFrame) -> FrameOutcome {
        let h = &f.header;
        if h.opcode == opcode::CLOSE && f.payload.len() as u64 == f.captured_len.min(h.payload_len) {
            let body = CloseBody::parse(&f.payload);
            self.outcome.payload.extend(check_close_body(&body, f.is_complete()));
        }
        let ends_message = h.fin && matches!(self.place, FramePlace::MessageStart { .. } | FramePlace::MessageContinue { .. });
        if self.in_message() {
            if (f.truncated || f.gap_len > 0)
                && let Some(m) = self.msg.as_mut()
            {
                m.checking = false;
            }
            if ends_message && !f.truncated {
                self.end_message();
            } else if f.truncated {
                self.abandon_message();
            }
        }
        let mut out = std::mem::take(&mut self.outcome);
        if out.compressed {
            out.inflated = Some(self.frame_inflated);
        }
        out
    }

    /// The last frame of the message arrived: flush the inflater and the
    /// UTF-8 check.
    fn end_message(&mut self) {
        let Some(mut m) = self.msg.take() else { return };
        if m.compressed && !m.inflate_failed {
            let Some(inf) = self.inflater.as_mut() else { return };
            let utf8 = (m.text && m.checking).then_some(&mut m.utf8);
            let keep = (&mut self.outcome.inflated_preview, self.inflated_keep);
            let (r, produced, bad_utf8) = inflate_step(inf, utf8, keep, |inf, sink| inf.finish(sink));
            self.frame_inflated += produced;
            m.inflated += produced;
            if let Some(e) = bad_utf8 {
                self.outcome.payload.push(Violation::new(Rule::InvalidUtf8Text, format!("after inflation: {e}")));
                m.checking = false;
            }
            match r {
                Ok(_) => self.outcome.message_inflated = Some(m.inflated),
                Err(e) => {
                    m.checking = false;
                    if let Some(v) = e.violation()
                        && !matches!(e.kind, crate::ws::deflate::InflateErrorKind::Gap { .. })
                    {
                        self.outcome.payload.push(v);
                    }
                }
            }
        } else if m.compressed {
            // The failure was reported when it happened.
            if let Some(inf) = self.inflater.as_mut() {
                let _ = inf.finish(&mut |_| {});
            }
        }
        if m.text
            && m.checking
            && let Err(e) = m.utf8.finish()
        {
            self.outcome.payload.push(Violation::new(Rule::InvalidUtf8Text, e.to_string()));
        }
    }
}

/// Runs `step` on the inflater with a sink that counts the inflated bytes,
/// keeps the first ones in `keep.0` up to `keep.1` bytes and, for a text
/// message (`utf8`), checks them as they come; returns the step's result,
/// the bytes produced and the first UTF-8 error.
fn inflate_step<R>(
    inf: &mut Inflater,
    mut utf8: Option<&mut Utf8Validator>,
    keep: (&mut Vec<u8>, usize),
    step: impl FnOnce(&mut Inflater, &mut dyn FnMut(&[u8])) -> R,
) -> (R, u64, Option<crate::ws::utf8::Utf8Error>) {
    let mut produced = 0u64;
    let mut bad = None;
    let (kept, limit) = keep;
    let r = step(inf, &mut |out: &[u8]| {
        produced += out.len() as u64;
        let room = limit.saturating_sub(kept.len());
        if room > 0 {
            kept.extend_from_slice(out.get(..room.min(out.len())).unwrap_or(out));
        }
        if bad.is_none()
            && let Some(v) = utf8.as_deref_mut()
            && let Err(e) = v.feed(out)
        {
            bad = Some(e);
        }
    });
    (r, produced, bad)
}

/// A frame's place judged from its header alone (no rules yet: the roles
/// are unknown).
fn place_of(h: &FrameHeader, message_open: bool) -> FramePlace {
    match h.opcode {
        opcode::TEXT | opcode::BINARY => FramePlace::MessageStart { opcode: h.opcode, compressed: h.rsv1, last: h.fin },
        opcode::CONTINUATION if message_open => FramePlace::MessageContinue { last: h.fin },
        opcode::CONTINUATION => FramePlace::Orphan,
        op if opcode::is_defined(op) => FramePlace::Control,
        _ => FramePlace::Reserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn frame(h: FrameHeader, payload: &[u8]) -> DecodedFrame {
        DecodedFrame {
            index: 0,
            header: h,
            stream_offset: 0,
            first_packet: 1,
            first_ts: Timestamp(0),
            last_packet: 1,
            ts: Timestamp(0),
            captured_len: h.payload_len,
            gap_len: 0,
            truncated: false,
            payload: payload.to_vec(),
        }
    }

    fn run(c: &mut DirectionChecks, h: FrameHeader, payload: &[u8]) -> FrameOutcome {
        c.header(&h);
        c.payload(0, payload);
        c.frame_end(&frame(h, payload))
    }

    fn ids(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|x| x.rule.id()).collect()
    }

    #[test]
    fn utf8_split_across_fragments_is_valid_and_bad_text_is_caught() {
        let mut c = DirectionChecks::after_handshake(Role::Server, None);
        // "é" = c3 a9 split over two frames.
        let o = run(&mut c, FrameHeader::new(false, 1, None, 2), &[b'a', 0xc3]);
        assert!(o.payload.is_empty());
        let o = run(&mut c, FrameHeader::new(true, 0, None, 2), &[0xa9, b'b']);
        assert!(o.payload.is_empty(), "{:?}", o.payload);
        let o = run(&mut c, FrameHeader::new(true, 1, None, 2), &[0xff, b'b']);
        assert_eq!(ids(&o.payload), ["invalid-utf8-text"]);
    }

    #[test]
    fn compressed_text_is_inflated_and_checked() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut c = DirectionChecks::after_handshake(Role::Server, Some(InflaterConfig::default()));
        let mut h = FrameHeader::new(true, 1, None, hello.len() as u64);
        h.rsv1 = true;
        let o = run(&mut c, h, &hello);
        assert!(o.header.is_empty() && o.payload.is_empty(), "{o:?}");
        assert_eq!(o.message_inflated, Some(5));
        assert!(o.compressed);
        // Garbage with RSV1: a deflate error, not a UTF-8 one.
        let o = run(&mut c, h, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(ids(&o.payload), ["deflate-error"]);
    }

    #[test]
    fn a_gap_inside_a_text_message_is_not_a_violation() {
        let mut c = DirectionChecks::after_handshake(Role::Server, None);
        let h = FrameHeader::new(true, 1, None, 6);
        c.header(&h);
        c.payload(0, &[b'a', 0xc3]);
        // Two bytes lost; what follows would be invalid on its own.
        c.payload(4, &[0xa9, 0xa9]);
        let mut f = frame(h, &[]);
        f.gap_len = 2;
        f.captured_len = 4;
        assert!(c.frame_end(&f).payload.is_empty());
    }

    #[test]
    fn mid_stream_continuation_is_not_an_orphan() {
        let mut c = DirectionChecks::without_handshake(Some(Role::Client), 1 << 20);
        let o = run(&mut c, FrameHeader::new(true, 0, Some([1, 2, 3, 4]), 3), b"abc");
        assert!(o.header.is_empty(), "{:?}", o.header);
        run(&mut c, FrameHeader::new(true, 1, Some([1, 2, 3, 4]), 3), b"abc");
        let o = run(&mut c, FrameHeader::new(true, 0, Some([1, 2, 3, 4]), 3), b"abc");
        assert_eq!(ids(&o.header), ["continuation-without-message"]);
    }

    #[test]
    fn close_bodies_are_checked() {
        let mut c = DirectionChecks::after_handshake(Role::Client, None);
        let o = run(&mut c, FrameHeader::new(true, 8, Some([0; 4]), 1), &[3]);
        assert_eq!(ids(&o.payload), ["close-payload-one-byte"]);
        let mut c = DirectionChecks::after_handshake(Role::Client, None);
        let o = run(&mut c, FrameHeader::new(true, 8, Some([1; 4]), 2), &1005u16.to_be_bytes());
        assert_eq!(ids(&o.payload), ["invalid-close-code"]);
    }
}
