//! Every route of the admin web server, and the layers around them.
//!
//! Order of the layers, outermost first: security headers (on every answer, errors
//! included), then the guard (cross-site and CSRF checks on every non-GET), then the
//! handlers. Handlers under `/api` other than login and session ask for a [`Session`]
//! themselves, so a missing session is a 401 from the one extractor.
//!
//! [`Session`]: super::session::Session

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

use super::session::Sessions;
use super::{api, assets, guard, headers, live, login, probes};
use crate::AdminState;

/// What every web handler shares.
#[derive(Debug)]
pub(super) struct Web {
    /// The engine, credentials, metrics and TLS settings.
    pub(super) admin: AdminState,
    /// Who is logged in.
    pub(super) sessions: Sessions,
    /// Cancelled when the server stops; live streams end then.
    pub(super) stop: CancellationToken,
}

/// The handlers' state.
pub(super) type WebState = Arc<Web>;

/// The admin web application.
pub(super) fn build(admin: AdminState, stop: CancellationToken) -> Router {
    let web = Arc::new(Web {
        admin,
        sessions: Sessions::default(),
        stop,
    });

    let probes = Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics));
    let session = Router::new()
        .route("/api/login", post(login::login))
        .route("/api/logout", post(login::logout))
        .route("/api/session", get(login::session));
    let items = Router::new()
        .route("/api/overview", get(api::overview::overview))
        .route("/api/queues", get(api::overview::queues))
        .route("/api/items/{name}/{action}", post(api::items::act));
    let messages = Router::new()
        .route("/api/messages", get(api::messages::search))
        .route("/api/messages/actions", post(api::actions::act_on_many))
        .route("/api/messages/{id}", get(api::messages::detail))
        .route("/api/messages/{id}/raw", get(api::raw::body))
        .route("/api/messages/{id}/response/raw", get(api::raw::response))
        .route(
            "/api/messages/{id}/{action}",
            post(api::actions::act_on_one),
        )
        .route("/api/sessions/{id}/trace", get(api::messages::trace))
        .route("/api/events", get(api::events::events))
        .route("/api/live", get(live::live));

    Router::new()
        .merge(probes)
        .merge(session)
        .merge(items)
        .merge(messages)
        .route("/", get(assets::index))
        .route("/ui/{*path}", get(assets::file))
        .fallback(assets::not_found)
        .layer(middleware::from_fn_with_state(web.clone(), guard::check))
        .layer(middleware::from_fn(headers::secure))
        .with_state(web)
}
