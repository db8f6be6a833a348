//! What the engine gives the admin surfaces, tested in process with a scripted service and
//! operation: restarting an item (a service is built again from its settings, an
//! operation's adapter is started again), readiness, per-item counts, the live event
//! stream, Prometheus series, and the properties kept beside a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::admin::series;
use common::hl7::m;
use ferry_adapter::{
    AdapterError, Delivered, Delivery, DeliveryError, InboundMessage, Operation, OperationFactory,
    Reporter, Service, ServiceContext, ServiceFactory, Submitted,
};
use ferry_message::{ContentKind, ItemName, Status};
use ferry_production::{Diagnostics, Item};
use ferry_runtime::{Engine, LiveEvent};
use tokio::sync::mpsc;

/// A service that hands each run's context to the test, then waits for its stop.
#[derive(Clone)]
struct Probe {
    contexts: mpsc::UnboundedSender<ServiceContext>,
    builds: Arc<Mutex<u32>>,
}

struct ProbeService(mpsc::UnboundedSender<ServiceContext>);

impl ServiceFactory for Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }

    fn build(&self, _item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        *self.builds.lock().unwrap() += 1;
        Ok(Box::new(ProbeService(self.contexts.clone())))
    }
}

#[async_trait]
impl Service for ProbeService {
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let stop = ctx.shutdown.clone();
        let _ = self.0.send(ctx);
        stop.cancelled().await;
        Ok(())
    }
}

/// An operation that counts its starts, fails the first `failing_starts` of them, fails
/// the first `failing_deliveries` attempts (to be retried), and delivers the rest.
#[derive(Clone, Default)]
struct Counted {
    starts: Arc<Mutex<u32>>,
    failing_starts: Arc<Mutex<u32>>,
    failing_deliveries: Arc<Mutex<u32>>,
}

impl OperationFactory for Counted {
    fn kind(&self) -> &'static str {
        "counted"
    }

    fn build(&self, _item: &Item) -> Result<Arc<dyn Operation>, Diagnostics> {
        Ok(Arc::new(self.clone()))
    }
}

#[async_trait]
impl Operation for Counted {
    async fn start(&self, _report: &Reporter) -> Result<(), AdapterError> {
        *self.starts.lock().unwrap() += 1;
        let mut failing = self.failing_starts.lock().unwrap();
        if *failing > 0 {
            *failing -= 1;
            return Err(AdapterError::new(&ItemName::new("Out"), "far side refused"));
        }
        Ok(())
    }

    async fn deliver(&self, _delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let mut failing = self.failing_deliveries.lock().unwrap();
        if *failing > 0 {
            *failing -= 1;
            return Err(DeliveryError::retry("connection refused by the far side"));
        }
        Ok(Delivered::default())
    }
}

const PRODUCTION: &str = r#"
production: NAME
store: { path: "${DIR}/data" }
items:
  - name: Probe
    service: probe
    targets: [Out]
  - name: Out
    operation: counted
    retry: { interval: 200ms, max_interval: 200ms }
"#;

struct Started {
    engine: Engine,
    contexts: mpsc::UnboundedReceiver<ServiceContext>,
    probe: Probe,
    counted: Counted,
    _dir: tempfile::TempDir,
}

/// Starts the production under `name` (metrics are per production, and the tests of this
/// file share one process).
async fn start(name: &str, failing_starts: u32) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let yaml = PRODUCTION.replace("NAME", name);
    let production = common::inproc::production_with(dir.path(), &yaml, &["probe", "counted"]);
    let (sender, contexts) = mpsc::unbounded_channel();
    let probe = Probe {
        contexts: sender,
        builds: Arc::default(),
    };
    let counted = Counted::default();
    *counted.failing_starts.lock().unwrap() = failing_starts;

    let mut registry = common::inproc::registry();
    registry
        .add_service(probe.clone())
        .add_operation(counted.clone());
    let engine = Engine::start(&production, Arc::new(registry))
        .await
        .unwrap();
    Started {
        engine,
        contexts,
        probe,
        counted,
        _dir: dir,
    }
}

async fn next_context(contexts: &mut mpsc::UnboundedReceiver<ServiceContext>) -> ServiceContext {
    tokio::time::timeout(Duration::from_secs(10), contexts.recv())
        .await
        .expect("the service runs")
        .expect("a context")
}

async fn submit(ctx: &ServiceContext, message: InboundMessage) -> ferry_message::MessageId {
    match ctx.intake.submit(vec![message]).await.unwrap().remove(0) {
        Submitted::Accepted { id, .. } | Submitted::Rejected { id, .. } => id,
    }
}

fn hl7(n: u32) -> InboundMessage {
    InboundMessage::new(ContentKind::Hl7v2, m(n))
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    common::eventually(what, Duration::from_secs(10), &mut condition).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_is_built_again_and_receives() {
    let mut started = start("restart-service", 0).await;
    let first = next_context(&mut started.contexts).await;
    let handle = started.engine.handle();

    handle.restart("Probe", "alice").unwrap();
    let second = next_context(&mut started.contexts).await;
    assert!(
        first.shutdown.is_cancelled(),
        "the old run was told to stop"
    );
    assert!(!second.shutdown.is_cancelled());
    assert_eq!(*started.probe.builds.lock().unwrap(), 2, "built once more");

    let id = submit(&second, hl7(1)).await;
    let store = started.engine.store();
    wait_for("the message after the restart is delivered", || {
        store.header(id).unwrap().unwrap().status == Status::Completed
    })
    .await;

    let events = handle.events_before(None, 50).unwrap();
    let restarted = events
        .iter()
        .find(|e| e.event.text == "item restarted")
        .expect("the restart is logged");
    assert_eq!(restarted.event.actor.as_deref(), Some("alice"));
    assert_eq!(restarted.event.item, Some(ItemName::new("Probe")));
    assert!(handle.restart("Nobody", "alice").is_err());
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_operation_starts_its_adapter_again() {
    let mut started = start("restart-operation", 0).await;
    let ctx = next_context(&mut started.contexts).await;
    let store = started.engine.store();
    let id = submit(&ctx, hl7(1)).await;
    wait_for("the first message is delivered", || {
        store.header(id).unwrap().unwrap().status == Status::Completed
    })
    .await;
    assert_eq!(*started.counted.starts.lock().unwrap(), 1);

    started.engine.handle().restart("Out", "token").unwrap();
    let id = submit(&ctx, hl7(2)).await;
    wait_for("the second message is delivered", || {
        store.header(id).unwrap().unwrap().status == Status::Completed
    })
    .await;
    assert_eq!(
        *started.counted.starts.lock().unwrap(),
        2,
        "started again before the next delivery"
    );
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_every_enabled_item() {
    let mut started = start("readiness", 1).await;
    let _ctx = next_context(&mut started.contexts).await;
    let handle = started.engine.handle();

    wait_for("the failing start shows", || handle.ready().is_err()).await;
    let reason = handle.ready().unwrap_err();
    assert_eq!(reason, "item 'Out': not started");

    // The start is tried again after a second, and then succeeds.
    wait_for("ready once the operation started", || {
        handle.ready().is_ok()
    })
    .await;
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_counts_and_actions_show_in_the_live_stream() {
    let mut started = start("live", 0).await;
    let ctx = next_context(&mut started.contexts).await;
    let handle = started.engine.handle();
    let mut live = handle.subscribe();
    handle.set_enabled("Out", false, "bob").unwrap();

    for n in 1..=3 {
        submit(&ctx, hl7(n)).await;
    }
    let waiting = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(LiveEvent::QueueDepth {
                item,
                depth: 3,
                oldest: Some(_),
            }) = live.recv().await
            {
                return item;
            }
        }
    })
    .await
    .expect("a depth of 3 is published");
    assert_eq!(waiting, ItemName::new("Out"));

    let out = handle.item("Out").unwrap();
    assert!(!out.enabled);
    assert_eq!(out.queue_depth, 3);
    assert!(out.oldest_queued.is_some());
    assert_eq!(handle.item("Probe").unwrap().counts.received, 3);

    handle.set_enabled("Out", true, "bob").unwrap();
    wait_for("the queue drains", || {
        let out = handle.item("Out").unwrap();
        out.queue_depth == 0 && out.counts.processed == 3
    })
    .await;
    assert_eq!(handle.item("Out").unwrap().oldest_queued, None);

    let logged = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(LiveEvent::Logged(event)) = live.recv().await
                && event.event.text == "item enabled"
            {
                return event;
            }
        }
    })
    .await
    .expect("the admin action is streamed");
    assert_eq!(logged.event.actor.as_deref(), Some("bob"));
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_and_properties_are_kept_and_searchable() {
    let mut started = start("properties", 0).await;
    let ctx = next_context(&mut started.contexts).await;
    let mut message = hl7(7);
    message.origin = Some("queue 'in' delivery 1".to_owned());
    message.properties = vec![("amqp.app_id".to_owned(), "<script>x</script>".to_owned())];
    let id = submit(&ctx, message).await;

    let handle = started.engine.handle();
    let detail = handle.message(id).unwrap().expect("stored");
    let fields: Vec<(&str, &str)> = detail
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.value.as_str()))
        .collect();
    assert!(
        fields.contains(&("origin", "queue 'in' delivery 1")),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("amqp.app_id", "<script>x</script>")),
        "{fields:?}"
    );
    assert!(detail.body.is_some());

    let query = ferry_store::Query {
        field: Some(ferry_store::SearchValue {
            field: "amqp.app_id".to_owned(),
            value: "<script>x</script>".to_owned(),
        }),
        ..ferry_store::Query::default()
    };
    let found = handle.search(&query).unwrap();
    assert!(found.iter().any(|h| h.id == id), "found by the property");

    // An HL7 field is found however its path is spelt.
    let query = ferry_store::Query {
        field: Some(ferry_store::SearchValue {
            field: "MSH[1]-10".to_owned(),
            value: "MSG0007".to_owned(),
        }),
        ..ferry_store::Query::default()
    };
    let found = handle.search(&query).unwrap();
    assert!(found.iter().any(|h| h.id == id), "found by MSH[1]-10");
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_trouble_counts_latencies_and_queues() {
    let metrics = ferry_admin::prometheus().expect("the recorder installs");
    let mut started = start("metrics", 1).await;
    let ctx = next_context(&mut started.contexts).await;
    let out = ["production=\"metrics\"", "item=\"Out\""];
    let probe = ["production=\"metrics\"", "item=\"Probe\""];

    wait_for("the failing start shows as trouble", || {
        series(&metrics.render(), "ferry_item_in_trouble", &out) == Some(1.0)
    })
    .await;
    for n in 1..=2 {
        submit(&ctx, hl7(n)).await;
    }
    wait_for("both messages out and the trouble over", || {
        let text = metrics.render();
        series(&text, "ferry_messages_out_total", &out) == Some(2.0)
            && series(&text, "ferry_item_in_trouble", &out) == Some(0.0)
    })
    .await;

    let text = metrics.render();
    assert_eq!(series(&text, "ferry_messages_in_total", &probe), Some(2.0));
    assert_eq!(
        series(&text, "ferry_processing_seconds_count", &out),
        Some(2.0)
    );
    assert_eq!(series(&text, "ferry_ack_seconds_count", &probe), Some(2.0));
    assert_eq!(series(&text, "ferry_queue_depth", &out), Some(0.0));
    assert!(series(&text, "ferry_processing_seconds_bucket", &out).is_some());
    assert!(text.contains("ferry_store_flush_seconds_bucket"), "{text}");
    assert!(
        text.contains("ferry_store_flush_batch_size_bucket"),
        "{text}"
    );
    assert!(!text.contains("message_id"), "never labelled by message");
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_retries_shows_as_trouble_but_keeps_the_production_ready() {
    let mut started = start("retrying", 0).await;
    *started.counted.failing_deliveries.lock().unwrap() = 15;
    let ctx = next_context(&mut started.contexts).await;
    let handle = started.engine.handle();
    let id = submit(&ctx, hl7(1)).await;

    wait_for("the retries show", || {
        handle.item("Out").unwrap().trouble.is_some()
    })
    .await;
    let trouble = handle.item("Out").unwrap().trouble.unwrap();
    assert_eq!(trouble.state, "delivery failing");
    assert!(
        trouble.reason.contains(&format!("message {id}")),
        "{trouble:?}"
    );
    assert!(trouble.reason.contains("connection refused"), "{trouble:?}");
    assert_eq!(
        handle.ready(),
        Ok(()),
        "the production still takes messages"
    );

    let store = started.engine.store();
    wait_for("delivered at last", || {
        store.header(id).unwrap().unwrap().status == Status::Completed
    })
    .await;
    assert_eq!(handle.item("Out").unwrap().trouble, None);
    let header = store.header(id).unwrap().unwrap();
    assert_eq!(
        header.reason, None,
        "a delivered message keeps no failure reason"
    );

    // Input the service rejected has no queue to go back to: a resend is refused.
    let mut bad = hl7(2);
    bad.rejected = Some("no MSH segment".to_owned());
    let rejected = submit(&ctx, bad).await;
    let refused = handle.resend(rejected, "token").unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("cannot be resent: 'Probe' has no queue"),
        "{refused}"
    );
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_mllp_service_closes_its_connections_and_takes_nothing_in() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "production: disabled-mllp\nstore: { path: \"${DIR}/data\" }\nitems:\n  \
                - name: In\n    service: mllp\n    targets: [Out]\n    settings: { listen: \
                '127.0.0.1:0' }\n  - name: Out\n    operation: file\n    settings: { path: \
                \"${DIR}/out\" }\n";
    let running = common::inproc::Running::start(dir.path(), yaml).await;
    let address = running.listening("In").await;
    let mut open = common::mllp::Sender::connect(address).await;
    let handle = running.engine.handle();

    // A connection open when the item is disabled is closed; a sender mid-message sees the
    // close instead of waiting for an ACK, and its message is not taken in later.
    handle.set_enabled("In", false, "token").unwrap();
    open.send(&m(1)).await;
    assert_eq!(
        open.reply(Duration::from_secs(5)).await,
        None,
        "closed, no ACK"
    );
    let mut refused = common::mllp::Sender::connect(address).await;
    refused.send(&m(2)).await;
    assert_eq!(
        refused.reply(Duration::from_secs(5)).await,
        None,
        "new ones closed too"
    );

    handle.set_enabled("In", true, "token").unwrap();
    let mut sender = common::mllp::Sender::connect(address).await;
    let ack = sender.exchange(&m(3)).await;
    assert!(String::from_utf8_lossy(&ack).contains("MSA|AA|MSG0003"));
    let stored = running.headers_for("Out");
    assert_eq!(
        stored.len(),
        1,
        "only the message sent while enabled is stored"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_http_service_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "production: disabled-http\nstore: { path: \"${DIR}/data\" }\nitems:\n  \
                - name: In\n    service: http\n    targets: [Out]\n    settings: { listen: \
                '127.0.0.1:0' }\n  - name: Out\n    operation: file\n    settings: { path: \
                \"${DIR}/out\" }\n";
    let running = common::inproc::Running::start(dir.path(), yaml).await;
    let url = format!("http://{}/messages", running.listening("In").await);
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(&url)
            .header("content-type", "x-application/hl7-v2+er7")
            .body(m(1))
            .send()
    };

    running
        .engine
        .handle()
        .set_enabled("In", false, "token")
        .unwrap();
    let refused = post().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(running.headers_for("Out").is_empty(), "nothing taken in");

    running
        .engine
        .handle()
        .set_enabled("In", true, "token")
        .unwrap();
    let accepted = post().await.unwrap();
    assert_eq!(accepted.status(), reqwest::StatusCode::ACCEPTED);
    running.stop().await;
}
