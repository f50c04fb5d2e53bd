//! permessage-deflate (RFC 7692): the negotiated parameters, the checks on
//! the server's answer, and a per-direction streaming [`Inflater`].
//!
//! Owns: reading the four permessage-deflate parameters (§7.1) from an offer
//! and a response, the response checks of §5 and §7, and inflating the
//! messages of one direction (§7.2.2) under a size cap.
//! May import: model, ws::rules, flate2. Must not import: flow, http,
//! capture, session, report. Extensions arrive as [`ExtensionRef`] views
//! (name and parameters as `crate::http::Extension` holds them), so this
//! module does not depend on the HTTP parser.
//!
//! Inflating (§7.2.2): the payload of a compressed message is a raw DEFLATE
//! stream (RFC 1951) with the trailing `00 00 ff ff` of the final empty
//! stored block removed; the receiver appends it and inflates. With context
//! takeover (the default, §7.1.1) the LZ77 window carries over from message
//! to message, so the inflater is never reset; with `*_no_context_takeover`
//! it is reset before each message of that direction.
//!
//! Window size (§7.1.2): zlib always inflates with a 15-bit (32 KiB)
//! window, the DEFLATE maximum (RFC 1951 §3.2.5). Inflating with the
//! negotiated window would not check it reliably: zlib resolves a distance
//! from its output buffer before its window, so whether a too-long distance
//! is caught would depend on where chunk boundaries fall (the verdict must
//! not depend on how the capture was segmented). What carries over between
//! messages is the sender's negotiated window, all a sender that honours it
//! can refer to: a message that refers further back into earlier messages
//! does not inflate, whatever the segmentation, while a too-long distance
//! inside the message itself resolves. The negotiated size is also used to
//! know when a lost dictionary is known again (a full sender window of new
//! output).
//!
//! Safety: inflated bytes go to a callback in chunks of at most
//! [`OUT_CHUNK`] bytes, nothing is buffered beyond the LZ77 window, and a
//! message stops at `max_message` inflated bytes (a decompression bomb is
//! reported, never obeyed: RFC 6455 §10.4, RFC 7692 §8).
//!
//! Capture damage: after a message could not be inflated to its end (corrupt
//! data, the cap, a gap), or when the capture starts mid-connection, the
//! window is unknown. Later messages are still tried from an empty window:
//! zlib rejects any distance that reaches before the data it has seen, so a
//! message that inflates is exact, and one that refers to lost data is
//! reported as [`InflateErrorKind::DictionaryLost`] rather than corrupt.
//! Once a full window of output has been seen again the dictionary is known.
//!
//! Memory: between messages a direction with context takeover keeps only
//! its own copy of the window, the last output bytes up to the window size
//! (as many as it has produced, not a full window from the start). zlib
//! states are per thread: one is taken for each message and restored from
//! the copy (`inflateSetDictionary`, which for a raw stream is exactly the
//! window), and goes back to the pool when the message ends. Keeping a zlib
//! state per direction instead held a full window for each (zlib writes it
//! as output arrives, and a state's pages stay written after its connection
//! ends and the state is reused), which made the memory peak grow with the
//! capture's length, not with the connections in flight.
//!
//! A block with BFINAL set (§7.2.3.4) ends the DEFLATE stream, and zlib's
//! window with it; the next stream starts from the copy. Without context
//! takeover there is no copy between messages; one is kept from a
//! direction's first final block on (its first final block inside a
//! message loses the window for the rest of that message, as above).

use flate2::{Decompress, FlushDecompress, Status};

use crate::ws::rules::{Role, Rule, Violation};

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The tail removed by the sender and appended by the receiver (§7.2.1,
/// §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Default cap on one message's inflated size (the `--max-message` default).
pub const DEFAULT_MAX_MESSAGE: u64 = 64 * 1024 * 1024;

/// Largest piece of inflated data given to the callback at once.
pub const OUT_CHUNK: usize = 16 * 1024;

/// Default LZ77 window (§7.1.2.1: 15 when the parameter is absent).
pub const DEFAULT_WINDOW_BITS: u8 = 15;

/// Extensions known to use RSV1, which cannot be combined with
/// permessage-deflate (§5). Every permessage-* token is a PMCE and uses RSV1
/// too (§4).
const RSV1_EXTENSIONS: &[&str] = &["x-webkit-deflate-frame", "deflate-frame", "perframe-deflate", "x-webkit-perframe-deflate"];

/// One extension of a `Sec-WebSocket-Extensions` list, borrowed: the name
/// and the parameters (unquoted values), as `crate::http::Extension` holds
/// them: `ExtensionRef { name: &e.name, params: &e.params }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionRef<'a> {
    pub name: &'a str,
    pub params: &'a [(String, Option<String>)],
}

/// A `*_max_window_bits` parameter as sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WindowBits {
    #[default]
    Absent,
    /// Present without a value: only `client_max_window_bits` in an offer
    /// may be sent this way (§7.1.2.2: "the client supports the parameter").
    NoValue,
    /// A valid value, 8 to 15.
    Bits(u8),
}

impl WindowBits {
    pub fn is_present(self) -> bool {
        self != WindowBits::Absent
    }

    fn bits(self) -> Option<u8> {
        match self {
            WindowBits::Bits(b) => Some(b),
            _ => None,
        }
    }
}

/// The parameters of one permessage-deflate offer or response (§7.1).
/// Invalid values are left at their default and reported separately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// §7.1.1.1: the server resets its compression context per message.
    pub server_no_context_takeover: bool,
    /// §7.1.1.2: the client resets its compression context per message.
    pub client_no_context_takeover: bool,
    /// §7.1.2.1: the server's LZ77 window.
    pub server_max_window_bits: WindowBits,
    /// §7.1.2.2: the client's LZ77 window.
    pub client_max_window_bits: WindowBits,
}

/// How one direction's messages are compressed, from the sender's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectionParams {
    /// LZ77 window of the sender's compressor (8-15).
    pub window_bits: u8,
    /// The sender resets its context per message.
    pub no_context_takeover: bool,
}

impl DeflateParams {
    /// What the negotiated response means for the messages `sender` sends.
    pub fn direction(&self, sender: Role) -> DirectionParams {
        let (bits, reset) = match sender {
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
        };
        DirectionParams { window_bits: bits.bits().unwrap_or(DEFAULT_WINDOW_BITS), no_context_takeover: reset }
    }

    /// The inflater configuration for the messages `sender` sends.
    pub fn inflater_config(&self, sender: Role, max_message: u64) -> InflaterConfig {
        let d = self.direction(sender);
        InflaterConfig { window_bits: d.window_bits, no_context_takeover: d.no_context_takeover, max_message }
    }
}

/// Whether the parameters come from the client's offer or the server's
/// response: the rules differ (§7, §7.1.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Offer,
    Response,
}

/// A window-bits value: a decimal integer 8-15 without leading zeros
/// (§7.1.2.1, §7.1.2.2; quotes were removed by the header parser, §9.1).
fn parse_window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [b'8'] => Some(8),
        [b'9'] => Some(9),
        [b'1', d @ b'0'..=b'5'] => Some(10 + (d - b'0')),
        _ => None,
    }
}

/// Reads the parameters of one permessage-deflate element. Problems (§7):
/// an unknown parameter, a duplicate, an invalid value. In a response they
/// make the client fail the connection; in an offer the server must decline
/// that offer.
pub fn parse_params(ext: ExtensionRef<'_>, side: Side) -> (DeflateParams, Vec<Violation>) {
    let mut p = DeflateParams::default();
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let where_ = match side {
        Side::Offer => "offer",
        Side::Response => "response",
    };
    for (name, value) in ext.params {
        let name = name.as_str();
        let known = ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"];
        let Some(canonical) = known.iter().copied().find(|k| k.eq_ignore_ascii_case(name)) else {
            problems.push(Violation::new(Rule::DeflateBadParameter, format!("{where_}: unknown parameter {name:?}")));
            continue;
        };
        if seen.contains(&canonical) {
            problems.push(Violation::new(Rule::DeflateDuplicateParameter, format!("{where_}: {canonical} appears more than once")));
            continue;
        }
        seen.push(canonical);
        let bad_value = |problems: &mut Vec<Violation>, why: &str| {
            problems.push(Violation::new(Rule::DeflateBadValue, format!("{where_}: {canonical} {why}")));
        };
        match canonical {
            // §7.1.1.1, §7.1.1.2: "This parameter has no value."
            "server_no_context_takeover" | "client_no_context_takeover" => match value {
                None => {
                    if canonical == "server_no_context_takeover" {
                        p.server_no_context_takeover = true;
                    } else {
                        p.client_no_context_takeover = true;
                    }
                }
                Some(v) => bad_value(&mut problems, &format!("has a value ({v:?}) but takes none")),
            },
            // §7.1.2.1: always a value 8-15.
            "server_max_window_bits" => match value.as_deref().map(parse_window_bits) {
                Some(Some(b)) => p.server_max_window_bits = WindowBits::Bits(b),
                Some(None) => bad_value(&mut problems, &format!("= {:?} is not an integer 8-15", value.as_deref().unwrap_or(""))),
                None => bad_value(&mut problems, "has no value"),
            },
            // §7.1.2.2: a value 8-15; may be bare in an offer only.
            _ => match value.as_deref().map(parse_window_bits) {
                Some(Some(b)) => p.client_max_window_bits = WindowBits::Bits(b),
                Some(None) => bad_value(&mut problems, &format!("= {:?} is not an integer 8-15", value.as_deref().unwrap_or(""))),
                None if side == Side::Offer => p.client_max_window_bits = WindowBits::NoValue,
                None => bad_value(&mut problems, "has no value (only an offer may send it bare)"),
            },
        }
    }
    (p, problems)
}

fn is_deflate(name: &str) -> bool {
    name.eq_ignore_ascii_case(EXTENSION_NAME)
}

/// Whether an extension is known to use RSV1 (§5: a PMCE, or a per-frame
/// deflate draft).
fn uses_rsv1(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("permessage-") || RSV1_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(name))
}

/// The outcome of a permessage-deflate negotiation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// The response's parameters when the server accepted
    /// permessage-deflate (the first element if it sent several), even when
    /// the response broke a rule: the peers may go on using it.
    pub params: Option<DeflateParams>,
    /// Problems of the response: the client MUST fail the connection (§5,
    /// §7), except `deflate-offer-not-matched`, a notice.
    pub violations: Vec<Violation>,
    /// Problems of the client's offers: a server must decline such an offer
    /// (§7); not a violation by themselves.
    pub offer_problems: Vec<Violation>,
}

/// Reads the client's offers and the server's response (both whole
/// `Sec-WebSocket-Extensions` lists) and checks the response against RFC
/// 7692 §5 and §7. A response that accepts permessage-deflate with no offer
/// of it is `extension-not-offered` (RFC 6455 §4.1), left to the handshake
/// checks; its parameters are still returned.
pub fn negotiate(offers: &[ExtensionRef<'_>], response: &[ExtensionRef<'_>]) -> Negotiation {
    let mut n = Negotiation::default();
    let offered: Vec<DeflateParams> = offers
        .iter()
        .filter(|e| is_deflate(e.name))
        .map(|e| {
            let (p, problems) = parse_params(*e, Side::Offer);
            n.offer_problems.extend(problems);
            p
        })
        .collect();
    let accepted: Vec<&ExtensionRef<'_>> = response.iter().filter(|e| is_deflate(e.name)).collect();
    let Some(first) = accepted.first() else { return n };
    let (params, problems) = parse_params(**first, Side::Response);
    n.params = Some(params);
    n.violations.extend(problems);
    // §5: no other extension may use RSV1 alongside a PMCE, and only one
    // PMCE may be accepted.
    if accepted.len() > 1 {
        n.violations.push(Violation::new(Rule::Rsv1ExtensionConflict, format!("permessage-deflate accepted {} times", accepted.len())));
    }
    for e in response.iter().filter(|e| !is_deflate(e.name) && uses_rsv1(e.name)) {
        n.violations
            .push(Violation::new(Rule::Rsv1ExtensionConflict, format!("{} accepted with permessage-deflate; both use RSV1", e.name)));
    }
    if offered.is_empty() {
        return n;
    }
    // §7.1.2.2: client_max_window_bits only in answer to an offer with it.
    if params.client_max_window_bits.is_present() && !offered.iter().any(|o| o.client_max_window_bits.is_present()) {
        n.violations.push(Violation::new(Rule::DeflateWindowBitsNotOffered, "client_max_window_bits in the response but in no offer"));
    }
    // §7.1.1.1, §7.1.2.1: the server accepts an offer with
    // server_no_context_takeover by echoing it, one with
    // server_max_window_bits by answering the same or a smaller value.
    let matches = |o: &DeflateParams| {
        let nct = !o.server_no_context_takeover || params.server_no_context_takeover;
        let bits = match (o.server_max_window_bits.bits(), params.server_max_window_bits.bits()) {
            (Some(asked), Some(got)) => got <= asked,
            (Some(_), None) => false,
            (None, _) => true,
        };
        nct && bits
    };
    if !offered.iter().any(matches) {
        n.violations.push(Violation::new(
            Rule::DeflateOfferNotMatched,
            "the response drops server_no_context_takeover or raises server_max_window_bits of every offer",
        ));
    }
    n
}

/// How to inflate one direction's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflaterConfig {
    /// The sender's LZ77 window (8-15; values outside are clamped): how much
    /// of a direction's output is kept between messages. zlib inflates with
    /// a 15-bit window whatever this says (module docs).
    pub window_bits: u8,
    /// Reset the window before each message (§7.1.1).
    pub no_context_takeover: bool,
    /// Stop a message after this many inflated bytes.
    pub max_message: u64,
}

impl Default for InflaterConfig {
    fn default() -> Self {
        InflaterConfig { window_bits: DEFAULT_WINDOW_BITS, no_context_takeover: false, max_message: DEFAULT_MAX_MESSAGE }
    }
}

/// Why a message could not be inflated (whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateErrorKind {
    /// The data is not a valid DEFLATE stream (RFC 7692 §7.2.2): a bad block
    /// type or code, or a distance beyond the window. `message` is zlib's.
    Corrupt { message: String },
    /// The message refers to earlier data this capture does not hold (the
    /// window was lost to a gap, a failure, or a mid-connection start).
    DictionaryLost,
    /// Inflation reached `max_message` bytes and was stopped.
    CapExceeded { cap: u64 },
    /// Compressed bytes of the message were not captured.
    Gap { len: u64 },
}

/// A message that could not be inflated, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateError {
    pub kind: InflateErrorKind,
    /// Compressed bytes of the message consumed when the problem was found
    /// (zlib reads ahead by a few bytes, so the bad byte is at or before it).
    pub offset: u64,
    /// Inflated bytes delivered before it.
    pub inflated: u64,
}

impl InflateError {
    /// The catalogue rule, when the problem is one (a gap is capture damage
    /// reported by the capture layer).
    pub fn rule(&self) -> Option<Rule> {
        match self.kind {
            InflateErrorKind::Corrupt { .. } => Some(Rule::DeflateError),
            InflateErrorKind::DictionaryLost => Some(Rule::DeflateDictionaryLost),
            InflateErrorKind::CapExceeded { .. } => Some(Rule::InflateCapExceeded),
            InflateErrorKind::Gap { .. } => None,
        }
    }

    /// As a catalogue violation (`None` for a gap).
    pub fn violation(&self) -> Option<Violation> {
        self.rule().map(|r| Violation::new(r, self.to_string()))
    }
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            InflateErrorKind::Corrupt { message } => {
                write!(f, "corrupt deflate data at compressed byte {}: {message}", self.offset)
            }
            InflateErrorKind::DictionaryLost => write!(
                f,
                "dictionary lost: the message refers to earlier data missing from the capture (at compressed byte {})",
                self.offset
            ),
            InflateErrorKind::CapExceeded { cap } => write!(f, "inflation exceeded the cap at {cap} bytes"),
            InflateErrorKind::Gap { len } => {
                write!(f, "{len} compressed bytes not captured after compressed byte {}", self.offset)
            }
        }
    }
}

/// Sizes of a message that inflated whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inflated {
    /// Compressed payload bytes (without the appended tail).
    pub compressed: u64,
    pub inflated: u64,
    /// The window was unknown when the message started, and the message
    /// inflated anyway: it referred only to data the capture holds.
    pub after_dictionary_loss: bool,
}

/// What the inflater knows of the sender's LZ77 window.
#[derive(Clone, Debug, Default)]
struct History {
    /// Window size in bytes.
    window: usize,
    /// The last `window` output bytes, as a ring (`ring[head]` is the
    /// oldest once full): restores the window when a message holds a block
    /// with BFINAL set (§7.2.3.4) and the stream must be restarted. A ring
    /// of exactly one window keeps each direction's memory at that.
    ring: Vec<u8>,
    head: usize,
    /// The ring is kept: always with context takeover (it is the window
    /// between messages, see the module docs); without, once the sender has
    /// been seen to end a DEFLATE stream with BFINAL inside a message.
    keep: bool,
    /// The window holds data the capture lost.
    lost: bool,
    /// Output since the window was lost; a full window of it makes the
    /// dictionary known again.
    since_loss: u64,
}

impl History {
    fn remember(&mut self, produced: &[u8]) {
        if self.lost {
            self.since_loss = self.since_loss.saturating_add(produced.len() as u64);
            if self.since_loss >= self.window as u64 {
                self.lost = false;
            }
        }
        if !self.keep {
            return;
        }
        let w = self.window;
        // Only the last window of `produced` can matter.
        let tail = produced.get(produced.len().saturating_sub(w)..).unwrap_or_default();
        let mut rest = tail;
        // Fill up to one window, then overwrite the oldest bytes, in at most
        // two slice copies per pass. The ring grows by doubling but never
        // past the window: most directions produce less than a window.
        let room = w.saturating_sub(self.ring.len()).min(rest.len());
        let (fill, more) = rest.split_at(room);
        let needed = self.ring.len() + fill.len();
        if needed > self.ring.capacity() {
            let target = needed.max(self.ring.capacity() * 2).min(w);
            self.ring.reserve_exact(target - self.ring.len());
        }
        self.ring.extend_from_slice(fill);
        rest = more;
        while !rest.is_empty() && w > 0 {
            let n = (w - self.head).min(rest.len());
            let (now, later) = rest.split_at(n);
            if let Some(dst) = self.ring.get_mut(self.head..self.head + n) {
                dst.copy_from_slice(now);
            }
            self.head = (self.head + n) % w;
            rest = later;
        }
    }

    fn clear(&mut self) {
        self.ring.clear();
        self.head = 0;
    }

    /// Clears and frees the ring.
    fn release(&mut self) {
        self.ring = Vec::new();
        self.head = 0;
    }

    /// The window's bytes, oldest first, in two parts.
    fn parts(&self) -> [&[u8]; 2] {
        let (newer, older) = self.ring.split_at(self.head.min(self.ring.len()));
        [older, newer]
    }

    /// Makes `d`'s window this copy. zlib appends each dictionary to its
    /// window, so the two parts go in oldest first.
    fn restore(&self, d: &mut Decompress) -> Result<(), ()> {
        for part in self.parts() {
            if !part.is_empty() {
                d.set_dictionary(part).map_err(|_| ())?;
            }
        }
        Ok(())
    }
}

/// zlib's window: the DEFLATE maximum, whatever was negotiated (module
/// docs). States are per thread and pooled, so its size is not a cost per
/// connection.
const ZLIB_BITS: u8 = 15;

/// zlib's reason for an error, and whether it may be a distance that
/// reaches before the data seen (what a lost dictionary causes). zlib-rs
/// reports errors found on its fast path (bad codes, distances too far
/// back) as "repeated call with bad state", so that message is ambiguous.
fn zlib_message(raw: Option<&str>) -> (String, bool) {
    let raw = raw.unwrap_or("invalid deflate data").trim_end_matches('\0');
    if raw.contains("repeated call") {
        ("invalid code or distance too far back".to_string(), true)
    } else {
        (raw.to_string(), raw.contains("too far back"))
    }
}

thread_local! {
    /// Inflated output is handed to the sink chunk by chunk and never kept,
    /// so one buffer per thread serves every inflater on it: a buffer per
    /// inflater was 16 KiB for each direction of each compressed connection
    /// in flight (19 MB of a 127 MB peak on a generated capture).
    static OUT_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

thread_local! {
    /// zlib states handed back after each message, reset and ready for the
    /// next one (of any direction on this thread).
    static ZLIB_POOL: std::cell::RefCell<Vec<Decompress>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// States kept per thread: more than the messages usually open at once on
/// a thread, few enough to be a small fixed cost (each is about 45 KiB).
const ZLIB_POOL_MAX: usize = 16;

/// A reset zlib state from this thread's pool, or a new one.
fn pool_take() -> Decompress {
    ZLIB_POOL
        .with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()))
        .unwrap_or_else(|| Decompress::new_with_window_bits(false, ZLIB_BITS))
}

fn pool_put(mut d: Decompress) {
    d.reset(false);
    ZLIB_POOL.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut()
            && p.len() < ZLIB_POOL_MAX
        {
            p.push(d);
        }
    });
}

/// Runs `f` with this thread's output buffer of [`OUT_CHUNK`] bytes. The
/// buffer is taken out while `f` runs, so a nested call (none exists) would
/// get a fresh one rather than a conflict.
fn with_out_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = OUT_BUFFER.take();
    if buf.len() < OUT_CHUNK {
        buf.resize(OUT_CHUNK, 0);
    }
    let r = f(&mut buf);
    OUT_BUFFER.set(buf);
    r
}

/// The message being inflated.
#[derive(Clone, Debug, Default)]
struct Message {
    active: bool,
    compressed: u64,
    inflated: u64,
    started_lost: bool,
    /// A final block ended the stream inside the message before the window
    /// was kept: the rest of it was inflated without its dictionary.
    lost_midway: bool,
    error: Option<InflateError>,
}

/// Inflates the compressed messages of one direction, in order. See the
/// module docs. Per message: [`Inflater::feed`] the payload chunks (unmasked,
/// across frames), then [`Inflater::finish`].
pub struct Inflater {
    cfg: InflaterConfig,
    /// zlib's state while a message is being inflated: taken from the
    /// per-thread pool when the message starts (its window restored from
    /// `history` with context takeover) and handed back when it ends.
    /// Memory then follows the messages being inflated, not the connections
    /// that negotiated compression.
    dec: Option<Decompress>,
    history: History,
    /// The DEFLATE stream ended (a BFINAL block); the next byte starts a
    /// new one.
    ended: bool,
    /// Reset the decompressor before the next message (its state is
    /// unusable after a failure, or the config asks for it).
    reset_next: bool,
    msg: Message,
}

/// A message abandoned with its connection hands its zlib state back too.
impl Drop for Inflater {
    fn drop(&mut self) {
        if let Some(d) = self.dec.take() {
            pool_put(d);
        }
    }
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("cfg", &self.cfg).field("lost", &self.history.lost).field("msg", &self.msg).finish_non_exhaustive()
    }
}

impl Inflater {
    pub fn new(cfg: InflaterConfig) -> Inflater {
        // The copy is the sender's window (module docs). 8 counts as 9:
        // zlib, behind most senders, cannot make 8-bit raw streams and
        // silently uses 9.
        let bits = cfg.window_bits.clamp(9, 15);
        Inflater {
            cfg,
            dec: None,
            history: History { window: 1usize << bits, keep: !cfg.no_context_takeover, ..History::default() },
            ended: false,
            reset_next: false,
            msg: Message::default(),
        }
    }

    pub fn config(&self) -> InflaterConfig {
        self.cfg
    }

    /// Whether later messages may refer to data the capture lost.
    pub fn dictionary_lost(&self) -> bool {
        self.history.lost
    }

    /// The window is unknown: the capture starts mid-connection, or a
    /// compressed message was lost whole (e.g. skipped by a resync). Nothing
    /// is lost without context takeover.
    pub fn lose_dictionary(&mut self) {
        if !self.cfg.no_context_takeover {
            self.history.lost = true;
            self.history.since_loss = 0;
        }
        self.reset_next = true;
    }

    /// Whether a message is being inflated.
    pub fn in_message(&self) -> bool {
        self.msg.active
    }

    /// Starts a message if none is open.
    fn begin(&mut self) {
        if self.msg.active {
            return;
        }
        if self.cfg.no_context_takeover || self.reset_next {
            if let Some(d) = self.dec.as_mut() {
                d.reset(false);
            }
            self.history.clear();
            self.ended = false;
            self.reset_next = false;
        }
        self.msg = Message { active: true, started_lost: self.history.lost, ..Message::default() };
    }

    /// Feeds the next compressed payload chunk of the current message (a
    /// message starts with the first call after [`Inflater::finish`]).
    /// Inflated bytes go to `sink` in chunks of at most [`OUT_CHUNK`]. The
    /// first error is returned as soon as it is found, and again by every
    /// later call for the same message.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        self.begin();
        if let Some(e) = &self.msg.error {
            return Err(e.clone());
        }
        let r = self.inflate(chunk, FlushDecompress::None, sink);
        self.msg.compressed = self.msg.compressed.saturating_add(chunk.len() as u64);
        r
    }

    /// `len` compressed bytes of the current message were not captured: the
    /// message cannot be inflated past them.
    pub fn gap(&mut self, len: u64) {
        self.begin();
        if self.msg.error.is_none() {
            let e = InflateError { kind: InflateErrorKind::Gap { len }, offset: self.msg.compressed, inflated: self.msg.inflated };
            self.fail(e);
        }
        self.msg.compressed = self.msg.compressed.saturating_add(len);
    }

    /// Ends the current message: appends the tail (§7.2.2) and flushes.
    /// Returns its sizes, or the message's error.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<Inflated, InflateError> {
        self.begin();
        let result = match self.msg.error.clone() {
            Some(e) => Err(e),
            // A stream that ended exactly at the end of the message (a
            // BFINAL block, §7.2.3.4) needs no tail.
            None if self.ended => Ok(()),
            None => self.inflate(&TAIL, FlushDecompress::Sync, sink),
        };
        let msg = std::mem::take(&mut self.msg);
        self.release();
        result.map(|()| Inflated {
            compressed: msg.compressed,
            inflated: msg.inflated,
            after_dictionary_loss: msg.started_lost || msg.lost_midway,
        })
    }

    /// Abandons the current message (the stream ended inside it): the
    /// window is lost for later messages.
    pub fn abort(&mut self) {
        if self.msg.active {
            self.msg = Message::default();
            self.lose_dictionary();
            self.release();
        }
    }

    /// Between messages zlib's state goes back to the pool. Without context
    /// takeover nothing needs keeping and the window's copy is freed; with
    /// it, the copy is the window.
    fn release(&mut self) {
        if let Some(d) = self.dec.take() {
            pool_put(d);
        }
        if self.cfg.no_context_takeover {
            self.history.release();
        }
    }

    /// zlib's state, taken from the pool (or created) on first use in a
    /// message. A stream that goes on from the last message gets its window
    /// back from the copy; one that restarts (no context takeover, a reset,
    /// a final block) starts from what `begin` and `restart_stream` leave.
    fn dec(&mut self) -> &mut Decompress {
        let restore = self.dec.is_none() && !self.ended;
        let d = self.dec.get_or_insert_with(pool_take);
        if restore && self.history.restore(d).is_err() {
            // Not for a raw stream; should zlib refuse, later references
            // to the window are reported as a lost dictionary.
            d.reset(false);
            self.history.clear();
            self.history.lost = true;
            self.history.since_loss = 0;
        }
        d
    }

    fn fail(&mut self, e: InflateError) -> InflateError {
        self.msg.error = Some(e.clone());
        // The rest of the message is not inflated: the window is lost.
        self.lose_dictionary();
        e
    }

    /// Restarts the DEFLATE stream after a final block, keeping the window
    /// (context takeover survives BFINAL, §7.2.3.4) from its copy. Without
    /// context takeover the copy is kept only from the first final block
    /// on: that one starts the rest of its message from an empty window,
    /// and the dictionary counts as lost for the rest of that message.
    fn restart_stream(&mut self) -> Result<(), ()> {
        self.dec().reset(false);
        self.ended = false;
        if !self.history.keep {
            // Only without context takeover: nothing to lose past the
            // message.
            self.history.keep = true;
            self.msg.lost_midway = true;
            return Ok(());
        }
        let Inflater { dec, history, .. } = self;
        match dec {
            Some(d) => history.restore(d),
            None => Ok(()),
        }
    }

    /// Inflates `input` (part of the current message) into the sink.
    fn inflate(&mut self, input: &[u8], flush: FlushDecompress, sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        with_out_buffer(|out| self.inflate_into(out, input, flush, sink))
    }

    fn inflate_into(
        &mut self,
        out: &mut [u8],
        mut input: &[u8],
        flush: FlushDecompress,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), InflateError> {
        // Compressed bytes of the message before `input` (the tail is not
        // counted: an error in it is at the end of the message).
        let base = self.msg.compressed;
        let total = if flush == FlushDecompress::Sync { 0 } else { input.len() };
        loop {
            if self.ended {
                if input.is_empty() {
                    return Ok(());
                }
                if self.restart_stream().is_err() {
                    let offset = base + total.saturating_sub(input.len()) as u64;
                    let e = InflateError { kind: InflateErrorKind::DictionaryLost, offset, inflated: self.msg.inflated };
                    return Err(self.fail(e));
                }
            }
            let left = self.cfg.max_message.saturating_sub(self.msg.inflated);
            // One byte of room past the cap tells "exactly the cap" from "more".
            let room = usize::try_from(left.saturating_add(1)).unwrap_or(usize::MAX).min(out.len());
            let dec = self.dec();
            let (in0, out0) = (dec.total_in(), dec.total_out());
            let status = match out.get_mut(..room) {
                Some(buf) => dec.decompress(input, buf, flush),
                None => return Ok(()),
            };
            let consumed = usize::try_from(dec.total_in() - in0).unwrap_or(usize::MAX).min(input.len());
            let produced = usize::try_from(dec.total_out() - out0).unwrap_or(usize::MAX).min(room);
            input = input.get(consumed..).unwrap_or_default();
            let offset = base + total.saturating_sub(input.len()) as u64;
            let deliver = produced.min(usize::try_from(left).unwrap_or(usize::MAX));
            if let Some(bytes) = out.get(..deliver).filter(|b| !b.is_empty()) {
                sink(bytes);
                self.msg.inflated += deliver as u64;
                self.history.remember(bytes);
            }
            if produced > deliver {
                let cap = self.cfg.max_message;
                return Err(self.fail(InflateError { kind: InflateErrorKind::CapExceeded { cap }, offset, inflated: self.msg.inflated }));
            }
            match status {
                Err(e) => {
                    let (message, may_be_distance) = zlib_message(e.message());
                    let kind = if (self.msg.started_lost || self.msg.lost_midway) && may_be_distance {
                        InflateErrorKind::DictionaryLost
                    } else {
                        InflateErrorKind::Corrupt { message }
                    };
                    return Err(self.fail(InflateError { kind, offset, inflated: self.msg.inflated }));
                }
                Ok(Status::StreamEnd) => self.ended = true,
                Ok(Status::Ok | Status::BufError) => {
                    // Done when the input is used up and the output was not
                    // full (nothing is held back), or when nothing moved.
                    if (input.is_empty() && produced < room) || (consumed == 0 && produced == 0) {
                        return Ok(());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn ext<'a>(name: &'a str, params: &'a [(String, Option<String>)]) -> ExtensionRef<'a> {
        ExtensionRef { name, params }
    }

    fn params(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    fn ids(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|x| x.rule.id()).collect()
    }

    /// Inflates `messages`, each split into `chunk`-byte pieces.
    fn inflate_all(cfg: InflaterConfig, messages: &[&[u8]], chunk: usize) -> Vec<Result<Vec<u8>, InflateError>> {
        let mut inf = Inflater::new(cfg);
        messages
            .iter()
            .map(|m| {
                let mut out = Vec::new();
                let mut sink = |b: &[u8]| out.extend_from_slice(b);
                for piece in m.chunks(chunk.max(1)) {
                    if inf.feed(piece, &mut sink).is_err() {
                        break;
                    }
                }
                let r = inf.finish(&mut sink);
                r.map(|_| out)
            })
            .collect()
    }

    /// A sender's compressor: raw deflate, sync flush, tail removed (§7.2.1).
    struct Sender(Compress);

    impl Sender {
        fn new(bits: u8) -> Sender {
            Sender(Compress::new_with_window_bits(Compression::default(), false, bits))
        }

        fn message(&mut self, data: &[u8]) -> Vec<u8> {
            let mut out = Vec::with_capacity(data.len() + 64);
            let mut input = data;
            loop {
                out.reserve(64 * 1024);
                let before = self.0.total_in();
                self.0.compress_vec(input, &mut out, FlushCompress::Sync).unwrap();
                input = &input[(self.0.total_in() - before) as usize..];
                if input.is_empty() && out.len() < out.capacity() {
                    break;
                }
            }
            assert!(out.ends_with(&TAIL));
            out.truncate(out.len() - 4);
            out
        }
    }

    fn text(n: usize) -> Vec<u8> {
        // Compressible but not trivial: words from a small pseudo-random
        // sequence.
        let words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ", "eta ", "theta "];
        let mut x = 12345u32;
        let mut out = Vec::new();
        while out.len() < n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
        }
        out.truncate(n);
        out
    }

    #[test]
    fn rfc7692_examples() {
        let cfg = InflaterConfig::default();
        // §7.2.3.1: "Hello" in one compressed block.
        let hello: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(cfg, &[hello], 100), [Ok(b"Hello".to_vec())]);
        // §7.2.3.2: the second message refers back into the first.
        let second: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(inflate_all(cfg, &[hello, second], 100), [Ok(b"Hello".to_vec()), Ok(b"Hello".to_vec())]);
        // §7.2.3.3: a block with no compression.
        let stored: &[u8] = &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
        assert_eq!(inflate_all(cfg, &[stored], 1), [Ok(b"Hello".to_vec())]);
        // §7.2.3.4: a block with BFINAL set, then more messages on the same
        // window.
        let bfinal: &[u8] = &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_all(cfg, &[bfinal, hello, second], 3), [Ok(b"Hello".to_vec()), Ok(b"Hello".to_vec()), Ok(b"Hello".to_vec())]);
        // The BFINAL block without the extra 0x00 still ends the message.
        let bare_final: &[u8] = &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(cfg, &[bare_final, hello], 2), [Ok(b"Hello".to_vec()), Ok(b"Hello".to_vec())]);
        // §7.2.3.5: two DEFLATE blocks in one message.
        let two: &[u8] = &[0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(cfg, &[two], 5), [Ok(b"Hello".to_vec())]);
        // An empty message (§7.2.3.6: a single 0x00 byte).
        assert_eq!(inflate_all(cfg, &[&[0x00]], 1), [Ok(vec![])]);
    }

    #[test]
    fn no_context_takeover_resets_the_window() {
        let hello: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let second: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];
        let cfg = InflaterConfig { no_context_takeover: true, ..InflaterConfig::default() };
        let got = inflate_all(cfg, &[hello, hello, second], 100);
        assert_eq!(got[0], Ok(b"Hello".to_vec()));
        assert_eq!(got[1], Ok(b"Hello".to_vec()));
        // A sender that kept its context although it agreed not to: corrupt.
        let e = got[2].clone().unwrap_err();
        assert!(matches!(&e.kind, InflateErrorKind::Corrupt { message } if message.contains("too far back")), "{e}");
        assert!(e.to_string().starts_with("corrupt deflate data at compressed byte "), "{e}");
        assert_eq!(e.rule(), Some(Rule::DeflateError));
    }

    #[test]
    fn context_takeover_across_many_messages_and_any_split() {
        let mut s = Sender::new(15);
        let plain: Vec<Vec<u8>> = (0..20).map(|i| text(200 + i * 500)).collect();
        let wire: Vec<Vec<u8>> = plain.iter().map(|p| s.message(p)).collect();
        let refs: Vec<&[u8]> = wire.iter().map(Vec::as_slice).collect();
        // Later messages are mostly back-references.
        assert!(wire[19].len() * 10 < plain[19].len());
        for chunk in [1, 7, 1000, usize::MAX] {
            let got = inflate_all(InflaterConfig::default(), &refs, chunk);
            for (g, p) in got.iter().zip(&plain) {
                assert_eq!(g.as_ref().map(Vec::len), Ok(p.len()), "chunk {chunk}");
                assert_eq!(g.as_ref().ok(), Some(p));
            }
        }
    }

    #[test]
    fn any_negotiated_window_decodes_and_chunking_does_not_matter() {
        // 600 pseudo-random bytes, then the same 600 again: a distance of
        // 600, beyond a 512-byte window.
        let mut x = 7u32;
        let block: Vec<u8> = (0..600)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        let data = [block.clone(), block].concat();
        let wide = Sender::new(15).message(&data);
        let narrow = Sender::new(9).message(&data);
        assert_ne!(wide, narrow, "the 9-bit sender cannot refer 600 bytes back");
        for bits in [8, 9, 12, 15] {
            let cfg = InflaterConfig { window_bits: bits, ..InflaterConfig::default() };
            for chunk in [1, 64, usize::MAX] {
                assert_eq!(inflate_all(cfg, &[&narrow], chunk)[0].as_ref().ok(), Some(&data), "bits {bits} chunk {chunk}");
                // A too-long distance is not judged (module docs): the same
                // verdict whatever the chunking.
                assert_eq!(inflate_all(cfg, &[&wide], chunk)[0].as_ref().ok(), Some(&data), "bits {bits} chunk {chunk}");
            }
        }
    }

    #[test]
    fn zlib_messages() {
        assert_eq!(zlib_message(Some("invalid block type\0")), ("invalid block type".to_string(), false));
        assert!(zlib_message(Some("invalid distance too far back")).1);
        assert!(zlib_message(Some("repeated call with bad state")).1);
        assert!(!zlib_message(None).1);
    }

    #[test]
    fn a_bomb_is_stopped_at_the_cap() {
        let zeros = vec![0u8; 10 * 1024 * 1024];
        let wire = Sender::new(15).message(&zeros);
        assert!(wire.len() < 20_000, "{}", wire.len());
        let cap = 1024 * 1024;
        let mut inf = Inflater::new(InflaterConfig { max_message: cap, ..InflaterConfig::default() });
        let (mut total, mut biggest, mut calls) = (0u64, 0usize, 0u32);
        let mut sink = |b: &[u8]| {
            total += b.len() as u64;
            biggest = biggest.max(b.len());
            calls += 1;
        };
        let e = inf.feed(&wire, &mut sink).unwrap_err();
        assert_eq!(e.kind, InflateErrorKind::CapExceeded { cap });
        assert_eq!(e.to_string(), format!("inflation exceeded the cap at {cap} bytes"));
        assert_eq!(e.inflated, cap);
        assert!(e.offset < wire.len() as u64, "stopped before reading the whole message");
        // Sticky for the rest of the message, and at its end.
        assert_eq!(inf.feed(&[1, 2, 3], &mut sink), Err(e.clone()));
        assert_eq!(inf.finish(&mut sink), Err(e.clone()));
        assert_eq!(total, cap);
        assert!(biggest <= OUT_CHUNK);
        assert!(calls >= (cap / OUT_CHUNK as u64) as u32);
        // The window is lost for later messages (context takeover).
        assert!(inf.dictionary_lost());
        // A message of exactly the cap is fine.
        let exact = Sender::new(15).message(&vec![b'a'; 1000]);
        let cfg = InflaterConfig { max_message: 1000, ..InflaterConfig::default() };
        assert_eq!(inflate_all(cfg, &[&exact], 10)[0].as_ref().map(Vec::len), Ok(1000));
        let cfg = InflaterConfig { max_message: 999, ..InflaterConfig::default() };
        assert_eq!(inflate_all(cfg, &[&exact], 10)[0].as_ref().unwrap_err().kind, InflateErrorKind::CapExceeded { cap: 999 });
    }

    #[test]
    fn corrupt_data_is_an_error_with_an_offset() {
        // BTYPE = 11 is reserved (RFC 1951 §3.2.3).
        let got = inflate_all(InflaterConfig::default(), &[&[0xff, 0xff, 0xff, 0xff]], 1);
        let e = got[0].clone().unwrap_err();
        assert!(matches!(e.kind, InflateErrorKind::Corrupt { .. }), "{e}");
        assert!(e.offset <= 4);
        assert!(e.to_string().starts_with("corrupt deflate data at compressed byte"), "{e}");
        // A bad block header right after a long valid run, in one chunk (many
        // output buffers before it): the offset points at it.
        let good = Sender::new(15).message(&text(200_000));
        // The message ends with the header of an empty stored block (§7.2.1):
        // complete it with the tail, then a reserved block type.
        let bad = [good.clone(), TAIL.to_vec(), vec![0xff, 0xff]].concat();
        for chunk in [usize::MAX, 4096] {
            let mut inf = Inflater::new(InflaterConfig::default());
            let mut n_out = 0u64;
            let mut sink = |b: &[u8]| n_out += b.len() as u64;
            let e = bad.chunks(chunk).find_map(|c| inf.feed(c, &mut sink).err()).expect("invalid block type");
            assert!(matches!(&e.kind, InflateErrorKind::Corrupt { message } if message.contains("block type")), "{e}");
            let at = good.len() as u64 + 4;
            assert!((at..=bad.len() as u64).contains(&e.offset), "{} not in {at}..={}", e.offset, bad.len());
            assert_eq!((e.inflated, n_out), (200_000, 200_000));
        }
        // Corrupt in the middle of a valid message.
        let mut wire = Sender::new(15).message(&text(5000));
        let n = wire.len();
        wire[n / 2] ^= 0xff;
        wire[n / 2 + 1] ^= 0x55;
        for chunk in [1, 13, n] {
            let r = inflate_all(InflaterConfig::default(), &[&wire], chunk).remove(0);
            // Some flips still decode to (wrong) data: the point is no panic,
            // and a reported error names a position inside the message.
            if let Err(e) = r {
                assert!(e.offset <= n as u64, "{e}");
            }
        }
        // Truncated stored block is not an error until proven (the tail may
        // complete it), random garbage never panics.
        let mut x = 99u32;
        for len in 0..200 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = inflate_all(InflaterConfig { max_message: 4096, ..InflaterConfig::default() }, &[&junk, &junk], 3);
        }
    }

    /// Inflates one message fed in pieces cut at `cuts`; returns the bytes
    /// delivered and whether it inflated.
    fn inflate_cut(bytes: &[u8], cuts: &[usize], cap: u64) -> (Vec<u8>, Result<(), std::mem::Discriminant<InflateErrorKind>>) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).chain([0, bytes.len()]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut inf = Inflater::new(InflaterConfig { max_message: cap, ..InflaterConfig::default() });
        let mut out = Vec::new();
        let mut sink = |b: &[u8]| {
            assert!(b.len() <= OUT_CHUNK);
            out.extend_from_slice(b);
        };
        let mut r = Ok(());
        for w in cuts.windows(2) {
            if let Err(e) = inf.feed(&bytes[w[0]..w[1]], &mut sink) {
                r = Err(std::mem::discriminant(&e.kind));
                break;
            }
        }
        if r.is_ok() {
            r = inf.finish(&mut sink).map(|_| ()).map_err(|e| std::mem::discriminant(&e.kind));
        }
        (out, r)
    }

    proptest::proptest! {
        /// Any bytes, cut anywhere: no panic, output bounded by the cap, and
        /// the same verdict and output as fed whole.
        #[test]
        fn chunking_never_changes_the_verdict(
            seed in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..4),
            raw in proptest::prelude::any::<bool>(),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..6),
        ) {
            // Half the cases: a valid compressed message with a few bytes
            // changed; the others: the seed bytes as they are.
            let mut bytes = if raw { seed.clone() } else { Sender::new(15).message(&[seed.clone(), seed].concat()) };
            for (i, v) in flips {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] ^= v;
                }
            }
            let cap = 4096;
            let whole = inflate_cut(&bytes, &[], cap);
            let cut = inflate_cut(&bytes, &cuts, cap);
            proptest::prop_assert!(whole.0.len() as u64 <= cap);
            proptest::prop_assert_eq!(whole, cut);
        }
    }

    #[test]
    fn dictionary_lost_after_a_gap() {
        let mut s = Sender::new(15);
        let a = text(3000);
        let m1 = s.message(&a);
        let m2 = s.message(&a); // refers back into m1
        let mut inf = Inflater::new(InflaterConfig::default());
        let mut sink = |_: &[u8]| {};
        inf.feed(&m1[..10], &mut sink).unwrap();
        inf.gap(m1.len() as u64 - 10);
        let e = inf.finish(&mut sink).unwrap_err();
        assert!(matches!(e.kind, InflateErrorKind::Gap { .. }));
        assert_eq!(e.rule(), None);
        assert!(inf.dictionary_lost());
        let mut out = Vec::new();
        let mut sink2 = |b: &[u8]| out.extend_from_slice(b);
        let _ = inf.feed(&m2, &mut sink2);
        let e = inf.finish(&mut sink2).unwrap_err();
        assert_eq!(e.kind, InflateErrorKind::DictionaryLost, "{e}");
        assert_eq!(e.rule(), Some(Rule::DeflateDictionaryLost));
        assert_eq!(e.violation().map(|v| v.rule), Some(Rule::DeflateDictionaryLost));
        // A message that refers to nothing older inflates exactly, and a
        // full window of new output makes the dictionary known again.
        let mut fresh = Sender::new(15);
        let big = text(40_000);
        let m3 = fresh.message(&big);
        let mut out = Vec::new();
        let mut sink3 = |b: &[u8]| out.extend_from_slice(b);
        inf.feed(&m3, &mut sink3).unwrap();
        let done = inf.finish(&mut sink3).unwrap();
        assert!(done.after_dictionary_loss);
        assert_eq!(out, big);
        assert!(!inf.dictionary_lost());
        let m4 = fresh.message(&big);
        let mut out = Vec::new();
        let mut sink4 = |b: &[u8]| out.extend_from_slice(b);
        inf.feed(&m4, &mut sink4).unwrap();
        let done = inf.finish(&mut sink4).unwrap();
        assert!(!done.after_dictionary_loss);
        assert_eq!(out, big);
        assert_eq!(done.compressed, m4.len() as u64);
        // Mid-connection start.
        let mut inf = Inflater::new(InflaterConfig::default());
        inf.lose_dictionary();
        let mut sink = |_: &[u8]| {};
        let _ = inf.feed(&m2, &mut sink);
        assert_eq!(inf.finish(&mut sink).unwrap_err().kind, InflateErrorKind::DictionaryLost);
        // Without context takeover nothing is ever lost.
        let mut inf = Inflater::new(InflaterConfig { no_context_takeover: true, ..InflaterConfig::default() });
        inf.lose_dictionary();
        assert!(!inf.dictionary_lost());
    }

    /// A message of one final block (Z_FINISH) plus the extra 0x00
    /// (§7.2.3.4), and one from a new compressor primed with `dict`
    /// (sync flush, tail removed) that refers back into it.
    fn final_block_then_reference(first: &[u8], dict: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut c = Compress::new(Compression::default(), false);
        let mut m1 = Vec::with_capacity(4096);
        c.compress_vec(first, &mut m1, FlushCompress::Finish).unwrap();
        m1.push(0x00);
        let mut c2 = Compress::new(Compression::default(), false);
        c2.set_dictionary(dict).unwrap();
        let mut m2 = Vec::with_capacity(4096);
        c2.compress_vec(dict, &mut m2, FlushCompress::Sync).unwrap();
        m2.truncate(m2.len() - 4);
        assert!(m2.len() < 50);
        (m1, m2)
    }

    #[test]
    fn final_blocks_keep_the_window_with_context_takeover() {
        let a = text(2000);
        let b: Vec<u8> = text(3000).into_iter().rev().collect();
        let (m1, m2) = final_block_then_reference(&a, &a);
        let (m3, m4) = final_block_then_reference(&b, &b);
        for chunk in [9, 4096] {
            let got = inflate_all(InflaterConfig::default(), &[&m1, &m2, &m3, &m4], chunk);
            assert_eq!(got[0].as_ref().ok(), Some(&a));
            // The next stream starts from the window's copy.
            assert_eq!(got[1].as_ref().ok(), Some(&a), "{:?}", got[1]);
            assert_eq!(got[2].as_ref().ok(), Some(&b));
            assert_eq!(got[3].as_ref().ok(), Some(&b));
        }
        // Inside one message: a final block, then a stream that refers to
        // it (§7.2.3.4 allows several streams in a message).
        let mut one = m1.clone();
        one.pop();
        one.extend_from_slice(&m2);
        let both: Vec<u8> = a.iter().chain(a.iter()).copied().collect();
        let got = inflate_all(InflaterConfig::default(), &[&one], 7);
        assert_eq!(got[0].as_ref().ok(), Some(&both));
        // Without context takeover no copy is kept until a final block has
        // been seen: the first one loses the window for the rest of its
        // message, and from then on it is kept.
        let cfg = InflaterConfig { no_context_takeover: true, ..InflaterConfig::default() };
        let got = inflate_all(cfg, &[&one, &one], 7);
        assert!(matches!(got[0], Err(InflateError { kind: InflateErrorKind::DictionaryLost, .. })), "{:?}", got[0]);
        assert_eq!(got[1].as_ref().ok(), Some(&both));
    }

    /// What carries over between messages is the negotiated window: a
    /// sender that honours it inflates across messages however its data
    /// was split, and one that refers further back into an earlier message
    /// fails the same way for every split.
    #[test]
    fn the_negotiated_window_carries_over_whatever_the_split() {
        let cfg = InflaterConfig { window_bits: 10, ..InflaterConfig::default() };
        let texts: Vec<Vec<u8>> = (0..6).map(|i| text(700 + i * 300)).collect();
        let mut honest = Sender::new(10);
        let msgs: Vec<Vec<u8>> = texts.iter().map(|t| honest.message(t)).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let a = text(3000);
        let mut wide = Sender::new(15);
        let (w1, w2) = (wide.message(&a), wide.message(&a));
        assert!(w2.len() < 100, "the repeat is a reference 3000 bytes back: {} bytes", w2.len());
        let aa: Vec<u8> = a.iter().chain(a.iter()).copied().collect();
        let doubled = Sender::new(15).message(&aa);
        for chunk in [1, 7, 100, 5000] {
            let got = inflate_all(cfg, &refs, chunk);
            for (g, t) in got.iter().zip(&texts) {
                assert_eq!(g.as_ref().ok(), Some(t), "chunk {chunk}");
            }
            let got = inflate_all(cfg, &[&w1, &w2], chunk);
            assert_eq!(got[0].as_ref().ok(), Some(&a), "chunk {chunk}");
            assert!(matches!(got[1], Err(InflateError { kind: InflateErrorKind::Corrupt { .. }, .. })), "chunk {chunk}: {:?}", got[1]);
            // Inside one message the same reference resolves, for every
            // split.
            let got = inflate_all(cfg, &[&doubled], chunk);
            assert_eq!(got[0].as_ref().ok(), Some(&aa), "chunk {chunk}");
        }
    }

    /// Many directions on one thread, their messages interleaved: each
    /// message is inflated on whatever zlib state the pool hands out, with
    /// its own direction's window restored, so every direction's later
    /// messages still resolve references to its own earlier output.
    #[test]
    fn interleaved_directions_keep_their_own_windows() {
        let texts: Vec<Vec<u8>> = (0..40).map(|i| format!("direction {i} says: {}", "x".repeat(i * 97)).into_bytes()).collect();
        let mut senders: Vec<Sender> = texts.iter().map(|_| Sender::new(15)).collect();
        let mut inflaters: Vec<Inflater> = texts.iter().map(|_| Inflater::new(InflaterConfig::default())).collect();
        for round in 0..4 {
            for (i, t) in texts.iter().enumerate() {
                let m = senders[i].message(t);
                // After the first round each message is a back reference.
                if round > 0 {
                    assert!(m.len() < 40, "round {round} direction {i}: {} bytes", m.len());
                }
                let mut out = Vec::new();
                let mut sink = |b: &[u8]| out.extend_from_slice(b);
                inflaters[i].feed(&m, &mut sink).unwrap();
                let done = inflaters[i].finish(&mut sink).unwrap();
                assert!(!done.after_dictionary_loss);
                assert_eq!(&out, t, "round {round} direction {i}");
            }
        }
        // Between messages a direction holds only its output, not a window.
        assert!(inflaters.iter().all(|f| f.dec.is_none()));
        for (f, t) in inflaters.iter().zip(&texts) {
            assert_eq!(f.history.ring.len(), (4 * t.len()).min(f.history.window));
            assert!(f.history.ring.capacity() <= f.history.window);
        }
    }

    #[test]
    fn parses_offer_and_response_parameters() {
        let offer = params(&[("client_max_window_bits", None), ("server_no_context_takeover", None)]);
        let (p, problems) = parse_params(ext(EXTENSION_NAME, &offer), Side::Offer);
        assert!(problems.is_empty());
        assert_eq!(p.client_max_window_bits, WindowBits::NoValue);
        assert!(p.server_no_context_takeover);
        let resp =
            params(&[("server_no_context_takeover", None), ("client_max_window_bits", Some("10")), ("server_max_window_bits", Some("12"))]);
        let n = negotiate(&[ext(EXTENSION_NAME, &offer)], &[ext(EXTENSION_NAME, &resp)]);
        assert!(n.violations.is_empty(), "{:?}", n.violations);
        let p = n.params.unwrap();
        assert_eq!(p.direction(Role::Client), DirectionParams { window_bits: 10, no_context_takeover: false });
        assert_eq!(p.direction(Role::Server), DirectionParams { window_bits: 12, no_context_takeover: true });
        assert_eq!(p.inflater_config(Role::Server, 5).max_message, 5);
        // Defaults: 15 bits, context takeover.
        let n = negotiate(&[ext(EXTENSION_NAME, &[])], &[ext(EXTENSION_NAME, &[])]);
        assert!(n.violations.is_empty());
        assert_eq!(n.params.unwrap().direction(Role::Client), DirectionParams { window_bits: 15, no_context_takeover: false });
        // Not accepted.
        assert_eq!(negotiate(&[ext(EXTENSION_NAME, &offer)], &[]), Negotiation::default());
    }

    #[test]
    fn response_problems() {
        let plain_offer: Vec<(String, Option<String>)> = vec![];
        let offer = [ext(EXTENSION_NAME, &plain_offer)];
        let check = |resp: &[(&str, Option<&str>)]| ids(&negotiate(&offer, &[ext(EXTENSION_NAME, &params(resp))]).violations);
        assert_eq!(check(&[("x_unknown", None)]), ["deflate-bad-parameter"]);
        assert_eq!(check(&[("server_no_context_takeover", None), ("SERVER_NO_CONTEXT_TAKEOVER", None)]), ["deflate-duplicate-parameter"]);
        for bad in ["7", "16", "08", "+9", "9.0", "", "abc", "1O"] {
            assert_eq!(check(&[("server_max_window_bits", Some(bad))]), ["deflate-bad-value"], "{bad:?}");
        }
        for good in ["8", "9", "10", "15"] {
            assert!(check(&[("server_max_window_bits", Some(good))]).is_empty(), "{good:?}");
        }
        assert_eq!(check(&[("server_max_window_bits", None)]), ["deflate-bad-value"]);
        assert_eq!(check(&[("client_no_context_takeover", Some("1"))]), ["deflate-bad-value"]);
        // Bare client_max_window_bits: only in an offer.
        let with_bits = params(&[("client_max_window_bits", None)]);
        let n = negotiate(&[ext(EXTENSION_NAME, &with_bits)], &[ext(EXTENSION_NAME, &with_bits)]);
        assert_eq!(ids(&n.violations), ["deflate-bad-value"]);
        // client_max_window_bits answered to an offer without it.
        assert_eq!(check(&[("client_max_window_bits", Some("10"))]), ["deflate-window-bits-not-offered"]);
        // Two RSV1 users.
        let none: Vec<(String, Option<String>)> = vec![];
        let n = negotiate(&offer, &[ext(EXTENSION_NAME, &none), ext("x-webkit-deflate-frame", &none)]);
        assert_eq!(ids(&n.violations), ["rsv1-extension-conflict"]);
        let n = negotiate(&offer, &[ext(EXTENSION_NAME, &none), ext(EXTENSION_NAME, &none)]);
        assert_eq!(ids(&n.violations), ["rsv1-extension-conflict"]);
        let n = negotiate(&offer, &[ext(EXTENSION_NAME, &none), ext("permessage-bzip2", &none)]);
        assert_eq!(ids(&n.violations), ["rsv1-extension-conflict"]);
        // An unrelated extension is fine.
        let n = negotiate(&offer, &[ext(EXTENSION_NAME, &none), ext("x-custom-thing", &none)]);
        assert!(n.violations.is_empty());
    }

    #[test]
    fn response_must_match_an_offer() {
        let strict = params(&[("server_no_context_takeover", None), ("server_max_window_bits", Some("10"))]);
        let loose: Vec<(String, Option<String>)> = vec![];
        let check = |offers: &[ExtensionRef<'_>], resp: &[(&str, Option<&str>)]| {
            ids(&negotiate(offers, &[ext(EXTENSION_NAME, &params(resp))]).violations)
        };
        let only_strict = [ext(EXTENSION_NAME, &strict)];
        assert!(check(&only_strict, &[("server_no_context_takeover", None), ("server_max_window_bits", Some("9"))]).is_empty());
        assert_eq!(check(&only_strict, &[("server_max_window_bits", Some("10"))]), ["deflate-offer-not-matched"]);
        assert_eq!(
            check(&only_strict, &[("server_no_context_takeover", None), ("server_max_window_bits", Some("11"))]),
            ["deflate-offer-not-matched"]
        );
        // A second, looser offer (Autobahn 13.7: multiple offers) is matched.
        let both = [ext(EXTENSION_NAME, &strict), ext(EXTENSION_NAME, &loose)];
        assert!(check(&both, &[]).is_empty());
        // The server may add server_no_context_takeover or a window unasked.
        assert!(
            check(&[ext(EXTENSION_NAME, &loose)], &[("server_no_context_takeover", None), ("server_max_window_bits", Some("8"))])
                .is_empty()
        );
        // Offer problems are reported apart.
        let bad_offer = params(&[("server_max_window_bits", Some("99")), ("foo", None)]);
        let n = negotiate(&[ext(EXTENSION_NAME, &bad_offer)], &[ext(EXTENSION_NAME, &loose)]);
        assert_eq!(ids(&n.offer_problems), ["deflate-bad-value", "deflate-bad-parameter"]);
        assert!(n.violations.is_empty());
    }
}
