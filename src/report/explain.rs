//! `wsforensics explain CODE...`: what close codes mean, when you see them
//! and how to fix them, from the knowledge base (`ws::kb`), one code in
//! full or two side by side.

use std::io::{self, Write};

use crate::ws::kb::{self, Lang, RowKind};

/// Width the text is wrapped to.
const WIDTH: usize = 100;

/// Wraps `text` at word boundaries into lines of at most `width` characters
/// (a word longer than that stays whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn paragraph(w: &mut dyn Write, indent: &str, text: &str) -> io::Result<()> {
    for l in wrap(text, WIDTH.saturating_sub(indent.len())) {
        writeln!(w, "{indent}{l}")?;
    }
    Ok(())
}

/// Explains one code in full.
pub fn render_code(code: u16, lang: Lang, w: &mut dyn Write) -> io::Result<()> {
    let e = kb::entry(code);
    let t = e.text(lang);
    writeln!(w, "{code} {}", t.name)?;
    for kind in RowKind::ALL {
        let cell = match kind {
            RowKind::Description => t.description,
            RowKind::SentBy => e.sent_by.text(lang),
            RowKind::WhenSeen => t.when_seen,
            RowKind::HowToFix => t.how_to_fix,
            RowKind::KeyDifferences => t.key_trait,
            RowKind::SuspectWhen => t.suspect_when,
        };
        writeln!(w, "  {}:", kind.label(lang))?;
        paragraph(w, "    ", cell)?;
    }
    Ok(())
}

/// Two codes side by side, row by row, with the note written for pairs
/// that are often confused.
pub fn render_comparison(a: u16, b: u16, lang: Lang, w: &mut dyn Write) -> io::Result<()> {
    let c = kb::compare(a, b, lang);
    writeln!(w, "{} {}  vs  {} {}", c.codes[0], c.names[0], c.codes[1], c.names[1])?;
    for row in &c.rows {
        writeln!(w)?;
        writeln!(w, "{}", row.label)?;
        for (code, cell) in c.codes.iter().zip(row.cells) {
            writeln!(w, "  [{code}]")?;
            paragraph(w, "    ", cell)?;
        }
    }
    if let Some(note) = c.note {
        writeln!(w)?;
        paragraph(w, "", note)?;
    }
    Ok(())
}

/// `explain` for any number of codes: two are compared, others explained
/// one after the other.
pub fn render(codes: &[u16], lang: Lang, w: &mut dyn Write) -> io::Result<()> {
    match codes {
        [a, b] => render_comparison(*a, *b, lang, w),
        _ => {
            for (i, code) in codes.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                render_code(*code, lang, w)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn comparison_has_every_row_for_both_codes() {
        let mut out = Vec::new();
        render(&[1002, 1011], Lang::En, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("1002 Protocol Error  vs  1011 Internal Error"), "{s}");
        for label in ["Description", "When you see it", "How to fix it", "Key differences", "When to suspect it"] {
            assert!(s.contains(label), "{label} missing");
        }
        assert_eq!(s.matches("[1002]").count(), 6);
        assert_eq!(s.matches("[1011]").count(), 6);
    }

    #[test]
    fn arabic_texts() {
        let mut out = Vec::new();
        render(&[1006], Lang::Ar, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.chars().any(|c| ('\u{0600}'..='\u{06ff}').contains(&c)), "{s}");
    }
}
