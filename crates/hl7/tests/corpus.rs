//! The shared corpus of public HL7 v2 messages (`shared/corpus/hl7`), read where it lies.
//!
//! For every well-formed entry the split, the MSH pre-scan and the parse must agree with the
//! facts two independent parsers agreed on in `manifest.json`: the number of messages (and
//! batches), then per message MSH-9, MSH-10, MSH-12, the segment count and the raw values
//! listed. Entries whose `expected` is empty (the parsers disagreed) must split and parse;
//! what Ferry reads is printed. Entries tagged `malformed:` must not panic and must end in a
//! rejected piece, a parse error, or one of the recoveries documented below.
//!
//! Without the corpus the test passes with a note, except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};

use ferry_hl7::encoding_rs::UTF_8;
use ferry_hl7::{FieldPath, Hl7Message, Piece, SplitOptions, decode, scan_header, split_messages};
use serde_json::Value;

/// Malformed inputs that Ferry reads without an error, and why that is the right answer.
const DOCUMENTED_RECOVERIES: &[(&str, &str)] = &[(
    "hapi_msgs_oru_r01_v22.hl7",
    "the OBX segments that lost their terminators are text inside the OBR line's last \
     field; nothing marks them as segments, so they stay data and the seven real segments \
     parse",
)];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/hl7")
}

#[test]
fn shared_corpus() {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.json")) else {
        let ci = std::env::var("CI").is_ok_and(|value| value == "true");
        assert!(!ci, "corpus not found at {} (CI=true)", dir.display());
        println!("skipped: corpus not found at {}", dir.display());
        return;
    };
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let entries = manifest["files"].as_array().unwrap();

    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let problems = if is_malformed(entry) {
            check_malformed(file, &bytes, entry, &mut tally)
        } else {
            check_well_formed(file, &bytes, &entry["expected"], &mut tally)
        };
        failures.extend(
            problems
                .into_iter()
                .map(|problem| format!("{file}: {problem}")),
        );
    }

    println!(
        "{} corpus files: {} messages compared, {} values compared",
        entries.len(),
        tally.messages,
        tally.values
    );
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}

fn is_malformed(entry: &Value) -> bool {
    let tags = entry["tags"].as_array().expect("tags is a list");
    tags.iter().any(|tag| {
        tag.as_str()
            .is_some_and(|tag| tag.starts_with("malformed:"))
    })
}

/// How much was compared, so a run that silently compares nothing shows.
#[derive(Default)]
struct Tally {
    messages: usize,
    values: usize,
}

/// What Ferry reads from one message.
struct Reading {
    message_type: String,
    control_id: String,
    version: String,
    segments: usize,
}

fn check_well_formed(file: &str, bytes: &[u8], expected: &Value, tally: &mut Tally) -> Vec<String> {
    let split = split_messages(bytes, &SplitOptions::default());
    let mut problems = Vec::new();
    let mut messages = Vec::new();
    for piece in &split.pieces {
        match piece {
            Piece::Message(message) => messages.push(message.bytes.as_slice()),
            Piece::Rejected { offset, reason, .. } => {
                problems.push(format!("rejected piece at byte {offset}: {reason}"));
            }
        }
    }

    let per_message = match expected.get("per_message") {
        Some(list) => list.as_array().expect("per_message is a list").clone(),
        None if expected.get("message_type").is_some() => vec![expected.clone()],
        None => Vec::new(),
    };
    let expected_count = expected["messages"]
        .as_u64()
        .map_or(per_message.len(), |n| n as usize);
    if !per_message.is_empty() && messages.len() != expected_count {
        problems.push(format!(
            "{} messages, expected {expected_count}",
            messages.len()
        ));
    }
    if let Some(batches) = expected["batches"].as_u64() {
        let found = split
            .envelopes
            .iter()
            .filter(|e| e.kind == ferry_hl7::EnvelopeKind::Batch);
        let found = found.count().max(1) as u64;
        if found != batches {
            problems.push(format!("{found} batches, expected {batches}"));
        }
    }

    for (index, message) in messages.iter().enumerate() {
        match read(message) {
            Err(problem) => problems.push(format!("message {}: {problem}", index + 1)),
            Ok((reading, parsed)) => match per_message.get(index) {
                Some(facts) => problems.extend(
                    compare(&reading, &parsed, facts, tally)
                        .into_iter()
                        .map(|problem| format!("message {}: {problem}", index + 1)),
                ),
                None => println!(
                    "recorded: {file} message {}: MSH-9 {:?}, MSH-10 {:?}, MSH-12 {:?}, \
                     {} segments",
                    index + 1,
                    reading.message_type,
                    reading.control_id,
                    reading.version,
                    reading.segments
                ),
            },
        }
    }
    if messages.is_empty() && problems.is_empty() {
        problems.push("no message found".to_owned());
    }
    problems
}

/// Scans, decodes and parses one message; returns what it read and the decoded text.
fn read(bytes: &[u8]) -> Result<(Reading, String), String> {
    let header = scan_header(bytes).map_err(|error| format!("scan: {error}"))?;
    let charset = header.character_set();
    let decoded = decode(bytes, Some(&charset), UTF_8);
    if let Some(unknown) = &decoded.unknown_charset {
        return Err(format!("unknown MSH-18 {unknown:?}"));
    }
    let text = decoded.text.into_owned();
    let message = Hl7Message::parse(&text).map_err(|error| format!("parse: {error}"))?;
    let reading = Reading {
        message_type: header.message_type_field().into_owned(),
        control_id: header.control_id().into_owned(),
        version: header.version_id().into_owned(),
        segments: message.segment_count(),
    };
    Ok((reading, text))
}

fn compare(reading: &Reading, text: &str, facts: &Value, tally: &mut Tally) -> Vec<String> {
    tally.messages += 1;
    let mut problems = Vec::new();
    let fields = [
        ("MSH-9", "message_type", &reading.message_type),
        ("MSH-10", "control_id", &reading.control_id),
        ("MSH-12", "version", &reading.version),
    ];
    for (field, key, found) in fields {
        let wanted = facts[key].as_str().unwrap_or_default();
        if found != wanted {
            problems.push(format!("{field} is {found:?}, expected {wanted:?}"));
        }
    }
    let wanted_segments = facts["segments"].as_u64().unwrap_or_default() as usize;
    if reading.segments != wanted_segments {
        problems.push(format!(
            "{} segments, expected {wanted_segments}",
            reading.segments
        ));
    }

    let Ok(message) = Hl7Message::parse(text) else {
        return problems;
    };
    let values = facts["values"].as_array().cloned().unwrap_or_default();
    tally.values += values.len();
    problems.extend(
        values
            .iter()
            .filter_map(|value| compare_value(&message, value)),
    );
    problems
}

/// A listed value: raw as sent, and decoded where python-hl7's decoding means the same.
fn compare_value(message: &Hl7Message<'_>, fact: &Value) -> Option<String> {
    let at = fact["path"].as_str().expect("a value has a path");
    let wanted = fact["value"].as_str().expect("a value has a value");
    let path = FieldPath::parse(at).expect("manifest paths are valid");

    let raw = message.get_raw(&path).unwrap_or_default();
    if raw != wanted {
        return Some(format!("{at} is {raw:?}, expected {wanted:?}"));
    }

    let unescaped = fact["python_hl7_unescaped"].as_str()?;
    let subcomponent = char::from(message.delimiters().subcomponent);
    if raw.contains(subcomponent) {
        // python-hl7 reads a component path as its first subcomponent; Ferry gives the whole
        // component, so only values without subcomponents compare.
        return None;
    }
    let decoded = message.get(&path);
    let decoded = decoded.as_text().unwrap_or_default();
    (decoded != unescaped).then(|| format!("{at} decodes to {decoded:?}, expected {unescaped:?}"))
}

fn check_malformed(file: &str, bytes: &[u8], entry: &Value, tally: &mut Tally) -> Vec<String> {
    let split = split_messages(bytes, &SplitOptions::default());
    let mut outcomes = Vec::new();
    for piece in &split.pieces {
        match piece {
            Piece::Rejected { offset, reason, .. } => {
                assert!(!reason.is_empty());
                outcomes.push(format!("rejected at byte {offset}: {reason}"));
            }
            Piece::Message(message) => match read(&message.bytes) {
                Err(problem) => outcomes.push(format!("not parsed: {problem}")),
                Ok(_) => outcomes.push("parsed".to_owned()),
            },
        }
    }
    println!("malformed: {file}: {}", outcomes.join("; "));

    let refused = outcomes.iter().any(|outcome| outcome != "parsed");
    if refused {
        return Vec::new();
    }
    if DOCUMENTED_RECOVERIES.iter().any(|(name, _)| *name == file) {
        return check_well_formed(file, bytes, &entry["expected"], tally);
    }
    vec![format!(
        "malformed input read without an error, and no documented recovery: {}",
        outcomes.join("; ")
    )]
}
