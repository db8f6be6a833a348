//! Every step of a message's life, read back as the runtime sees it.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{accept, event, hl7, msh10, open, record, step, take};
use ferry_message::{ContentKind, NewBody, Status};
use ferry_store::{
    Disposition, EventKind, EventLevel, NewEvent, Outcome, Output, OutputBody, SledStore, Step,
    Store, StoreConfig, StoreError,
};

#[test]
fn an_accepted_record_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let mut rec = record("mllp-in", &["router", "archive"], "C1");
    rec.body.bytes = Bytes::from(vec![0xE9u8; 10_000]);
    rec.body.kind = ContentKind::Text;
    rec.body.charset = Some("ISO-8859-1".into());
    let accepted = store.accept(vec![rec.clone()], vec![event("in")]).unwrap();

    let a = &accepted[0];
    assert_eq!(a.headers.len(), 2);
    assert_eq!(a.session.0, a.headers[0].0);
    assert!(!a.possible_duplicate);
    for (id, target) in a.headers.iter().zip(["router", "archive"]) {
        let h = store.header(*id).unwrap().unwrap();
        assert_eq!(h.id, *id);
        assert_eq!(h.session, a.session);
        assert_eq!((h.source.as_str(), h.target.as_str()), ("mllp-in", target));
        assert_eq!(h.status, Status::Queued);
        assert_eq!(h.doc_type.as_deref(), Some("ADT^A01"));
        assert_eq!(
            (h.parent, h.resend_of, h.attempts, h.response),
            (None, None, 0, None)
        );
        assert_eq!(h.created, h.updated);

        let body = store.body(h.body).unwrap().unwrap();
        assert_eq!(body.bytes, rec.body.bytes);
        assert_eq!(body.kind, ContentKind::Text);
        assert_eq!(body.charset.as_deref(), Some("ISO-8859-1"));
    }
    assert_eq!(store.queue_depth(&"router".into()), 1);
    assert_eq!(store.queue_depth(&"archive".into()), 1);
    assert_eq!(store.events(None, 10).unwrap()[0].event.text, "in");
}

#[test]
fn a_rejected_record_is_kept_as_error_and_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let mut rec = record("mllp-in", &[], "BAD");
    rec.disposition = Disposition::Reject {
        reason: "no MSH segment at byte 0".into(),
    };
    let accepted = store.accept(vec![rec], Vec::new()).unwrap();

    let h = store.header(accepted[0].headers[0]).unwrap().unwrap();
    assert_eq!(h.status, Status::Error);
    assert_eq!(h.target.as_str(), "mllp-in");
    assert_eq!(h.reason.as_deref(), Some("no MSH segment at byte 0"));
    assert_eq!(store.queue_depth(&"mllp-in".into()), 0);
    assert!(store.take(&"mllp-in".into()).unwrap().is_none());
}

#[test]
fn a_record_without_targets_is_kept_as_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let ids = accept(&store, "in", &[], "C1");
    let h = store.header(ids[0]).unwrap().unwrap();
    assert_eq!(h.status, Status::Discarded);
    assert_eq!(store.body(h.body).unwrap().unwrap().bytes, hl7("C1").bytes);
}

#[test]
fn take_complete_with_outputs_and_response() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = accept(&store, "in", &["router"], "C1");

    let lease = take(&store, "router");
    assert_eq!(lease.header.id, ids[0]);
    assert_eq!(lease.header.status, Status::Delivered);
    assert_eq!(
        store.header(ids[0]).unwrap().unwrap().status,
        Status::Delivered
    );
    assert_eq!(store.queue_depth(&"router".into()), 0);

    let transformed = NewBody::new(ContentKind::Json, b"{\"a\":1}".to_vec());
    let done = store
        .complete(&Step {
            lease: lease.clone(),
            outcome: Outcome::Completed,
            response: Some(NewBody::new(ContentKind::Hl7v2, b"MSA|AA|C1".to_vec())),
            outputs: vec![
                Output {
                    target: "op-a".into(),
                    body: OutputBody::Same,
                    doc_type: Some("ADT^A01".into()),
                    search: Vec::new(),
                },
                Output {
                    target: "op-b".into(),
                    body: OutputBody::New(transformed.clone()),
                    doc_type: Some("json".into()),
                    search: vec![msh10("NEW")],
                },
            ],
            events: vec![event("routed")],
        })
        .unwrap();

    let parent = store.header(ids[0]).unwrap().unwrap();
    assert_eq!(parent.status, Status::Completed);
    let response = store.body(parent.response.unwrap()).unwrap().unwrap();
    assert_eq!(&response.bytes[..], b"MSA|AA|C1");

    let [a, b] = done.outputs[..] else {
        panic!("two outputs")
    };
    let a = store.header(a).unwrap().unwrap();
    let b = store.header(b).unwrap().unwrap();
    assert_eq!(
        (a.parent, a.session, a.body),
        (Some(parent.id), parent.session, parent.body)
    );
    assert_eq!(
        (a.source.as_str(), a.target.as_str(), a.status),
        ("router", "op-a", Status::Queued)
    );
    assert_eq!(
        store.body(b.body).unwrap().unwrap().bytes,
        transformed.bytes
    );
    assert_eq!(b.doc_type.as_deref(), Some("json"));
    assert_eq!(store.queue_depth(&"op-a".into()), 1);
    assert_eq!(store.queue_depth(&"op-b".into()), 1);

    // Same-body outputs inherit the parent's search values; new bodies bring their own.
    let by_old = store.search(&query_field("C1")).unwrap();
    assert_eq!(
        by_old.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![a.id, parent.id]
    );
    assert_eq!(store.search(&query_field("NEW")).unwrap()[0].id, b.id);

    assert!(matches!(
        store.complete(&step(lease, &[])),
        Err(StoreError::NotLeased(_))
    ));
}

fn query_field(value: &str) -> ferry_store::Query {
    ferry_store::Query {
        field: Some(msh10(value)),
        ..Default::default()
    }
}

#[test]
fn outcomes_set_status_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for (n, (outcome, status)) in [
        (Outcome::Error("refused".into()), Status::Error),
        (Outcome::Suspended("hold".into()), Status::Suspended),
        (Outcome::Discarded("rule 3".into()), Status::Discarded),
    ]
    .into_iter()
    .enumerate()
    {
        let ids = accept(&store, "in", &["op"], &format!("C{n}"));
        let mut s = step(take(&store, "op"), &[]);
        s.outcome = outcome.clone();
        store.complete(&s).unwrap();
        let h = store.header(ids[0]).unwrap().unwrap();
        assert_eq!(h.status, status);
        let (Outcome::Error(r) | Outcome::Suspended(r) | Outcome::Discarded(r)) = outcome else {
            unreachable!()
        };
        assert_eq!(h.reason, Some(r));
    }
}

#[test]
fn record_attempt_keeps_the_lease_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = accept(&store, "in", &["op"], "C1");

    let mut lease = take(&store, "op");
    let retry = NewEvent {
        level: EventLevel::Warn,
        kind: EventKind::Retry,
        item: Some("op".into()),
        message: Some(ids[0]),
        actor: None,
        text: "connection refused".into(),
    };
    store
        .record_attempt(&mut lease, "connection refused", Some(retry.clone()))
        .unwrap();
    store.record_attempt(&mut lease, "timeout", None).unwrap();

    assert_eq!(lease.header.attempts, 2);
    let h = store.header(ids[0]).unwrap().unwrap();
    assert_eq!(
        (h.attempts, h.reason.as_deref(), h.status),
        (2, Some("timeout"), Status::Delivered)
    );
    assert_eq!(store.events(None, 10).unwrap()[0].event, retry);

    store.complete(&step(lease, &[])).unwrap();
    assert_eq!(store.header(ids[0]).unwrap().unwrap().attempts, 2);
}

#[test]
fn release_returns_to_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = accept(&store, "in", &["op"], "C1")[0];
    let second = accept(&store, "in", &["op"], "C2")[0];

    let lease = take(&store, "op");
    assert_eq!(lease.header.id, first);
    store.release(lease.clone()).unwrap();
    assert_eq!(store.header(first).unwrap().unwrap().status, Status::Queued);
    assert_eq!(store.queue_depth(&"op".into()), 2);
    assert!(matches!(
        store.release(lease),
        Err(StoreError::NotLeased(_))
    ));

    assert_eq!(common::drain(&store, "op"), vec![first, second]);
}

#[test]
fn a_failed_complete_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = accept(&store, "in", &["router"], "C1");
    let lease = take(&store, "router");
    let events_before = store.events(None, 100).unwrap();

    let mut full = step(lease.clone(), &["op-a", "op-b"]);
    full.response = Some(NewBody::new(ContentKind::Text, b"ok".to_vec()));
    full.events = vec![event("routed")];
    full.outputs[1].body = OutputBody::New(NewBody::new(ContentKind::Text, vec![1; 20_000]));
    store.test_hooks().fail_next_writes(1);
    let err = store.complete(&full.clone()).unwrap_err();
    assert!(matches!(err, StoreError::Injected(_)));
    assert!(err.is_retryable());

    let h = store.header(ids[0]).unwrap().unwrap();
    assert_eq!((h.status, h.response), (Status::Delivered, None));
    for item in ["op-a", "op-b", "router"] {
        assert_eq!(store.queue_depth(&item.into()), 0, "{item}");
        assert!(store.take(&item.into()).unwrap().is_none(), "{item}");
    }
    assert_eq!(store.events(None, 100).unwrap(), events_before);
    let everything = store.search(&Default::default()).unwrap();
    assert_eq!(everything.iter().map(|h| h.id).collect::<Vec<_>>(), ids);
    let audit = store.audit().unwrap();
    assert_eq!(audit.leased[&"router".into()], ids);

    // The lease still holds: the same step succeeds now.
    let done = store.complete(&full).unwrap();
    assert_eq!(done.outputs.len(), 2);
    assert_eq!(store.queue_depth(&"op-a".into()), 1);
    assert_eq!(store.queue_depth(&"op-b".into()), 1);
}

#[test]
fn a_failed_accept_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    accept(&store, "in", &["op"], "C1");

    store.test_hooks().fail_next_writes(1);
    let result = store.accept(
        vec![record("in", &["op", "new-item"], "C2")],
        vec![event("x")],
    );
    assert!(matches!(result, Err(StoreError::Injected(_))));
    assert_eq!(store.queue_depth(&"op".into()), 1);
    assert_eq!(store.queue_depth(&"new-item".into()), 0);
    assert!(store.events(None, 10).unwrap().is_empty());
    assert_eq!(store.search(&Default::default()).unwrap().len(), 1);

    // The item first seen in the failed batch is still written with the next one.
    accept(&store, "in", &["new-item"], "C3");
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.queue_depth(&"new-item".into()), 1);
}

#[test]
fn queues_are_fifo_across_many_accepts_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut expected = Vec::new();
    for n in 0..300 {
        expected.extend(accept(&store, "in", &["op"], &format!("C{n}")));
    }
    let batch: Vec<_> = (0..20)
        .map(|n| record("in", &["op"], &format!("B{n}")))
        .collect();
    for accepted in store.accept(batch, Vec::new()).unwrap() {
        expected.extend(accepted.headers);
    }
    assert_eq!(store.queue_depth(&"op".into()), 320);

    drop(store);
    let store = open(dir.path());
    assert_eq!(store.queue_depth(&"op".into()), 320);
    assert_eq!(common::drain(&store, "op"), expected);
}

#[test]
fn concurrent_takers_get_each_message_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    let records: Vec<_> = (0..400)
        .map(|n| record("in", &["pool"], &format!("C{n}")))
        .collect();
    let all: HashSet<_> = store
        .accept(records, Vec::new())
        .unwrap()
        .into_iter()
        .map(|a| a.headers[0])
        .collect();

    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(lease) = store.take(&"pool".into()).unwrap() {
                    got.push(lease.header.id);
                    store.complete(&step(lease, &["next"])).unwrap();
                }
                got
            })
        })
        .collect();

    let mut seen = HashSet::new();
    for worker in workers {
        for id in worker.join().unwrap() {
            assert!(seen.insert(id), "message {id} taken twice");
        }
    }
    assert_eq!(seen, all);
    assert_eq!(store.queue_depth(&"pool".into()), 0);
    assert_eq!(store.queue_depth(&"next".into()), 400);
    let audit = store.audit().unwrap();
    assert_eq!(audit.queued[&"next".into()].len(), 400);
    assert!(audit.leased.is_empty());
}

#[test]
fn duplicates_are_flagged_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let keyed = |key: u8, id: &str| {
        let mut rec = record("in", &["op"], id);
        rec.duplicate_key = Some([key; 16]);
        rec
    };

    let first = store.accept(vec![keyed(1, "A")], Vec::new()).unwrap();
    let again = store.accept(vec![keyed(1, "A")], Vec::new()).unwrap();
    let other = store.accept(vec![keyed(2, "B")], Vec::new()).unwrap();
    let both = store
        .accept(vec![keyed(3, "C"), keyed(3, "C")], Vec::new())
        .unwrap();

    assert!(!first[0].possible_duplicate);
    assert!(again[0].possible_duplicate);
    assert!(!other[0].possible_duplicate);
    assert_eq!(
        both.iter()
            .map(|a| a.possible_duplicate)
            .collect::<Vec<_>>(),
        [false, true]
    );
    assert!(
        store
            .header(again[0].headers[0])
            .unwrap()
            .unwrap()
            .possible_duplicate
    );
    assert!(
        !store
            .header(first[0].headers[0])
            .unwrap()
            .unwrap()
            .possible_duplicate
    );
    assert_eq!(store.queue_depth(&"op".into()), 5);

    // Outputs of a flagged message carry the flag on.
    let mut flags = Vec::new();
    for _ in 0..2 {
        let done = store
            .complete(&step(take(&store, "op"), &["next"]))
            .unwrap();
        flags.push(
            store
                .header(done.outputs[0])
                .unwrap()
                .unwrap()
                .possible_duplicate,
        );
    }
    assert_eq!(flags, [false, true]);

    let unkeyed = store
        .accept(vec![record("in", &["op"], "A")], Vec::new())
        .unwrap();
    assert!(!unkeyed[0].possible_duplicate);
}

#[test]
fn duplicates_outside_the_window_are_not_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path().join("store"));
    config.durability = ferry_store::Durability::Os;
    config.duplicate_window = Duration::from_millis(1);
    let (store, _) = SledStore::open(config).unwrap();

    let mut rec = record("in", &["op"], "A");
    rec.duplicate_key = Some([7; 16]);
    store.accept(vec![rec.clone()], Vec::new()).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(!store.accept(vec![rec], Vec::new()).unwrap()[0].possible_duplicate);
}

#[test]
fn events_read_back_oldest_first_with_paging() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append_events(vec![event("one"), event("two")])
        .unwrap();
    accept(&store, "in", &["op"], "C1");
    store
        .accept(vec![record("in", &["op"], "C2")], vec![event("three")])
        .unwrap();
    store.append_events(vec![event("four")]).unwrap();

    let all = store.events(None, 100).unwrap();
    let texts: Vec<_> = all.iter().map(|e| e.event.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three", "four"]);
    assert!(
        all.windows(2)
            .all(|w| w[0].id < w[1].id && w[0].time <= w[1].time)
    );

    let page = store.events(Some(all[1].id), 1).unwrap();
    assert_eq!(page[0].event.text, "three");
    assert!(store.events(Some(all[3].id), 10).unwrap().is_empty());
    assert!(store.events(Some(u64::MAX), 10).unwrap().is_empty());
}

#[test]
fn writes_after_close_fail_and_reads_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = accept(&store, "in", &["op"], "C1");
    store.close();
    store.close();

    assert!(matches!(store.take(&"op".into()), Err(StoreError::Closed)));
    assert!(matches!(
        store.append_events(vec![event("x")]),
        Err(StoreError::Closed)
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(matches!(
        rt.block_on(store.barrier()),
        Err(StoreError::Closed)
    ));
    assert!(store.header(ids[0]).unwrap().is_some());
}
