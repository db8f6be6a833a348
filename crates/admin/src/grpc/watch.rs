//! The `WatchEvents` stream: the engine's live changes, forwarded until the caller goes
//! away or the admin surfaces stop. The stream must end on stop, or the server's graceful
//! shutdown would wait for watchers forever.

use ferry_admin_proto::v1 as pb;
use ferry_admin_proto::v1::watch_events_response::Change;
use ferry_runtime::{EngineHandle, LiveEvent};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::convert;

/// Changes a slow watcher may have outstanding before the engine's channel decides.
const BUFFER: usize = 64;

/// The stream of live changes of `engine`, starting now.
pub(crate) type Watch = ReceiverStream<Result<pb::WatchEventsResponse, Status>>;

/// Subscribes before returning, so nothing that happens after the call is missed.
pub(crate) fn watch(engine: EngineHandle, stop: CancellationToken) -> Watch {
    let live = engine.subscribe();
    let (sender, receiver) = mpsc::channel(BUFFER);
    tokio::spawn(forward(engine, live, sender, stop));
    ReceiverStream::new(receiver)
}

async fn forward(
    engine: EngineHandle,
    mut live: broadcast::Receiver<LiveEvent>,
    sender: mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
    stop: CancellationToken,
) {
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            () = sender.closed() => return,
            received = live.recv() => received,
        };
        let change = match received {
            Ok(event) => change(&engine, event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Change::Missed(missed),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let response = pb::WatchEventsResponse {
            change: Some(change),
        };
        if sender.send(Ok(response)).await.is_err() {
            return;
        }
    }
}

fn change(engine: &EngineHandle, event: LiveEvent) -> Change {
    let now = jiff::Timestamp::now();
    match event {
        LiveEvent::Logged(event) => Change::Logged(convert::event(&event)),
        LiveEvent::QueueDepth {
            item,
            depth,
            oldest,
        } => Change::QueueDepth(convert::queue(item.as_str(), depth, oldest, now)),
        LiveEvent::ItemState(status) => {
            let info = engine
                .production()
                .items
                .iter()
                .find(|info| info.name == status.name);
            Change::ItemState(convert::item(&status, info, now))
        }
    }
}
