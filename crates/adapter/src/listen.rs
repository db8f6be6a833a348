//! The one log line per bound listener that tests and operators wait for.

use std::net::SocketAddr;

use ferry_message::ItemName;

/// Logs `listening item=… addr=IP:PORT` with the address actually bound (the real port
/// when port 0 was asked for). End-to-end tests read this line instead of sleeping.
pub fn announce_listener(item: &ItemName, addr: SocketAddr) {
    tracing::info!(item = %item, addr = %addr, "listening");
}
