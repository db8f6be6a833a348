//! A service's task, which an admin can restart: the running adapter is stopped as at
//! shutdown (its connections close, what it received is already stored), built again
//! from the item's settings and started on the same intake.

use std::sync::Arc;

use ferry_adapter::{Service, ServiceContext};
use ferry_production::Item;
use ferry_store::{EventKind, EventLevel};

use crate::context::Shared;
use crate::events::item_event;
use crate::intake::ServiceIntake;
use crate::items::ItemState;

/// How a service run ended.
enum Ended {
    /// The production stopped, or the service ended on its own without an error.
    Stopped,
    /// An admin asked for a restart.
    Restart,
}

/// Runs `service` until the production stops, building it again on each restart.
pub(crate) async fn run_service(
    shared: Arc<Shared>,
    state: Arc<ItemState>,
    intake: Arc<ServiceIntake>,
    item: Item,
    first: Box<dyn Service>,
) {
    let mut restarts = state.restarts.subscribe();
    restarts.mark_unchanged();
    let mut service = first;
    loop {
        let stop = shared.shutdown.child_token();
        let context = ServiceContext {
            item: item.name.clone(),
            intake: intake.clone(),
            shutdown: stop.clone(),
            enabled: state.enabled.subscribe(),
            report: state.report.clone(),
        };

        let run = service.run(context);
        tokio::pin!(run);
        let (ended, result) = tokio::select! {
            result = &mut run => (Ended::Stopped, result),
            _ = restarts.changed() => {
                stop.cancel();
                (Ended::Restart, run.await)
            }
        };
        if let Err(error) = result {
            stopped_with_error(&shared, &item, &error.message);
            return;
        }
        if matches!(ended, Ended::Stopped) || shared.shutdown.is_cancelled() {
            return;
        }

        state.report.recovered();
        match build(&shared, &item) {
            Some(built) => service = built,
            None => return,
        }
        tracing::info!(item = %item.name, "service restarted");
    }
}

/// Builds the service again; its settings were valid at start and have not changed, so
/// a failure here is reported as the service stopping.
fn build(shared: &Shared, item: &Item) -> Option<Box<dyn Service>> {
    let built = match shared.registry.service(&item.kind) {
        Some(factory) => factory.build(item).map_err(|problems| problems.to_string()),
        None => Err(format!("unknown service kind '{}'", item.kind)),
    };
    match built {
        Ok(service) => Some(service),
        Err(reason) => {
            stopped_with_error(shared, item, &format!("cannot build it again: {reason}"));
            None
        }
    }
}

/// A service that cannot go on stops the production: a dead inbound must not look fine.
fn stopped_with_error(shared: &Shared, item: &Item, message: &str) {
    let text = format!("service stopped: {message}");
    shared.events.record(item_event(
        EventLevel::Error,
        EventKind::Failed,
        &item.name,
        None,
        text,
    ));
    let failure = format!("service '{}' stopped: {message}", item.name);
    shared.failure.send_replace(Some(failure));
}
