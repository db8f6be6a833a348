//! The `ferry.admin.v1.Admin` service: each method authenticates, asks the engine, and
//! answers in protobuf. Store reads and writes run on blocking threads, since sled may
//! touch the disk.

use ferry_admin_proto::v1 as pb;
use ferry_admin_proto::v1::admin_server::Admin;
use ferry_message::{MessageId, SessionId};
use ferry_production::Role;
use ferry_runtime::{EngineHandle, ItemStatus};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

use super::auth::authenticate;
use super::{convert, errors, query, watch};
use crate::{Actor, AdminState};

type Reply<T> = Result<Response<T>, Status>;

/// The admin service of one production.
#[derive(Debug, Clone)]
pub(crate) struct AdminService {
    state: AdminState,
    /// Ends live-event streams when the admin surfaces stop.
    stop: CancellationToken,
}

/// A state change applied to a message.
#[derive(Debug, Clone, Copy)]
enum MessageAction {
    Resend,
    Suspend,
    Discard,
}

impl AdminService {
    pub(crate) fn new(state: AdminState, stop: CancellationToken) -> Self {
        AdminService { state, stop }
    }

    fn engine(&self) -> &EngineHandle {
        &self.state.engine
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        authenticate(&self.state.credentials, request.metadata()).await
    }

    /// An item's state with its definition, as of now.
    fn item(&self, status: &ItemStatus) -> pb::Item {
        let info = self
            .engine()
            .production()
            .items
            .iter()
            .find(|info| info.name == status.name);
        convert::item(status, info, jiff::Timestamp::now())
    }

    /// The item named `name` after an action on it.
    fn item_reply(&self, name: &str) -> Reply<pb::ItemResponse> {
        let status = self
            .engine()
            .item(name)
            .ok_or_else(|| Status::not_found(format!("no item named '{name}'")))?;
        Ok(Response::new(pb::ItemResponse {
            item: Some(self.item(&status)),
        }))
    }

    async fn messages(
        &self,
        request: Request<pb::MessagesRequest>,
        action: MessageAction,
    ) -> Reply<pb::MessagesResponse> {
        let actor = self.caller(&request).await?;
        let ids = request.into_inner().ids;

        let engine = self.engine().clone();
        let results = blocking(move || {
            ids.into_iter()
                .map(|id| act(&engine, action, MessageId(id), &actor.0))
                .collect()
        })
        .await?;
        Ok(Response::new(pb::MessagesResponse { results }))
    }
}

/// Runs a store call on a blocking thread.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(errors::interrupted)
}

/// One message of a batch action: its own result, never the batch's failure.
fn act(
    engine: &EngineHandle,
    action: MessageAction,
    id: MessageId,
    actor: &str,
) -> pb::MessageResult {
    let done = match action {
        MessageAction::Resend => engine.resend(id, actor).map(Some),
        MessageAction::Suspend => engine.suspend(id, actor).map(|()| None),
        MessageAction::Discard => engine.discard(id, actor).map(|()| None),
    };
    match done {
        Ok(resent) => pb::MessageResult {
            id: id.0,
            ok: true,
            error: String::new(),
            code: Code::Ok as i32,
            resent_as: resent.map(|copy| copy.0),
        },
        Err(error) => pb::MessageResult {
            id: id.0,
            ok: false,
            error: error.to_string(),
            code: errors::engine_code(&error) as i32,
            resent_as: None,
        },
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn get_production(
        &self,
        request: Request<pb::GetProductionRequest>,
    ) -> Reply<pb::GetProductionResponse> {
        self.caller(&request).await?;

        let production = self.engine().production();
        let items = self
            .engine()
            .items()
            .iter()
            .map(|status| self.item(status))
            .collect();
        Ok(Response::new(pb::GetProductionResponse {
            name: production.name.clone(),
            description: production.description.clone().unwrap_or_default(),
            file: production.file.clone(),
            started: Some(convert::timestamp(production.started)),
            items,
        }))
    }

    async fn enable_item(&self, request: Request<pb::ItemRequest>) -> Reply<pb::ItemResponse> {
        let actor = self.caller(&request).await?;
        let name = request.into_inner().item;
        self.engine()
            .set_enabled(&name, true, &actor.0)
            .map_err(|error| errors::engine_status(&error))?;
        self.item_reply(&name)
    }

    async fn disable_item(&self, request: Request<pb::ItemRequest>) -> Reply<pb::ItemResponse> {
        let actor = self.caller(&request).await?;
        let name = request.into_inner().item;
        self.engine()
            .set_enabled(&name, false, &actor.0)
            .map_err(|error| errors::engine_status(&error))?;
        self.item_reply(&name)
    }

    async fn restart_item(&self, request: Request<pb::ItemRequest>) -> Reply<pb::ItemResponse> {
        let actor = self.caller(&request).await?;
        let name = request.into_inner().item;
        self.engine()
            .restart(&name, &actor.0)
            .map_err(|error| errors::engine_status(&error))?;
        self.item_reply(&name)
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Reply<pb::ListQueuesResponse> {
        self.caller(&request).await?;

        let now = jiff::Timestamp::now();
        let queues = self
            .engine()
            .items()
            .iter()
            .filter(|status| status.role != Role::Service)
            .map(|status| {
                convert::queue(
                    status.name.as_str(),
                    status.queue_depth,
                    status.oldest_queued,
                    now,
                )
            })
            .collect();
        Ok(Response::new(pb::ListQueuesResponse { queues }))
    }

    async fn search_messages(
        &self,
        request: Request<pb::SearchMessagesRequest>,
    ) -> Reply<pb::SearchMessagesResponse> {
        self.caller(&request).await?;
        let request = request.into_inner();
        let query = query::search_query(&request)?;
        let page = query::page_size(request.limit);

        let engine = self.engine().clone();
        let mut headers = blocking(move || engine.search(&query))
            .await?
            .map_err(|error| errors::engine_status(&error))?;

        // The query asked for one more than a page: its presence says a next page exists.
        let more = headers.len() > page;
        headers.truncate(page);
        let next_before = more.then(|| headers.last().map(|last| last.id.0)).flatten();
        Ok(Response::new(pb::SearchMessagesResponse {
            messages: headers.iter().map(convert::header).collect(),
            next_before,
        }))
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Reply<pb::GetMessageResponse> {
        self.caller(&request).await?;
        let id = request.into_inner().id;

        let engine = self.engine().clone();
        let detail = blocking(move || engine.message(MessageId(id)))
            .await?
            .map_err(|error| errors::store_status(&error))?
            .ok_or_else(|| Status::not_found(format!("no message {id}")))?;
        Ok(Response::new(pb::GetMessageResponse {
            header: Some(convert::header(&detail.header)),
            body: detail.body.as_ref().map(convert::body),
            response: detail.response.as_ref().map(convert::body),
            fields: detail.fields.iter().map(convert::field).collect(),
        }))
    }

    async fn get_trace(
        &self,
        request: Request<pb::GetTraceRequest>,
    ) -> Reply<pb::GetTraceResponse> {
        self.caller(&request).await?;
        let session = request.into_inner().session;

        let engine = self.engine().clone();
        let hops = blocking(move || engine.trace(SessionId(session)))
            .await?
            .map_err(|error| errors::store_status(&error))?;
        if hops.is_empty() {
            return Err(Status::not_found(format!("no session {session}")));
        }
        Ok(Response::new(pb::GetTraceResponse {
            hops: hops.iter().map(convert::header).collect(),
        }))
    }

    async fn resend_messages(
        &self,
        request: Request<pb::MessagesRequest>,
    ) -> Reply<pb::MessagesResponse> {
        self.messages(request, MessageAction::Resend).await
    }

    async fn suspend_messages(
        &self,
        request: Request<pb::MessagesRequest>,
    ) -> Reply<pb::MessagesResponse> {
        self.messages(request, MessageAction::Suspend).await
    }

    async fn discard_messages(
        &self,
        request: Request<pb::MessagesRequest>,
    ) -> Reply<pb::MessagesResponse> {
        self.messages(request, MessageAction::Discard).await
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Reply<pb::ListEventsResponse> {
        self.caller(&request).await?;
        let request = request.into_inner();
        let limit = query::page_size(request.limit);

        let engine = self.engine().clone();
        let events = blocking(move || match request.after {
            Some(after) => engine.events_after(Some(after), limit),
            None => engine.events_before(request.before, limit),
        })
        .await?
        .map_err(|error| errors::store_status(&error))?;
        Ok(Response::new(pb::ListEventsResponse {
            events: events.iter().map(convert::event).collect(),
        }))
    }

    type WatchEventsStream = watch::Watch;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Reply<Self::WatchEventsStream> {
        self.caller(&request).await?;
        Ok(Response::new(watch::watch(
            self.engine().clone(),
            self.stop.clone(),
        )))
    }
}
