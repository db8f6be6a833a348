//! Test support: damaging a valid production text in the ways proptests ask for.

/// `layout` with bytes at `replaced` positions swapped for YAML punctuation, then
/// `indented` lines shifted right by one space and `deleted` lines removed (indexes wrap).
pub(crate) fn mutated(
    layout: &str,
    deleted: &[usize],
    indented: &[usize],
    replaced: &[(usize, usize)],
) -> String {
    let marks = b" -:#|>{}[]'\"&*";
    let mut bytes = layout.as_bytes().to_vec();
    for &(at, mark) in replaced {
        if bytes[at].is_ascii() {
            bytes[at] = marks[mark % marks.len()];
        }
    }
    let text = String::from_utf8(bytes).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for &line in indented {
        if !lines.is_empty() {
            let line = line % lines.len();
            lines[line].insert(0, ' ');
        }
    }
    for &line in deleted {
        if !lines.is_empty() {
            let line = line % lines.len();
            lines.remove(line);
        }
    }
    lines.join("\n")
}
