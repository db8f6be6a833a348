//! Ferry's runtime: runs a production on a store.
//!
//! One task group per item: a service runs its inbound adapter, which hands messages to
//! an intake; a process (router) and an operation each run `pool` queue workers that take
//! from the item's durable queue, process, and finish the message in one atomic store
//! step. What holds:
//!
//! - queue workers start only after the store's startup recovery has finished (the store
//!   recovers inside `open`, before any worker exists);
//! - a service's sender is acknowledged only after the intake's store barrier resolved;
//! - an item with pool 1 handles its queue strictly in order, retries included: a failing
//!   delivery holds the queue until it succeeds, is suspended or fails for good;
//! - a full queue stops its producers (back-pressure), it never drops: services wait in
//!   [`ferry_adapter::Intake::ready`], processes wait before taking their next message;
//! - on shutdown, services stop taking input, workers finish the message in hand or
//!   return it to the head of its queue, and a last barrier makes everything durable.

mod context;
mod counters;
mod engine;
mod events;
mod handle;
mod intake;
mod items;
mod live;
mod metadata;
mod operation;
mod references;
mod reply;
mod restart;
mod retention;
mod router;
mod validate;
mod worker;

pub use counters::ItemCounts;
pub use engine::{Engine, EngineError, ItemStatus, store_config};
pub use handle::{EngineHandle, ItemInfo, LiveEvent, MessageDetail, ProductionInfo};
pub use retention::cutoff;
pub use validate::check_production;
