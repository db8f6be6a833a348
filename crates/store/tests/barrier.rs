//! The durability barrier: it really fsyncs, `os` does not, and concurrent writers share
//! sync rounds.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use std::sync::Arc;

use common::{accept, open_with, record};
use ferry_message::{ContentKind, NewBody};
use ferry_store::{Durability, Store};

#[tokio::test]
async fn fsync_mode_syncs_the_log_after_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), Durability::Fsync);
    let hooks = store.test_hooks();
    let (fsyncs, rounds, served) = (
        hooks.fsync_calls(),
        hooks.barrier_rounds(),
        hooks.barrier_requests(),
    );

    accept(&store, "in", &["op"], "C1");
    store.barrier().await.unwrap();

    assert!(hooks.fsync_calls() > fsyncs);
    assert_eq!(hooks.barrier_rounds(), rounds + 1);
    assert_eq!(hooks.barrier_requests(), served + 1);
}

#[tokio::test]
async fn os_mode_never_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), Durability::Os);

    for n in 0..5 {
        accept(&store, "in", &["op"], &format!("C{n}"));
        store.barrier().await.unwrap();
    }

    assert_eq!(store.test_hooks().fsync_calls(), 0);
    assert!(store.test_hooks().barrier_rounds() >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_sync_rounds() {
    const WRITERS: u64 = 64;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with(dir.path(), Durability::Fsync));
    let start = Arc::new(tokio::sync::Barrier::new(WRITERS as usize));
    let (rounds, served) = (
        store.test_hooks().barrier_rounds(),
        store.test_hooks().barrier_requests(),
    );

    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let ids = accept(&store, "in", &["op"], &format!("C{n}"));
                let rounds_after_write = store.test_hooks().barrier_rounds();
                store.barrier().await.unwrap();
                // A round that finished after this writer's write answered it.
                assert!(store.test_hooks().barrier_rounds() > rounds_after_write);
                ids[0]
            })
        })
        .collect();
    for writer in writers {
        let id = writer.await.unwrap();
        assert!(store.header(id).unwrap().is_some());
    }

    let rounds = store.test_hooks().barrier_rounds() - rounds;
    assert_eq!(store.test_hooks().barrier_requests() - served, WRITERS);
    assert!(
        rounds < WRITERS,
        "{rounds} sync rounds for {WRITERS} writers"
    );
    println!("{WRITERS} writers, {rounds} sync rounds");
}

#[tokio::test]
async fn large_bodies_are_chunked_and_leave_no_unsynced_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), Durability::Fsync);

    let mut ids = Vec::new();
    for n in 0..8u8 {
        let mut rec = record("in", &["op"], &format!("BIG{n}"));
        rec.body = NewBody::new(ContentKind::Binary, vec![n; 1 << 20]);
        ids.extend(
            store.accept(vec![rec], Vec::new()).unwrap()[0]
                .headers
                .clone(),
        );
    }
    let fsyncs = store.test_hooks().fsync_calls();
    store.barrier().await.unwrap();

    let blobs = std::fs::read_dir(dir.path().join("store/blobs"))
        .unwrap()
        .count() as u64;
    if blobs > 0 {
        // The log, each blob file and the folder.
        assert!(store.test_hooks().fsync_calls() >= fsyncs + 2 + blobs);
    }
    assert_eq!(
        blobs, 0,
        "4 KiB chunks should keep sled from writing blob files"
    );
    for (n, id) in ids.into_iter().enumerate() {
        let header = store.header(id).unwrap().unwrap();
        assert_eq!(
            store.body(header.body).unwrap().unwrap().bytes,
            vec![n as u8; 1 << 20]
        );
    }
}

#[tokio::test]
async fn blob_files_are_fsynced_once_per_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), Durability::Fsync);
    let hooks = store.test_hooks();
    // Stands in for a blob sled wrote with a plain `write` after the store opened.
    let blob = dir.path().join("store/blobs/999999999");

    std::fs::write(&blob, b"blob bytes").unwrap();
    let before = hooks.fsync_calls();
    store.barrier().await.unwrap();
    assert_eq!(
        hooks.fsync_calls() - before,
        3,
        "log, blob file, blobs folder"
    );

    let before = hooks.fsync_calls();
    store.barrier().await.unwrap();
    assert_eq!(hooks.fsync_calls() - before, 1, "only the log");

    std::fs::write(&blob, b"blob bytes, written further").unwrap();
    let before = hooks.fsync_calls();
    store.barrier().await.unwrap();
    assert_eq!(
        hooks.fsync_calls() - before,
        3,
        "a blob that grew is synced again"
    );

    std::fs::remove_file(&blob).unwrap();
}

#[tokio::test]
async fn close_runs_a_final_round() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), Durability::Fsync);
    accept(&store, "in", &["op"], "C1");
    let rounds = store.test_hooks().barrier_rounds();

    store.close();
    assert_eq!(store.test_hooks().barrier_rounds(), rounds + 1);
}
