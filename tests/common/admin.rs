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

/// Writes `production.yaml` into `dir`: production `name` with [`ADMIN_SECTION`], a file
/// service `In` polling `${DIR}/in` every 20 ms and feeding a file operation `Out` that
/// writes `${DIR}/out/<MSH-10>.hl7` (disabled at start unless `out_enabled`).
pub fn file_production(dir: &Path, name: &str, out_enabled: bool) -> std::path::PathBuf {
    let yaml = format!(
        r#"
production: {name}
store: {{ path: "${{DIR}}/data", search_fields: [MSH-10] }}
{ADMIN_SECTION}
items:
  - name: In
    service: file
    targets: [Out]
    settings:
      path: ${{DIR}}/in
      glob: '*.hl7'
      poll_interval: 20ms
      quiet_period: 0s
      archive: ${{DIR}}/archive
      error: ${{DIR}}/error
  - name: Out
    operation: file
    enabled: {out_enabled}
    settings:
      path: ${{DIR}}/out
      filename: '{{MSH-10}}.hl7'
"#
    );
    let path = dir.join("production.yaml");
    std::fs::write(&path, yaml).expect("the production is written");
    path
}

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
