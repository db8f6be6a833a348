//! Retention: finished sessions go with everything they own; nothing unfinished is touched.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use std::collections::HashSet;

use common::{accept, msh10, open, record, step, take};
use ferry_message::{BodyId, ContentKind, Header, MessageId, NewBody, Status};
use ferry_store::{Disposition, PurgeReport, Query, SledStore, Store};
use jiff::{SignedDuration, Timestamp};

struct Kept {
    queued: MessageId,
    suspended: MessageId,
    leased: ferry_store::Lease,
    failed: MessageId,
    held_by_error_output: MessageId,
}

/// Four sessions that must survive, and three finished ones.
fn populate(store: &SledStore) -> (Kept, Vec<Header>) {
    let queued = accept(store, "in", &["op"], "Q")[0];
    let suspended = accept(store, "in", &["held"], "S")[0];
    store.suspend(suspended, "ops").unwrap();
    accept(store, "in", &["proc"], "L");
    let leased = take(store, "proc");
    let mut bad = record("in", &[], "E");
    bad.disposition = Disposition::Reject {
        reason: "bad".into(),
    };
    let failed = store.accept(vec![bad], Vec::new()).unwrap()[0].headers[0];

    // A session whose root completed but whose output failed.
    let held_by_error_output = accept(store, "in", &["router2"], "R2")[0];
    store
        .complete(&step(take(store, "router2"), &["op2"]))
        .unwrap();
    let mut fail = step(take(store, "op2"), &[]);
    fail.outcome = ferry_store::Outcome::Error("refused".into());
    store.complete(&fail).unwrap();

    // Completed through two hops, with a response and a transformed body.
    let done = accept(store, "in", &["router"], "DONE")[0];
    let mut routed = step(take(store, "router"), &["out"]);
    routed.outputs[0].body =
        ferry_store::OutputBody::New(NewBody::new(ContentKind::Json, vec![b'j'; 9000]));
    store.complete(&routed).unwrap();
    let mut delivered = step(take(store, "out"), &[]);
    delivered.response = Some(NewBody::new(ContentKind::Hl7v2, b"MSA|AA".to_vec()));
    store.complete(&delivered).unwrap();
    // Discarded by a person.
    let discarded = accept(store, "in", &["op3"], "DISC")[0];
    store.discard(discarded, "ops").unwrap();
    // Completed and discarded headers in one session, with a duplicate digest.
    let mut keyed = record("in", &["a", "b"], "MIX");
    keyed.duplicate_key = Some([5; 16]);
    let mixed = store.accept(vec![keyed], Vec::new()).unwrap()[0]
        .headers
        .clone();
    store.complete(&step(take(store, "a"), &[])).unwrap();
    store.discard(mixed[1], "ops").unwrap();

    let mut finished = Vec::new();
    for root in [done, discarded, mixed[0]] {
        finished.extend(store.session(root.into()).unwrap());
    }
    let kept = Kept {
        queued,
        suspended,
        leased,
        failed,
        held_by_error_output,
    };
    (kept, finished)
}

fn in_an_hour() -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(1)
}

#[test]
fn purge_removes_finished_sessions_and_keeps_the_rest_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (kept, finished) = populate(&store);
    let kept_sessions: Vec<_> = [
        kept.queued,
        kept.suspended,
        kept.leased.header.id,
        kept.failed,
        kept.held_by_error_output,
    ]
    .into_iter()
    .map(|id| store.session(id.into()).unwrap())
    .collect();
    let finished_bodies: HashSet<BodyId> = finished
        .iter()
        .flat_map(|h| [Some(h.body), h.response])
        .flatten()
        .collect();

    let report = store.purge(in_an_hour()).unwrap();

    assert_eq!(
        report,
        PurgeReport {
            sessions: 3,
            headers: finished.len() as u64,
            bodies: 5,
            kept: 5
        }
    );
    assert_eq!(finished_bodies.len(), 5);
    for h in &finished {
        assert!(store.header(h.id).unwrap().is_none());
        assert!(store.session(h.session).unwrap().is_empty());
    }
    for body in &finished_bodies {
        assert!(store.body(*body).unwrap().is_none());
    }
    for value in ["DONE", "DISC", "MIX"] {
        let query = Query {
            field: Some(msh10(value)),
            ..Default::default()
        };
        assert!(store.search(&query).unwrap().is_empty(), "{value}");
    }
    let completed = Query {
        status: Some(Status::Completed),
        ..Default::default()
    };
    let left: Vec<_> = store
        .search(&completed)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(
        left,
        [kept.held_by_error_output],
        "only the kept session's root"
    );

    for session in &kept_sessions {
        for h in session {
            assert_eq!(store.header(h.id).unwrap().as_ref(), Some(h));
            assert!(store.body(h.body).unwrap().is_some());
        }
    }
    assert_eq!(store.queue_depth(&"op".into()), 1);
    assert_eq!(take(&store, "op").header.id, kept.queued);
    store.complete(&step(kept.leased, &[])).unwrap();
    store.discard(kept.suspended, "ops").unwrap();

    // The digest entry went with its session: the same digest is new again.
    let mut keyed = record("in", &["a"], "MIX");
    keyed.duplicate_key = Some([5; 16]);
    assert!(!store.accept(vec![keyed], Vec::new()).unwrap()[0].possible_duplicate);
}

#[test]
fn purge_leaves_no_key_pointing_at_a_removed_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_kept, finished) = populate(&store);
    let removed_ids: HashSet<u64> = finished.iter().map(|h| h.id.0).collect();
    let removed_bodies: HashSet<u64> = finished
        .iter()
        .flat_map(|h| [Some(h.body), h.response])
        .flatten()
        .map(|b| b.0)
        .collect();
    store.purge(in_an_hour()).unwrap();
    drop(store);

    let db = sled::open(dir.path().join("store")).unwrap();
    for entry in db.iter() {
        let (key, _) = entry.unwrap();
        match key[0] {
            b'H' | b'T' | b'S' | b'U' | b'F' | b'G' | b'D' | b'V' => {
                let tail = u64::from_be_bytes(key[key.len() - 8..].try_into().unwrap());
                assert!(!removed_ids.contains(&tail), "{key:?} survived the purge");
            }
            b'B' => {
                let body = u64::from_be_bytes(key[1..9].try_into().unwrap());
                assert!(
                    !removed_bodies.contains(&body),
                    "chunk {key:?} survived the purge"
                );
            }
            b'K' => panic!("the only digest entry belonged to a removed session"),
            _ => {}
        }
    }
}

#[test]
fn purge_respects_the_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_kept, finished) = populate(&store);

    let report = store
        .purge(Timestamp::now() - SignedDuration::from_hours(1))
        .unwrap();
    assert_eq!(report, PurgeReport::default());
    assert!(store.header(finished[0].id).unwrap().is_some());

    // A second purge finds only what the first one kept.
    assert_eq!(store.purge(in_an_hour()).unwrap().sessions, 3);
    let again = store.purge(in_an_hour()).unwrap();
    assert_eq!((again.sessions, again.kept), (0, 5));
}
