//! Field cases B34, B35, B37 and the second run of B38 against a real RabbitMQ
//! (`FERRY_TEST_AMQP_URL`; skipped without it, failing under `CI=true`), with the engine
//! in this process so the tests can read item states and the store.
//!
//! Objects on the shared broker have unique names and are deleted afterwards; what needs
//! a broker in a bad state (B34's memory alarm) runs on a private RabbitMQ node. The
//! field cases' timings are scaled by one factor, 1/4: B34 drains `t.q` after 5 s (20 s)
//! and clears the alarm after 7.5 s (30 s); B35 brings the queue back after 2.5 s (10 s).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::admin::series;
use common::amqp::{Client, HL7, control_id, int, text, trouble, wait_trouble};
use common::hl7::{m, typed};
use common::inproc::Running;
use common::rabbit::{BrokerObjects, CutProxy, PrivateBroker, amqp_url};
use ferry_message::{Header, Status};
use lapin::ExchangeKind;

const WAIT: Duration = Duration::from_secs(60);

/// The field cases' timings times this.
const SCALE: f64 = 0.25;

fn scaled(seconds: u64) -> Duration {
    Duration::from_secs_f64(seconds as f64 * SCALE)
}

/// The headers for `target` by the MSH-10 of their body.
fn by_control_id(running: &Running, target: &str) -> BTreeMap<String, Vec<Header>> {
    let mut found: BTreeMap<String, Vec<Header>> = BTreeMap::new();
    for header in running.headers_for(target) {
        let body = running.store.body(header.body).unwrap().unwrap();
        found
            .entry(control_id(&body.bytes))
            .or_default()
            .push(header);
    }
    found
}

fn status_of(running: &Running, target: &str, control: &str) -> Option<Header> {
    by_control_id(running, target)
        .remove(control)
        .and_then(|headers| headers.into_iter().last())
}

/// An AMQP service on `queue` feeding `target`, with test-sized reconnect waits.
fn service(name: &str, url: &str, queue: &str, target: &str, extra: &str) -> String {
    format!(
        "- name: {name}\n  service: amqp\n  targets: [{target}]\n  settings:\n    \
         url: \"{url}\"\n    queue: {queue}\n    reconnect: {{ initial: 500ms, cap: 2s }}\n\
         {extra}"
    )
}

fn head(name: &str) -> String {
    format!("production: {name}\nstore: {{ path: \"${{DIR}}/data\" }}\nitems:\n")
}

// ---------------------------------------------------------------------------------------
// B34: a publish counts only when the broker confirms it
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b34_only_a_plain_confirm_completes_a_message() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b34").await;
    let objects = BrokerObjects::new(&url);
    let (input, big_input) = (objects.queue("t.feed"), objects.queue("t.feedbig"));
    let (out, queue) = (objects.exchange("t.out"), objects.queue("t.q"));
    let (big, big_queue) = (objects.exchange("t.big"), objects.queue("t.bigq"));
    client.exchange(&out, ExchangeKind::Direct).await;
    let limits = [
        ("x-max-length", int(3)),
        ("x-overflow", text("reject-publish")),
    ];
    client.queue(&queue, &limits).await;
    client.bind(&queue, &out, "hl7.ADT.A01").await;
    client.exchange(&big, ExchangeKind::Fanout).await;
    client.queue(&big_queue, &[]).await;
    client.bind(&big_queue, &big, "").await;
    client.queue(&input, &[]).await;
    client.queue(&big_input, &[]).await;

    let yaml = format!(
        "{}{}{}- name: Out\n  operation: amqp\n  \
         retry: {{ interval: 300ms, max_interval: 1s, failure_timeout: 5m }}\n  settings:\n    \
         url: \"{url}\"\n    exchange: {out}\n    routing_key: 'hl7.{{MSH-9.1}}.{{MSH-9.2}}'\n    \
         confirm_timeout: 2s\n\
         - name: Big\n  operation: amqp\n  settings:\n    url: \"{url}\"\n    exchange: {big}\n    \
         exchange_type: fanout\n",
        head("b34"),
        service("In", &url, &input, "Out", ""),
        service("Burst", &url, &big_input, "Big", "")
    );
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &yaml).await;

    for n in 201..=203 {
        client.publish("", &input, &m(n), Some(HL7), None).await;
    }
    let a08 = typed("ADT^A08^ADT_A01", "MSG0204");
    client.publish("", &input, &a08, Some(HL7), None).await;
    client.publish("", &input, &m(205), Some(HL7), None).await;

    common::eventually("MSG0204 returned and MSG0205 nacked", WAIT, || {
        let returned = status_of(&running, "Out", "MSG0204");
        let nacked = status_of(&running, "Out", "MSG0205");
        returned.is_some_and(|h| h.status == Status::Error)
            && nacked.is_some_and(|h| h.attempts >= 1)
    })
    .await;
    let returned = status_of(&running, "Out", "MSG0204").unwrap();
    let reason = returned.reason.unwrap();
    for part in [
        "312",
        "NO_ROUTE",
        &format!("exchange '{out}'"),
        "hl7.ADT.A08",
    ] {
        assert!(reason.contains(part), "{part} in {reason}");
    }
    assert_eq!(returned.attempts, 0, "a returned message is not resent");
    for control in ["MSG0201", "MSG0202", "MSG0203"] {
        let header = status_of(&running, "Out", control).unwrap();
        assert_eq!(header.status, Status::Completed, "{control}");
    }
    let nacked = status_of(&running, "Out", "MSG0205").unwrap();
    assert_ne!(
        nacked.status,
        Status::Completed,
        "refused by the full queue"
    );
    assert!(nacked.reason.unwrap().contains("nacked"));

    tokio::time::sleep(scaled(20)).await;
    let drained = client.drain(&queue).await;
    let first: Vec<String> = drained.iter().map(|got| control_id(&got.body)).collect();
    assert_eq!(first, ["MSG0201", "MSG0202", "MSG0203"]);
    common::eventually("MSG0205 delivered once there is room", WAIT, || {
        status_of(&running, "Out", "MSG0205").is_some_and(|h| h.status == Status::Completed)
    })
    .await;
    let later: Vec<String> = client
        .drain(&queue)
        .await
        .iter()
        .map(|got| control_id(&got.body))
        .collect();
    assert_eq!(later, ["MSG0205"]);

    for n in 3001..=3500 {
        client.publish("", &big_input, &m(n), Some(HL7), None).await;
    }
    common::eventually("the burst completed", WAIT, || {
        let headers = running.headers_for("Big");
        headers.len() == 500 && headers.iter().all(|h| h.status == Status::Completed)
    })
    .await;
    client.wait_for(&big_queue, 500, WAIT).await;
    assert_eq!(
        client.count(&big_queue).await,
        Some(500),
        "exactly one copy each"
    );
    let burst = by_control_id(&running, "Big");
    assert!(burst.values().all(|headers| headers.len() == 1));

    running.stop().await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b34_a_blocked_broker_holds_the_publish_and_delivers_it_once_unblocked() {
    let Some(broker) = PrivateBroker::launch().await else {
        return;
    };
    // The trouble shows in the metrics too (installed before the engine labels them).
    let metrics = ferry_admin::prometheus().expect("the metrics recorder installs");
    let in_trouble = |want: f64| {
        let labels = ["production=\"b34-alarm\"", "item=\"Out\""];
        series(&metrics.render(), "ferry_item_in_trouble", &labels) == Some(want)
    };
    let url = broker.url();
    let client = Client::connect(&url, "ferry-test b34 alarm").await;
    let (out, queue) = ("t.out", "t.q");
    client.exchange(out, ExchangeKind::Fanout).await;
    client.queue(queue, &[]).await;
    client.bind(queue, out, "").await;

    let yaml = format!(
        "{}- name: Feed\n  service: mllp\n  targets: [Out]\n  settings: {{ listen: \
         \"127.0.0.1:0\" }}\n- name: Out\n  operation: amqp\n  \
         retry: {{ interval: 300ms, max_interval: 1s, failure_timeout: 5m }}\n  settings:\n    \
         url: \"{url}\"\n    exchange: {out}\n    exchange_type: fanout\n    \
         confirm_timeout: 2s\n",
        head("b34-alarm")
    );
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &yaml).await;
    let feed = running.listening("Feed").await;
    let mut sender = common::mllp::Sender::connect(feed).await;
    sender.exchange(&m(200)).await;
    client.wait_for(queue, 1, WAIT).await;

    broker.raise_memory_alarm().await;
    let alarm_raised = std::time::Instant::now();
    sender.exchange(&m(206)).await;
    let blocked = wait_trouble(&running.engine, "Out", WAIT, "blocked state", |trouble| {
        trouble.is_some_and(|t| t.state == "blocked by broker")
    })
    .await;
    eprintln!("while blocked: {blocked:?}");
    common::eventually("the trouble in the metrics", WAIT, || in_trouble(1.0)).await;
    let header = status_of(&running, "Out", "MSG0206").unwrap();
    assert_ne!(header.status, Status::Completed);

    let hold = scaled(30).saturating_sub(alarm_raised.elapsed());
    tokio::time::sleep(hold).await;
    broker.clear_memory_alarm().await;
    common::eventually("MSG0206 delivered after the alarm", WAIT, || {
        status_of(&running, "Out", "MSG0206").is_some_and(|h| h.status == Status::Completed)
    })
    .await;
    wait_trouble(&running.engine, "Out", WAIT, "recovery", |t| t.is_none()).await;
    common::eventually("the metrics clear", WAIT, || in_trouble(0.0)).await;
    client.wait_for(queue, 2, WAIT).await;
    let got: Vec<String> = client
        .drain(queue)
        .await
        .iter()
        .map(|got| control_id(&got.body))
        .collect();
    assert_eq!(got, ["MSG0200", "MSG0206"], "MSG0206 delivered once");

    running.stop().await;
    client.close().await;
    drop(broker);
}

// ---------------------------------------------------------------------------------------
// B35: queue deleted under a running consumer
// ---------------------------------------------------------------------------------------

fn consumer_yaml(name: &str, url: &str, queue: &str, exchange: &str, declare: &str) -> String {
    let extra =
        format!("    exchange: {exchange}\n    routing_keys: [adt]\n    declare: {declare}\n");
    format!(
        "{}{}- name: Out\n  operation: file\n  settings: {{ path: \"${{DIR}}/out\" }}\n",
        head(name),
        service("In", url, queue, "Out", &extra)
    )
}

async fn stored(running: &Running, control: &str) {
    common::eventually(&format!("{control} stored"), WAIT, || {
        by_control_id(running, "Out").contains_key(control)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b35_a_deleted_queue_is_declared_again_and_consumed() {
    let Some(url) = amqp_url() else { return };
    let metrics = ferry_admin::prometheus().expect("the metrics recorder installs");
    let in_trouble = |want: f64| {
        let labels = ["production=\"b35-deleted\"", "item=\"In\""];
        series(&metrics.render(), "ferry_item_in_trouble", &labels) == Some(want)
    };
    let client = Client::connect(&url, "ferry-test b35").await;
    let objects = BrokerObjects::new(&url);
    let (queue, exchange) = (objects.queue("t.in"), objects.exchange("t.x"));
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(
        dir.path(),
        &consumer_yaml("b35-deleted", &url, &queue, &exchange, "declare"),
    )
    .await;
    // The binding exists only once the service has declared it: wait for its consumer,
    // or the first publish to the exchange may find no binding and be dropped.
    client.wait_for_consumer(&queue, WAIT).await;

    client
        .publish(&exchange, "adt", &m(301), Some(HL7), None)
        .await;
    stored(&running, "MSG0301").await;
    client.delete_queue(&queue).await;
    let cancelled = wait_trouble(&running.engine, "In", WAIT, "the cancel", |t| {
        t.is_some_and(|t| t.state == "consumer cancelled")
    })
    .await
    .unwrap();
    assert!(cancelled.reason.contains(&queue), "{cancelled:?}");
    common::eventually("the trouble in the metrics", WAIT, || in_trouble(1.0)).await;

    tokio::time::sleep(scaled(10)).await;
    client.queue(&queue, &[]).await;
    client.publish("", &queue, &m(302), Some(HL7), None).await;
    stored(&running, "MSG0302").await;
    // Consuming again means Ferry has declared its binding again: only then can a publish
    // to the exchange reach the queue (a publish before it finds no binding and is gone).
    client.wait_for_consumer(&queue, WAIT).await;
    client
        .publish(&exchange, "adt", &m(303), Some(HL7), None)
        .await;
    stored(&running, "MSG0303").await;
    assert_eq!(trouble(&running.engine, "In"), None);
    common::eventually("the metrics clear", WAIT, || in_trouble(0.0)).await;
    let found = by_control_id(&running, "Out");
    assert_eq!(found["MSG0301"].len(), 1, "MSG0301 stays stored once");
    let events = running.store.events(None, 10_000).unwrap();
    assert!(
        events.iter().any(|e| e
            .event
            .text
            .starts_with("resumed after 'consumer cancelled'")),
        "the event log says when it resumed"
    );

    running.stop().await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b35_a_passive_consumer_waits_for_its_queue_without_a_tight_loop() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b35 passive").await;
    let objects = BrokerObjects::new(&url);
    let (queue, exchange) = (objects.queue("t.in"), objects.exchange("t.x"));
    client.exchange(&exchange, ExchangeKind::Direct).await;
    let proxy = CutProxy::start(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = consumer_yaml("b35-passive", &proxy.url(), &queue, &exchange, "passive");
    let running = Running::start(dir.path(), &yaml).await;

    // Missing at start: the item says so and checks again at the backoff.
    let missing = wait_trouble(&running.engine, "In", WAIT, "the missing queue", |t| {
        t.is_some_and(|t| t.reason.contains("does not exist"))
    })
    .await
    .unwrap();
    assert_eq!(missing.state, "declare refused");
    let before = proxy.connections_made();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let attempts = proxy.connections_made() - before;
    assert!(
        attempts <= 5,
        "{attempts} attempts in 4 s with waits of 0.5 s to 2 s"
    );

    client.queue(&queue, &[]).await;
    wait_trouble(&running.engine, "In", WAIT, "consuming", |t| t.is_none()).await;
    client
        .publish(&exchange, "adt", &m(311), Some(HL7), None)
        .await;
    stored(&running, "MSG0311").await;

    // Deleted under the consumer and never coming back: cancelled, with the reason.
    client.delete_queue(&queue).await;
    let gone = wait_trouble(&running.engine, "In", WAIT, "the cancel", |t| {
        t.is_some_and(|t| t.state == "consumer cancelled" && t.reason.contains("does not exist"))
    })
    .await
    .unwrap();
    assert!(gone.reason.contains(&queue), "{gone:?}");
    let before = proxy.connections_made();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(proxy.connections_made() - before <= 5, "no tight loop");
    assert_eq!(
        trouble(&running.engine, "In").map(|t| t.state),
        Some("consumer cancelled".to_owned())
    );

    running.stop().await;
    client.close().await;
}

// ---------------------------------------------------------------------------------------
// B37: queue or exchange exists with other arguments (406)
// ---------------------------------------------------------------------------------------

fn b37_yaml(url: &str, queue: &str, out: &str, declare: &str, arguments: &str) -> String {
    let extra = format!("    declare: {declare}\n    arguments: {arguments}\n");
    format!(
        "{}{}- name: Feed\n  service: mllp\n  targets: [Out]\n  settings: {{ listen: \
         \"127.0.0.1:0\" }}\n- name: Out\n  operation: amqp\n  settings:\n    url: \"{url}\"\n    \
         exchange: {out}\n    exchange_type: topic\n    declare: {declare}\n    \
         reconnect: {{ initial: 500ms, cap: 2s }}\n",
        head("b37"),
        service("In", url, queue, "Out", &extra)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b37_a_406_names_the_object_and_the_values_and_other_items_keep_running() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b37").await;
    let objects = BrokerObjects::new(&url);
    let (queue, out) = (objects.queue("t.in"), objects.exchange("t.out"));
    let dlx = objects.exchange("t.dlx");
    client
        .queue(&queue, &[("x-message-ttl", int(60_000))])
        .await;
    client.exchange(&out, ExchangeKind::Direct).await;

    let arguments = format!("{{ x-dead-letter-exchange: {dlx} }}");
    let dir = tempfile::tempdir().unwrap();
    let yaml = b37_yaml(&url, &queue, &out, "declare", &arguments);
    let running = Running::start(dir.path(), &yaml).await;

    let refused = wait_trouble(&running.engine, "In", WAIT, "the refusal", |t| {
        t.is_some_and(|t| t.state == "declare refused")
    })
    .await
    .unwrap();
    for part in [
        &format!("queue '{queue}'"),
        "x-message-ttl",
        "none",
        "60000",
        "406",
    ] {
        assert!(
            refused.reason.contains(part),
            "{part} in {}",
            refused.reason
        );
    }
    let not_started = wait_trouble(&running.engine, "Out", WAIT, "the refusal", |t| {
        t.is_some_and(|t| t.state == "not started")
    })
    .await
    .unwrap();
    eprintln!("In: {}\nOut: {}", refused.reason, not_started.reason);
    for part in [
        &format!("exchange '{out}'"),
        "`type`",
        "'topic'",
        "'direct'",
    ] {
        assert!(
            not_started.reason.contains(part),
            "{part} in {}",
            not_started.reason
        );
    }

    let feed = running.listening("Feed").await;
    let reply = common::mllp::Sender::connect(feed)
        .await
        .exchange(&m(501))
        .await;
    assert_eq!(common::mllp::msa(&reply).0, "AA");
    common::eventually("MSG0501 waits in Out's queue", WAIT, || {
        running
            .engine
            .items()
            .iter()
            .any(|item| item.name.as_str() == "Out" && item.queue_depth == 1)
    })
    .await;
    running.stop().await;

    // `declare: passive` uses the objects as they are.
    let dir = tempfile::tempdir().unwrap();
    let yaml = b37_yaml(&url, &queue, &out, "passive", "{}");
    let running = Running::start(dir.path(), &yaml).await;
    wait_trouble(&running.engine, "In", WAIT, "consuming", |t| t.is_none()).await;
    let feed = running.listening("Feed").await;
    let reply = common::mllp::Sender::connect(feed)
        .await
        .exchange(&m(502))
        .await;
    assert_eq!(common::mllp::msa(&reply).0, "AA");
    common::eventually("MSG0502 published", WAIT, || {
        status_of(&running, "Out", "MSG0502").is_some_and(|h| h.status != Status::Queued)
    })
    .await;
    wait_trouble(&running.engine, "Out", WAIT, "a started operation", |t| {
        t.is_none()
    })
    .await;
    running.stop().await;
    client.close().await;
}

#[test]
fn b37_a_quoted_number_for_a_typed_argument_is_a_load_error() {
    let yaml = b37_yaml(
        "amqp://127.0.0.1:5672/%2f",
        "t.in",
        "t.out",
        "declare",
        "{ x-max-length: '100' }",
    );
    let source = ferry_production::Source::new("b37.yaml", yaml);
    let loaded = ferry_production::parse(source, &|name| (name == "DIR").then(|| "/tmp".into()));
    let production = loaded.production.unwrap();
    let problems = ferry_runtime::check_production(&production, &common::inproc::registry());
    let text = problems.to_string();
    assert!(
        text.starts_with("b37.yaml:12:32: `x-max-length` must be an integer"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// B38, second run: no dead-letter exchange
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b38_without_a_dead_letter_exchange_ferrys_error_record_is_the_only_copy() {
    let Some(url) = amqp_url() else { return };
    let client = Client::connect(&url, "ferry-test b38 no dlx").await;
    let objects = BrokerObjects::new(&url);
    let queue = objects.queue("t.in");
    client.queue(&queue, &[]).await;
    let yaml = format!(
        "{}{}- name: Out\n  operation: file\n  settings: {{ path: \"${{DIR}}/out\" }}\n",
        head("b38"),
        service("In", &url, &queue, "Out", "    prefetch: 20\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(dir.path(), &yaml).await;

    client.publish("", &queue, &m(601), Some(HL7), None).await;
    let json = Some("application/json");
    client
        .publish("", &queue, br#"{"order": "#, json, None)
        .await;
    client
        .publish("", &queue, b"NOT HL7 AT ALL", Some(HL7), None)
        .await;
    client.publish("", &queue, &m(605), Some(HL7), None).await;
    common::eventually("two kept with status Error, two stored", WAIT, || {
        running.count("In", Status::Error) == 2 && running.headers_for("Out").len() == 2
    })
    .await;
    let errors: Vec<String> = running
        .headers_for("In")
        .into_iter()
        .filter_map(|h| h.reason)
        .collect();
    assert!(
        errors.iter().any(|r| r.contains("not valid JSON")),
        "{errors:?}"
    );
    assert_eq!(
        client.count(&queue).await,
        Some(0),
        "the broker dropped them"
    );

    running.stop().await;
    client.close().await;
}
