//! Ferry's store: the durable message store and bus, on sled 0.34.
//!
//! The runtime codes against the [`Store`] trait; [`SledStore`] is the embedded
//! implementation. Open it with [`SledStore::open`], which also runs startup recovery.
//!
//! # Layout
//!
//! One sled tree (the default one) holds everything. sled's multi-tree transactions take a
//! process-wide lock and can deadlock, so instead every key starts with a one-byte keyspace
//! prefix, and numbers in keys are big-endian so sled's byte order is id (or time) order.
//! Item names are numbered (`u32`) by the item table to keep queue and index keys short.
//!
//! | prefix | keyspace | key after the prefix | value |
//! | --- | --- | --- | --- |
//! | `M` | meta | `format` | (the version byte) |
//! | `I` | item table | item name (UTF-8) | item number |
//! | `H` | headers | message id | header record |
//! | `B` | bodies | body id, chunk index (u32) | chunk 0: body record, then bytes; others: bytes |
//! | `Q` | queues | item number, seq | message id |
//! | `L` | leases (in flight) | item number, seq | message id |
//! | `T` | index: created | created µs (sign bit flipped), message id | empty |
//! | `S` | index: session | session id, message id | empty |
//! | `U` | index: status | status byte, message id | empty |
//! | `F` | index: source item | item number, message id | empty |
//! | `G` | index: target item | item number, message id | empty |
//! | `D` | index: document type | text (length-prefixed), message id | empty |
//! | `V` | index: search field | field, value (length-prefixed), message id | empty |
//! | `K` | duplicate digests | 16-byte digest | first message id, time last accepted |
//! | `E` | event log | event id | event record |
//!
//! The body record holds the content kind, charset, total length and chunk count.
//!
//! Every id (message, body, event) comes from sled's `generate_id`, monotonic across
//! restarts. A queued message's seq is its own message id, so a queue is FIFO in arrival
//! order; a lease keeps the seq of the queue entry it replaced.
//!
//! Bodies are cut into chunks of 4 KiB so that sled never writes them to `blobs/` files
//! (which it does not fsync); see `body.rs` for the measurement behind that size.
//!
//! # Format version
//!
//! Every value except the empty index values begins with a format version byte
//! (currently 1), followed by the postcard encoding of a private record struct (times are
//! i64 microseconds; the message model's types are never serialized directly). A value with
//! another version byte, or bytes that do not decode, is reported as
//! [`StoreError::Corrupt`]; nothing panics on a bad record. The `M format` entry records
//! the version of the whole store; opening a store of another version fails.
//!
//! # One step, one batch
//!
//! Every method that writes applies exactly one `apply_batch`, which sled recovers all or
//! nothing after a crash:
//! - `accept`: per record its body chunks, one header per target with all index entries,
//!   one queue entry per target, the duplicate entry; plus the given events.
//! - `take`: queue entry → lease (same seq), header Queued → Delivered and its status entry.
//! - `complete`: lease removed; header's final status, reason, response body and status
//!   entry; each output's body (if new), header, index entries and queue entry; the events.
//! - `release`: lease → queue entry (same seq), header back to Queued.
//! - `record_attempt`: the header's attempts and reason; the event.
//! - `resend`, `suspend`, `discard`: the new or changed header, queue entry and indexes,
//!   and an Admin event naming the actor.
//! - `append_events`: the events; `purge`: one batch per removed session.
//!
//! Takes on one item are serialised by a per-item lock, so two workers never lease the same
//! message; the in-memory queue depth counters change with the batches (see `writer.rs`)
//! and are recounted from disk at open.
//!
//! # Durability: what is on disk when the barrier resolves
//!
//! Writing does not make a step durable. [`Store::barrier`] does: when its future resolves
//! `Ok`, every batch applied before `barrier` was called is
//! - with [`Durability::Fsync`] (the default): written to `<store>/db` by sled's flush,
//!   then `fdatasync`ed; every file in `<store>/blobs/` and the folder itself are
//!   `fsync`ed too. It survives a power cut (given a drive that honours flushes).
//! - with [`Durability::Os`]: handed to the OS by sled's flush only. It survives a crash or
//!   kill of Ferry, not a power cut or kernel crash; sled's background flusher narrows the
//!   window to about half a second. Choose it only where losing acknowledged messages in a
//!   power cut is acceptable.
//!
//! Concurrent barriers share one sync round (group commit, see `barrier.rs`). Opening the
//! store fsyncs `conf` and the store folder (and its parent when the folder was created),
//! and every blob file already there.
//!
//! # Recovery
//!
//! [`SledStore::open`] returns leases left by the previous run to the head of their queues
//! in their original order, headers back to Queued, in one batch with a `Recovered` event
//! per item, before it returns (see `recovery.rs`). Messages in flight at a crash are
//! therefore delivered again, with their header id unchanged.
//!
//! # Space
//!
//! `purge` removes whole finished sessions (see `purge.rs`). sled reuses freed space lazily
//! and its `db` file may not shrink; the store does not offer offline compaction yet (it
//! would export into a fresh folder and import back).

mod accept;
mod admin;
mod api;
mod barrier;
mod body;
mod clock;
mod codec;
mod error;
mod events;
mod hooks;
mod index;
mod items;
mod keys;
mod purge;
mod queue;
mod records;
mod recovery;
mod search;
mod sled_store;
mod step;
mod writer;

pub use api::*;
pub use error::StoreError;
#[cfg(feature = "test-hooks")]
pub use hooks::{Audit, TestHooks};
pub use sled_store::SledStore;
