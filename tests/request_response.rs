//! The request/response path: a service waits for the one operation it names to finish
//! the message it submitted, as MLLP application ACKs and synchronous HTTP will.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::hl7::{m, typed};
use ferry_adapter::{
    AdapterError, InboundMessage, IntakeError, ReplyOutcome, Service, ServiceContext,
    ServiceFactory, Submitted,
};
use ferry_message::{ContentKind, ItemName, Status};
use ferry_production::{Diagnostics, Item};
use ferry_runtime::Engine;
use tokio::sync::oneshot;

/// A service that hands its context to the test and then waits for shutdown.
struct Probe {
    context: Arc<Mutex<Option<oneshot::Sender<ServiceContext>>>>,
}

struct ProbeService {
    context: Arc<Mutex<Option<oneshot::Sender<ServiceContext>>>>,
}

impl ServiceFactory for Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }

    fn build(&self, _item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        Ok(Box::new(ProbeService {
            context: self.context.clone(),
        }))
    }
}

#[async_trait]
impl Service for ProbeService {
    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let shutdown = ctx.shutdown.clone();
        if let Some(sender) = self.context.lock().unwrap().take() {
            let _ = sender.send(ctx);
        }
        shutdown.cancelled().await;
        Ok(())
    }
}

const PRODUCTION: &str = r#"
production: request-response
store: { path: "${DIR}/data" }
items:
  - name: Probe
    service: probe
    targets: [Router]
  - name: Router
    process: router
    rules:
      - when: 'MSH-9.1 = "ZZZ"'
        discard: true
    otherwise: { send: [Out] }
  - name: Out
    operation: file
    retry: { interval: 50ms, max_interval: 100ms }
    settings: { path: "${DIR}/out", fsync: false }
"#;

fn hl7(bytes: Vec<u8>) -> InboundMessage {
    InboundMessage::new(ContentKind::Hl7v2, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_gets_the_outcome_of_the_operation_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let production = common::inproc::production_with(dir.path(), PRODUCTION, &["probe"]);
    let (sender, receiver) = oneshot::channel();
    let mut registry = common::inproc::registry();
    registry.add_service(Probe {
        context: Arc::new(Mutex::new(Some(sender))),
    });
    let engine = Engine::start(&production, std::sync::Arc::new(registry))
        .await
        .unwrap();
    let ctx = receiver.await.unwrap();
    let out = ItemName::new("Out");
    let wait = Duration::from_secs(10);

    let reply = ctx.intake.request(hl7(m(1)), &out, wait).await.unwrap();
    assert_eq!(
        reply.outcome,
        Some(ReplyOutcome::Finished(Status::Completed))
    );
    assert!(matches!(reply.submitted, Submitted::Accepted { .. }));
    assert_eq!(common::visible_files(&dir.path().join("out")).len(), 1);

    let reply = ctx
        .intake
        .request(hl7(typed("ZZZ^Z01", "Z1")), &out, wait)
        .await
        .unwrap();
    assert_eq!(
        reply.outcome,
        Some(ReplyOutcome::NotRouted),
        "a discard answers at once"
    );

    let reply = ctx
        .intake
        .request(hl7(b"not hl7".to_vec()), &out, wait)
        .await
        .unwrap();
    assert!(
        matches!(reply.submitted, Submitted::Rejected { .. }),
        "{reply:?}"
    );
    assert_eq!(reply.outcome, None);

    let unknown = ctx
        .intake
        .request(hl7(m(2)), &ItemName::new("Router"), wait)
        .await;
    assert!(
        matches!(unknown, Err(IntakeError::NoResponder(_))),
        "{unknown:?}"
    );

    std::fs::write(dir.path().join("out-blocker"), b"").unwrap();
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    std::fs::rename(dir.path().join("out-blocker"), dir.path().join("out")).unwrap();
    let late = ctx
        .intake
        .request(hl7(m(3)), &out, Duration::from_millis(300))
        .await;
    match late {
        Err(IntakeError::Timeout { submitted, .. }) => {
            assert!(
                matches!(submitted, Submitted::Accepted { .. }),
                "the message is stored"
            )
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    engine.shutdown().await.unwrap();
}
