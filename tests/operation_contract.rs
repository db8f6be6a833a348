//! What the engine promises every operation adapter, tested with a scripted operation: it
//! is started before any message is taken (and a failing start is the item's trouble, not
//! the messages'), `Retry-After` is honoured up to the failure timeout, the backoff holds
//! back the operation's whole pool, and a redelivered delivery id is not stored twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::hl7::m;
use ferry_adapter::{
    AdapterError, Delivered, Delivery, DeliveryError, InboundMessage, Operation, OperationFactory,
    Reporter, Service, ServiceContext, ServiceFactory, Submitted,
};
use ferry_message::{ContentKind, ItemName, Status};
use ferry_production::{Diagnostics, Item};
use ferry_runtime::Engine;
use tokio::sync::oneshot;

/// A service that hands its context to the test, then waits for shutdown.
struct Probe(Mutex<Option<oneshot::Sender<ServiceContext>>>);

struct ProbeService(Option<oneshot::Sender<ServiceContext>>);

impl ServiceFactory for Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }

    fn build(&self, _item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        Ok(Box::new(ProbeService(self.0.lock().unwrap().take())))
    }
}

#[async_trait]
impl Service for ProbeService {
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let shutdown = ctx.shutdown.clone();
        if let Some(sender) = self.0 {
            let _ = sender.send(ctx);
        }
        shutdown.cancelled().await;
        Ok(())
    }
}

/// What the scripted operation answers, in order; once the script is used up it delivers.
#[derive(Default)]
struct Script {
    start_failures: u32,
    answers: VecDeque<DeliveryError>,
    /// When each attempt began, with the message id.
    attempts: Vec<(Instant, u64)>,
    /// When each failed attempt returned its error.
    failures: Vec<Instant>,
}

#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Script>>);

impl OperationFactory for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }

    fn build(&self, _item: &Item) -> Result<Arc<dyn Operation>, Diagnostics> {
        Ok(Arc::new(self.clone()))
    }
}

#[async_trait]
impl Operation for Scripted {
    async fn start(&self, _report: &Reporter) -> Result<(), AdapterError> {
        let mut script = self.0.lock().unwrap();
        if script.start_failures > 0 {
            script.start_failures -= 1;
            return Err(AdapterError::new(
                &ItemName::new("Out"),
                "broker refused the declaration",
            ));
        }
        Ok(())
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let answer = {
            let mut script = self.0.lock().unwrap();
            script.attempts.push((Instant::now(), delivery.header.id.0));
            script.answers.pop_front()
        };
        // A short delivery, so the workers of a pool overlap.
        tokio::time::sleep(Duration::from_millis(50)).await;
        match answer {
            Some(error) => {
                self.0.lock().unwrap().failures.push(Instant::now());
                Err(error)
            }
            None => Ok(Delivered::default()),
        }
    }
}

fn production(pool: u32, retry: &str) -> String {
    format!(
        r#"
production: operation-contract
store: {{ path: "${{DIR}}/data" }}
items:
  - name: Probe
    service: probe
    targets: [Out]
  - name: Out
    operation: scripted
    pool: {pool}
    retry: {retry}
"#
    )
}

struct Started {
    engine: Engine,
    ctx: ServiceContext,
    script: Arc<Mutex<Script>>,
    _dir: tempfile::TempDir,
}

async fn start(pool: u32, retry: &str, script: Script) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let yaml = production(pool, retry);
    let production = common::inproc::production_with(dir.path(), &yaml, &["probe", "scripted"]);
    let (sender, receiver) = oneshot::channel();
    let scripted = Scripted(Arc::new(Mutex::new(script)));
    let mut registry = common::inproc::registry();
    registry
        .add_service(Probe(Mutex::new(Some(sender))))
        .add_operation(scripted.clone());

    let engine = Engine::start(&production, std::sync::Arc::new(registry))
        .await
        .unwrap();
    let ctx = receiver.await.unwrap();
    Started {
        engine,
        ctx,
        script: scripted.0,
        _dir: dir,
    }
}

async fn submit(ctx: &ServiceContext, message: InboundMessage) -> Submitted {
    ctx.intake.submit(vec![message]).await.unwrap().remove(0)
}

fn hl7(n: u32) -> InboundMessage {
    InboundMessage::new(ContentKind::Hl7v2, m(n))
}

fn id_of(submitted: &Submitted) -> ferry_message::MessageId {
    match submitted {
        Submitted::Accepted { id, .. } | Submitted::Rejected { id, .. } => *id,
    }
}

async fn wait_for_status(engine: &Engine, submitted: &Submitted, status: Status) {
    let id = id_of(submitted);
    for _ in 0..500 {
        let header = engine.store().header(id).unwrap().unwrap();
        if header.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("message {id} never reached {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_start_is_the_items_trouble_and_takes_no_message() {
    let script = Script {
        start_failures: 2,
        ..Script::default()
    };
    let started = start(1, "{ interval: 50ms }", script).await;
    let submitted = submit(&started.ctx, hl7(1)).await;

    let out = ItemName::new("Out");
    let status = started.engine.items().into_iter().find(|i| i.name == out);
    let trouble = status
        .unwrap()
        .trouble
        .expect("in trouble while the start fails");
    assert_eq!(trouble.state, "not started");
    assert!(
        trouble.reason.contains("broker refused the declaration"),
        "{trouble:?}"
    );
    let header = started.engine.store().header(id_of(&submitted)).unwrap();
    assert_eq!(
        header.unwrap().attempts,
        0,
        "no message is tried before the start"
    );

    // Starts are tried again after 1 s and 2 s; then the message goes out.
    wait_for_status(&started.engine, &submitted, Status::Completed).await;
    let status = started.engine.items().into_iter().find(|i| i.name == out);
    assert_eq!(status.unwrap().trouble, None);
    let events = started.engine.store().events(None, 1000).unwrap();
    let texts: Vec<&str> = events.iter().map(|e| e.event.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("resumed after 'not started'")),
        "{texts:?}"
    );
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_for_even_when_the_backoff_is_shorter() {
    let script = Script {
        answers: VecDeque::from([DeliveryError::retry("429 Too Many Requests")
            .with_retry_after(Duration::from_millis(700))]),
        ..Script::default()
    };
    let started = start(1, "{ interval: 50ms }", script).await;
    let submitted = submit(&started.ctx, hl7(1)).await;

    wait_for_status(&started.engine, &submitted, Status::Completed).await;
    let attempts = started.script.lock().unwrap().attempts.clone();
    assert_eq!(attempts.len(), 2);
    let gap = attempts[1].0 - attempts[0].0;
    assert!(gap >= Duration::from_millis(700), "retried after {gap:?}");
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_past_the_failure_timeout_fails_the_message_at_once() {
    let script = Script {
        answers: VecDeque::from([DeliveryError::retry("503 Service Unavailable")
            .with_retry_after(Duration::from_secs(3600))]),
        ..Script::default()
    };
    let started = start(1, "{ interval: 50ms, failure_timeout: 5s }", script).await;
    let submitted = submit(&started.ctx, hl7(1)).await;

    wait_for_status(&started.engine, &submitted, Status::Error).await;
    let header = started.engine.store().header(id_of(&submitted)).unwrap();
    let reason = header.unwrap().reason.unwrap();
    assert!(reason.contains("asked to wait 60.0m"), "{reason}");
    assert!(reason.contains("503 Service Unavailable"), "{reason}");
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backoff_holds_back_the_whole_pool() {
    let script = Script {
        answers: VecDeque::from([DeliveryError::retry("connection refused")]),
        ..Script::default()
    };
    let started = start(4, "{ interval: 600ms }", script).await;
    let messages = (1..=8).map(hl7).collect();
    let submitted = started.ctx.intake.submit(messages).await.unwrap();

    for one in &submitted {
        wait_for_status(&started.engine, one, Status::Completed).await;
    }
    let (attempts, failed_at) = {
        let script = started.script.lock().unwrap();
        (script.attempts.clone(), script.failures[0])
    };
    // A worker may begin an attempt in the moment before the engine has seen the failure;
    // none may begin one during the backoff.
    let during_backoff = attempts
        .iter()
        .filter(|(at, _)| *at > failed_at + Duration::from_millis(100))
        .filter(|(at, _)| *at < failed_at + Duration::from_millis(600))
        .count();
    assert_eq!(during_backoff, 0, "attempts: {attempts:?}");
    assert_eq!(attempts.len(), 9, "8 deliveries and one retry");
    started.engine.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_delivery_id_is_recognised_not_stored_again() {
    let started = start(1, "{ interval: 50ms }", Script::default()).await;
    let mut first = hl7(1);
    first.delivery_id = Some("amqp-message-0603".to_owned());
    let mut again = hl7(1);
    again.delivery_id = Some("amqp-message-0603".to_owned());
    let mut other = hl7(1);
    other.delivery_id = Some("amqp-message-0604".to_owned());
    let mut corrected = hl7(2);
    corrected.delivery_id = Some("amqp-message-0603".to_owned());

    let stored = submit(&started.ctx, first).await;
    let redelivered = submit(&started.ctx, again).await;
    let separate = submit(&started.ctx, other).await;
    let reused = submit(&started.ctx, corrected).await;

    assert!(matches!(
        stored,
        Submitted::Accepted {
            already_stored: false,
            ..
        }
    ));
    match &redelivered {
        Submitted::Accepted {
            id, already_stored, ..
        } => {
            assert!(already_stored);
            assert_eq!(*id, id_of(&stored), "names the stored message");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            separate,
            Submitted::Accepted {
                already_stored: false,
                ..
            }
        ),
        "another delivery id with the same bytes is a new message"
    );
    assert!(
        matches!(
            reused,
            Submitted::Accepted {
                already_stored: false,
                ..
            }
        ),
        "the same delivery id with other bytes is a new message, never dropped"
    );
    wait_for_status(&started.engine, &reused, Status::Completed).await;
    assert_eq!(started.script.lock().unwrap().attempts.len(), 3);
    started.engine.shutdown().await.unwrap();
}
