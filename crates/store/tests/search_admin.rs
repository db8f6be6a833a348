//! Searching through each index, and what a person may do to a message.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use common::{accept, msh10, open, record, step, take};
use ferry_message::{MessageId, Status};
use ferry_store::{EventKind, Query, SledStore, Store, StoreError};
use jiff::Timestamp;

fn ids(headers: &[ferry_message::Header]) -> Vec<MessageId> {
    headers.iter().map(|h| h.id).collect()
}

/// in-a → router (3 messages), in-b → op (2 messages, one an ORU), one router message
/// completed into op.
fn populated() -> (tempfile::TempDir, SledStore, Vec<MessageId>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut made = Vec::new();
    for n in 0..3 {
        made.extend(accept(&store, "in-a", &["router"], &format!("A{n}")));
    }
    made.extend(accept(&store, "in-b", &["op"], "B0"));
    let mut oru = record("in-b", &["op"], "B1");
    oru.doc_type = Some("ORU^R01".into());
    made.extend(
        store.accept(vec![oru], Vec::new()).unwrap()[0]
            .headers
            .clone(),
    );
    let done = store
        .complete(&step(take(&store, "router"), &["op"]))
        .unwrap();
    made.extend(done.outputs);
    (dir, store, made)
}

#[test]
fn search_by_each_index_newest_first() {
    let (_dir, store, m) = populated();
    let search = |q: Query| ids(&store.search(&q).unwrap());

    assert_eq!(
        search(Query::default()),
        [m[5], m[4], m[3], m[2], m[1], m[0]]
    );
    let source = |s: &str| Query {
        source: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(search(source("in-b")), [m[4], m[3]]);
    assert_eq!(search(source("router")), [m[5]]);
    let target = Query {
        target: Some("op".into()),
        ..Default::default()
    };
    assert_eq!(search(target), [m[5], m[4], m[3]]);
    let status = |s| Query {
        status: Some(s),
        ..Default::default()
    };
    assert_eq!(search(status(Status::Completed)), [m[0]]);
    assert_eq!(
        search(status(Status::Queued)),
        [m[5], m[4], m[3], m[2], m[1]]
    );
    let doc = Query {
        doc_type: Some("ORU^R01".into()),
        ..Default::default()
    };
    assert_eq!(search(doc), [m[4]]);
    let session = Query {
        session: Some(m[0].into()),
        ..Default::default()
    };
    assert_eq!(search(session), [m[5], m[0]]);
    let field = Query {
        field: Some(msh10("A1")),
        ..Default::default()
    };
    assert_eq!(search(field), [m[1]]);
    let nowhere = Query {
        target: Some("never-seen".into()),
        ..Default::default()
    };
    assert!(search(nowhere).is_empty());
}

#[test]
fn conditions_combine_and_page() {
    let (_dir, store, m) = populated();
    let search = |q: Query| ids(&store.search(&q).unwrap());

    let queued_for_op = Query {
        target: Some("op".into()),
        status: Some(Status::Queued),
        source: Some("in-b".into()),
        ..Default::default()
    };
    assert_eq!(search(queued_for_op), [m[4], m[3]]);

    let page = |before| Query {
        limit: 2,
        before,
        ..Default::default()
    };
    assert_eq!(search(page(None)), [m[5], m[4]]);
    assert_eq!(search(page(Some(m[4]))), [m[3], m[2]]);
    assert_eq!(search(page(Some(m[2]))), [m[1], m[0]]);
    assert!(search(page(Some(m[0]))).is_empty());
}

#[test]
fn search_by_time_range() {
    let (_dir, store, m) = populated();
    let search = |q: Query| ids(&store.search(&q).unwrap());
    let created = |id| store.header(id).unwrap().unwrap().created;

    let everything = Query {
        from: Some(Timestamp::UNIX_EPOCH),
        ..Default::default()
    };
    assert_eq!(search(everything).len(), 6);
    let future = Query {
        from: Some(Timestamp::now() + jiff::SignedDuration::from_hours(1)),
        ..Default::default()
    };
    assert!(search(future).is_empty());

    // `to` is exclusive, `from` inclusive.
    let upto = Query {
        to: Some(created(m[3])),
        ..Default::default()
    };
    assert!(!search(upto.clone()).contains(&m[3]));
    assert!(search(upto).contains(&m[0]));
    let since = Query {
        from: Some(created(m[3])),
        limit: 2,
        ..Default::default()
    };
    assert_eq!(search(since.clone()), [m[5], m[4]]);
    let next = Query {
        before: Some(m[4]),
        ..since
    };
    assert!(search(next).starts_with(&[m[3]]));
}

#[test]
fn session_lists_every_header_in_id_order() {
    let (_dir, store, m) = populated();
    assert_eq!(ids(&store.session(m[0].into()).unwrap()), [m[0], m[5]]);
    assert!(
        store
            .session(MessageId(u64::MAX).into())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn suspend_takes_a_queued_message_off_its_queue() {
    let (_dir, store, m) = populated();
    store.suspend(m[1], "alice").unwrap();

    let h = store.header(m[1]).unwrap().unwrap();
    assert_eq!(h.status, Status::Suspended);
    assert_eq!(h.reason.as_deref(), Some("suspended by alice"));
    assert_eq!(store.queue_depth(&"router".into()), 1);
    assert_eq!(take(&store, "router").header.id, m[2]);

    let err = store.suspend(m[1], "alice").unwrap_err();
    assert!(matches!(
        err,
        StoreError::WrongState {
            status: Status::Suspended,
            ..
        }
    ));
    let last = store.events(None, 100).unwrap().pop().unwrap();
    assert_eq!(last.event.kind, EventKind::Admin);
    assert_eq!(last.event.actor.as_deref(), Some("alice"));
    assert_eq!(last.event.message, Some(m[1]));
}

#[test]
fn in_flight_and_finished_messages_cannot_be_held() {
    let (_dir, store, m) = populated();
    let lease = take(&store, "router");
    assert_eq!(lease.header.id, m[1]);

    for result in [store.suspend(m[1], "bob"), store.discard(m[1], "bob")] {
        assert!(matches!(
            result,
            Err(StoreError::WrongState {
                status: Status::Delivered,
                ..
            })
        ));
    }
    for result in [store.suspend(m[0], "bob"), store.discard(m[0], "bob")] {
        assert!(matches!(
            result,
            Err(StoreError::WrongState {
                status: Status::Completed,
                ..
            })
        ));
    }
    assert!(matches!(
        store.suspend(MessageId(1 << 60), "bob"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.discard(MessageId(1 << 60), "bob"),
        Err(StoreError::NotFound(_))
    ));

    // The lease is untouched.
    store.complete(&step(lease, &[])).unwrap();
}

#[test]
fn discard_accepts_queued_suspended_and_failed() {
    let (_dir, store, m) = populated();
    let mut bad = record("in-a", &[], "X");
    bad.disposition = ferry_store::Disposition::Reject {
        reason: "no MSH".into(),
    };
    let failed = store.accept(vec![bad], Vec::new()).unwrap()[0].headers[0];
    store.suspend(m[2], "carol").unwrap();

    store.discard(m[1], "carol").unwrap();
    store.discard(m[2], "carol").unwrap();
    store.discard(failed, "carol").unwrap();

    for id in [m[1], m[2], failed] {
        assert_eq!(store.header(id).unwrap().unwrap().status, Status::Discarded);
    }
    let reason = store.header(failed).unwrap().unwrap().reason.unwrap();
    assert_eq!(reason, "discarded by carol; was: no MSH");
    assert_eq!(store.queue_depth(&"router".into()), 0);
    assert!(store.take(&"router".into()).unwrap().is_none());
    let err = store.discard(m[1], "carol").unwrap_err();
    assert!(matches!(
        err,
        StoreError::WrongState {
            status: Status::Discarded,
            ..
        }
    ));
}

#[test]
fn resend_queues_a_copy_at_the_tail() {
    let (_dir, store, m) = populated();
    let copy = store.resend(m[0], "dave").unwrap();

    let original = store.header(m[0]).unwrap().unwrap();
    let h = store.header(copy).unwrap().unwrap();
    assert_eq!(h.resend_of, Some(m[0]));
    assert_eq!(
        (h.session, h.body, &h.source, &h.target),
        (
            original.session,
            original.body,
            &original.source,
            &original.target
        )
    );
    assert_eq!(
        (h.status, h.attempts, h.response),
        (Status::Queued, 0, None)
    );
    assert_eq!(original.status, Status::Completed);

    assert_eq!(common::drain(&store, "router"), [m[1], m[2], copy]);
    assert_eq!(
        ids(&store.session(m[0].into()).unwrap()),
        [m[0], m[5], copy]
    );
    let field = Query {
        field: Some(msh10("A0")),
        ..Default::default()
    };
    assert_eq!(ids(&store.search(&field).unwrap()), [copy, m[5], m[0]]);

    let last = store.events(None, 100).unwrap().pop().unwrap();
    assert_eq!(
        (last.event.kind, last.event.actor.as_deref()),
        (EventKind::Admin, Some("dave"))
    );
    assert_eq!(last.event.message, Some(copy));
    assert!(matches!(
        store.resend(MessageId(1 << 60), "dave"),
        Err(StoreError::NotFound(_))
    ));
}
