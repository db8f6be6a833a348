//! Text from the engine made safe to show on a terminal.
//!
//! Message content, file names, event texts and reasons come from senders the operator
//! does not control. Written raw, an ESC or C1 byte starts a terminal control sequence
//! that can retitle the window, clear the screen or fake output. Every control character
//! (C0, DEL and C1, U+0080–U+009F) is therefore shown as an escape such as `\e`, `\r` or
//! `\x07`. Backslashes are left alone: HL7 uses them for its own escapes (`\F\`), and
//! the result only has to be harmless and readable, not reversible. `--json` output does
//! not pass through here; serde already escapes control characters.

/// `text` on one line: every control character, tab and line breaks included, escaped,
/// so a table cell cannot move the cursor.
pub(crate) fn cell(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        push(&mut shown, c);
    }
    shown
}

/// `text` over several lines: CR, CR LF and LF each end a line (HL7 ends segments with a
/// lone CR, which a terminal would overprint) and tabs stay; every other control
/// character is escaped.
pub(crate) fn lines(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                shown.push('\n');
            }
            '\n' | '\t' => shown.push(c),
            _ => push(&mut shown, c),
        }
    }
    shown
}

fn push(shown: &mut String, c: char) {
    if !c.is_control() {
        shown.push(c);
        return;
    }
    let escape = match c {
        '\u{1b}' => "\\e",
        '\t' => "\\t",
        '\n' => "\\n",
        '\r' => "\\r",
        _ => "",
    };
    if escape.is_empty() {
        shown.push_str(&format!("\\x{:02x}", u32::from(c)));
    } else {
        shown.push_str(escape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_shown_not_obeyed() {
        assert_eq!(cell("a\u{1b}]0;PWNED\u{7}b"), "a\\e]0;PWNED\\x07b");
        assert_eq!(cell("x\u{1b}[2J\ty\r\nz"), "x\\e[2J\\ty\\r\\nz");
        assert_eq!(cell("\u{9b}31m\u{7f}"), "\\x9b31m\\x7f");
        assert_eq!(cell("MSH|^~\\&|Zoë"), "MSH|^~\\&|Zoë");
    }

    #[test]
    fn bodies_keep_one_segment_per_line() {
        assert_eq!(
            lines("MSH|1\rPID|\u{1b}[2J\r\n\tOBX\n"),
            "MSH|1\nPID|\\e[2J\n\tOBX\n"
        );
    }
}
