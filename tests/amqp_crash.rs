//! Field case B38 with the real `ferry` binary and a real RabbitMQ (`FERRY_TEST_AMQP_URL`;
//! skipped without it, failing under `CI=true`): an ack only after the store, a crash
//! between the store flush and the ack, bad bodies dead-lettered rather than requeued,
//! and a store that fails for a while.
//!
//! The faults come from test-only hooks (the `test-hooks` features of ferry-amqp and
//! ferry-store, which only test builds turn on): `FERRY_TEST_ABORT_BEFORE_ACK` aborts the
//! process after the flush and before the basic.ack of the delivery with that message id,
//! and `FERRY_TEST_FAIL_WRITES_WHEN`/`_FOR` make every store write fail for a while once a
//! file appears. Timings are the field case's scaled by 1/4 (60 s of store failure → 15 s).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::amqp::{Client, HL7, control_id, text};
use common::binary::Ferry;
use common::hl7::m;
use common::rabbit::{BrokerObjects, amqp_url};
use lapin::ExchangeKind;

const WAIT: Duration = Duration::from_secs(60);

struct Setup {
    guard: BrokerObjects,
    queue: String,
    dead: String,
    out_queue: String,
    production: PathBuf,
}

/// Queue `t.in` dead-lettering to fanout `t.dlx` → `t.dead`; Ferry relays `t.in` to the
/// fanout exchange `t.out` → `t.outq`, with prefetch 20.
async fn setup(url: &str, client: &Client, dir: &Path) -> Setup {
    let guard = BrokerObjects::new(url);
    let queue = guard.queue("t.in");
    let dlx = guard.exchange("t.dlx");
    let dead = guard.queue("t.dead");
    let out = guard.exchange("t.out");
    let out_queue = guard.queue("t.outq");
    client.exchange(&dlx, ExchangeKind::Fanout).await;
    client.queue(&dead, &[]).await;
    client.bind(&dead, &dlx, "").await;
    client
        .queue(&queue, &[("x-dead-letter-exchange", text(&dlx))])
        .await;
    client.exchange(&out, ExchangeKind::Fanout).await;
    client.queue(&out_queue, &[]).await;
    client.bind(&out_queue, &out, "").await;

    let production = dir.join("p.yaml");
    let yaml = format!(
        "production: b38\nstore: {{ path: \"{}/data\" }}\nitems:\n\
         - name: In\n  service: amqp\n  targets: [Out]\n  settings:\n    \
         url: \"${{FERRY_AMQP_URL}}\"\n    queue: {queue}\n    \
         arguments: {{ x-dead-letter-exchange: {dlx} }}\n    prefetch: 20\n    \
         reconnect: {{ initial: 200ms, cap: 2s }}\n\
         - name: Out\n  operation: amqp\n  retry: {{ interval: 200ms, max_interval: 2s }}\n  \
         settings:\n    url: \"${{FERRY_AMQP_URL}}\"\n    exchange: {out}\n    \
         exchange_type: fanout\n",
        dir.display()
    );
    std::fs::write(&production, yaml).unwrap();
    Setup {
        guard,
        queue,
        dead,
        out_queue,
        production,
    }
}

/// The message ids (Ferry's header ids) each control id arrived with. One id per control
/// id means the message was stored once: a second store would be a second header. Copies
/// with the same id are Ferry's own resends of a publish in flight at the crash.
fn ids_by_control_id(got: &[common::amqp::Got]) -> BTreeMap<String, BTreeSet<String>> {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for message in got {
        ids.entry(control_id(&message.body))
            .or_default()
            .insert(message.message_id.clone().unwrap_or_default());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b38_a_crash_before_the_ack_stores_once_and_bad_bodies_are_dead_lettered() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b38").await;
    let dir = tempfile::tempdir().unwrap();
    let setup = setup(&url, &client, dir.path()).await;
    let url_env = Path::new(&url);

    let hook = [
        ("FERRY_AMQP_URL", url_env),
        ("FERRY_TEST_ABORT_BEFORE_ACK", Path::new("b38-0603")),
    ];
    let mut dying = Ferry::start(&setup.production, &hook);
    client
        .publish("", &setup.queue, &m(601), Some(HL7), Some("b38-0601"))
        .await;
    let cut_short = br#"{"order": "#;
    let json = Some("application/json");
    client
        .publish("", &setup.queue, cut_short, json, Some("b38-0602"))
        .await;
    client
        .publish("", &setup.queue, &m(603), Some(HL7), Some("b38-0603"))
        .await;
    common::wait_until("the abort before the ack", WAIT, || !dying.is_running());
    drop(dying);

    let ferry = Ferry::start(&setup.production, &[("FERRY_AMQP_URL", url_env)]);
    let not_hl7 = b"NOT HL7 AT ALL";
    client
        .publish("", &setup.queue, not_hl7, Some(HL7), Some("b38-0604"))
        .await;
    client
        .publish("", &setup.queue, &m(605), Some(HL7), Some("b38-0605"))
        .await;
    client.wait_for(&setup.out_queue, 3, WAIT).await;
    client.wait_for(&setup.dead, 2, WAIT).await;
    assert!(ferry.stop().success());

    let out = client.drain(&setup.out_queue).await;
    let ids = ids_by_control_id(&out);
    let controls: Vec<&str> = ids.keys().map(String::as_str).collect();
    assert_eq!(controls, ["MSG0601", "MSG0603", "MSG0605"]);
    assert!(
        ids.values().all(|ids| ids.len() == 1),
        "each stored once: {ids:?}"
    );
    let dead: Vec<Vec<u8>> = client
        .drain(&setup.dead)
        .await
        .into_iter()
        .map(|got| got.body)
        .collect();
    assert_eq!(dead, [cut_short.to_vec(), not_hl7.to_vec()]);
    assert_eq!(
        client.count(&setup.queue).await,
        Some(0),
        "nothing left or requeued"
    );

    client.close().await;
    drop(setup.guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b38_while_the_store_fails_deliveries_stay_unacked_and_are_stored_once_after() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b38 store").await;
    let dir = tempfile::tempdir().unwrap();
    let setup = setup(&url, &client, dir.path()).await;
    let trigger = dir.path().join("fail-now");
    let env = [
        ("FERRY_AMQP_URL", Path::new(&url)),
        ("FERRY_TEST_FAIL_WRITES_WHEN", trigger.as_path()),
        ("FERRY_TEST_FAIL_WRITES_FOR", Path::new("15000")),
    ];
    let ferry = Ferry::start(&setup.production, &env);
    std::fs::write(&trigger, b"").unwrap();

    for n in 606..=610 {
        let id = format!("b38-{n:04}");
        client
            .publish("", &setup.queue, &m(n), Some(HL7), Some(&id))
            .await;
    }
    // The broker has handed the five to Ferry (none ready), and none is acked or
    // forwarded while the store fails.
    let mut waited = Duration::ZERO;
    while client.count(&setup.queue).await != Some(0) && waited < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(client.count(&setup.out_queue).await, Some(0));
    assert_eq!(client.count(&setup.queue).await, Some(0), "no requeue loop");
    let troubled = ferry
        .lines()
        .iter()
        .any(|line| line.to_string().contains("cannot store"));
    assert!(
        troubled,
        "an error event says the store fails:\n{}",
        ferry.log_text()
    );

    client.wait_for(&setup.out_queue, 5, WAIT).await;
    assert!(ferry.stop().success());
    let out = client.drain(&setup.out_queue).await;
    let ids = ids_by_control_id(&out);
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(out.len(), 5, "each forwarded once: {ids:?}");

    client.close().await;
    drop(setup.guard);
}
