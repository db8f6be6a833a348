//! Startup recovery after a stop without finishing, after SIGKILL, and with bad records.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{accept, open, open_with, step, take};
use ferry_message::{ItemName, MessageId, Status};
use ferry_store::{Durability, EventKind, SledStore, Store, StoreConfig, StoreError};

#[test]
fn leases_return_to_the_head_in_their_original_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a: Vec<MessageId> = (0..5)
        .flat_map(|n| accept(&store, "in", &["a"], &format!("A{n}")))
        .collect();
    let b = accept(&store, "in", &["b"], "B0");

    let held = [take(&store, "a"), take(&store, "a"), take(&store, "a")];
    store.complete(&step(held[1].clone(), &["c"])).unwrap();
    take(&store, "b");
    // A crash: the store goes away with three leases never finished.
    drop(store);

    let mut config = StoreConfig::new(dir.path().join("store"));
    config.durability = Durability::Os;
    let (store, report) = SledStore::open(config).unwrap();
    assert_eq!(
        report.returned,
        vec![(ItemName::from("a"), 2), (ItemName::from("b"), 1)]
    );

    for id in [a[0], a[2], b[0]] {
        assert_eq!(store.header(id).unwrap().unwrap().status, Status::Queued);
    }
    assert_eq!(store.queue_depth(&"a".into()), 4);
    assert_eq!(store.queue_depth(&"b".into()), 1);
    assert_eq!(store.queue_depth(&"c".into()), 1);
    let search = ferry_store::Query {
        status: Some(Status::Delivered),
        ..Default::default()
    };
    assert!(store.search(&search).unwrap().is_empty());

    let recovered: Vec<_> = store
        .events(None, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind == EventKind::Recovered)
        .map(|e| (e.event.item.unwrap(), e.event.text))
        .collect();
    assert_eq!(recovered.len(), 2);
    assert!(recovered[0].1.starts_with("2 in-flight"), "{recovered:?}");

    assert_eq!(common::drain(&store, "a"), [a[0], a[2], a[3], a[4]]);
    drop(store);
    let (_store, report) = SledStore::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    assert!(report.returned.is_empty(), "nothing left in flight");
}

/// The environment variable naming the store folder of the crash child.
const CHILD_DIR: &str = "FERRY_STORE_CRASH_CHILD_DIR";

/// The process killed by `in_flight_messages_survive_sigkill`; does nothing when run as an
/// ordinary test.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = open_with(std::path::Path::new(&dir), Durability::Fsync);
    for n in 0..10 {
        accept(&store, "in", &["router"], &format!("C{n}"));
    }
    let leases: Vec<_> = (0..3).map(|_| take(&store, "router")).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.barrier()).unwrap();

    let held: Vec<String> = leases.iter().map(|l| l.header.id.to_string()).collect();
    println!("READY {}", held.join(","));
    loop {
        std::thread::park();
    }
}

#[test]
fn in_flight_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|line| Some(line.split_once("READY ")?.1.to_owned()))
        .expect("the child reports READY");
    child.kill().unwrap();
    child.wait().unwrap();
    let held: Vec<MessageId> = ready
        .split(',')
        .map(|id| MessageId(id.parse().unwrap()))
        .collect();

    let (store, report) = SledStore::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    assert_eq!(report.returned, vec![(ItemName::from("router"), 3)]);
    assert_eq!(store.queue_depth(&"router".into()), 10);
    let order = common::drain(&store, "router");
    assert_eq!(order[..3], held[..]);
    assert_eq!(order.len(), 10);
}

fn corrupt_value(dir: &std::path::Path, key: &[u8], value: &[u8]) {
    let db = sled::open(dir.join("store")).unwrap();
    db.insert(key, value).unwrap();
    db.flush().unwrap();
}

#[test]
fn a_record_with_an_unknown_version_reads_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = accept(&store, "in", &["op"], "C1")[0];
    drop(store);

    let mut key = vec![b'H'];
    key.extend_from_slice(&id.0.to_be_bytes());
    let db = sled::open(dir.path().join("store")).unwrap();
    let mut value = db.get(&key).unwrap().unwrap().to_vec();
    value[0] = 2;
    drop(db);
    corrupt_value(dir.path(), &key, &value);

    let store = open(dir.path());
    assert!(matches!(store.header(id), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.take(&"op".into()),
        Err(StoreError::Corrupt { .. })
    ));
    let err = store.search(&Default::default()).unwrap_err();
    assert!(err.to_string().contains("format version 2"), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn a_store_of_another_format_version_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    corrupt_value(dir.path(), b"Mformat", &[2]);

    let err = SledStore::open(StoreConfig::new(dir.path().join("store"))).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_sled_database_that_is_not_a_store_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    corrupt_value(dir.path(), b"something", b"else");

    let err = SledStore::open(StoreConfig::new(dir.path().join("store"))).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn reopening_right_after_a_drop_waits_for_sleds_lock() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let store = open(dir.path());
        accept(&store, "in", &["op"], &format!("C{round}"));
        take(&store, "op");
        drop(store);
    }

    // Each open returned the lease of the round before; the last round's is still out.
    let (store, report) = SledStore::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    assert_eq!(report.returned, vec![(ItemName::from("op"), 1)]);
    assert_eq!(store.queue_depth(&"op".into()), 20);
}
