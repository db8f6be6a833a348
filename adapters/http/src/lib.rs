//! HTTP in and out: a service that stores what it is sent, an operation that sends.
//!
//! - `inbound`: `service: http`, a listener on hyper and axum that takes messages at the
//!   configured paths, stores each and answers 202 with its id once it is durable, or,
//!   with `response_from`, the response of a downstream operation;
//! - `receive`: the checks and answer of one request (method, framing, credentials, room,
//!   content type, size) and `problem`, the JSON error answers;
//! - `limits`: reading a body within the size limit, counted after decompression, and
//!   the read and body timeouts; `guard`: refusing requests whose length is ambiguous
//!   or whose start could not be followed;
//! - `outbound`: `operation: http`, a reqwest client that sends one message per request
//!   to a URL made from a `template`, with an idempotency key, and turns the status into
//!   completion, retry, suspension or error through `status_actions` and `retry_after`;
//! - `auth`, `tls`: credentials and certificates (media types are `ferry_adapter::MediaType`).
//!
//! Settings are documented in `docs/productions.md` and checked in `settings`.

mod auth;
mod guard;
mod inbound;
mod limits;
mod outbound;
mod problem;
mod receive;
mod refusals;
mod retry_after;
mod settings;
mod status_actions;
mod template;
mod tls;

pub use inbound::HttpServiceFactory;
pub use outbound::HttpOperationFactory;
