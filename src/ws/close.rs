//! Close frames (RFC 6455 §5.5.1) and close status codes (§7.4, IANA
//! "WebSocket Close Code Number Registry").

/// The body of a Close frame as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseBody {
    /// No body: the peer reports 1005 (§7.1.5).
    Empty,
    /// One byte: not a valid body (§5.5.1: a body starts with a 2-byte code).
    OneByte(u8),
    /// A status code and the reason bytes (UTF-8 unless the sender broke §5.5.1).
    Status { code: u16, reason: Vec<u8> },
}

impl CloseBody {
    /// Reads the body of a Close frame (already unmasked).
    pub fn parse(payload: &[u8]) -> CloseBody {
        match payload {
            [] => CloseBody::Empty,
            [b] => CloseBody::OneByte(*b),
            [hi, lo, reason @ ..] => CloseBody::Status { code: u16::from_be_bytes([*hi, *lo]), reason: reason.to_vec() },
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self {
            CloseBody::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The reason as text, with invalid UTF-8 replaced (U+FFFD).
    pub fn reason_lossy(&self) -> String {
        match self {
            CloseBody::Status { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
            _ => String::new(),
        }
    }
}

/// Short name of a close code (registered names for 1000-1015, class names
/// for the ranges).
pub fn code_name(code: u16) -> &'static str {
    match code {
        1000 => "Normal Closure",
        1001 => "Going Away",
        1002 => "Protocol Error",
        1003 => "Unsupported Data",
        1004 => "Reserved",
        1005 => "No Status Received",
        1006 => "Abnormal Closure",
        1007 => "Invalid Frame Payload Data",
        1008 => "Policy Violation",
        1009 => "Message Too Big",
        1010 => "Mandatory Extension",
        1011 => "Internal Error",
        1012 => "Service Restart",
        1013 => "Try Again Later",
        1014 => "Bad Gateway",
        1015 => "TLS Handshake",
        0..=999 => "Invalid (below 1000)",
        1016..=2999 => "Unassigned (reserved for the RFC)",
        3000..=3999 => "Registered (libraries/frameworks)",
        4000..=4999 => "Private Use",
        _ => "Invalid (5000 and above)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_body_shape() {
        assert_eq!(CloseBody::parse(&[]), CloseBody::Empty);
        assert_eq!(CloseBody::parse(&[3]), CloseBody::OneByte(3));
        let b = CloseBody::parse(&[0x03, 0xf1, b'o', b'k']);
        assert_eq!(b.code(), Some(1009));
        assert_eq!(b.reason_lossy(), "ok");
        assert_eq!(code_name(1011), "Internal Error");
        assert_eq!(code_name(4001), "Private Use");
    }
}
