//! The loader never panics, whatever the file holds: arbitrary text, mutations of a valid
//! production, deep nesting, alias bombs.

use ferry_production::{FileMode, Loaded, Setting, Source, parse};
use proptest::prelude::*;
use serde::de::IgnoredAny;

const VALID: &str = "production: file-router
description: HL7 files routed by type
store:
  path: ${FERRY_DATA:-./var/file-router}
  retention: 30d
  search_fields: [MSH-10, PID-3.1]
items:
  - name: HL7 files in
    service: file
    targets: [Router]
    settings: { path: ./var/in, mode: '0640' }
  - name: Router
    process: router
    pool: 1
    rules:
      - name: ADT
        when: 'MSH-9.1 = \"ADT\"'
        send: [ADT out]
        continue: false
      - when: 'MSH-9.1 = \"ZZZ\"'
        discard: true
    otherwise: { send: [ADT out] }
  - name: ADT out
    operation: file
    retry: { interval: 1s, backoff: 2.0, max_interval: 1m, on_failure: error }
    settings: { path: ./var/out/adt, filename: '{MSH-10}.hl7' }
";

/// Loads `text` and uses everything a caller would: the display, every item's settings,
/// whole and key by key.
fn exercise(text: &str) -> Loaded {
    let env = |name: &str| (name == "FERRY_DATA").then(|| "./data: # x".to_owned());
    let loaded = parse(Source::new("fuzz.yaml", text), &env);
    let _ = loaded.diagnostics.to_string();
    if let Some(production) = &loaded.production {
        for item in production.items.iter().chain(&production.rejected) {
            if let Err(problems) = item.settings::<IgnoredAny>() {
                let _ = problems.to_string();
            }
            let mut reader = item.settings_reader(&["path", "mode", "filename"]);
            let path = reader.required::<Setting<String>>("path");
            let _ = reader.optional::<FileMode>("mode");
            let _ = reader.optional::<IgnoredAny>("filename");
            if let Err(problems) = reader.finish(path) {
                let _ = problems.to_string();
            }
        }
    }
    loaded
}

/// Characters that matter to YAML, to Ferry's checks, or to position arithmetic.
fn interesting() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        ' ', '\t', '\n', '\r', ':', '-', '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>',
        '\'', '"', '%', '@', '`', '$', '\\', '0', '7', 'y', 'é', '€', '\u{feff}', '\u{0}',
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        exercise(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in prop::collection::vec(interesting(), 0..200)) {
        exercise(&text.into_iter().collect::<String>());
    }

    #[test]
    fn flipped_characters_never_panic(
        flips in prop::collection::vec((0..VALID.len(), interesting()), 1..6)
    ) {
        let mut text: Vec<char> = VALID.chars().collect();
        for (at, replacement) in flips {
            let at = at % text.len();
            text[at] = replacement;
        }
        exercise(&text.into_iter().collect::<String>());
    }

    #[test]
    fn deleted_and_repeated_lines_never_panic(
        deleted in prop::collection::vec(0..29usize, 0..5),
        repeated in prop::collection::vec(0..29usize, 0..3),
    ) {
        let mut lines: Vec<&str> = VALID.lines().collect();
        for line in repeated {
            let line = line % lines.len();
            lines.insert(line, lines[line]);
        }
        for line in deleted {
            if !lines.is_empty() {
                let line = line % lines.len();
                lines.remove(line);
            }
        }
        exercise(&lines.join("\n"));
    }

    #[test]
    fn flipped_bytes_never_panic(flips in flips()) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, byte) in flips {
            bytes[at % VALID.len()] = byte;
        }
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn the_valid_production_is_valid() {
    let loaded = exercise(VALID);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.diagnostics);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let block: String = (0..500)
        .map(|depth| format!("{}k:\n", " ".repeat(depth)))
        .collect();
    let flow = format!("a: {}{}", "[".repeat(5_000), "]".repeat(5_000));
    for text in [block, flow] {
        let loaded = exercise(&text);
        assert!(loaded.production.is_none());
        assert_eq!(loaded.diagnostics.len(), 1, "{}", loaded.diagnostics);
    }
}

#[test]
fn an_alias_bomb_is_harmless() {
    let mut text = String::from("production: p\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let row = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{row}]\n"));
    }
    text.push_str("items: []\n");
    let loaded = exercise(&text);
    assert!(!loaded.diagnostics.is_empty());
}

/// One to three (offset, byte) replacements inside the valid production.
fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((0..VALID.len(), any::<u8>()), 1..4)
}
