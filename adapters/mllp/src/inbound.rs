//! `service: mllp`: a listener that hands each connection to [`crate::receive`].
//!
//! The listener binds when the service runs (never while a production is validated),
//! announces the address it got, and accepts at most `max_connections` connections at
//! once; further peers wait in the kernel's backlog rather than being refused. On shutdown
//! it stops accepting, and each connection finishes the message it is storing, writes its
//! ACK and closes.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_adapter::{
    AdapterError, Service, ServiceContext, ServiceFactory, bind_listener, serve_connections,
};
use ferry_production::{Diagnostics, Item};

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
        let listener = bind_listener(&ctx, &config.listen).await?;

        let max_connections = config.max_connections;
        let answers = Answers::new(
            config.local_application.clone(),
            config.local_facility.clone(),
        );
        let receiver = Arc::new(Receiver::new(ctx.clone(), config, answers, acceptor));
        let refuse = ferry_adapter::WhileDisabled::Refuse;
        serve_connections(&ctx, listener, max_connections, refuse, |socket, peer| {
            let receiver = Arc::clone(&receiver);
            async move { receiver.serve(socket, peer).await }
        })
        .await;
        Ok(())
    }
}
