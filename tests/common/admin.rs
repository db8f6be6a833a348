//! The admin surfaces of a real `ferry run`: where they listen (from the binary's log)
//! and the credentials to use.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::binary::Ferry;

/// The token the admin tests give Ferry through `FERRY_ADMIN_TOKEN`.
pub const TEST_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// An `admin:` section listening on free loopback ports, to paste into a production.
pub const ADMIN_SECTION: &str = "admin: {http: '127.0.0.1:0', grpc: '127.0.0.1:0'}\n";

/// A running `ferry run` with its admin surfaces.
pub struct AdminFerry {
    /// The process.
    pub ferry: Ferry,
    /// Where the web UI, `/metrics` and health checks listen.
    pub http: SocketAddr,
    /// Where the gRPC admin API listens.
    pub grpc: SocketAddr,
}

impl AdminFerry {
    /// Starts `ferry run production` with `FERRY_ADMIN_TOKEN` = [`TEST_TOKEN`] and `env`,
    /// and waits until both admin surfaces listen.
    pub fn start(production: &Path, env: &[(&str, &Path)]) -> AdminFerry {
        let mut all = vec![("FERRY_ADMIN_TOKEN", Path::new(TEST_TOKEN))];
        all.extend_from_slice(env);
        let mut ferry = Ferry::start(production, &all);
        let http = admin_addr(&mut ferry, "admin web listening");
        let grpc = admin_addr(&mut ferry, "admin grpc listening");
        AdminFerry { ferry, http, grpc }
    }
}

/// The address of the admin log line `message`, waiting up to 30 s for it.
pub fn admin_addr(ferry: &mut Ferry, message: &str) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let announced = ferry
            .lines()
            .into_iter()
            .filter(|line| line["fields"]["message"] == message)
            .find_map(|line| line["fields"]["address"].as_str().map(str::to_owned));
        if let Some(address) = announced {
            return address.parse().expect("an address");
        }
        let running = ferry.is_running();
        assert!(
            running && Instant::now() < deadline,
            "no '{message}' line; log:\n{}",
            ferry.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of the Prometheus series `name` whose labels include every one of `labels`
/// (written `item="Out"`), in the text `/metrics` serves.
pub fn series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
