//! The real binary, under a steady stream of inbound files, is killed with SIGKILL at
//! random moments and restarted. Every file taken reaches an output folder at least once;
//! a message delivered twice because of a crash keeps its header id, and a file read
//! twice (killed between its write and its archiving) makes a new session flagged as a
//! possible duplicate, never a silent copy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::binary::Ferry;
use common::hl7::typed;
use common::{visible_files, wait_until};
use ferry_message::MessageId;
use ferry_store::{SledStore, Store, StoreConfig};

const FILES: u32 = 300;
const KILLS: u32 = 4;

fn production_yaml() -> String {
    common::yaml::head("crash-test", "Router")
        + r#"  - name: Router
    process: router
    rules:
      - when: 'MSH-9.1 = "ADT"'
        send: [ADT out]
    otherwise: { send: [Other out] }
  - name: ADT out
    operation: file
    settings: { path: "${DIR}/out/adt", filename: '{MSH-10}-{id}.hl7' }
  - name: Other out
    operation: file
    settings: { path: "${DIR}/out/other", filename: '{MSH-10}-{id}.hl7' }
"#
}

/// A small deterministic random source (the seed is printed, so a failure can be rerun).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// The control ids file `n` holds: one or two messages.
fn control_ids(n: u32) -> Vec<String> {
    let count = 1 + n % 2;
    (0..count).map(|k| format!("C{n:05}X{k}")).collect()
}

fn file_bytes(n: u32) -> Vec<u8> {
    let kind = if n.is_multiple_of(3) {
        "ORU^R01"
    } else {
        "ADT^A01"
    };
    control_ids(n)
        .iter()
        .flat_map(|id| typed(kind, id))
        .collect()
}

/// Output files by control id: the header ids they carry.
fn delivered(out: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut found: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for folder in ["adt", "other"] {
        for file in visible_files(&out.join(folder)) {
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            let mut parts = name.split('-');
            let control = parts.next().unwrap().to_owned();
            let id: u64 = parts.next().unwrap().parse().unwrap();
            found.entry(control).or_default().push(id);
        }
    }
    found
}

#[test]
fn sigkill_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let production = root.join("production.yaml");
    std::fs::write(&production, production_yaml()).unwrap();
    let env = [("DIR", root.as_path())];

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("random seed {seed}");
    let mut random = Lcg(seed);

    let inbound = root.join("in");
    let writer = std::thread::spawn(move || {
        for n in 0..FILES {
            common::drop_file(&inbound, &format!("f{n:05}.hl7"), &file_bytes(n));
            std::thread::sleep(Duration::from_millis(10));
        }
    });

    let mut ferry = Ferry::start(&production, &env);
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(200 + random.next(800)));
        ferry.kill();
        ferry = Ferry::start(&production, &env);
    }
    writer.join().unwrap();

    let wanted: BTreeSet<String> = (0..FILES).flat_map(control_ids).collect();
    wait_until(
        "every message delivered after the restarts",
        Duration::from_secs(120),
        || {
            let found = delivered(&root.join("out"));
            visible_files(&root.join("in")).is_empty()
                && wanted.iter().all(|id| found.contains_key(id))
        },
    );
    let status = ferry.stop();
    assert!(status.success(), "ferry exited with {status}");
    assert!(
        visible_files(&root.join("error")).is_empty(),
        "valid files ended in error/"
    );

    let found = delivered(&root.join("out"));
    let (store, _) = SledStore::open(StoreConfig::new(root.join("data"))).unwrap();
    let mut redelivered = 0;
    let mut reread = 0;
    for (control, ids) in &found {
        assert!(wanted.contains(control), "unexpected output {control}");
        let distinct: BTreeSet<u64> = ids.iter().copied().collect();
        redelivered += ids.len() - distinct.len();
        for id in distinct.iter().skip(1) {
            let header = store
                .header(MessageId(*id))
                .unwrap()
                .expect("output header stored");
            let inbound = store
                .header(MessageId(header.session.0))
                .unwrap()
                .expect("session start");
            assert!(
                inbound.possible_duplicate,
                "{control}: header {id} is a second copy but its session is not flagged"
            );
            reread += 1;
        }
    }
    eprintln!(
        "{} messages, {KILLS} kills: {redelivered} redelivered with the same header id, \
         {reread} from files read again (flagged)",
        wanted.len()
    );
}
