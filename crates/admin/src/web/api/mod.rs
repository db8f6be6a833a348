//! The JSON API the UI calls. Every handler takes a [`Session`](super::session::Session),
//! so nothing here answers without a login; every handler that changes something is a
//! POST (the guard has checked its origin and CSRF token) and names the session's actor.

pub(super) mod actions;
pub(super) mod events;
pub(super) mod items;
pub(super) mod messages;
pub(super) mod overview;
pub(super) mod raw;
pub(super) mod views;
