//! Field case B30, part 3, with file operations: 100 messages in flight across three
//! operations (pool 4 each) when the engine is killed with SIGKILL. After the restart every
//! message reaches every operation at least once and at most twice, and a second delivery
//! carries the same header id as the first: recovery returned the in-flight message, it
//! did not make a new one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::binary::Ferry;
use common::hl7::m;
use common::{visible_files, wait_until};

const MESSAGES: u32 = 100;
const OPERATIONS: [&str; 3] = ["a", "b", "c"];

fn production_yaml() -> String {
    common::yaml::head("in-flight", "Router")
        + r#"  - name: Router
    process: router
    rules:
      - send: [A, B, C]
  - name: A
    operation: file
    pool: 4
    settings: { path: "${DIR}/out/a", filename: '{MSH-10}-{id}.hl7' }
  - name: B
    operation: file
    pool: 4
    settings: { path: "${DIR}/out/b", filename: '{MSH-10}-{id}.hl7' }
  - name: C
    operation: file
    pool: 4
    settings: { path: "${DIR}/out/c", filename: '{MSH-10}-{id}.hl7' }
"#
}

/// Control id → header ids of the files an operation wrote.
fn deliveries(folder: &Path) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in visible_files(folder) {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (control, id) = stem.split_once('-').unwrap();
        let id = id.split('-').next().unwrap().to_owned();
        found.entry(control.to_owned()).or_default().push(id);
    }
    found
}

fn total(root: &Path) -> usize {
    OPERATIONS
        .iter()
        .map(|op| visible_files(&root.join("out").join(op)).len())
        .sum()
}

#[test]
fn messages_in_flight_at_a_crash_are_delivered_again_with_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let production = root.join("production.yaml");
    std::fs::write(&production, production_yaml()).unwrap();
    let env = [("DIR", root)];

    let ferry = Ferry::start(&production, &env);
    let bytes: Vec<u8> = (1..=MESSAGES).flat_map(m).collect();
    common::drop_file(&root.join("in"), "all.hl7", &bytes);
    wait_until(
        "the file archived and deliveries under way",
        Duration::from_secs(60),
        || root.join("archive/all.hl7").is_file() && total(root) >= 30,
    );
    ferry.kill();
    let killed_at = total(root);

    let ferry = Ferry::start(&production, &env);
    let wanted = MESSAGES as usize * OPERATIONS.len();
    wait_until(
        "every message at every operation",
        Duration::from_secs(60),
        || {
            OPERATIONS
                .iter()
                .all(|op| deliveries(&root.join("out").join(op)).len() == MESSAGES as usize)
        },
    );
    assert!(ferry.stop().success());

    let mut again = 0;
    for op in OPERATIONS {
        for (control, ids) in deliveries(&root.join("out").join(op)) {
            assert!(
                ids.len() <= 2,
                "{op}: {control} delivered {} times",
                ids.len()
            );
            if ids.len() == 2 {
                assert_eq!(
                    ids[0], ids[1],
                    "{op}: {control} was delivered again under a new id"
                );
                again += 1;
            }
        }
    }
    eprintln!("killed after {killed_at} of {wanted} deliveries; {again} delivered twice");
}
