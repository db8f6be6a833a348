//! The runtime's guarantees with file adapters, in process: a dead target does not stall
//! others (B31), FIFO with retries, failure timeouts ending in Suspended or Error,
//! back-pressure instead of drops, enabling and disabling items, graceful shutdown, and
//! the request/response path. An unwritable target folder (a regular file where the
//! folder should be, which stops root too) stands in for a dead target.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::hl7::m;
use common::inproc::Running;
use common::{eventually, visible_files};
use ferry_message::Status;

const WAIT: Duration = Duration::from_secs(30);

/// A production: files in → router → operations A and B (folders out/a, out/b).
fn fan_out(a_retry: &str) -> String {
    common::yaml::head("fan-out", "Router")
        + &format!(
            r#"  - name: Router
    process: router
    rules:
      - send: [A, B]
  - name: A
    operation: file
    retry: {a_retry}
    settings: {{ path: "${{DIR}}/out/a", filename: '{{seq}}-{{MSH-10}}.hl7', fsync: false }}
  - name: B
    operation: file
    settings: {{ path: "${{DIR}}/out/b", filename: '{{seq}}-{{MSH-10}}.hl7', fsync: false }}
"#
        )
}

/// Blocks a target folder by putting a regular file where it should be.
fn kill_folder(folder: &Path) {
    std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
    if folder.is_dir() {
        std::fs::remove_dir_all(folder).unwrap();
    }
    std::fs::write(folder, b"not a folder").unwrap();
}

fn revive_folder(folder: &Path) {
    std::fs::remove_file(folder).unwrap();
}

/// Control ids of the files in `folder`, in the order they were written (`{seq}` prefix).
fn delivered_in_order(folder: &Path) -> Vec<String> {
    let mut named: Vec<(u64, String)> = visible_files(folder)
        .iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let (seq, control) = stem.split_once('-').unwrap();
            (seq.parse().unwrap(), control.to_owned())
        })
        .collect();
    named.sort();
    named.into_iter().map(|(_, control)| control).collect()
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("MSG{n:04}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_on_one_target_does_not_stall_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let retry = "{ interval: 50ms, backoff: 2.0, max_interval: 200ms, failure_timeout: 1s, \
                 on_failure: suspend }";
    let running = Running::start(dir.path(), &fan_out(retry)).await;
    let (a, b) = (running.path("out/a"), running.path("out/b"));
    kill_folder(&a);

    common::drop_file(&running.path("in"), "0051.hl7", &m(51));
    eventually("B delivers MSG0051", WAIT, || visible_files(&b).len() == 1).await;
    for n in 52..=55 {
        common::drop_file(&running.path("in"), &format!("{n:04}.hl7"), &m(n));
    }
    eventually("B delivers everything while A is dead", WAIT, || {
        delivered_in_order(&b) == ids(51..=55)
    })
    .await;
    assert!(visible_files(&a).is_empty());

    eventually("MSG0051 suspended on A", WAIT, || {
        running.count("A", Status::Suspended) == 1
    })
    .await;
    revive_folder(&a);
    eventually("A delivers the rest in order", WAIT, || {
        delivered_in_order(&a) == ids(52..=55)
    })
    .await;

    let suspended: Vec<_> = running
        .headers_for("A")
        .into_iter()
        .filter(|h| h.status == Status::Suspended)
        .collect();
    let reason = suspended[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("failure timeout"), "reason: {reason}");
    assert!(
        suspended[0].attempts >= 2,
        "attempts counted: {}",
        suspended[0].attempts
    );

    let resent = running.engine.resend(suspended[0].id, "test").unwrap();
    eventually("the resend reaches A", WAIT, || {
        delivered_in_order(&a) == [ids(52..=55), ids(51..=51)].concat()
            && running.count("A", Status::Completed) == 5
    })
    .await;
    let header = running.store.header(resent).unwrap().unwrap();
    assert_eq!(header.resend_of, Some(suspended[0].id));

    eventually("B finished all five", WAIT, || {
        running.count("B", Status::Completed) == 5
    })
    .await;
    for header in running
        .headers_for("A")
        .iter()
        .chain(&running.headers_for("B"))
    {
        assert!(
            matches!(header.status, Status::Completed | Status::Suspended),
            "message {} left without a final status: {}",
            header.id,
            header.status
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_queues_two_thousand_while_the_other_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let retry = "{ interval: 20ms, backoff: 2.0, max_interval: 100ms }";
    let running = Running::start(dir.path(), &fan_out(retry)).await;
    let (a, b) = (running.path("out/a"), running.path("out/b"));
    kill_folder(&a);

    for file in 0..20u32 {
        let bytes: Vec<u8> = (1..=100).flat_map(|k| m(file * 100 + k)).collect();
        common::drop_file(&running.path("in"), &format!("batch{file:02}.hl7"), &bytes);
    }
    eventually("B delivers all 2000", Duration::from_secs(120), || {
        visible_files(&b).len() == 2000
    })
    .await;
    assert_eq!(delivered_in_order(&b), ids(1..=2000), "B keeps order");
    let depth = running.store.queue_depth(&"A".into());
    assert!(
        depth >= 1990,
        "A's queue holds what it could not deliver: {depth}"
    );

    revive_folder(&a);
    eventually("A catches up", Duration::from_secs(120), || {
        visible_files(&a).len() == 2000
    })
    .await;
    assert_eq!(
        delivered_in_order(&a),
        ids(1..=2000),
        "A keeps order, retries included"
    );
    assert_eq!(running.store.queue_depth(&"A".into()), 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_timeout_can_end_in_error() {
    let dir = tempfile::tempdir().unwrap();
    let retry =
        "{ interval: 50ms, max_interval: 100ms, failure_timeout: 300ms, on_failure: error }";
    let running = Running::start(dir.path(), &fan_out(retry)).await;
    kill_folder(&running.path("out/a"));

    common::drop_file(&running.path("in"), "0061.hl7", &m(61));
    eventually("MSG0061 in Error on A, Completed on B", WAIT, || {
        running.count("A", Status::Error) == 1 && running.count("B", Status::Completed) == 1
    })
    .await;

    let events = running.store.events(None, 1000).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.text.contains("failed") && e.event.message.is_some()),
        "the failure is in the event log"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_stops_the_inbound_instead_of_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = common::yaml::head("back-pressure", "Router")
        + r#"  - name: Router
    process: router
    queue_limit: 5
    rules:
      - send: [Out]
  - name: Out
    operation: file
    queue_limit: 3
    retry: { interval: 20ms, max_interval: 50ms }
    settings: { path: "${DIR}/out", fsync: false }
"#;
    let running = Running::start(dir.path(), &yaml).await;
    kill_folder(&running.path("out"));
    for n in 1..=50 {
        common::drop_file(&running.path("in"), &format!("{n:04}.hl7"), &m(n));
    }

    // Router queue 5, Out queue 3, one message in Out's hands: 9 taken, 41 left.
    let store = running.store.clone();
    let inbound = running.path("in");
    let stopped = || {
        store.queue_depth(&"Router".into()) == 5
            && store.queue_depth(&"Out".into()) == 3
            && visible_files(&inbound).len() == 41
    };
    eventually("both queues full and the inbound stopped", WAIT, stopped).await;
    // A negative check: nothing more is taken while the target stays dead.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        stopped(),
        "the inbound took more while the queues were full"
    );

    revive_folder(&running.path("out"));
    eventually("everything delivered", WAIT, || {
        visible_files(&running.path("out")).len() == 50
    })
    .await;
    assert!(visible_files(&running.path("in")).is_empty());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_can_be_disabled_and_enabled_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &fan_out("{}")).await;
    running.engine.set_enabled("B", false, "alice").unwrap();

    for n in 71..=73 {
        common::drop_file(&running.path("in"), &format!("{n:04}.hl7"), &m(n));
    }
    eventually("A delivers", WAIT, || {
        visible_files(&running.path("out/a")).len() == 3
    })
    .await;
    eventually("B holds its queue", WAIT, || {
        running.store.queue_depth(&"B".into()) == 3
    })
    .await;
    assert!(visible_files(&running.path("out/b")).is_empty());

    running.engine.set_enabled("B", true, "alice").unwrap();
    eventually("B delivers after enable", WAIT, || {
        delivered_in_order(&running.path("out/b")) == ids(71..=73)
    })
    .await;

    // Both hops carry the one body the service stored: bodies are shared, not copied.
    let inbound_body = |session| {
        let first = running
            .store
            .header(ferry_message::MessageId(session))
            .unwrap();
        first.unwrap().body
    };
    for hop in running
        .headers_for("A")
        .iter()
        .chain(&running.headers_for("B"))
    {
        assert_eq!(
            hop.body,
            inbound_body(hop.session.0),
            "message {} copied its body",
            hop.id
        );
    }

    let events = running.store.events(None, 1000).unwrap();
    let admin: Vec<_> = events
        .iter()
        .filter(|e| e.event.actor.as_deref() == Some("alice"))
        .map(|e| e.event.text.clone())
        .collect();
    assert_eq!(admin, ["item disabled", "item enabled"]);
    assert!(running.engine.set_enabled("Nope", true, "alice").is_err());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_a_retrying_message_to_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = fan_out("{ interval: 10s }");
    let running = Running::start(dir.path(), &yaml).await;
    kill_folder(&running.path("out/a"));
    common::drop_file(&running.path("in"), "0081.hl7", &m(81));
    eventually("A tried once", WAIT, || {
        running
            .headers_for("A")
            .first()
            .is_some_and(|h| h.attempts >= 1)
    })
    .await;

    let started = std::time::Instant::now();
    running.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown does not wait out a retry"
    );

    revive_folder(&dir.path().join("out/a"));
    let running = Running::start(dir.path(), &yaml).await;
    eventually("delivered after the restart", WAIT, || {
        visible_files(&running.path("out/a")).len() == 1
            && running.count("A", Status::Completed) == 1
    })
    .await;
    assert_eq!(
        running.headers_for("A").len(),
        1,
        "no second header for the same message"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_finished_sessions_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = fan_out("{ interval: 20ms, failure_timeout: 100ms, on_failure: suspend }").replace(
        "store: { path: \"${DIR}/data\" }",
        "store: { path: \"${DIR}/data\", retention: 1s, purge_every: 1s }",
    );
    let running = Running::start(dir.path(), &yaml).await;

    common::drop_file(&running.path("in"), "0101.hl7", &m(101));
    eventually("delivered to both", WAIT, || {
        running.count("A", Status::Completed) == 1 && running.count("B", Status::Completed) == 1
    })
    .await;
    let finished = running.headers_for("A")[0].session;

    kill_folder(&running.path("out/a"));
    common::drop_file(&running.path("in"), "0102.hl7", &m(102));
    eventually("MSG0102 suspended on A", WAIT, || {
        running.count("A", Status::Suspended) == 1
    })
    .await;
    let held = running
        .headers_for("A")
        .into_iter()
        .find(|h| h.status == Status::Suspended);
    let held = held.unwrap().session;

    eventually(
        "the finished session purged, and the purge logged",
        WAIT,
        || {
            let events = running.store.events(None, 1000).unwrap();
            running.store.session(finished).unwrap().is_empty()
                && events
                    .iter()
                    .any(|e| e.event.text.starts_with("retention purge removed"))
        },
    )
    .await;
    let kept = running.store.session(held).unwrap();
    assert!(!kept.is_empty(), "a held session is kept");
    running.stop().await;
}
