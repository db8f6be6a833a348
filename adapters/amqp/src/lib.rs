//! AMQP 0-9-1 in and out: a consumer that acks only what is stored, a confirming publisher.
//!
//! - `inbound`: `service: amqp`, a supervisor that keeps a consumer on the item's queue,
//!   declaring (or checking) the queue, its exchange and bindings, and reconnecting with
//!   a capped backoff; `consume` stores deliveries in batches and acks them only once
//!   they are durable, rejecting unusable bodies without requeue;
//! - `outbound`: `operation: amqp`, one connection per item and one channel per worker in
//!   confirm mode; `confirms` counts a message delivered only on a plain confirm and
//!   applies the `reply_actions` setting to returns, nacks and timeouts;
//! - `settings` and `arguments`: every setting checked at load, RabbitMQ's `x-` queue
//!   arguments with their types; `topology` explains a refused declaration;
//! - `connection`: connecting with a timeout, the backoff, and connection.blocked.
//!
//! Each item has its own connection, named `ferry <item>` unless `connection_name` says
//! otherwise, so one item's refused declaration or blocked publisher never touches
//! another. Settings are documented in `docs/productions.md`.

mod arguments;
mod confirms;
mod connection;
mod consume;
mod content;
mod error;
mod hooks;
mod inbound;
mod outbound;
mod reply_actions;
mod settings;
mod template;
mod topology;

pub use inbound::AmqpServiceFactory;
pub use outbound::AmqpOperationFactory;
