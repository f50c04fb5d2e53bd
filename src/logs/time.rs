//! Timestamps written in logs, parsed by hand (this is the per-line hot path)
//! and converted to UTC: the written offset when there is one, else the
//! caller's zone (jiff, DST-aware, cached per minute), a missing year taken
//! near a reference time.

use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::model::Timestamp;

/// A timestamp as written: civil fields and what the text said of its zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// `None` when the text has no year (syslog RFC 3164, glog).
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    pub zone: WrittenZone,
    /// Resolution in nanoseconds (10^(9 - fraction digits)).
    pub res_ns: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WrittenZone {
    /// No zone: the caller's `--log-tz`.
    Local,
    /// A UTC offset in seconds (`Z` is 0).
    Offset(i32),
    /// A zone name (`Europe/Berlin` in a PHP log).
    Named(String),
    /// Already an instant, in nanoseconds (epoch numbers).
    Instant(i64),
}

/// A timestamp resolved to UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub ts: Timestamp,
    pub res_ns: i64,
    pub ambiguous: bool,
}

#[inline]
pub(crate) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

#[inline]
fn d(b: &[u8], i: usize) -> Option<u32> {
    let c = at(b, i);
    if c.is_ascii_digit() { Some(u32::from(c - b'0')) } else { None }
}

#[inline]
pub(crate) fn d2(b: &[u8], i: usize) -> Option<u8> {
    Some((d(b, i)? * 10 + d(b, i + 1)?) as u8)
}

#[inline]
fn d4(b: &[u8], i: usize) -> Option<i32> {
    Some((d(b, i)? * 1000 + d(b, i + 1)? * 100 + d(b, i + 2)? * 10 + d(b, i + 3)?) as i32)
}

/// A day number (1 or 2 digits, a leading space allowed): value and length.
fn day_1or2(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match (at(b, i), at(b, i + 1)) {
        (b' ', c) if c.is_ascii_digit() => Some((c - b'0', 2)),
        (a, c) if a.is_ascii_digit() && c.is_ascii_digit() => Some(((a - b'0') * 10 + (c - b'0'), 2)),
        (a, _) if a.is_ascii_digit() => Some((a - b'0', 1)),
        _ => None,
    }
}

/// `HH:MM:SS` at `i`, then an optional `.fff` / `,fff` fraction. Returns the
/// fields, the nanoseconds, the resolution and the index after.
fn hms_frac(b: &[u8], i: usize) -> Option<(u8, u8, u8, u32, i64, usize)> {
    // The fixed part, read from an array: no bounds check per byte.
    let f: &[u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    let h = d2(f, 0)?;
    if at(f, 2) != b':' {
        return None;
    }
    let m = d2(f, 3)?;
    if at(f, 5) != b':' {
        return None;
    }
    let s = d2(f, 6)?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let (nanos, res, j) = fraction(b, i + 8);
    Some((h, m, s, nanos, res, j))
}

/// An optional `.fff` / `,fff` fraction at `j`: the nanoseconds, the
/// resolution and the index after.
fn fraction(b: &[u8], mut j: usize) -> (u32, i64, usize) {
    let (mut nanos, mut res) = (0u32, 1_000_000_000i64);
    if !matches!(at(b, j), b'.' | b',') {
        return (nanos, res, j);
    }
    // Milliseconds, as most loggers write them: the three digits at once.
    if let Some(&[x, y, z]) = b.get(j + 1..j + 4)
        && x.is_ascii_digit()
        && y.is_ascii_digit()
        && z.is_ascii_digit()
        && !at(b, j + 4).is_ascii_digit()
    {
        let millis = u32::from(x - b'0') * 100 + u32::from(y - b'0') * 10 + u32::from(z - b'0');
        return (millis * 1_000_000, 1_000_000, j + 4);
    }
    if at(b, j + 1).is_ascii_digit() {
        j += 1;
        let mut digits = 0;
        while let Some(v) = d(b, j) {
            if digits < 9 {
                nanos = nanos * 10 + v;
                digits += 1;
            }
            j += 1;
        }
        // Nanoseconds, and the resolution of the digits written.
        const SCALE: [u32; 10] = [1_000_000_000, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
        let scale = SCALE.get(digits).copied().unwrap_or(1);
        nanos *= scale;
        res = i64::from(scale);
    }
    (nanos, res, j)
}

/// Month from a three-letter English abbreviation (any case).
pub(crate) fn month_abbr(b: &[u8], i: usize) -> Option<u8> {
    let m = [at(b, i).to_ascii_lowercase(), at(b, i + 1).to_ascii_lowercase(), at(b, i + 2).to_ascii_lowercase()];
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

fn is_weekday(b: &[u8], i: usize) -> bool {
    let w = [at(b, i).to_ascii_lowercase(), at(b, i + 1).to_ascii_lowercase(), at(b, i + 2).to_ascii_lowercase()];
    matches!(&w, b"mon" | b"tue" | b"wed" | b"thu" | b"fri" | b"sat" | b"sun")
}

/// A UTC offset: `Z`, `+HH:MM`, `+HHMM`, `+HH` (sign required except `Z`).
/// Returns seconds east of UTC and the length.
pub(crate) fn offset_at(b: &[u8], i: usize) -> Option<(i32, usize)> {
    let c = at(b, i);
    if c == b'Z' || c == b'z' {
        return Some((0, 1));
    }
    let sign = match c {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = i32::from(d2(b, i + 1)?);
    let (m, len) = if at(b, i + 3) == b':' {
        (i32::from(d2(b, i + 4)?), 6)
    } else if let Some(m) = d2(b, i + 3) {
        (i32::from(m), 5)
    } else {
        (0, 3)
    };
    if h > 25 || m > 59 || at(b, i + len).is_ascii_digit() {
        return None;
    }
    Some((sign * (h * 3600 + m * 60), len))
}

/// An offset given on its own (`--log-tz -05:00`, `+0530`, `+5`).
pub(crate) fn parse_offset_text(b: &[u8]) -> Option<i32> {
    if let Some((secs, len)) = offset_at(b, 0)
        && len == b.len()
        && at(b, 0) != b'Z'
    {
        return Some(secs);
    }
    // `+5`, `-3`: a sign and one digit.
    let sign = match at(b, 0) {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if b.len() == 2 {
        return Some(sign * d(b, 1)? as i32 * 3600);
    }
    None
}

/// What ends a timestamp: the end of the line or a non-alphanumeric byte.
#[inline]
fn ends_ok(b: &[u8], i: usize) -> bool {
    i >= b.len() || !at(b, i).is_ascii_alphanumeric()
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][zone]` (ISO 8601, RFC 3339, log4j,
/// Python asctime). Also a zone written ` UTC` / ` GMT` after it.
pub(crate) fn iso(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let fields = iso_fixed(b.get(i..i + 19)?.try_into().ok()?)?;
    iso_rest(b, i + 19, fields)
}

/// The fields of an ISO stamp's fixed part, `YYYY-MM-DD?HH:MM:SS`: year,
/// month, day, hour, minute, second.
type IsoFields = (i32, u8, u8, u8, u8, u8);

/// The fixed part of an ISO stamp, read from an array (no bounds check per
/// byte).
fn iso_fixed(f: &[u8; 19]) -> Option<IsoFields> {
    let year = d4(f, 0)?;
    if at(f, 4) != b'-' || at(f, 7) != b'-' || !matches!(at(f, 10), b'T' | b' ' | b't' | b'_') {
        return None;
    }
    let month = d2(f, 5)?;
    let day = d2(f, 8)?;
    let hour = d2(f, 11)?;
    if at(f, 13) != b':' {
        return None;
    }
    let minute = d2(f, 14)?;
    if at(f, 16) != b':' {
        return None;
    }
    let second = d2(f, 17)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((year, month, day, hour, minute, second))
}

/// The fixed part of the ISO stamp last read at the start of a line, and its
/// fields: a log's lines come a second apart or less, so most repeat it and
/// only their fraction and zone need reading.
#[derive(Default)]
pub(crate) struct StampMemo {
    fixed: [u8; 19],
    fields: Option<IsoFields>,
}

/// [`iso`] at the start of `b`, with `memo`.
pub(crate) fn iso_memo(b: &[u8], memo: &mut StampMemo) -> Option<(Written, usize)> {
    let fixed: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    // The separator between date and time (`T` or a space, as loggers mix
    // them) is no field: remembered as a space when it is a valid one.
    if !matches!(at(fixed, 10), b'T' | b' ' | b't' | b'_') {
        return None;
    }
    let mut key = *fixed;
    if let Some(sep) = key.get_mut(10) {
        *sep = b' ';
    }
    let fields = match memo.fields {
        Some(fields) if memo.fixed == key => fields,
        _ => {
            let fields = iso_fixed(fixed)?;
            *memo = StampMemo { fixed: key, fields: Some(fields) };
            fields
        }
    };
    iso_rest(b, 19, fields)
}

/// An ISO stamp after its fixed part (at `j`): fraction and zone.
fn iso_rest(b: &[u8], j: usize, (year, month, day, hour, minute, second): IsoFields) -> Option<(Written, usize)> {
    let (nanos, res_ns, mut j) = fraction(b, j);
    let mut zone = WrittenZone::Local;
    if let Some((secs, len)) = offset_at(b, j) {
        zone = WrittenZone::Offset(secs);
        j += len;
    } else if at(b, j) == b' ' && matches!(b.get(j + 1..j + 4), Some(b"UTC" | b"GMT")) && ends_ok(b, j + 4) {
        zone = WrittenZone::Offset(0);
        j += 4;
    }
    if !ends_ok(b, j) {
        return None;
    }
    Some((Written { year: Some(year), month, day, hour, minute, second, nanos, zone, res_ns }, j))
}

/// `YYYY/MM/DD HH:MM:SS[.frac]` (Go's `log`, nginx error log).
pub(crate) fn slash(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let year = d4(b, i)?;
    if at(b, i + 4) != b'/' || at(b, i + 7) != b'/' || !matches!(at(b, i + 10), b' ' | b'T') {
        return None;
    }
    let month = d2(b, i + 5)?;
    let day = d2(b, i + 8)?;
    let (hour, minute, second, nanos, res_ns, j) = hms_frac(b, i + 11)?;
    if !ends_ok(b, j) {
        return None;
    }
    Some((Written { year: Some(year), month, day, hour, minute, second, nanos, zone: WrittenZone::Local, res_ns }, j))
}

/// `DD-Mon-YYYY HH:MM:SS[.frac]` (Tomcat, PHP `[24-Nov-2026 10:00:01 UTC]`),
/// an optional zone name after it.
pub(crate) fn dmy(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let day = d2(b, i)?;
    if at(b, i + 2) != b'-' || at(b, i + 6) != b'-' || at(b, i + 11) != b' ' {
        return None;
    }
    let month = month_abbr(b, i + 3)?;
    let year = d4(b, i + 7)?;
    let (hour, minute, second, nanos, res_ns, mut j) = hms_frac(b, i + 12)?;
    let mut zone = WrittenZone::Local;
    if at(b, j) == b' ' && at(b, j + 1).is_ascii_uppercase() {
        // A zone name up to `]`: `UTC`, `Europe/Berlin`.
        let start = j + 1;
        let mut k = start;
        while k < b.len() && (at(b, k).is_ascii_alphanumeric() || matches!(at(b, k), b'/' | b'_' | b'-' | b'+')) {
            k += 1;
        }
        if let Some(name) = b.get(start..k)
            && (at(b, k) == b']' || k >= b.len())
        {
            zone = match name {
                b"UTC" | b"GMT" | b"Z" => WrittenZone::Offset(0),
                _ => WrittenZone::Named(String::from_utf8_lossy(name).into_owned()),
            };
            j = k;
        }
    }
    if !ends_ok(b, j) {
        return None;
    }
    Some((Written { year: Some(year), month, day, hour, minute, second, nanos, zone, res_ns }, j))
}

/// `DD/Mon/YYYY:HH:MM:SS +zone` (nginx / Apache access log).
pub(crate) fn clf(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let day = d2(b, i)?;
    if at(b, i + 2) != b'/' || at(b, i + 6) != b'/' || at(b, i + 11) != b':' {
        return None;
    }
    let month = month_abbr(b, i + 3)?;
    let year = d4(b, i + 7)?;
    let (hour, minute, second, nanos, res_ns, mut j) = hms_frac(b, i + 12)?;
    let mut zone = WrittenZone::Local;
    if at(b, j) == b' '
        && let Some((secs, len)) = offset_at(b, j + 1)
    {
        zone = WrittenZone::Offset(secs);
        j += 1 + len;
    }
    Some((Written { year: Some(year), month, day, hour, minute, second, nanos, zone, res_ns }, j))
}

/// `Mmm dd hh:mm:ss` (syslog RFC 3164: no year, day padded with a space).
pub(crate) fn bsd(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let month = month_abbr(b, i)?;
    if at(b, i + 3) != b' ' {
        return None;
    }
    let (day, dlen) = day_1or2(b, i + 4)?;
    let t = i + 4 + dlen;
    if at(b, t) != b' ' {
        return None;
    }
    let (hour, minute, second, nanos, res_ns, j) = hms_frac(b, t + 1)?;
    if !ends_ok(b, j) {
        return None;
    }
    Some((Written { year: None, month, day, hour, minute, second, nanos, zone: WrittenZone::Local, res_ns }, j))
}

/// `Www Mmm dd HH:MM:SS[.frac] YYYY` (Apache error log, ctime).
pub(crate) fn ctime(b: &[u8], i: usize) -> Option<(Written, usize)> {
    if !is_weekday(b, i) || at(b, i + 3) != b' ' {
        return None;
    }
    let month = month_abbr(b, i + 4)?;
    if at(b, i + 7) != b' ' {
        return None;
    }
    let (day, dlen) = day_1or2(b, i + 8)?;
    let t = i + 8 + dlen;
    if at(b, t) != b' ' {
        return None;
    }
    let (hour, minute, second, nanos, res_ns, j) = hms_frac(b, t + 1)?;
    if at(b, j) != b' ' {
        return None;
    }
    let year = d4(b, j + 1)?;
    Some((Written { year: Some(year), month, day, hour, minute, second, nanos, zone: WrittenZone::Local, res_ns }, j + 5))
}

/// glog / klog: `E1124 10:00:01.123456` (level letter, month and day, no
/// year).
pub(crate) fn glog(b: &[u8], i: usize) -> Option<(Written, usize)> {
    if !matches!(at(b, i), b'I' | b'W' | b'E' | b'F') {
        return None;
    }
    let month = d2(b, i + 1)?;
    let day = d2(b, i + 3)?;
    if at(b, i + 5) != b' ' {
        return None;
    }
    let (hour, minute, second, nanos, res_ns, j) = hms_frac(b, i + 6)?;
    if at(b, j) != b' ' {
        return None;
    }
    Some((Written { year: None, month, day, hour, minute, second, nanos, zone: WrittenZone::Local, res_ns }, j))
}

/// Epoch seconds (10 digits, optional fraction), milliseconds (13),
/// microseconds (16) or nanoseconds (19), between 2000 and 2100, followed by
/// a space, a tab or the end.
pub(crate) fn epoch(b: &[u8], i: usize) -> Option<(Written, usize)> {
    let mut j = i;
    let mut v: i64 = 0;
    while let Some(x) = d(b, j) {
        if j - i >= 19 {
            return None;
        }
        v = v * 10 + i64::from(x);
        j += 1;
    }
    let digits = j - i;
    let (mut nanos, mut res) = match digits {
        10 => (v.checked_mul(1_000_000_000)?, 1_000_000_000),
        13 => (v.checked_mul(1_000_000)?, 1_000_000),
        16 => (v.checked_mul(1_000)?, 1_000),
        19 => (v, 1),
        _ => return None,
    };
    if digits == 10 && at(b, j) == b'.' && at(b, j + 1).is_ascii_digit() {
        j += 1;
        let mut frac = 0i64;
        let mut n = 0;
        while let Some(x) = d(b, j) {
            if n < 9 {
                frac = frac * 10 + i64::from(x);
                n += 1;
            }
            j += 1;
        }
        for _ in n..9 {
            frac *= 10;
        }
        nanos += frac;
        res = 10i64.pow(9 - n);
    }
    if !(946_684_800_000_000_000..4_102_444_800_000_000_000).contains(&nanos) {
        return None;
    }
    if !(j >= b.len() || matches!(at(b, j), b' ' | b'\t' | b'|' | b']' | b',' | b';')) {
        return None;
    }
    Some((
        Written { year: None, month: 0, day: 0, hour: 0, minute: 0, second: 0, nanos: 0, zone: WrittenZone::Instant(nanos), res_ns: res },
        j,
    ))
}

/// Any whole-string timestamp (a JSON field value): RFC 3339 / ISO, slash,
/// access-log, Tomcat, ctime, syslog, or epoch digits.
pub(crate) fn any_text(s: &str) -> Option<Written> {
    let b = s.trim().as_bytes();
    iso(b, 0)
        .or_else(|| slash(b, 0))
        .or_else(|| clf(b, 0))
        .or_else(|| dmy(b, 0))
        .or_else(|| ctime(b, 0))
        .or_else(|| bsd(b, 0))
        .or_else(|| epoch(b, 0))
        .or_else(|| iso_minutes(b))
        .map(|(w, _)| w)
}

/// RFC 3339 without seconds, e.g. `2026-11-24T10:00Z`.
fn iso_minutes(b: &[u8]) -> Option<(Written, usize)> {
    let year = d4(b, 0)?;
    if at(b, 4) != b'-' || at(b, 7) != b'-' || at(b, 10) != b'T' || at(b, 13) != b':' {
        return None;
    }
    let (month, day, hour, minute) = (d2(b, 5)?, d2(b, 8)?, d2(b, 11)?, d2(b, 14)?);
    let mut zone = WrittenZone::Local;
    let mut j = 16;
    if let Some((secs, len)) = offset_at(b, j) {
        zone = WrittenZone::Offset(secs);
        j += len;
    }
    Some((Written { year: Some(year), month, day, hour, minute, second: 0, nanos: 0, zone, res_ns: 60_000_000_000 }, j))
}

/// An epoch number of unknown unit (JSON `time`, `ts`): the unit guessed by
/// magnitude (s ≈ 1.7e9, ms ≈ 1.7e12, µs ≈ 1.7e15, ns ≈ 1.7e18).
pub(crate) fn epoch_number(v: f64) -> Option<(Timestamp, i64)> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let (ns, res) = if v < 1e11 {
        (v * 1e9, if v.fract() == 0.0 { 1_000_000_000 } else { 1_000 })
    } else if v < 1e14 {
        (v * 1e6, 1_000_000)
    } else if v < 1e17 {
        (v * 1e3, 1_000)
    } else {
        (v, 1)
    };
    if ns >= 9.2e18 {
        return None;
    }
    Some((Timestamp::from_nanos(ns.round() as i64), res))
}

/// An integer epoch of unknown unit, by magnitude (s, ms, µs, ns).
pub(crate) fn epoch_int(v: i64) -> Option<(Timestamp, i64)> {
    let (ns, res) = match v {
        ..=0 => return None,
        1..100_000_000_000 => (v.checked_mul(1_000_000_000)?, 1_000_000_000),
        100_000_000_000..100_000_000_000_000 => (v * 1_000_000, 1_000_000),
        100_000_000_000_000..100_000_000_000_000_000 => (v * 1_000, 1_000),
        _ => (v, 1),
    };
    Some((Timestamp::from_nanos(ns), res))
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn valid_date(y: i32, m: u8, d: u8) -> bool {
    (1..=9999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// Converts written stamps to UTC for one block: holds the zone and a
/// one-minute cache of its offset (jiff is asked once per distinct minute).
pub(crate) struct Converter {
    tz: TimeZone,
    fixed: Option<i64>,
    reference: Option<Timestamp>,
    /// (local minutes since the epoch, offset seconds) of the last lookup.
    cache: Option<(i64, i64)>,
    named: Option<(String, TimeZone)>,
    /// The last date converted and its day number (lines come in order).
    last_day: Option<(i32, u8, u8, i64)>,
    /// The last second converted with a fixed offset: its fields, the
    /// offset and the UTC second.
    last_second: Option<(SecondFields, i64, i64)>,
}

/// A written second: year, month, day, hour, minute, second.
type SecondFields = (i32, u8, u8, u8, u8, u8);

impl Converter {
    pub(crate) fn new(tz: &TimeZone, reference: Option<Timestamp>) -> Self {
        let fixed = tz.to_fixed_offset().ok().map(|o| i64::from(o.seconds()));
        Converter { tz: tz.clone(), fixed, reference, cache: None, named: None, last_day: None, last_second: None }
    }

    /// UTC instant of a written stamp; `None` if it is no valid time (or has
    /// no year and there is no reference).
    pub(crate) fn resolve(&mut self, w: &Written) -> Option<Resolved> {
        if let WrittenZone::Instant(ns) = w.zone {
            return Some(Resolved { ts: Timestamp::from_nanos(ns), res_ns: w.res_ns, ambiguous: false });
        }
        match w.year {
            Some(y) => self.resolve_year(w, y),
            None => self.resolve_yearless(w),
        }
    }

    /// The year that puts the stamp nearest to the reference.
    fn resolve_yearless(&mut self, w: &Written) -> Option<Resolved> {
        let reference = self.reference?;
        let ref_year =
            i32::from(jiff::Timestamp::from_nanosecond(i128::from(reference.as_nanos())).ok()?.to_zoned_datetime(TimeZone::UTC).year());
        let mut best: Option<(u64, Resolved)> = None;
        for y in [ref_year - 1, ref_year, ref_year + 1] {
            if let Some(r) = self.resolve_year(w, y) {
                let dist = (r.ts.as_nanos() - reference.as_nanos()).unsigned_abs();
                if best.is_none_or(|(d, _)| dist < d) {
                    best = Some((dist, r));
                }
            }
        }
        best.map(|(_, r)| r)
    }

    fn resolve_year(&mut self, w: &Written, year: i32) -> Option<Resolved> {
        // With a fixed offset, a stamp in the same second as the one before
        // (most lines of a busy log) is in the same UTC second.
        let fixed = match &w.zone {
            WrittenZone::Offset(s) => Some(i64::from(*s)),
            WrittenZone::Local => self.fixed,
            WrittenZone::Named(_) | WrittenZone::Instant(_) => None,
        };
        let second = (year, w.month, w.day, w.hour, w.minute, w.second);
        if let (Some(offset), Some((last, last_offset, utc))) = (fixed, self.last_second)
            && (last, last_offset) == (second, offset)
        {
            let ns = utc.checked_mul(1_000_000_000)?.checked_add(i64::from(w.nanos))?;
            return Some(Resolved { ts: Timestamp::from_nanos(ns), res_ns: w.res_ns, ambiguous: false });
        }
        if !valid_date(year, w.month, w.day) || w.hour > 23 || w.minute > 59 || w.second > 60 {
            return None;
        }
        let days = match self.last_day {
            Some((y, m, d, days)) if (y, m, d) == (year, w.month, w.day) => days,
            _ => {
                let days = days_from_civil(year, w.month, w.day);
                self.last_day = Some((year, w.month, w.day, days));
                days
            }
        };
        let local_minutes = days * 1440 + i64::from(w.hour) * 60 + i64::from(w.minute);
        let local_secs = local_minutes * 60 + i64::from(w.second);
        let (offset, ambiguous) = match &w.zone {
            WrittenZone::Offset(s) => (i64::from(*s), false),
            WrittenZone::Local => match self.fixed {
                Some(f) => (f, false),
                None => self.zone_offset(local_minutes, year, w)?,
            },
            WrittenZone::Named(name) => self.named_offset(name, year, w)?,
            WrittenZone::Instant(_) => (0, false),
        };
        if let Some(offset) = fixed {
            self.last_second = Some((second, offset, local_secs - offset));
        }
        let ns = (local_secs - offset).checked_mul(1_000_000_000)?.checked_add(i64::from(w.nanos))?;
        Some(Resolved { ts: Timestamp::from_nanos(ns), res_ns: w.res_ns, ambiguous })
    }

    fn zone_offset(&mut self, local_minutes: i64, year: i32, w: &Written) -> Option<(i64, bool)> {
        if let Some((key, off)) = self.cache
            && key == local_minutes
        {
            return Some((off, false));
        }
        let (off, ambiguous) = lookup(&self.tz, year, w)?;
        if !ambiguous {
            self.cache = Some((local_minutes, off));
        }
        Some((off, ambiguous))
    }

    fn named_offset(&mut self, name: &str, year: i32, w: &Written) -> Option<(i64, bool)> {
        let tz = match &self.named {
            Some((n, tz)) if n == name => tz.clone(),
            _ => {
                let tz = TimeZone::get(name).ok()?;
                self.named = Some((name.to_string(), tz.clone()));
                tz
            }
        };
        lookup(&tz, year, w)
    }
}

/// The offset of a zone-less local time in `tz`: in a fold or gap, the
/// offset before the transition (jiff's "compatible"), flagged ambiguous.
fn lookup(tz: &TimeZone, year: i32, w: &Written) -> Option<(i64, bool)> {
    let year = i16::try_from(year).ok()?;
    let dt = jiff::civil::DateTime::new(year, w.month as i8, w.day as i8, w.hour as i8, w.minute as i8, w.second.min(59) as i8, 0).ok()?;
    Some(match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => (i64::from(offset.seconds()), false),
        AmbiguousOffset::Gap { before, .. } | AmbiguousOffset::Fold { before, .. } => (i64::from(before.seconds()), true),
    })
}
