//! Safe file names and names that do not exist yet.

use std::path::{Path, PathBuf};

/// The longest name written, in bytes (most file systems allow 255).
const MAX_NAME: usize = 200;

/// A value made safe to put into a file name: folder separators, control characters and
/// characters Windows shares refuse become `_`, and `..` cannot survive. An empty value
/// becomes `fallback` (the message id).
pub(crate) fn safe_component(value: &str, fallback: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return fallback.to_owned();
    }
    let cleaned: String = value
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    cleaned.replace("..", "__")
}

/// A whole file name made safe: not hidden (no leading `.`, which Ferry's own temporary
/// files use), not too long, never empty.
pub(crate) fn safe_file_name(name: &str, fallback: &str) -> String {
    let mut name = name.trim().to_owned();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        name = fallback.to_owned();
    }
    if name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

/// `name`, then `stem-1.ext`, `stem-2.ext`, …: the candidates for a file that must not
/// overwrite another.
pub(crate) fn numbered(folder: &Path, name: &str, n: u32) -> PathBuf {
    if n == 0 {
        return folder.join(name);
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => folder.join(format!("{}-{n}{}", &name[..dot], &name[dot..])),
        _ => folder.join(format!("{name}-{n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_escape_the_folder() {
        assert_eq!(safe_component("../../etc/passwd", "7"), "______etc_passwd");
        assert_eq!(safe_component("a\\b", "7"), "a_b");
        assert_eq!(safe_component("  ", "7"), "7");
        assert_eq!(safe_component("MSG\u{0}01", "7"), "MSG_01");
        assert_eq!(safe_file_name("..", "7"), "7");
        assert_eq!(safe_file_name(".hidden", "7"), "_.hidden");
        assert_eq!(safe_file_name(&"x".repeat(300), "7").len(), MAX_NAME);
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        let folder = Path::new("/out");
        assert_eq!(numbered(folder, "MSG1.hl7", 0), Path::new("/out/MSG1.hl7"));
        assert_eq!(
            numbered(folder, "MSG1.hl7", 2),
            Path::new("/out/MSG1-2.hl7")
        );
        assert_eq!(numbered(folder, "MSG1", 1), Path::new("/out/MSG1-1"));
    }
}
