//! `service: mllp`: a listener that hands each connection to [`crate::receive`].
//!
//! The listener binds when the service runs (never while a production is validated),
//! announces the address it got, and accepts at most `max_connections` connections at
//! once; further peers wait in the kernel's backlog rather than being refused. On shutdown
//! it stops accepting, and each connection finishes the message it is storing, writes its
//! ACK and closes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_adapter::{AdapterError, Service, ServiceContext, ServiceFactory};
use ferry_production::{Diagnostics, Item};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::answer::Answers;
use crate::receive::Receiver;
use crate::settings::{self, InboundConfig};

/// Builds `service: mllp` items.
#[derive(Debug, Clone, Copy, Default)]
pub struct MllpServiceFactory;

impl ServiceFactory for MllpServiceFactory {
    fn kind(&self) -> &'static str {
        "mllp"
    }

    fn build(&self, item: &Item) -> Result<Box<dyn Service>, Diagnostics> {
        let config = settings::inbound(item)?;
        Ok(Box::new(MllpService { config }))
    }
}

struct MllpService {
    config: InboundConfig,
}

/// How long to wait before accepting again after accept failed (e.g. no file descriptors
/// left), so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

#[async_trait]
impl Service for MllpService {
    fn references(&self) -> Vec<ferry_adapter::ItemReference> {
        self.config.references.clone()
    }

    async fn run(self: Box<Self>, ctx: ServiceContext) -> Result<(), AdapterError> {
        let config = self.config;
        let acceptor = match &config.tls {
            Some(files) => Some(
                crate::tls::acceptor(files).map_err(|error| AdapterError::new(&ctx.item, error))?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(&config.listen).await.map_err(|error| {
            AdapterError::new(
                &ctx.item,
                format!("cannot listen on {}: {error}", config.listen),
            )
        })?;
        let bound = listener
            .local_addr()
            .map_err(|error| AdapterError::new(&ctx.item, error.to_string()))?;
        ctx.intake.listening(bound);

        let slots = Arc::new(Semaphore::new(config.max_connections));
        let answers = Answers::new(
            config.local_application.clone(),
            config.local_facility.clone(),
        );
        let receiver = Arc::new(Receiver::new(ctx.clone(), config, answers, acceptor));
        let connections = TaskTracker::new();
        loop {
            let slot = tokio::select! {
                () = ctx.shutdown.cancelled() => break,
                slot = Arc::clone(&slots).acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                () = ctx.shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((socket, peer)) => {
                    let receiver = Arc::clone(&receiver);
                    connections.spawn(async move {
                        receiver.serve(socket, peer).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    tracing::warn!(item = %ctx.item, %error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            }
        }

        drop(listener);
        connections.close();
        connections.wait().await;
        Ok(())
    }
}
