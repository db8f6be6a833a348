//! Every file of the shared HL7 corpus goes in through `productions/file-router.yaml`,
//! run as the real binary, and comes out in the right folder: one output per message,
//! identical to its input apart from segment terminators. Malformed files never crash or
//! stall the engine; they end in the error folder with a reason, or (a recoverable fault)
//! are delivered with a warning event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::binary::Ferry;
use common::hl7::{expected_messages, type_and_id};
use common::{files_in, visible_files, wait_until};

/// The folder the router sends a message of type `kind` to.
fn folder_for(kind: &str) -> &'static str {
    match kind {
        "ADT" => "adt",
        "ORU" => "oru",
        _ => "other",
    }
}

/// (folder, bytes) → how many times.
type Outputs = BTreeMap<(String, Vec<u8>), usize>;

fn actual_outputs(out: &Path) -> Outputs {
    let mut outputs = Outputs::new();
    for folder in ["adt", "oru", "other"] {
        for file in visible_files(&out.join(folder)) {
            let bytes = std::fs::read(&file).unwrap();
            *outputs.entry((folder.to_owned(), bytes)).or_default() += 1;
        }
    }
    outputs
}

#[test]
fn the_corpus_flows_through_the_file_router() {
    let Some(entries) = common::corpus::entries() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let folder = |name: &str| dir.path().join(name);

    let mut expected = Outputs::new();
    let mut malformed = Vec::new();
    for entry in &entries {
        let bytes = std::fs::read(&entry.path).unwrap();
        if entry.malformed {
            malformed.push(entry.file.clone());
        } else {
            for message in expected_messages(&bytes) {
                let (kind, _) = type_and_id(&message);
                *expected
                    .entry((folder_for(&kind).to_owned(), message))
                    .or_default() += 1;
            }
        }
        common::drop_file(&folder("in"), &entry.file, &bytes);
    }

    let production = common::repo().join("productions/file-router.yaml");
    let env = [
        ("FERRY_IN", folder("in")),
        ("FERRY_OUT", folder("out")),
        ("FERRY_ARCHIVE", folder("archive")),
        ("FERRY_ERROR", folder("error")),
        ("FERRY_DATA", folder("data")),
    ];
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let mut ferry = Ferry::start(&production, &env);

    let total: usize = expected.values().sum();
    // Every expected output present: a count would also be reached by messages that
    // malformed files delivered with a warning, before the last expected one arrived.
    let all_delivered = || {
        let actual = actual_outputs(&folder("out"));
        expected
            .iter()
            .all(|(key, count)| actual.get(key).copied().unwrap_or(0) >= *count)
    };
    wait_until(
        "every corpus file taken and every message delivered",
        Duration::from_secs(120),
        || visible_files(&folder("in")).is_empty() && all_delivered(),
    );
    assert!(ferry.is_running(), "ferry died:\n{}", ferry.log_text());

    let actual = actual_outputs(&folder("out"));
    let delivered_malformed: usize = actual.values().sum::<usize>() - total;
    for (key, count) in &expected {
        let got = actual.get(key).copied().unwrap_or(0);
        let (kind, id) = type_and_id(&key.1);
        let start = String::from_utf8_lossy(&key.1[..key.1.len().min(120)]).into_owned();
        assert_eq!(
            got, *count,
            "{kind} {id}: outputs in {} of {start:?}",
            key.0
        );
    }

    for name in &malformed {
        let archived = folder("archive").join(name).is_file();
        let rejected = folder("error").join(name).is_file();
        assert!(
            archived || rejected,
            "malformed {name} is neither archived nor in error/"
        );
        if rejected {
            let reason = folder("error").join(format!("{name}.reason.txt"));
            let reason = std::fs::read_to_string(&reason).expect("a reason beside it");
            assert!(!reason.trim().is_empty(), "{name}: empty reason");
        }
    }
    assert!(
        files_in(&folder("error")).len() >= 2,
        "fuzzer inputs and files without MSH must reach the error folder"
    );
    eprintln!(
        "{} messages from {} files delivered; {} malformed files, {} of their messages \
         delivered with warnings",
        total,
        entries.len(),
        malformed.len(),
        delivered_malformed
    );

    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");
}
